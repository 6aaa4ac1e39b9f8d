// Linear-time text helpers for what regular expressions do in quadratic (or worse) time on hostile
// input. A backtracking engine runs a pattern like /\/+$/, /[\r\n]+$/ or /(.*?)\s*$/ from every
// start position of a long run that does not reach the end (200 kB of spaces followed by one
// other character: minutes, with signals blocked). These scan once. Host output, host files and
// user files go through them; test/reliability/redos.test.ts feeds each its worst case.

/** `s` without the trailing characters that are in `chars`. */
export function trimEndOf(s: string, chars: string): string {
  let e = s.length
  while (e > 0 && chars.includes(s[e - 1])) e--
  return e === s.length ? s : s.slice(0, e)
}

/** `s` without the leading and trailing characters that are in `chars`. */
export function trimOf(s: string, chars: string): string {
  let b = 0
  while (b < s.length && chars.includes(s[b])) b++
  return trimEndOf(s.slice(b), chars)
}

/** `s` up to the first of `chars` (all of it when there is none): /[?#].*$/ without the backtracking. */
export function cutAt(s: string, chars: string): string {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i])) return s.slice(0, i)
  return s
}

/**
 * The `{{ … }}` and `{% … %}` spans of a template text, in order, as
 * /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g finds them (that regex scans to the end from every unclosed
 * opener: quadratic on `{{` repeated).
 */
export function jinjaSpans(text: string): Array<{ index: number; text: string }> {
  const out: Array<{ index: number; text: string }> = []
  const closed = { '{': true, '%': true }
  let i = 0
  for (;;) {
    const at = text.indexOf('{', i)
    if (at < 0 || at + 1 >= text.length) return out
    const k = text[at + 1]
    if ((k === '{' || k === '%') && closed[k]) {
      const end = text.indexOf(k === '{' ? '}}' : '%}', at + 2)
      if (end >= 0) {
        out.push({ index: at, text: text.slice(at, end + 2) })
        i = end + 2
        continue
      }
      closed[k] = false // no closer after here: no later opener of this kind has one either
    }
    i = at + 1
  }
}

/** HTML tags and comments removed, as /<!--[\s\S]*?-->|<[^>]*>/g would (linear: each closer is searched for once). */
export function stripTags(s: string): string {
  let out = ''
  let i = 0
  let noComment = false
  let noGt = false
  for (;;) {
    const lt = s.indexOf('<', i)
    if (lt < 0) return out + s.slice(i)
    out += s.slice(i, lt)
    if (!noComment && s.startsWith('<!--', lt)) {
      const e = s.indexOf('-->', lt + 4)
      if (e >= 0) {
        i = e + 3
        continue
      }
      noComment = true
    }
    const g = noGt ? -1 : s.indexOf('>', lt + 1)
    if (g >= 0) {
      i = g + 1
      continue
    }
    noGt = true
    out += '<'
    i = lt + 1
  }
}

// Every run of white space that holds a line break made one space, as
// s.replace(/\s*\n\s*/g, ' ') would (that regex is quadratic on a long run of spaces).
export function oneLine(s: string): string {
  if (!s.includes('\n')) return s
  const parts = s.split('\n')
  let out = parts[0].trimEnd()
  for (let i = 1; i < parts.length; i++) {
    const last = i === parts.length - 1
    const p = last ? parts[i].trimStart() : parts[i].trim()
    if (p === '' && !last) continue // a blank line inside the run
    out += ' ' + p
  }
  return out
}

/**
 * `key = value` or `key: value` (INI files, ansible.cfg): the key up to the first `=` or `:` with
 * its trailing white space dropped, the value after it with its leading white space dropped; as
 * /^([^=:]+?)\s*[=:]\s*(.*)$/ does, which is cubic on a line of spaces.
 */
export function splitAssignment(line: string): [key: string, value: string] | undefined {
  let at = -1
  for (let i = 0; i < line.length; i++)
    if (line[i] === '=' || line[i] === ':') {
      at = i
      break
    }
  if (at <= 0) return undefined
  const key = line[0] + line.slice(1, at).trimEnd()
  const value = line.slice(at + 1).trimStart()
  return /[\n\r\u2028\u2029]/.test(value) ? undefined : [key, value]
}

const SPACE = /^\s$/
/** One character of JavaScript's `\s` (the set `trim` removes). */
export function isSpace(c: string | undefined): boolean {
  return c !== undefined && SPACE.test(c)
}
const TERMINATORS = /[\n\r\u2028\u2029]/
/** Where a regex's `.` stops: \n, \r, U+2028, U+2029. */
export function hasLineTerminator(s: string): boolean {
  return TERMINATORS.test(s)
}

/**
 * ssh_config's `Keyword value`, `Keyword=value` or `Keyword = value`: the keyword (a letter, then
 * letters and digits) and the rest after the white space (and one `=`) that follow it. As
 * /^KW\s*(?:=\s*|\s+)(.*)$/ does — cubic on a line of tabs. `leading`: white space before the
 * keyword is skipped; `trimValue`: the value loses its trailing white space (/(.*?)\s*$/s) instead
 * of having to be one line (/(.*)$/).
 */
export function keywordValue(s: string, o: { leading?: boolean; trimValue?: boolean } = {}): [keyword: string, value: string] | undefined {
  let i = 0
  if (o.leading) while (isSpace(s[i])) i++
  const k = i
  if (!/[A-Za-z]/.test(s[i] ?? '')) return undefined
  while (i < s.length && /[A-Za-z0-9]/.test(s[i])) i++
  const keyword = s.slice(k, i)
  const ws = i
  while (isSpace(s[i])) i++
  if (s[i] === '=') {
    i++
    while (isSpace(s[i])) i++
  } else if (i === ws) return undefined
  const value = s.slice(i)
  if (o.trimValue) return [keyword, value.trimEnd()]
  return hasLineTerminator(value) ? undefined : [keyword, value]
}

/** `s` without a trailing comment, as s.replace(/\s+#.*$/, '') (quadratic on a run of spaces): white space, `#`, the rest of the text. */
export function cutSpaceComment(s: string): string {
  let last = -1
  for (let i = 0; i < s.length; i++) if (TERMINATORS.test(s[i])) last = i
  for (let q = Math.max(1, last + 1); q < s.length; q++) {
    if (s[q] !== '#' || !isSpace(s[q - 1])) continue
    let p = q - 1
    while (p > 0 && isSpace(s[p - 1])) p--
    return s.slice(0, p)
  }
  return s
}

/**
 * The INI inventory's group name line (`name`, `name # comment`): as
 * /^([^:\]\s]+)\s*(?:#.*)?$/ matches it (quadratic on `#` repeated).
 */
export function iniGroupName(s: string): string | undefined {
  let r = 0
  while (r < s.length && s[r] !== ':' && s[r] !== ']' && !isSpace(s[r])) r++
  if (r === 0) return undefined
  let j = r
  while (isSpace(s[j])) j++
  if (j === s.length || (s[j] === '#' && !hasLineTerminator(s.slice(j)))) return s.slice(0, r)
  // backtracking: the name ends before the last `#` inside it, and that `#` starts the comment
  if (hasLineTerminator(s)) return undefined
  const k = s.lastIndexOf('#', r - 1)
  return k >= 1 ? s.slice(0, k) : undefined
}

/**
 * The pieces of a host pattern between `:` and white space, a `[…]` kept whole: what
 * /(?:[^\s:[\]]|\[[^\]]*\])+/g matches (which scans to the end from every `[` that is not closed).
 */
export function bracketRuns(s: string): string[] {
  const out: string[] = []
  let close = -2 // the next `]` at or after the last search (-1: none left)
  const nextClose = (from: number) => {
    if (close === -1 || close >= from) return close
    return (close = s.indexOf(']', from))
  }
  let i = 0
  while (i < s.length) {
    let j = i
    for (;;) {
      const c = s[j]
      if (c === undefined) break
      if (c === '[') {
        const e = nextClose(j + 1)
        if (e < 0) break
        j = e + 1
      } else if (c === ':' || c === ']' || isSpace(c)) break
      else j++
    }
    if (j > i) {
      out.push(s.slice(i, j))
      i = j
    } else i++
  }
  return out
}

/** `$name` and `${…}` references as /\$(\w+|\{[^}]*\})/g finds them (quadratic on `${` repeated): where each starts, its text, and what is after `$`. */
export function dollarRefs(s: string): Array<{ index: number; text: string; ref: string }> {
  const out: Array<{ index: number; text: string; ref: string }> = []
  let close = -2
  for (let i = s.indexOf('$'); i >= 0 && i < s.length; i = s.indexOf('$', i)) {
    const c = s[i + 1]
    let end = -1
    if (c !== undefined && /\w/.test(c)) {
      end = i + 2
      while (end < s.length && /\w/.test(s[end])) end++
    } else if (c === '{') {
      if (close !== -1 && close < i + 2) close = s.indexOf('}', i + 2)
      if (close >= 0) end = close + 1
    }
    if (end < 0) {
      i++
      continue
    }
    out.push({ index: i, text: s.slice(i, end), ref: s.slice(i + 1, end) })
    i = end
  }
  return out
}

/** `s` split before each `key=` word: s.split(/\s+(?=\w+=)/) (quadratic on a run of spaces), each run of white space before a `key=` dropped. */
export function splitBeforeKeys(s: string): string[] {
  const out: string[] = []
  let start = 0
  let i = 0
  while (i < s.length) {
    if (!isSpace(s[i])) {
      i++
      continue
    }
    const ws = i
    while (isSpace(s[i])) i++
    let w = i
    while (w < s.length && /\w/.test(s[w])) w++
    if (w > i && s[w] === '=') {
      out.push(s.slice(start, ws))
      start = i
    }
  }
  out.push(s.slice(start))
  return out
}

/**
 * The regex source of a glob, from the sources of its fixed pieces between the stars (each part
 * of a piece matching one character): as Python 3.11's fnmatch does, every piece but the last is
 * matched at its first place after the previous one, atomically (a lookahead and a backreference),
 * so a match costs O(pattern × name) — `.*` for each star backtracked in O(name^stars): `*a*a*a…b`
 * against a long name of `a`s never finished. The caller anchors it (`^(?:…)$`); the groups are
 * numbered from 1, so nothing before it may capture.
 */
export function starPieces(pieces: string[]): string {
  if (pieces.length === 1) return pieces[0]
  let out = pieces[0]
  let group = 0
  for (let k = 1; k < pieces.length - 1; k++) if (pieces[k]) out += `(?=([\\s\\S]*?${pieces[k]}))\\${++group}`
  return out + '[\\s\\S]*' + pieces[pieces.length - 1]
}
