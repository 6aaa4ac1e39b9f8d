// Word splitting exactly as Python's shlex.split (POSIX mode), which Ansible uses for free-form
// commands, ansible_ssh_common_args / ansible_ssh_extra_args, and (with comments) INI inventory
// lines. Written out rather than taken from a library: the exact rules are Python's. Its
// whitespace is ' \t\r\n' only: a non-breaking space is part of a word, as in Python.

export type ShlexProblem = 'unterminated single quote' | 'unterminated double quote' | 'nothing after a backslash'

/** Python's own messages (ValueError from shlex). */
export function pythonShlexError(problem: ShlexProblem): Error {
  return new Error(problem === 'nothing after a backslash' ? 'No escaped character' : 'No closing quotation')
}

const WHITESPACE = ' \t\r\n'

/**
 * Python's shlex.split(s, comments=opts.comments, posix=True). `error` builds the exception for a
 * problem (default: Python's messages).
 */
export function shlexSplit(s: string, error: (problem: ShlexProblem) => Error = pythonShlexError, opts: { comments?: boolean } = {}): string[] {
  const out: string[] = []
  let cur = ''
  let inWord = false
  let i = 0
  while (i < s.length) {
    const c = s[i]
    if (c === "'") {
      const j = s.indexOf("'", i + 1)
      if (j < 0) throw error('unterminated single quote')
      cur += s.slice(i + 1, j)
      inWord = true
      i = j + 1
    } else if (c === '"') {
      i++
      for (;;) {
        if (i >= s.length) throw error('unterminated double quote')
        const d = s[i]
        if (d === '"') break
        if (d === '\\') {
          // Inside double quotes a backslash escapes only `"` and itself; elsewhere it stays.
          if (i + 1 >= s.length) throw error('nothing after a backslash')
          const e = s[i + 1]
          cur += e === '"' || e === '\\' ? e : '\\' + e
          i += 2
        } else {
          cur += d
          i++
        }
      }
      inWord = true
      i++
    } else if (c === '\\') {
      if (i + 1 >= s.length) throw error('nothing after a backslash')
      cur += s[i + 1]
      inWord = true
      i += 2
    } else if (WHITESPACE.includes(c)) {
      if (inWord) out.push(cur)
      cur = ''
      inWord = false
      i++
    } else if (opts.comments && c === '#') {
      // The rest of the line is a comment, even in the middle of a word (which it ends).
      if (inWord) out.push(cur)
      cur = ''
      inWord = false
      const nl = s.indexOf('\n', i)
      i = nl < 0 ? s.length : nl + 1
    } else {
      cur += c
      inWord = true
      i++
    }
  }
  if (inWord) out.push(cur)
  return out
}
