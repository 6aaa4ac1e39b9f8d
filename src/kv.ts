// Ansible's `key=value` argument strings (`copy: src=a dest=b`, `command: ls chdir=/tmp`, `-e a=1`):
// split on spaces outside quotes and Jinja blocks, then split each word at its first unescaped `=`.

/**
 * Ansible's split_args (lib/ansible/parsing/splitter.py), ported as is because exact semantics
 * matter: split on spaces, lines first, but keep quoted strings and `{{ }}`/`{% %}`/`{# #}` blocks
 * whole, and keep the original whitespace on the words (runs of spaces, a line's newline) so that
 * joinArgs gives back a free-form command with its lines, as Ansible's command and shell get it.
 * Two differences: a line's leading spaces before any word are dropped instead of failing with
 * Ansible's IndexError, and unbalanced quotes or blocks are kept as they are instead of failing.
 */
export function splitArgsKeepingSpace(args: string): string[] {
  const params: string[] = []
  const items = args.split('\n')
  let quoteChar: string | null = null
  let insideQuotes = false
  let printDepth = 0
  let blockDepth = 0
  let commentDepth = 0
  const depth = (token: string, cur: number, open: string, close: string) => {
    const n = token.split(open).length - token.split(close).length
    return n === 0 ? cur : Math.max(0, cur + n)
  }
  items.forEach((item, itemIdx) => {
    const tokens = item.split(' ')
    let lineContinuation = false
    tokens.forEach((token, idx) => {
      if (token.length === 0 && idx !== 0) {
        if (params.length) params[params.length - 1] += ' '
        return
      }
      if (token === '\\' && !insideQuotes) {
        lineContinuation = true
        return
      }
      const wasInsideQuotes = insideQuotes
      quoteChar = quoteState(token, quoteChar)
      insideQuotes = quoteChar !== null
      let appended = false
      const inBlock = () => printDepth || blockDepth || commentDepth
      if (insideQuotes && !wasInsideQuotes && !inBlock()) {
        params.push(token)
        appended = true
      } else if ((inBlock() || insideQuotes || wasInsideQuotes) && params.length) {
        const last = params.length - 1
        if (idx === 0 && wasInsideQuotes) params[last] += token
        else if (tokens.length > 1) params[last] += (idx > 0 ? ' ' : '') + token
        else params[last] += '\n' + token
        appended = true
      }
      for (const [open, close] of [
        ['{{', '}}'],
        ['{%', '%}'],
        ['{#', '#}'],
      ] as const) {
        const before = open === '{{' ? printDepth : open === '{%' ? blockDepth : commentDepth
        const after = depth(token, before, open, close)
        if (open === '{{') printDepth = after
        else if (open === '{%') blockDepth = after
        else commentDepth = after
        if (after !== before && !appended) {
          params.push(token)
          appended = true
        }
      }
      if (!inBlock() && !insideQuotes && !appended && token !== '') params.push(token)
    })
    if (items.length > 1 && itemIdx !== items.length - 1 && !lineContinuation && params.length) params[params.length - 1] += '\n'
  })
  return params
}

/** Ansible's _get_quote_state: the quote still open after this token. */
function quoteState(token: string, quoteChar: string | null): string | null {
  for (let i = 0; i < token.length; i++) {
    const c = token[i]
    if ((c === '"' || c === "'") && (i === 0 || token[i - 1] !== '\\')) {
      if (quoteChar) {
        if (c === quoteChar) quoteChar = null
      } else quoteChar = c
    }
  }
  return quoteChar
}

/** Ansible's join_args: the words back into one string, a space between them except after a newline. */
export function joinArgs(words: string[]): string {
  let out = ''
  for (const w of words) out += out.length === 0 || out.endsWith('\n') ? w : ' ' + w
  return out
}

/** The words alone (Ansible's split_args without the kept whitespace). */
export function splitArgs(text: string): string[] {
  return splitArgsKeepingSpace(text)
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
}

export function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1)
  return s
}

/**
 * Ansible's parse_kv. With `rawKeys` (free-form modules), only those keys are taken out and the
 * rest is the free-form text in `_raw_params`; without it every `k=v` word is an option and any
 * other word goes to `_raw_params` too (the caller decides whether that is allowed).
 */
export function parseKv(text: string, rawKeys?: ReadonlySet<string>): Record<string, string> {
  const opts: Record<string, string> = {}
  const raw: string[] = []
  for (const orig of splitArgsKeepingSpace(text)) {
    // as Ansible's parse_kv, an option's word is read after its escapes are decoded
    // (`regexp='\b'` is a backspace there); a free-form word stays as written
    const word = decodeEscapes(orig)
    const eq = findEquals(word)
    if (eq > 0) {
      const k = word.slice(0, eq).trim()
      const v = word.slice(eq + 1).trim()
      if (/^[A-Za-z_][\w.-]*$/.test(k) && (!rawKeys || rawKeys.has(k))) {
        opts[k] = unquote(v).replace(/\\=/g, '=')
        continue
      }
    }
    raw.push(orig)
  }
  if (raw.length) opts._raw_params = joinArgs(raw)
  return opts
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' }

/** Ansible's splitter._decode_escapes: \UXXXXXXXX, \uXXXX, \xXX and the one-letter escapes (\N{name} is left as written). */
export function decodeEscapes(s: string): string {
  if (!s.includes('\\')) return s
  return s.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[\\'"abfnrtv])/g, (m, e: string) => {
    if (e.length === 1) return SIMPLE_ESCAPES[e]
    const cp = parseInt(e.slice(1), 16)
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m
  })
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
