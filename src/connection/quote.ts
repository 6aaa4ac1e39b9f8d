// POSIX shell quoting. Debian's /bin/sh is dash, which does not read bash's $'…', so every value
// placed in a remote script goes inside single quotes, with embedded quotes closed and escaped.

/** Quote one value for any POSIX sh. Works for any bytes except NUL (which no argv can carry). */
export function shQuote(value: string | number): string {
  const s = String(value)
  if (s.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte')
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** Quote each value and join with spaces: an argv as a shell command line. */
export function shJoin(argv: ReadonlyArray<string | number>): string {
  return argv.map(shQuote).join(' ')
}
