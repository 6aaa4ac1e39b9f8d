// A YAML file kept with its parse tree, so any value reached by a path (from a loader or from an
// ajv instancePath) maps back to `file:line:col`.
import { readFileSync, statSync } from 'node:fs'
import { relative } from 'node:path'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, YAMLParseError, type Document, type Node, type Pair, type Tags } from 'yaml'
import { Diagnostics, ValidationError, type SourcePos } from './errors.js'
import { VAULT_PASSWORD_HINT, decryptWithSecrets, hasVaultSecrets, isVaulted, recordVaultSecret } from './vault.js'

export type YamlPath = ReadonlyArray<string | number>

/** Limits that keep hostile YAML (alias bombs, huge files, deep nesting) bounded. */
export const YAML_LIMITS = {
  maxBytes: 8 * 1024 * 1024,
  maxAliasCount: 1000,
  maxDepth: 200,
}

export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel && !rel.startsWith('..') ? rel : file
}

export class YamlFile {
  lineCounter = new LineCounter()
  readonly doc: Document.Parsed
  readonly display: string
  /** The text parsed: a vault-encrypted file's plaintext (positions are in the plaintext, as in Ansible). */
  readonly text: string
  /** The whole file was vault-encrypted: every value in it is a secret. */
  readonly encrypted: boolean
  /** Why the text could not be parsed at all (no password, too large, nested past the parser's stack). */
  private readonly loadProblem?: { message: string; hint?: string }
  private cached: unknown
  /** pos() results: the executor asks for the same task positions on every host. */
  private readonly posCache = new Map<string, SourcePos>()
  private converted = false

  constructor(
    readonly file: string,
    text: string,
    /** The file's size when it was too large to be read at all (see read()). */
    unreadSize?: number,
  ) {
    this.display = displayPath(file)
    this.encrypted = isVaulted(text)
    if (this.encrypted) {
      if (!hasVaultSecrets()) {
        this.loadProblem = { message: 'this file is vault-encrypted and no vault password was given', hint: VAULT_PASSWORD_HINT }
        text = ''
      } else {
        try {
          text = decryptWithSecrets(text)
        } catch (e) {
          this.loadProblem = { message: `cannot decrypt this vault-encrypted file: ${(e as Error).message}`, hint: VAULT_PASSWORD_HINT }
          text = ''
        }
      }
    }
    // Refused before parsing: the parse tree of a huge file costs many times its size in memory.
    if (unreadSize !== undefined || Buffer.byteLength(text) > YAML_LIMITS.maxBytes) {
      this.loadProblem = { message: `file is larger than ${YAML_LIMITS.maxBytes} bytes` }
      text = ''
    }
    let doc = YamlFile.parse(text, this.lineCounter)
    if (doc === undefined) {
      // The parser recurses per nesting level: thousands of levels exhaust the stack.
      this.loadProblem = { message: `YAML nested too deeply to read (more than ${YAML_LIMITS.maxDepth} levels)` }
      text = ''
      this.lineCounter = new LineCounter()
      doc = YamlFile.parse('', this.lineCounter)!
    }
    this.text = text
    this.doc = doc
  }

  private static parse(text: string, lineCounter: LineCounter): Document.Parsed | undefined {
    try {
      return YamlFile.parseWith(text, lineCounter)
    } catch (e) {
      if (e instanceof RangeError) return undefined
      throw e
    }
  }

  private static parseWith(text: string, lineCounter: LineCounter): Document.Parsed {
    const doc = parseDocument(text, {
      lineCounter,
      prettyErrors: false,
      // The library's own check compares each key with every earlier one: 40 000 keys took 52 s.
      uniqueKeys: false,
      strict: true,
      // YAML 1.1 as PyYAML reads it, so `become: yes`, `gather_facts: no` and `mode: 0644` mean
      // what they mean to Ansible (1.2 would give the strings "yes"/"no" and the number 644).
      version: '1.1',
      customTags: ansibleSchemaTags,
    })
    checkUniqueKeys(doc)
    return doc
  }

  static read(file: string): YamlFile {
    // A file far over the limit is not even read into memory (YamlFile refuses it by its size).
    const size = statSync(file).size
    if (size > YAML_LIMITS.maxBytes) return new YamlFile(file, '', size)
    const text = readFileSync(file, 'utf8')
    return new YamlFile(file, text)
  }

  posAt(offset: number): SourcePos {
    const { line, col } = this.lineCounter.linePos(offset)
    return { file: this.display, line, col }
  }

  /** Syntax errors, bad tags, alias bombs and over-deep nesting, each with its position. */
  check(diags: Diagnostics): boolean {
    let ok = true
    if (this.loadProblem) {
      diags.error(this.loadProblem.message, { file: this.display, line: 1, col: 1 }, this.loadProblem.hint)
      return false
    }
    if (Buffer.byteLength(this.text) > YAML_LIMITS.maxBytes) {
      diags.error(`file is larger than ${YAML_LIMITS.maxBytes} bytes`, { file: this.display, line: 1, col: 1 })
      return false
    }
    // After a parse error the parser is lost: the dozens of errors it reports after it (one
    // misplaced bracket gave 72) are its own confusion, not the user's mistakes. As PyYAML does, the
    // first parse error is reported (with how many follow it); errors that stand alone (a duplicate
    // key) are each reported up to that point.
    const errors = this.doc.errors
    const lost = errors.findIndex((e) => e.code !== 'DUPLICATE_KEY')
    for (const [i, e] of errors.entries()) {
      if (lost >= 0 && i > lost) break
      ok = false
      const pos = this.posAt(e.pos[0])
      const after = i === lost && errors.length > i + 1 ? `; ${errors.length - i - 1} more YAML error(s) after it, most likely caused by it` : ''
      const hint = yamlHint(e.code)
      diags.error(`YAML syntax error: ${firstLine(e.message)}`, pos, hint && after ? `${hint}${after}` : hint || (after ? after.slice(2) : undefined))
    }
    for (const w of this.doc.warnings) {
      const pos = this.posAt(w.pos[0])
      if (w.code === 'TAG_RESOLVE_FAILED') {
        ok = false
        diags.error(`YAML: ${firstLine(w.message)}`, pos, 'only plain YAML and the !vault and !unsafe tags are accepted')
      } else diags.warn(`YAML: ${firstLine(w.message)}`, pos)
    }
    if (!ok) return false
    if (!this.checkInlineVaults(diags)) return false
    try {
      this.value
    } catch (e) {
      diags.add(e)
      return false
    }
    return true
  }

  /** The document as plain data (throws ValidationError on alias bombs or over-deep nesting). */
  get value(): unknown {
    if (!this.converted) {
      try {
        this.cached = this.doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount })
      } catch (e) {
        throw new ValidationError(`YAML: ${(e as Error).message}`, {
          pos: { file: this.display, line: 1, col: 1 },
          hint: 'aliases that expand too much are refused',
        })
      }
      const depth = maxDepth(this.cached, 0)
      if (depth > YAML_LIMITS.maxDepth)
        throw new ValidationError(`YAML nested deeper than ${YAML_LIMITS.maxDepth} levels`, {
          pos: { file: this.display, line: 1, col: 1 },
        })
      this.cached = this.reveal(this.cached)
      this.converted = true
    }
    return this.cached
  }

  /**
   * Every `!vault` value must decrypt with the password given; each failure is reported at its own
   * tag, and loading goes on (the value stays encrypted) so every other mistake is found too.
   */
  private checkInlineVaults(diags: Diagnostics): boolean {
    const password = hasVaultSecrets()
    visit(this.doc, {
      Scalar: (_k, node) => {
        if (node.tag !== '!vault') return
        const start = node.range?.[0] ?? 0
        const tagAt = this.text.lastIndexOf('!vault', start)
        const pos = this.posAt(tagAt >= 0 && !this.text.slice(tagAt, start).includes('\n') ? tagAt : start)
        if (!password) {
          diags.error('this value is vault-encrypted (!vault) and no vault password was given', pos, VAULT_PASSWORD_HINT)
          return
        }
        try {
          decryptWithSecrets(String(node.value instanceof VaultString ? node.value.ciphertext : node.value))
        } catch (e) {
          diags.error(`cannot decrypt this !vault value: ${(e as Error).message}`, pos)
        }
      },
    })
    return true
  }

  /**
   * Decrypted data: `!vault` values become their plaintext (when a password is known) and are
   * recorded as secrets, as is every string of a wholly encrypted file.
   */
  private reveal(v: unknown): unknown {
    const password = hasVaultSecrets()
    const walk = (x: unknown): unknown => {
      if (x instanceof VaultString) {
        if (!password) return x
        try {
          const plain = decryptWithSecrets(x.ciphertext)
          recordVaultSecret(plain)
          return plain
        } catch {
          return x // reported with its position by check()
        }
      }
      if (typeof x === 'string') {
        if (this.encrypted) recordVaultSecret(x)
        return x
      }
      if (Array.isArray(x)) {
        for (let i = 0; i < x.length; i++) x[i] = walk(x[i])
        return x
      }
      if (x && typeof x === 'object' && !(x instanceof UnsafeString)) {
        for (const k of Object.keys(x)) (x as Record<string, unknown>)[k] = walk((x as Record<string, unknown>)[k])
        return x
      }
      return x
    }
    return walk(v)
  }

  node(path: YamlPath): Node | null {
    let cur: unknown = this.doc.contents
    for (const seg of path) {
      if (isMap(cur)) {
        const pair = cur.items.find((p) => keyString(p) === String(seg))
        if (!pair) return null
        cur = pair.value
      } else if (isSeq(cur)) {
        cur = cur.items[Number(seg)]
      } else return null
    }
    return (cur as Node) ?? null
  }

  /**
   * Position of the value at path; with `key`, of the key that holds it (unknown keys point at the key).
   * Falls back to the nearest ancestor that exists.
   */
  pos(path: YamlPath, opts: { key?: boolean } = {}): SourcePos {
    const ck = (opts.key ? 'k' : 'v') + JSON.stringify(path)
    let p = this.posCache.get(ck)
    if (!p) this.posCache.set(ck, (p = this.findPos(path, opts)))
    return { ...p }
  }

  private findPos(path: YamlPath, opts: { key?: boolean }): SourcePos {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n)
      if (opts.key && n === path.length && n > 0) {
        const parent = this.node(sub.slice(0, -1))
        if (isMap(parent)) {
          const pair = parent.items.find((p) => keyString(p) === String(sub[sub.length - 1]))
          const k = pair?.key as Node | undefined
          if (k?.range) return this.posAt(k.range[0])
        }
      }
      const node = this.node(sub)
      if (node?.range) return this.posAt(node.range[0])
    }
    return { file: this.display, line: 1, col: 1 }
  }
}

/**
 * Duplicate keys, found in linear time: the same rule as the yaml library's `uniqueKeys: true`
 * (scalar keys with equal values; other keys only when they are the same node), reported as it
 * reports them, at the later key.
 */
function checkUniqueKeys(doc: Document.Parsed): void {
  visit(doc, {
    Map: (_k, map) => {
      const seen = new Set<unknown>()
      const nodes = new Set<unknown>()
      for (const p of map.items) {
        const k = p.key as unknown
        const dup = isScalar(k) ? seen.has(k.value) : nodes.has(k)
        if (dup) {
          const at = (k as Node).range?.[0] ?? 0
          doc.errors.push(new YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'))
        } else if (isScalar(k)) seen.add(k.value)
        else nodes.add(k)
      }
    },
  })
}

function keyString(p: Pair): string {
  const k = p.key as unknown
  if (isScalar(k)) return String(k.value)
  return String(k)
}

function firstLine(s: string): string {
  return s.split('\n')[0]
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'a key may appear only once in a mapping'
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and the ":" after each key'
    case 'TAB_AS_INDENT':
      return 'YAML indents with spaces, not tabs'
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a "{{ … }}" value must be quoted'
    default:
      return undefined
  }
}

function maxDepth(v: unknown, d: number): number {
  if (d > YAML_LIMITS.maxDepth) return d
  if (Array.isArray(v)) return v.reduce((m: number, x) => Math.max(m, maxDepth(x, d + 1)), d)
  if (v && typeof v === 'object') return Object.values(v).reduce((m: number, x) => Math.max(m, maxDepth(x, d + 1)), d)
  return d
}

/** A string that templates must not render (Ansible's `!unsafe`). */
export class UnsafeString {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
  toJSON(): string {
    return this.value
  }
}

/**
 * Unsafe text that came from a managed host (a registered result, a fact): never rendered, like
 * every UnsafeString, and never run as a command on the control machine (executor/controller-guard.ts).
 * A `with_*` item, a lookup's result or a `!unsafe` value is unsafe without being host data.
 */
export class HostString extends UnsafeString {}

/** An inline Ansible Vault value (`!vault |`), decrypted when a vault password is known. */
export class VaultString {
  constructor(readonly ciphertext: string) {}
  toString(): string {
    return this.ciphertext
  }
}

/**
 * PyYAML's YAML 1.1: booleans are yes/no/true/false/on/off only (not y/n, so a key `n` stays a
 * string), and timestamps stay strings (templates and modules want text, not Date objects).
 */
function ansibleSchemaTags(tags: Tags): Tags {
  const out: Tags = tags.filter((t) => {
    const tag = typeof t === 'string' ? t : t.tag
    return tag !== 'tag:yaml.org,2002:bool' && tag !== 'tag:yaml.org,2002:timestamp'
  })
  out.push(
    { tag: 'tag:yaml.org,2002:bool', default: true, test: /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/, resolve: () => true },
    { tag: 'tag:yaml.org,2002:bool', default: true, test: /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/, resolve: () => false },
  )
  return [...out, ...ANSIBLE_TAGS]
}

const ANSIBLE_TAGS = [
  {
    tag: '!unsafe',
    resolve: (s: string) => new UnsafeString(s),
    identify: (v: unknown) => v instanceof UnsafeString,
  },
  // `!unsafe [ … ]` and `!unsafe {…}` (PyYAML's AnsibleUnsafe on a collection): every string in it is
  // unsafe, keys excepted, as Ansible's wrap_var leaves mapping keys as they are.
  { tag: '!unsafe', collection: 'seq' as const, resolve: markUnsafe },
  { tag: '!unsafe', collection: 'map' as const, resolve: markUnsafe },
  {
    tag: '!vault',
    resolve: (s: string) => new VaultString(s),
    identify: (v: unknown) => v instanceof VaultString,
  },
]

function markUnsafe<T>(node: T): T {
  const walk = (n: unknown): void => {
    if (isScalar(n)) {
      if (typeof n.value === 'string') n.value = new UnsafeString(n.value)
    } else if (isSeq(n)) n.items.forEach(walk)
    else if (isMap(n)) for (const p of n.items) walk(p.value)
  }
  walk(node)
  return node
}

/** Load a YAML file, record every problem, and return its value (undefined when it could not be read). */
export function loadYaml(file: string, diags: Diagnostics): { yf: YamlFile; value: unknown } | undefined {
  let yf: YamlFile
  try {
    yf = YamlFile.read(file)
  } catch (e) {
    diags.error(`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: displayPath(file),
      line: 1,
      col: 1,
    })
    return undefined
  }
  if (!yf.check(diags)) return undefined
  return { yf, value: yf.value }
}
