// Ansible's `key=value` argument strings (`copy: src=a dest=b`, `command: ls chdir=/tmp`, `-e a=1`):
// split on spaces outside quotes and Jinja blocks, then split each word at its first unescaped `=`.

/** Split like Ansible's split_args: whitespace separates words except inside quotes or `{{ }}`/`{% %}`/`{# #}`. */
export function splitArgs(text: string): string[] {
  const out: string[] = []
  let cur = ''
  let quote: string | null = null
  let depth = 0 // open jinja blocks
  let started = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    const two = text.slice(i, i + 2)
    if (quote) {
      cur += c
      if (c === '\\' && i + 1 < text.length) {
        cur += text[++i]
        continue
      }
      if (c === quote) quote = null
      continue
    }
    if (two === '{{' || two === '{%' || two === '{#') {
      depth++
      cur += two
      i++
      started = true
      continue
    }
    if (depth > 0 && (two === '}}' || two === '%}' || two === '#}')) {
      depth--
      cur += two
      i++
      continue
    }
    if (depth === 0 && /\s/.test(c)) {
      if (started) out.push(cur)
      cur = ''
      started = false
      continue
    }
    if ((c === '"' || c === "'") && depth === 0) quote = c
    if (c === '\\' && i + 1 < text.length && depth === 0) {
      cur += c + text[++i]
      started = true
      continue
    }
    cur += c
    started = true
  }
  if (started) out.push(cur)
  return out
}

export function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1)
  return s
}

/** command's and shell's free-form options (kept here under its old name for parseKv's callers). */
export { COMMAND_OPTIONS as RAW_OPTION_KEYS } from '../modules/command.js'

/**
 * Ansible's parse_kv. With `rawKeys` (free-form modules), only those keys are taken out and the
 * rest is the free-form text in `_raw_params`; without it every `k=v` word is an option and any
 * other word goes to `_raw_params` too (the caller decides whether that is allowed).
 */
export function parseKv(text: string, rawKeys?: ReadonlySet<string>): Record<string, string> {
  const opts: Record<string, string> = {}
  const raw: string[] = []
  for (const word of splitArgs(text)) {
    const eq = findEquals(word)
    if (eq > 0) {
      const k = word.slice(0, eq).trim()
      const v = word.slice(eq + 1).trim()
      if (/^[A-Za-z_][\w.-]*$/.test(k) && (!rawKeys || rawKeys.has(k))) {
        opts[k] = unquote(v).replace(/\\=/g, '=')
        continue
      }
    }
    raw.push(word)
  }
  if (raw.length) opts._raw_params = raw.join(' ')
  return opts
}

function findEquals(word: string): number {
  let quote: string | null = null
  for (let i = 0; i < word.length; i++) {
    const c = word[i]
    if (quote) {
      if (c === quote) quote = null
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      continue
    }
    if (c === '{' && (word[i + 1] === '{' || word[i + 1] === '%')) return -1
    if (c === '=' && word[i - 1] !== '\\') return i
  }
  return -1
}
