// The run's secrets, kept by taint rather than by guessing from output: a value is secret because
// of where it came from (a vault, a variable named like a secret, a no_log task) or because it was
// computed from one (the template engine marks what a render produces when the render read a
// secret; see src/template/index.ts). Every output path (reporters, traces, diagnostics, files
// k3sbook writes) masks the marked values through a Redactor (src/output/common.ts), which reads
// this registry as it grows during the run.

/**
 * Variable names that mark a value as secret (besides values from a vault and no_log results): a
 * word of the name — words split at `_`, `-`, `.` and camelCase — is one of these, or two words in a
 * row are (private key, api key, datastore endpoint). Words, not substrings: `os_mnt_var_passno`,
 * `bypass_proxy` or `compass_dir` name no secret. `passwd` is not among them: in the names roles use
 * (`getent_passwd`, `passwd_files`) it is the passwd file, and marking those masked every user name
 * and `/etc/passwd` in all output. Nor is `update_password` (the user module's always/on_create):
 * marked, "always" was masked in every `Restart=always` printed after it.
 */
export const SECRET_NAME = { test: isSecretName }

const SECRET_WORDS = new Set(['pass', 'password', 'passwords', 'passphrase', 'secret', 'secrets', 'token', 'tokens', 'apikey', 'privkey'])
const SECRET_PAIRS = new Set(['private key', 'api key', 'datastore endpoint'])

export function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
  if (words.length >= 2 && words[words.length - 2] === 'update' && words[words.length - 1] === 'password') return false
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORDS.has(words[i])) return true
    if (i > 0 && SECRET_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true
  }
  return false
}

/**
 * Values shorter than this are not masked in output: a two- or five-letter secret cannot be told
 * apart from common words ("yes", "admin", "true") and masking it would blank those everywhere.
 * They still taint what is computed from them, so a longer value derived from one (its base64, a
 * URL holding it) is masked.
 */
export const MIN_REDACT_LENGTH = 6

/** Exact values known to be secret: a template that reads one of these is tainted. */
const values = new Set<string>()
/** Texts the Redactor masks (whole values, each line, with and without surrounding white space). */
const forms = new Set<string>()
let version = 0

function addForm(s: string): void {
  if (s.length >= MIN_REDACT_LENGTH && !forms.has(s)) {
    forms.add(s)
    version++
  }
}

function addText(s: string, lines: Iterable<string>, whole = true): void {
  if (s === '') return
  values.add(s)
  if (whole) {
    addForm(s)
    addForm(s.trim())
  }
  for (const l of lines) {
    addForm(l)
    addForm(l.trim())
  }
}

function splitLines(s: string): string[] {
  return s.includes('\n') ? s.split(/\r?\n/) : []
}

/** Objects never walked (lazy variable views: walking them would render every variable). */
export const OPAQUE = new WeakSet<object>()

/**
 * Views keyed by variable names (`vars`, one host's `hostvars[h]`): a key a host chose must not take
 * a secret out of them (template/runtime.ts refuses, as lookup('vars') does).
 */
export const NAME_VIEWS = new WeakSet<object>()

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || OPAQUE.has(v)) return false
  const p = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

/** Strings in a value (lists and mappings walked, wrapped strings unwrapped), up to a depth. */
export function eachString(v: unknown, fn: (s: string) => void, depth = 0): void {
  if (typeof v === 'string') fn(v)
  else if (v !== null && typeof v === 'object' && 'value' in v && typeof (v as { value: unknown }).value === 'string' && !isPlainObject(v) && !Array.isArray(v))
    fn((v as { value: string }).value)
  else if (depth > 64) return
  else if (Array.isArray(v)) for (const x of v) eachString(x, fn, depth + 1)
  else if (isPlainObject(v)) for (const x of Object.values(v)) eachString(x, fn, depth + 1)
}

/** Mark every string in a value secret (a multi-line string also line by line). */
export function markSecret(v: unknown): void {
  eachString(v, (s) => addText(s, splitLines(s)))
}

/** The text taints what reads it, but is not itself masked (its secret parts were marked on their own). */
export function taintOnly(s: string): void {
  if (s !== '') values.add(s)
}

/**
 * Mark a rendered template file secret: the whole text taints what reads it; in output, the lines
 * that came from the template's own literal text (not from any expression) stay readable, every
 * other line is masked. `keep`: lines that stay readable too (strings of a list or mapping read
 * whole, handed on as they were: see template/taint.ts Taint.held).
 */
export function markSecretRendered(out: string, templateText: string, keep?: Set<string>): void {
  const literal = new Set(templateText.split(/\r?\n/).filter((l) => !/\{\{|\{%|\{#/.test(l)))
  const lines = splitLines(out)
  const readable = (l: string) => literal.has(l) || (keep !== undefined && keep.has(l) && !values.has(l))
  addText(
    out,
    lines.filter((l) => !readable(l)),
    lines.length === 0,
  )
}

/**
 * Per list or mapping: whether it held a secret when `values` had this many entries (values are
 * only added). A template reads the same lists again and again (`groups`, `ansible_play_hosts`:
 * at 150 hosts, once per loop item of every host), and walking them each time was most of what a
 * template read allocated. Values read by templates are not changed in place (see containsUnsafe).
 */
const secretCache = new WeakMap<object, { size: number; found: boolean }>()

/** Does the value hold a string marked secret? */
export function isSecret(v: unknown): boolean {
  if (values.size === 0) return false
  if (typeof v === 'string') return values.has(v)
  if (v === null || typeof v !== 'object') return false
  const hit = secretCache.get(v)
  if (hit && hit.size === values.size) return hit.found
  let found = false
  eachString(v, (s) => {
    if (!found && values.has(s)) found = true
  })
  secretCache.set(v, { size: values.size, found })
  return found
}

/** What to mask, longest first (a version number tells a Redactor when to read it again). */
export function redactionForms(): { version: number; list: () => string[] } {
  return { version, list: () => [...forms].sort((a, b) => b.length - a.length) }
}

/** Does the value hold any string at all (a name-marked variable holding a bool taints nothing)? */
export function hasString(v: unknown): boolean {
  let found = false
  eachString(v, () => (found = true))
  return found
}

let masked = { version: -1, list: [] as string[] }

/** Text with every marked secret replaced by "********" (for output outside the reporters: traces). */
export function maskSecrets(text: string): string {
  if (masked.version !== version) masked = { version, list: redactionForms().list() }
  let out = text
  for (const v of masked.list) if (out.includes(v)) out = out.split(v).join('********')
  return out
}
