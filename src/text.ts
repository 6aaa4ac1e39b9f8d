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
