// Word splitting exactly as Python's shlex.split (POSIX mode), which Ansible uses for free-form
// commands and for ansible_ssh_common_args / ansible_ssh_extra_args.

/** Python's shlex.split (POSIX mode, no comments): how Ansible cuts command lines and ssh arguments into words. */
export type ShlexProblem = 'unterminated single quote' | 'unterminated double quote' | 'nothing after a backslash'

/** `error` builds the exception for a problem (Python says "No closing quotation" / "No escaped character"). */
export function shlexSplit(s: string, error: (problem: ShlexProblem) => Error = (m) => new Error(m)): string[] {
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
        if (d === '\\' && i + 1 < s.length && (s[i + 1] === '"' || s[i + 1] === '\\')) {
          cur += s[i + 1]
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
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur)
      cur = ''
      inWord = false
      i++
    } else {
      cur += c
      inWord = true
      i++
    }
  }
  if (inWord) out.push(cur)
  return out
}
