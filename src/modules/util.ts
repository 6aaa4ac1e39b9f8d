// Helpers shared by the core modules: schema fragments (so argument docs read the same everywhere),
// Ansible's loose booleans and modes, and the one atomic-write step every file-writing module uses
// (temp file beside the target, attributes set on the temp file, then rename).
import { translatePattern } from '../template/pyregex.js'
import { createHash } from 'node:crypto'
import type { SchemaObject } from 'ajv'
import { shQuote } from '../connection/quote.js'
import type { Change, FileDiff, FileInfo, PathEffect, Plan, Step, StepResult } from './types.js'
import type { Vars } from '../model.js'

// ---------------------------------------------------------------- schema fragments

/** A value that is still a template when validated before rendering. */
const TEMPLATED = '\\{\\{|\\{%'
const BOOL_WORDS = '^(?:[Yy](?:[Ee][Ss])?|[Nn][Oo]?|[Tt]rue|TRUE|[Ff]alse|FALSE|[Oo]n|ON|[Oo]ff|OFF|1|0)$'

export function str(description: string, extra: SchemaObject = {}): SchemaObject {
  return { type: 'string', description, ...extra }
}

/** Paths and other scalars users may write as numbers in YAML. */
export function scalar(description: string): SchemaObject {
  return { type: ['string', 'number'], description }
}

/** Ansible booleans: true/false, yes/no, on/off, 1/0 (YAML 1.2 leaves `yes` a string). */
export function bool(description: string): SchemaObject {
  return {
    description,
    anyOf: [{ type: 'boolean' }, { type: 'integer', enum: [0, 1] }, { type: 'string', pattern: BOOL_WORDS }, { type: 'string', pattern: TEMPLATED }],
  }
}

export function choice(values: readonly string[], description: string): SchemaObject {
  return { description, anyOf: [{ type: 'string', enum: [...values] }, { type: 'string', pattern: TEMPLATED }] }
}

export function int(description: string): SchemaObject {
  return { description, anyOf: [{ type: 'integer' }, { type: 'string', pattern: `^-?[0-9]+$|${TEMPLATED}` }] }
}

export const modeSchema = (extra = ''): SchemaObject => ({
  type: ['string', 'integer'],
  description:
    "Permissions: octal as a quoted string ('0644', '644'), symbolic ('u=rw,g=r,o=r', 'u+x'), or a YAML octal number (0644)." +
    ' An unquoted 644 is the decimal number 644, as in Ansible: quote modes.' +
    ' Not given: new files get the umask default and existing files keep theirs.' +
    extra,
})

export const ownerSchema = (): SchemaObject => ({ type: ['string', 'integer'], description: 'User name (or uid) that should own the path. Not given: kept as is (new files: the connecting/become user).' })
export const groupSchema = (): SchemaObject => ({ type: ['string', 'integer'], description: 'Group name (or gid) that should own the path. Not given: kept as is.' })

export function moduleSchema(properties: Record<string, SchemaObject>, extra: SchemaObject = {}): SchemaObject {
  return { type: 'object', properties, additionalProperties: false, ...extra }
}

// ---------------------------------------------------------------- argument values

export class ArgError extends Error {}

/** Ansible's boolean conversion (module_utils.parsing.convert_bool). */
export function toBool(v: unknown, name = 'value'): boolean {
  if (typeof v === 'boolean') return v
  if (v === undefined || v === null) return false
  const s = String(v).trim().toLowerCase()
  if (['yes', 'on', '1', 'true', 't', 'y', '1.0'].includes(s)) return true
  if (['no', 'off', '0', 'false', 'f', 'n', '0.0', ''].includes(s)) return false
  throw new ArgError(`${name}: "${String(v)}" is not a valid boolean (use true or false)`)
}

export function optBool(v: unknown, def: boolean, name?: string): boolean {
  return v === undefined || v === null ? def : toBool(v, name)
}

export function optStr(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v)
}

/** First defined value among an argument and its aliases. */
export function pick(args: object, ...names: string[]): unknown {
  const a = args as Record<string, unknown>
  for (const n of names) if (a[n] !== undefined && a[n] !== null) return a[n]
  return undefined
}

export function oneOf<T extends string>(v: unknown, values: readonly T[], name: string, def: T): T {
  if (v === undefined || v === null) return def
  const s = String(v)
  if ((values as readonly string[]).includes(s)) return s as T
  throw new ArgError(`${name}: value must be one of: ${values.join(', ')}, got: ${s}`)
}

// ---------------------------------------------------------------- modes

/**
 * A wanted mode as four octal digits, given the current mode (symbolic modes are relative) and
 * whether the path is a directory (for `X`). An integer is taken as already converted from octal,
 * as Ansible does: YAML `0644` is 420 → '0644'; a plain 644 stays the decimal number (→ '1204').
 */
export function normalizeMode(mode: unknown, current?: string, isDir = false): string {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new ArgError(`mode must be between 0 and 07777, got ${mode}`)
    return mode.toString(8).padStart(4, '0')
  }
  const s = String(mode).trim()
  if (/^0?o?[0-7]{1,4}$/.test(s) || /^0o[0-7]{1,4}$/i.test(s)) {
    const digits = s.replace(/^0o/i, '')
    const n = parseInt(digits, 8)
    if (n > 0o7777) throw new ArgError(`mode must be between 0 and 07777, got ${s}`)
    return n.toString(8).padStart(4, '0')
  }
  if (/^[0-7]+$/.test(s)) throw new ArgError(`mode ${s} is out of range (at most 4 octal digits)`)
  return symbolicMode(s, current ? parseInt(current, 8) : 0, isDir).toString(8).padStart(4, '0')
}

const WHO_MASK: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007 }

/** chmod(1)-style symbolic modes ('u=rw,g=r,o=', 'a+x', 'go-w', 'u=rwX'), as Ansible computes them. */
export function symbolicMode(spec: string, current: number, isDir: boolean): number {
  let mode = current & 0o7777
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*|[ugo])$/.exec(clause)
    if (!m) throw new ArgError(`bad symbolic mode "${spec}" (expected e.g. u=rw,g=r,o=r)`)
    // Ansible applies no umask for an empty "who": it is the same as 'a'.
    const who = (m[1] || 'a').replace('a', 'ugo')
    const op = m[2]
    for (const w of new Set(who)) {
      let bits = 0
      if (/^[ugo]$/.test(m[3])) {
        // Copy permissions from another class (g=u).
        const src = m[3]
        const shift = src === 'u' ? 6 : src === 'g' ? 3 : 0
        const rwx = (mode >> shift) & 7
        bits = w === 'u' ? rwx << 6 : w === 'g' ? rwx << 3 : rwx
      } else {
        for (const p of m[3]) {
          const sh = w === 'u' ? 6 : w === 'g' ? 3 : 0
          if (p === 'r') bits |= 4 << sh
          else if (p === 'w') bits |= 2 << sh
          else if (p === 'x') bits |= 1 << sh
          else if (p === 'X') {
            if (isDir || (mode & 0o111) !== 0) bits |= 1 << sh
          } else if (p === 's') bits |= w === 'u' ? 0o4000 : w === 'g' ? 0o2000 : 0
          else if (p === 't') bits |= w === 'o' ? 0o1000 : 0
        }
      }
      const mask = WHO_MASK[w]
      if (op === '=') mode = (mode & ~mask) | (bits & mask)
      else if (op === '+') mode |= bits & mask
      else mode &= ~(bits & mask)
    }
  }
  return mode
}

/** A mode for chmod(1): symbolic clauses without "who" mean "a" in Ansible (chmod would apply the umask). */
export function chmodSpec(mode: string): string {
  if (/^[0-7]+$/.test(mode)) return mode
  return mode
    .split(',')
    .map((c) => (/^[-+=]/.test(c) ? 'a' + c : c))
    .join(',')
}

// ---------------------------------------------------------------- hashes, diffs

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex')
}
export function sha1(b: Buffer | string): string {
  return createHash('sha1').update(b).digest('hex')
}
export function md5(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex')
}

/** Text for a diff: binary or unknown content is summarized instead of shown. */
export function diffText(b: Buffer | undefined): string {
  if (!b) return ''
  if (b.includes(0)) return `(binary, ${b.length} bytes)\n`
  return b.toString('utf8')
}

export function fileDiff(path: string, before: Buffer | undefined, after: Buffer | string): FileDiff {
  return { path, before: diffText(before), after: typeof after === 'string' ? after : diffText(after) }
}

// ---------------------------------------------------------------- attributes

export interface Attrs {
  mode?: unknown
  owner?: unknown
  group?: unknown
}

/** Which of mode/owner/group differ from what the host has (owner and group compare by name or id). */
export interface AttrPlan {
  /** What chmod gets: octal when the current mode is known, else the user's symbolic mode. */
  mode?: string
  /** The mode the path will have, for check-mode effects (a guess from 0644/0755 for new symbolic modes). */
  effectMode?: string
  owner?: string
  group?: string
  changes: Change[]
}

/** Which of mode/owner/group differ from what the host has (owner and group compare by name or id). */
export function attrChanges(info: FileInfo | undefined, want: Attrs, isDirWanted = false): AttrPlan {
  const out: AttrPlan = { changes: [] }
  const exists = !!info?.exists
  const isDir = exists ? info!.type === 'directory' : isDirWanted
  if (want.mode !== undefined && want.mode !== null && String(want.mode) !== 'preserve') {
    if (exists) {
      const m = normalizeMode(want.mode, info!.mode, isDir)
      if (info!.mode !== m) {
        out.mode = out.effectMode = m
        out.changes.push({ summary: `mode ${info!.mode} → ${m}` })
      }
    } else {
      const symbolic = typeof want.mode === 'string' && !/^0?o?[0-7]{1,4}$/i.test(want.mode.trim())
      out.effectMode = normalizeMode(want.mode, isDir ? '0755' : '0644', isDir)
      out.mode = symbolic ? String(want.mode) : out.effectMode
    }
  }
  if (want.owner !== undefined && want.owner !== null) {
    const o = String(want.owner)
    if (!exists || (info!.owner !== o && String(info!.uid) !== o)) {
      out.owner = o
      if (exists) out.changes.push({ summary: `owner ${info!.owner} → ${o}` })
    }
  }
  if (want.group !== undefined && want.group !== null) {
    const g = String(want.group)
    if (!exists || (info!.group !== g && String(info!.gid) !== g)) {
      out.group = g
      if (exists) out.changes.push({ summary: `group ${info!.group} → ${g}` })
    }
  }
  return out
}

/** chown/chmod lines for a path (`-h` so a link itself is changed, never its target, where asked). */
export function attrScript(path: string, a: { mode?: string; owner?: string; group?: string }, opts: { recurse?: boolean; noDeref?: boolean } = {}): string[] {
  return attrLines(shQuote(path), a, opts)
}

/** Like attrScript, with the path already a shell word (e.g. "$t"). */
export function attrLines(word: string, a: { mode?: string; owner?: string; group?: string }, opts: { recurse?: boolean; noDeref?: boolean } = {}): string[] {
  const lines: string[] = []
  const r = opts.recurse ? '-R ' : ''
  const h = opts.noDeref ? '-h ' : ''
  if (a.owner !== undefined || a.group !== undefined) {
    const spec = a.owner !== undefined ? `${a.owner}${a.group !== undefined ? ':' + a.group : ''}` : `:${a.group}`
    lines.push(`chown ${r}${h}${shQuote(spec)} -- ${word}`)
  }
  if (a.mode !== undefined) lines.push(`chmod ${r}${shQuote(chmodSpec(a.mode))} -- ${word}`)
  return lines
}

// ---------------------------------------------------------------- atomic writes

export const BACKUP_MARK = '#k3sbook-backup '

/**
 * Shell lines that copy `path` to Ansible's backup name (`path.PID.YYYY-MM-DD@HH:MM:SS~`) and print
 * the name after BACKUP_MARK, so the registered result carries `backup_file`.
 */
export function backupLines(path: string, word = shQuote(path)): string[] {
  return [
    `if [ -e ${word} ]; then`,
    `  b=${word}."$$".$(date +%Y-%m-%d@%H:%M:%S)~`,
    `  cp -p -- ${word} "$b" || exit 1`,
    `  printf '${BACKUP_MARK}%s\\n' "$b"`,
    'fi',
  ]
}

export function backupFromSteps(steps: StepResult[] | undefined): string | undefined {
  for (const s of steps ?? []) {
    for (const line of s.stdout.toString('utf8').split('\n')) if (line.startsWith(BACKUP_MARK)) return line.slice(BACKUP_MARK.length)
  }
  return undefined
}

export interface WriteOptions {
  /** Wanted mode (normalized) or undefined to keep the existing one (or the umask default for a new file). */
  mode?: string
  owner?: string
  group?: string
  backup?: boolean
  /** Command run on the temp file before it replaces the target; `%s` is the temp file's path. */
  validate?: string
  /** Where the bytes come from: stdin (default) or a file on the host (remote_src). */
  fromPath?: string
  /** Ensure the parent directory exists (blockinfile/lineinfile create=true). */
  mkdirParent?: boolean
  /** Write through a symlink at the target to the file it points to (lineinfile, blockinfile, copy follow=true). */
  followLink?: boolean
}

/**
 * One step that writes `dest` atomically: bytes (from stdin or a host path) into a temp file in the
 * same directory, the existing file's mode and owner copied onto it unless new ones are given,
 * optional validation, optional backup, then rename over the target.
 */
export function writeFileStep(dest: string, content: Buffer | undefined, o: WriteOptions & { describe?: string; effectMode?: string; effectContent?: Buffer; sha?: string }): Step {
  const d = shQuote(dest)
  const lines = ['set -e', `d=${d}`]
  // No $(dirname …): command substitution would eat trailing newlines of a directory name.
  if (o.followLink) lines.push('if [ -L "$d" ]; then d=$(readlink -f -- "$d"; printf x); d=${d%??}; fi')
  lines.push('case $d in */*) dir=${d%/*}; [ -n "$dir" ] || dir=/ ;; *) dir=. ;; esac')
  if (o.mkdirParent) lines.push('mkdir -p -- "$dir"')
  // A random temp name beside the target keeps the rename atomic (same filesystem).
  // A hang-up (the SSH session closed under us) exits through the EXIT trap, which removes the temp file.
  lines.push('t=$(mktemp "$dir/.k3sbook.XXXXXXXX")', "trap 'rm -f -- \"$t\"' EXIT", "trap 'exit 129' HUP INT TERM PIPE")
  lines.push(o.fromPath !== undefined ? `cat -- ${shQuote(o.fromPath)} > "$t"` : 'cat > "$t"')
  // When the controller dies or the connection drops mid-transfer, the host's shell still gets an
  // end of input and would go on with a truncated temp file: only whole content replaces the target.
  if (o.fromPath === undefined && content !== undefined)
    lines.push(`[ $(wc -c < "$t") -eq ${content.length} ] || { printf '%s\\n' "short write: the content did not arrive whole; $d left as it was" >&2; exit 1; }`)
  // Keep mode and ownership of the file being replaced; mktemp makes 0600 files.
  lines.push(
    'if [ -e "$d" ]; then',
    '  chmod "$(stat -L -c %a -- "$d")" "$t"',
    '  chown "$(stat -L -c %u:%g -- "$d")" "$t" 2>/dev/null || true',
    'else',
    '  chmod "$(printf %o $((0666 & ~$(umask))))" "$t"',
    'fi',
  )
  lines.push(...attrLines('"$t"', { mode: o.mode, owner: o.owner, group: o.group }))
  if (o.validate) {
    if (!o.validate.includes('%s')) throw new ArgError(`validate must contain %s (the file to check): ${o.validate}`)
    // %s is replaced by the quoted temp path; the rest is the user's shell command, as in Ansible.
    lines.push(`set +e`, `${o.validate.split('%s').join('"$t"')}`, 'rc=$?', 'set -e', 'if [ $rc -ne 0 ]; then echo "failed to validate (rc=$rc)" >&2; exit 3; fi')
  }
  if (o.backup) lines.push(...backupLines(dest, '"$d"'))
  // -T: never move *into* a directory that happens to sit at the target's name.
  lines.push('mv -Tf -- "$t" "$d"', 'trap - EXIT')
  const effect: PathEffect = { path: dest, state: 'file', mode: o.effectMode ?? o.mode, owner: o.owner, group: o.group }
  if (o.effectContent ?? content) effect.content = o.effectContent ?? content
  if (o.sha) effect.sha256 = o.sha
  return {
    describe: o.describe ?? `write ${dest}`,
    script: lines.join('\n') + '\n',
    stdin: o.fromPath !== undefined ? undefined : content,
    effects: [effect],
  }
}

/** chmod/chown of an existing path, as a step with its declared effect. */
export function attrStep(path: string, info: FileInfo, a: { mode?: string; owner?: string; group?: string }, opts: { recurse?: boolean; noDeref?: boolean } = {}): Step {
  const eff: PathEffect =
    info.type === 'directory'
      ? { path, state: 'directory', mode: a.mode ?? info.mode, owner: a.owner ?? info.owner, group: a.group ?? info.group }
      : { path, state: 'file', mode: a.mode ?? info.mode, owner: a.owner ?? info.owner, group: a.group ?? info.group, sha256: info.sha256, content: info.content }
  return { describe: `set attributes of ${path}`, script: ['set -e', ...attrScript(path, a, opts)].join('\n') + '\n', effects: [eff] }
}

/** A plan that fails with the message of a bad argument, instead of throwing from deep inside. */
export function argFail(e: unknown): Plan {
  if (e instanceof ArgError) return { status: 'fail', msg: e.message }
  throw e
}

/** Lines of text the way Python's splitlines() cuts them for stdout_lines (no trailing empty line). */
export function splitLines(s: string): string[] {
  if (s === '') return []
  const parts = s.split(/\r\n|\n|\r/)
  if (parts[parts.length - 1] === '') parts.pop()
  return parts
}

/** Ansible's registered file attributes (path, mode, owner, ...) from what the host has. */
export function fileResult(info: FileInfo | undefined, key: 'path' | 'dest' = 'path'): Vars {
  if (!info?.exists) return { [key]: info?.path, state: 'absent' }
  const state = info.type === 'directory' ? 'directory' : info.type === 'link' ? 'link' : info.type === 'file' ? 'file' : 'file'
  return { [key]: info.path, state, mode: info.mode, owner: info.owner, group: info.group, uid: info.uid, gid: info.gid, size: info.size }
}

// ---------------------------------------------------------------- Python regular expressions

/**
 * A Python `re` pattern as a JS RegExp with the same meaning on one line of text: `$` also
 * matches before a final newline (Python's rule, so `^foo$` matches "foo\n"), `(?P<n>…)` named
 * groups, `\A`/`\Z`, and leading inline flags `(?i)`, `(?m)`, `(?s)`.
 */
export function pyRegex(pattern: string, extraFlags = ''): RegExp {
  let flags = new Set(extraFlags)
  let p = pattern
  for (let m = /^\(\?([aiLmsux]+)\)/.exec(p); m; m = /^\(\?([aiLmsux]+)\)/.exec(p)) {
    for (const f of m[1]) if ('ims'.includes(f)) flags.add(f)
    else if (f === 'x') throw new ArgError(`regular expression ${pattern}: the verbose flag (?x) is not supported`)
    p = p.slice(m[0].length)
  }
  const out = translatePattern(p, flags.has('m'))
  flags.delete('u')
  try {
    return new RegExp(out, [...flags].join(''))
  } catch (e) {
    throw new ArgError(`bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`)
  }
}

const PY_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\' }

/** Python's match.expand(template): `\1`, `\g<1>`, `\g<name>`, and the usual escapes. */
export function pyExpand(m: RegExpExecArray, template: string): string {
  let out = ''
  const group = (g: string) => {
    const v = /^\d+$/.test(g) ? m[Number(g)] : m.groups?.[g]
    if (/^\d+$/.test(g) && Number(g) >= m.length) throw new ArgError(`invalid group reference ${g}`)
    return v ?? ''
  }
  for (let i = 0; i < template.length; i++) {
    const c = template[i]
    if (c !== '\\') {
      out += c
      continue
    }
    const rest = template.slice(i + 1)
    let mm: RegExpExecArray | null
    if ((mm = /^g<([^>]*)>/.exec(rest))) {
      out += group(mm[1])
      i += mm[0].length
    } else if ((mm = /^0[0-7]{0,2}/.exec(rest)) || (mm = /^[0-7]{3}/.exec(rest))) {
      out += String.fromCharCode(parseInt(mm[0], 8))
      i += mm[0].length
    } else if ((mm = /^[1-9]\d?/.exec(rest))) {
      out += group(mm[0])
      i += mm[0].length
    } else if (rest[0] !== undefined && PY_ESCAPES[rest[0]] !== undefined) {
      out += PY_ESCAPES[rest[0]]
      i++
    } else if (rest[0] !== undefined && /[A-Za-z]/.test(rest[0])) {
      throw new ArgError(`bad escape \\${rest[0]} in the replacement`)
    } else {
      out += '\\' + (rest[0] ?? '')
      i++
    }
  }
  return out
}

/** Bytes as a string with one char per byte, so edits work on any file as Ansible's (byte-wise) do. */
export function bin(b: Buffer | string): string {
  return typeof b === 'string' ? Buffer.from(b, 'utf8').toString('latin1') : b.toString('latin1')
}
export function unbin(s: string): Buffer {
  return Buffer.from(s, 'latin1')
}

// ---------------------------------------------------------------- path info in results

const STAT_MARK = '#k3sbook-stat '

/** A line appended to a step: prints the path's attributes after the change, for the registered result. */
export function statLine(word: string): string {
  return `stat -L -c '${STAT_MARK}%F|%a|%U|%G|%u|%g|%s' -- ${word} 2>/dev/null || true`
}

/** Ansible's path info (state, mode, owner, group, uid, gid, size) from statLine output, if any. */
export function statFromSteps(steps: StepResult[] | undefined): Vars | undefined {
  let found: Vars | undefined
  for (const s of steps ?? []) {
    for (const line of s.stdout.toString('utf8').split('\n')) {
      if (!line.startsWith(STAT_MARK)) continue
      const [kind, mode, owner, group, uid, gid, size] = line.slice(STAT_MARK.length).split('|')
      found = { state: kind === 'directory' ? 'directory' : 'file', mode: mode.padStart(4, '0'), owner, group, uid: Number(uid), gid: Number(gid), size: Number(size) }
    }
  }
  return found
}
