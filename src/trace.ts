// K3SBOOK_TRACE=1: timestamps (ms since the process started) of the phases of a run, on stderr.
// For finding where time goes; costs nothing when off. K3SBOOK_TRACE_DUMP=PREFIX also writes each
// read-ahead script to PREFIX.HOST.sh (src/executor/prefetch.ts), to time it on the host itself.
// Trace lines go through the same secret masking as the reporters, and the details of a step (the
// script sent) are left out while a no_log task runs.
import { AsyncLocalStorage } from 'node:async_hooks'
import { maskSecrets } from './secrets.js'

export const TRACE = !!process.env.K3SBOOK_TRACE

/** Set while a no_log task runs: trace lines then carry no details of what it sends. */
export const noLogScope = new AsyncLocalStorage<boolean>()

/** A trace line; `detail` (a script) is masked before it is cut to 100 characters, so no part of a secret shows. */
export function trace(what: string, detail?: string): void {
  if (!TRACE) return
  const line = detail === undefined ? what : noLogScope.getStore() ? `${what}: (hidden: no_log)` : `${what}: ${maskSecrets(detail).slice(0, 100)}`
  process.stderr.write(maskSecrets(`[trace ${performance.now().toFixed(1).padStart(7)} ms] ${line}`) + '\n')
}
