// Filters and lookups real content uses beyond the core set: random, shuffle, password_hash, and
// the lookups first_found, pipe, lines, varnames, together, nested, subelements, flattened,
// inventory_hostnames, random_choice, fileglob, password, ini, unvault, config. Each follows Ansible
// 2.14's plugin of the same name (lib/ansible/plugins/{filter,lookup}); where Python's exact
// output cannot be reproduced (a seeded `random`/`shuffle`: CPython's Mersenne Twister seeding),
// the call is refused with that reason rather than answered differently.
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { encrypt as shaCrypt } from 'unixcrypt'
import { isVaulted, decryptWithSecrets, hasVaultSecrets, recordVaultSecret } from '../vault.js'
import { UnsafeString } from '../yamlfile.js'
import { LOOKUPS, RAW_TERMS, type LookupFn } from './filters.js'
import { hasKey, isDict, isStr, iterate, PyError, pyStr, sv, truthy, typeName, Undefined, fail } from './pyvalues.js'
import { FILTERS, findFile, type Env } from './runtime.js'
import { configLookup } from './configlookup.js'
import { splitAssignment, splitBeforeKeys, starPieces } from '../text.js'

const str = (v: unknown): string => (isStr(v) ? sv(v) : pyStr(v))

function seeded(name: string, k: Record<string, unknown>): void {
  if (k.seed !== undefined && k.seed !== null)
    throw new PyError(
      `the '${name}' filter with a seed is not supported by k3sbook: Python's seeded random sequence cannot be reproduced exactly`,
      'AnsibleFilterError',
    )
}

// ---------- filters ----------

FILTERS.set('random', (v, a, k) => {
  seeded('random', k)
  if (typeof v === 'number' && Number.isInteger(v)) {
    // random(end, start=0, step=1): a number from range(start, end, step)
    const start = Number(k.start ?? 0)
    const step = Number(k.step ?? 1)
    const n = Math.ceil((v - start) / step)
    if (n <= 0) throw new PyError('empty range for randrange()', 'AnsibleFilterError')
    return start + randomInt(n) * step
  }
  const items = iterate(v)
  if (!items.length) throw new PyError('Cannot choose from an empty sequence', 'AnsibleFilterError')
  return items[randomInt(items.length)]
})

FILTERS.set('shuffle', (v, a, k) => {
  seeded('shuffle', k)
  const items = [...iterate(v)]
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
})

const SALT_CHARS = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * password_hash: glibc's SHA-crypt ($5$/$6$), through the `unixcrypt` library (its output was
 * checked equal to crypt(3) for default and explicit rounds). As Ansible without passlib does:
 * a 16-character random salt when none is given, rounds shown only when given.
 */
FILTERS.set('password_hash', (v, a, k) => {
  const type = str(a[0] ?? k.hashtype ?? 'sha512')
  const ident = { sha512: '6', sha512_crypt: '6', sha256: '5', sha256_crypt: '5' }[type]
  if (!ident) throw new PyError(`password_hash: hash type '${type}' is not supported by k3sbook (sha512 and sha256 are)`, 'AnsibleFilterError')
  let salt = a[1] ?? k.salt
  const rounds = a[3] ?? k.rounds
  if (salt === undefined || salt === null) {
    const size = Number(a[2] ?? k.salt_size ?? 16)
    salt = Array.from({ length: size }, () => SALT_CHARS[randomInt(SALT_CHARS.length)]).join('')
  }
  const saltText = str(salt)
  if (!/^[./0-9A-Za-z]*$/.test(saltText)) throw new PyError('invalid characters in salt', 'AnsibleFilterError')
  const spec = `$${ident}$${rounds !== undefined && rounds !== null ? `rounds=${Number(rounds)}$` : ''}${saltText.slice(0, 16)}`
  return shaCrypt(str(v), spec)
})

// ---------- lookups ----------

const L = (name: string, fn: LookupFn, raw = true) => {
  LOOKUPS[name] = fn
  if (raw) RAW_TERMS.add(name)
}

function flat(terms: unknown[]): unknown[] {
  const out: unknown[] = []
  for (const t of terms) {
    if (Array.isArray(t)) out.push(...flat(t))
    else out.push(t)
  }
  return out
}

/** The controller folder a command runs in: the playbook's (Ansible: the loader's basedir). */
function baseDir(env: Env): string {
  const sp = env.lookupOpts.searchPath ?? []
  return sp[sp.length - 1] ?? process.cwd()
}

/**
 * Host data is never run on the controller: a term marked unsafe (registered results, facts) is
 * refused. And only a playbook's own tasks may run commands (or write files) on the controller:
 * a template rendered without a playbook's folders (the sandbox: inventories, bare renders) may not.
 */
function controllerOnly(name: string, env: Env): void {
  if (!env.lookupOpts.searchPath?.length)
    throw new PyError(
      `lookup plugin '${name}' is not supported by k3sbook templates outside a playbook's tasks (running commands on the controller from a template is refused here)`,
      'AnsibleError',
    )
}

function controllerCommand(name: string, t: unknown): string {
  if (t instanceof UnsafeString)
    throw new PyError(`lookup('${name}'): the command comes from a host (unsafe data) and is not run on the controller`, 'AnsibleError')
  return str(t)
}

function runCommand(name: string, cmd: string, env: Env): string {
  // Ansible runs it with the shell and waits for it; so does this (bounded: a template must not hang a run)
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: baseDir(env), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })
  if (r.error) throw new PyError(`lookup('${name}'): ${r.error.message}`, 'AnsibleError')
  if (r.status !== 0) throw new PyError(`lookup_plugin.${name}(${cmd}) returned ${r.status}`, 'AnsibleError')
  return r.stdout
}

L(
  'pipe',
  (terms, _k, { frame }) =>
    (controllerOnly('pipe', frame.env), terms).map((t) => runCommand('pipe', controllerCommand('pipe', t), frame.env).replace(/\n$/, '')),
  false,
)
L(
  'lines',
  (terms, _k, { frame }) =>
    (controllerOnly('lines', frame.env), terms).flatMap((t) =>
      runCommand('lines', controllerCommand('lines', t), frame.env)
        .split(/\r?\n/)
        .filter((l, i, all) => i < all.length - 1 || l !== ''),
    ),
  false,
)

L(
  'varnames',
  (terms, _k, { frame }) => {
    const names = Object.keys(frame.env.vars)
    const out: string[] = []
    for (const t of terms) {
      if (!isStr(t)) throw new PyError(`Invalid setting identifier, "${pyStr(t)}" is not a string, it is a <class '${typeName(t)}'>`, 'AnsibleError')
      const re = pyRegex(sv(t))
      for (const n of names) if (re.test(n)) out.push(n)
    }
    return out
  },
  false,
)

function pyRegex(p: string): RegExp {
  try {
    return new RegExp(p)
  } catch (e) {
    // Python's re words it "nothing to repeat at position 0"; JS: "Invalid regular expression: /*/: Nothing to repeat"
    const m = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
    throw new PyError(`Unable to use "${p}" as a search parameter: ${m.charAt(0).toLowerCase() + m.slice(1)}`, 'AnsibleError')
  }
}

L('together', (terms) => {
  if (!terms.length) throw new PyError('with_together requires at least one element in each list', 'AnsibleError')
  const lists = terms.map((t) => (Array.isArray(t) ? t : [t]))
  const n = Math.max(...lists.map((l) => l.length))
  return Array.from({ length: n }, (_, i) => lists.map((l) => (i < l.length ? l[i] : null)))
})

L('nested', (terms) => {
  if (!terms.length) throw new PyError('with_nested requires at least one element in the nested list', 'AnsibleError')
  const lists = terms.map((t) => (Array.isArray(t) ? t : [t]))
  let acc: unknown[][] = lists[0].map((x) => [x])
  for (const l of lists.slice(1)) acc = acc.flatMap((a) => l.map((x) => [...a, x]))
  return acc.map((x) => flat(x))
})
L('cartesian', LOOKUPS.nested)

L('flattened', (terms) => flat(terms).filter((x) => !(isStr(x) && (sv(x) === 'None' || sv(x) === 'null'))))

L('random_choice', (terms) => (terms.length ? [terms[randomInt(terms.length)]] : []), false)

// Ansible's subelements lookup, step by step (its skip_missing goes on to the next subkey, and the
// list is taken out of the first element, which the items then carry without it)
L('subelements', (terms) => {
  const termsError = (msg = '') => new PyError('subelements lookup expects a list of two or three items, ' + msg, 'AnsibleError')
  if (terms.length < 2 || terms.length > 3) throw termsError()
  const key = terms[1]
  // listify_lookup_plugin_terms: a string or a scalar first term is a list of one
  const list = isDict(terms[0]) || Array.isArray(terms[0]) ? terms[0] : [terms[0]]
  if (!(isDict(list) || Array.isArray(list)) || !isStr(key)) throw termsError('first a dict or a list, second a string pointing to the subkey')
  const subelements = sv(key).split('.')
  let elements: unknown[]
  if (isDict(list)) {
    if (hasKey(list, 'skipped') && list.skipped !== false) return []
    elements = Object.values(list)
  } else elements = list
  const flags = terms.length === 3 ? terms[2] : {}
  if (!isDict(flags)) throw termsError("the optional third item must be a dict with flags ['skip_missing']")
  const skipMissing = truthy(flags.skip_missing ?? false)
  const out: unknown[] = []
  for (const el of elements) {
    if (!isDict(el)) throw new PyError(`subelements lookup expects a dictionary, got '${pyStr(el)}'`, 'AnsibleError')
    if (hasKey(el, 'skipped') && el.skipped !== false) continue
    const item0: Record<string, unknown> = { ...el }
    let sub: Record<string, unknown> = item0
    let sublist: unknown[] = []
    for (const [i, sk] of subelements.entries()) {
      const last = i === subelements.length - 1
      if (!hasKey(sub, sk)) {
        if (skipMissing) continue
        throw new PyError(`could not find '${sk}' key in iterated item '${pyStr(sub)}'`, 'AnsibleError')
      }
      if (!last) {
        if (!isDict(sub[sk])) {
          if (skipMissing) continue
          throw new PyError(`the key ${sk} should point to a dictionary, got '${pyStr(sub[sk])}'`, 'AnsibleError')
        }
        sub[sk] = { ...(sub[sk] as Record<string, unknown>) }
        sub = sub[sk] as Record<string, unknown>
      } else {
        if (!Array.isArray(sub[sk])) throw new PyError(`the key ${sk} should point to a list, got '${pyStr(sub[sk])}'`, 'AnsibleError')
        sublist = sub[sk] as unknown[]
        delete sub[sk]
      }
    }
    for (const x of sublist) out.push([item0, x])
  }
  return out
})

L('first_found', (terms, k, { frame }) => {
  const env = frame.env
  let skip = truthy(k.skip ?? false)
  const files: string[] = []
  const paths: string[] = []
  const split = (v: unknown): string[] =>
    flat(Array.isArray(v) ? v : [v])
      .flatMap((x) => str(x).split(/[,;]/))
      .map((s) => s.trim())
      .filter(Boolean)
  // paths also split on ':' (Ansible's _split_on(paths, ',:;'))
  const splitPaths = (v: unknown): string[] => split(v).flatMap((x) => x.split(':').filter(Boolean))
  for (const t of flat(terms)) {
    if (isDict(t)) {
      const f = split(t.files ?? [])
      const p = splitPaths(t.paths ?? [])
      if (truthy(t.skip ?? false)) skip = true
      if (p.length) for (const path of p) for (const file of f) files.push(join(path, file))
      else files.push(...f)
    } else files.push(str(t))
  }
  if (k.files !== undefined || k.paths !== undefined) {
    const f = split(k.files ?? [])
    for (const p of splitPaths(k.paths ?? [])) paths.push(p)
    if (paths.length) for (const p of paths) for (const file of f) files.push(join(p, file))
    else files.push(...f)
  }
  for (const f of files) {
    const found = isAbsolute(f) ? (existsSync(f) ? f : null) : findFile(env, f, 'files', true)
    if (found) return [found]
  }
  if (skip) return []
  throw new PyError('No file was found when using first_found.', 'AnsibleLookupError')
})

L(
  'fileglob',
  (terms, _k, { frame }) => {
    const out: string[] = []
    for (const t of terms) {
      const term = str(t)
      const dir = dirname(term)
      const base = term.slice(dir === '.' && !term.startsWith('./') ? 0 : dir.length + 1)
      const roots = isAbsolute(term) ? [dir] : (frame.env.lookupOpts.searchPath ?? []).flatMap((d) => [join(d, 'files', dir), join(d, dir)])
      const re = globRegex(base)
      for (const root of roots) {
        let names: string[]
        try {
          names = readdirSync(root).sort()
        } catch {
          continue
        }
        const hits = names.filter((n) => re.test(n) && statSync(join(root, n)).isFile()).map((n) => resolve(root, n))
        if (hits.length) {
          out.push(...hits)
          break
        }
      }
    }
    return out
  },
  false,
)

/** Python fnmatch: * ? [seq] [!seq]; a leading dot is matched by wildcards too (glob hides dotfiles). */
function globRegex(p: string): RegExp {
  const pieces: string[] = []
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '*') {
      pieces.push(re)
      re = ''
    } else if (c === '?') re += '.'
    else if (c === '[') {
      const j = p.indexOf(']', i + 2)
      if (j < 0) re += '\\['
      else {
        let set = p.slice(i + 1, j).replace(/\\/g, '\\\\')
        if (set.startsWith('!')) set = '^' + set.slice(1)
        re += `[${set}]`
        i = j
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  // the stars matched atomically: `.*` for each backtracked in O(name^stars)
  return new RegExp(`^(?!\\.)(?:${starPieces([...pieces, re])})$`, 's')
}

L(
  'inventory_hostnames',
  (terms, _k, { frame }) => {
    const groups = frame.env.hooks.templateVar('groups', frame.env.vars.groups, frame.env) as Record<string, string[]> | undefined
    if (!isDict(groups)) return []
    const all = (groups.all as string[]) ?? []
    const match = (pat: string): string[] => {
      if (pat === 'all' || pat === '*') return all
      if (hasKey(groups, pat)) return groups[pat] as string[]
      if (pat.startsWith('~')) {
        const re = new RegExp(pat.slice(1))
        return all.filter((h) => re.test(h))
      }
      if (/[*?[]/.test(pat)) {
        const re = globRegex(pat)
        const gs = Object.keys(groups)
          .filter((g) => re.test(g))
          .flatMap((g) => groups[g] as string[])
        return [...new Set([...gs, ...all.filter((h) => re.test(h))])]
      }
      return all.includes(pat) ? [pat] : []
    }
    let hosts: string[] = []
    for (const t of terms) {
      for (const part of str(t)
        .split(/[:,]/)
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (part.startsWith('!')) hosts = hosts.filter((h) => !match(part.slice(1)).includes(h))
        else if (part.startsWith('&')) hosts = hosts.filter((h) => match(part.slice(1)).includes(h))
        else hosts = [...hosts, ...match(part).filter((h) => !hosts.includes(h))]
      }
    }
    return all.filter((h) => hosts.includes(h))
  },
  false,
)

/** `path key=value ...` terms (password, ini). */
function termParams(t: string): { first: string; params: Record<string, string> } {
  const parts = splitBeforeKeys(t.trim())
  const params: Record<string, string> = {}
  for (const p of parts.slice(1)) {
    const i = p.indexOf('=')
    params[p.slice(0, i)] = p.slice(i + 1)
  }
  return { first: parts[0] ?? '', params }
}

const CHARSETS: Record<string, string> = {
  ascii_letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ascii_lowercase: 'abcdefghijklmnopqrstuvwxyz',
  ascii_uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hexdigits: '0123456789abcdefABCDEF',
  octdigits: '01234567',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
}

/** password: the file's password when it exists, else a new random one written there (as Ansible). */
L(
  'password',
  (terms, k, { frame }) =>
    (controllerOnly('password', frame.env), terms).map((t) => {
      const { first, params } = termParams(str(t))
      const opt = (n: string) => params[n] ?? (k[n] !== undefined ? str(k[n]) : undefined)
      const length = Number(opt('length') ?? 20)
      const chars =
        (opt('chars') ?? 'ascii_letters,digits,.,:-_')
          .split(/,(?!,)/)
          .map((c) => CHARSETS[c] ?? c)
          .join('') || CHARSETS.ascii_letters
      const path = isAbsolute(first) ? first : join(baseDir(frame.env), first)
      if (first !== '/dev/null' && existsSync(path)) {
        const content = readFileSync(path, 'utf8').trimEnd()
        return content.replace(/ salt=\S*$/, '')
      }
      const pw = Array.from({ length }, () => chars[randomInt(chars.length)]).join('')
      if (first !== '/dev/null') {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, pw + '\n', { mode: 0o600 })
      }
      recordVaultSecret(pw)
      return pw
    }),
  false,
)

/** ini: `key section=S file=F default=D re=False type=ini|properties`. */
L(
  'ini',
  (terms, k, { frame }) =>
    terms.map((t) => {
      const { first: key, params } = termParams(str(t))
      const opt = (n: string, d: string) => params[n] ?? (k[n] !== undefined ? str(k[n]) : d)
      const file = findFile(frame.env, opt('file', 'ansible.ini'), 'files')!
      const text = readFileSync(file, opt('encoding', 'utf-8') as BufferEncoding)
      const type = opt('type', 'ini')
      const section = type === 'properties' ? 'java_properties' : opt('section', 'global')
      const entries = new Map<string, string>()
      let cur = type === 'properties' ? 'java_properties' : ''
      for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim()
        if (!line || line.startsWith('#') || line.startsWith(';')) continue
        const sec = /^\[(.+)\]$/.exec(line)
        if (sec && type !== 'properties') {
          cur = sec[1]
          continue
        }
        if (cur !== section) continue
        const m = splitAssignment(line)
        if (m) entries.set(type === 'properties' ? m[0] : m[0].toLowerCase(), m[1])
      }
      if (truthy(opt('re', 'False') === 'True' || opt('re', 'False') === 'true')) {
        const re = new RegExp(key)
        return [...entries].filter(([n]) => re.test(n)).map(([, v]) => v)
      }
      const v = entries.get(type === 'properties' ? key : key.toLowerCase())
      return v === undefined ? (params.default ?? (k.default !== undefined ? k.default : '')) : v
    }),
  false,
)

/** unvault: a (vaulted) file's content, decrypted with the run's vault password; the result is secret. */
L(
  'unvault',
  (terms, _k, { frame }) =>
    terms.map((t) => {
      const file = findFile(frame.env, str(t), 'files')!
      const text = readFileSync(file, 'utf8')
      if (!isVaulted(text)) return text
      if (!hasVaultSecrets()) throw new PyError(`lookup('unvault'): ${str(t)} is vaulted and no vault password was given`, 'AnsibleError')
      const plain = decryptWithSecrets(text)
      recordVaultSecret(plain)
      return plain
    }),
  false,
)

/** config: an Ansible setting's value, as the controller's ansible-core resolves it (see configlookup.ts). */
L('config', configLookup, false)

/** Does k3sbook's template engine have this lookup (`with_NAME`, `lookup('NAME')`)? */
export function hasLookup(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(LOOKUPS, name.replace(/^ansible\.builtin\./, ''))
}

/** Filters k3sbook refuses at run time (they read the controller's state): validate reports their use. */
export const REFUSED_FILTERS = new Set(['expanduser', 'expandvars', 'realpath', 'fileglob', 'unvault', 'vault', 'strftime', 'to_datetime'])
