// K3SBOOK_TRACE=1: timestamps (ms since the process started) of the phases of a run, on stderr.
// For finding where time goes; costs nothing when off. K3SBOOK_TRACE_DUMP=PREFIX also writes each
// read-ahead script to PREFIX.HOST.sh (src/executor/prefetch.ts), to time it on the host itself.
export const TRACE = !!process.env.K3SBOOK_TRACE

export function trace(what: string): void {
  if (TRACE) process.stderr.write(`[trace ${performance.now().toFixed(1).padStart(7)} ms] ${what}\n`)
}
