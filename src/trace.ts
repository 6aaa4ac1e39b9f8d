// K3SBOOK_TRACE=1: timestamps (ms since the process started) of the phases of a run, on stderr.
// For finding where time goes; costs nothing when off. K3SBOOK_TRACE_DUMP=PREFIX also writes each
// read-ahead script to PREFIX.HOST.sh (src/executor/prefetch.ts), to time it on the host itself.
// Trace lines go through the same secret masking as the reporters, and the details of a step (the
// script sent) are left out while a no_log task runs.
import { AsyncLocalStorage } from 'node:async_hooks'
import { closeSync, constants, fchmodSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { maskSecrets } from './secrets.js'

export const TRACE = !!process.env.K3SBOOK_TRACE
/** K3SBOOK_TRACE_DUMP=PREFIX: where traceDump writes (off when unset). */
export const TRACE_DUMP = process.env.K3SBOOK_TRACE_DUMP || undefined

/** Set while a no_log task runs: trace lines then carry no details of what it sends. */
export const noLogScope = new AsyncLocalStorage<boolean>()

/** A trace line; `detail` (a script) is masked before it is cut to 100 characters, so no part of a secret shows. */
export function trace(what: string, detail?: string): void {
  if (!TRACE) return
  const line = detail === undefined ? what : noLogScope.getStore() ? `${what}: (hidden: no_log)` : `${what}: ${maskSecrets(detail).slice(0, 100)}`
  process.stderr.write(maskSecrets(`[trace ${performance.now().toFixed(1).padStart(7)} ms] ${line}`) + '\n')
}

/**
 * K3SBOOK_TRACE_DUMP=PREFIX: writes `text` to PREFIX.HOST.sh, through the same masking as trace
 * lines (and nothing of a no_log task's script), mode 0600 even when the file existed, never
 * through a symbolic link; a host name cannot make it a path elsewhere (`/` and `..` replaced).
 */
export function traceDump(host: string, text: string): void {
  if (!TRACE_DUMP) return
  const file = `${TRACE_DUMP}.${host.replace(/[/\0]/g, '_').replace(/\.\./g, '__')}.sh`
  const body = noLogScope.getStore() ? '# (hidden: no_log)\n' : maskSecrets(text)
  try {
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
    try {
      fchmodSync(fd, 0o600)
      ftruncateSync(fd, 0)
      writeSync(fd, body)
    } finally {
      closeSync(fd)
    }
  } catch (e) {
    trace(`trace dump ${file} not written: ${(e as Error).message}`)
  }
}
