// POSIX shell quoting. Debian's /bin/sh is dash, which does not read bash's $'…', so every value
// placed in a remote script goes inside single quotes, with embedded quotes closed and escaped.

import type { ExecOptions } from './types.js'

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

function validEnvName(k: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
}

/** The script with its cwd and environment applied first, as one string for `sh -c`. */
export function innerScript(script: string, opts: Pick<ExecOptions, 'cwd' | 'env'>): string {
  let pre = ''
  if (opts.cwd !== undefined) pre += `cd -- ${shQuote(opts.cwd)} || exit 1\n`
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!validEnvName(k)) throw new Error(`invalid environment variable name: ${JSON.stringify(k)}`)
    pre += `export ${k}=${shQuote(v)}\n`
  }
  return pre + script
}
