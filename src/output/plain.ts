// Plain lines for CI logs and pipes: one line per host per task, with status and source position;
// failures carry the command and the tail of stderr; the run ends with the PLAY RECAP.
import type { HostResultEvent, RunEvent } from '../executor/events.js'
import { debugText, failureLines, pos, recapLines, Redactor, unifiedDiff, visible, type Reporter } from './common.js'

export class PlainReporter implements Reporter {
  private check = false
  constructor(
    private readonly write: (s: string) => void,
    private readonly opts: { diff?: boolean; verbosity?: number; redactor?: Redactor } = {},
  ) {}

  private out(s: string): void {
    // secrets masked first (a secret may hold a control character), then made visible
    this.write(visible(this.opts.redactor ? this.opts.redactor.text(s) : s) + '\n')
  }

  handle(e: RunEvent): void {
    switch (e.type) {
      case 'run:start':
        this.check = e.check
        if (e.check) this.out('CHECK MODE: nothing will be changed')
        break
      case 'play:start':
        this.out(`\nPLAY [${e.play}] hosts: ${e.hosts.join(', ')}  ${pos(e.pos)}`)
        break
      case 'batch:start':
        this.out(`  batch ${e.batch}/${e.batches}: ${e.hosts.join(', ')}`)
        break
      case 'play:skip':
        this.out(`\nPLAY [${e.play}] skipped: ${e.reason}  ${pos(e.pos)}`)
        break
      case 'task:start':
        if ((this.opts.verbosity ?? 0) > 0) this.out(`${e.handler ? 'RUNNING HANDLER' : 'TASK'} [${e.task}] ${pos(e.pos)}`)
        break
      case 'host:result':
        this.hostLine(e)
        break
      case 'warning':
        this.out(`[WARNING]: ${e.host ? `${e.host}: ` : ''}${e.message}${e.pos ? `  ${pos(e.pos)}` : ''}`)
        break
      case 'debug':
        this.out(`  debug    ${e.host}  ${debugText(e)}`)
        break
      case 'verbose':
        if ((this.opts.verbosity ?? 0) >= e.level) this.out(`  ${e.host ? `${e.host}: ` : ''}${e.message}`)
        break
      case 'run:end': {
        this.out('\nPLAY RECAP')
        for (const l of recapLines(e.recap, e.check)) this.out(l)
        const trips = Object.values(e.roundTrips)
        if ((this.opts.verbosity ?? 0) > 0 && trips.length)
          this.out(
            `round trips per host: ${Object.entries(e.roundTrips)
              .map(([h, n]) => `${h}=${n}`)
              .join(' ')}`,
          )
        const changed = Object.values(e.recap).some((c) => c.changed > 0)
        const bad = Object.values(e.recap).some((c) => c.failed > 0 || c.unreachable > 0)
        const summary = e.interrupted
          ? 'interrupted'
          : bad
            ? 'failed'
            : e.check
              ? changed
                ? 'changes pending (check mode)'
                : 'no changes needed'
              : changed
                ? 'changed'
                : 'no changes'
        this.out(`${summary} in ${(e.durationMs / 1000).toFixed(2)}s`)
        break
      }
      default:
        break
    }
  }

  private hostLine(e: HostResultEvent): void {
    const status = e.status === 'changed' && e.check ? 'would change' : e.status === 'unknown' ? 'unknown' : e.ignored ? 'failed (ignored)' : e.status
    const what = e.changes?.length ? `  (${e.changes.join(', ')})` : ''
    const item = e.item ? ` [${e.item}]` : ''
    const handler = e.handler ? 'handler ' : ''
    this.out(`  ${status.padEnd(12)} ${e.host}  ${handler}${e.task}${item}  ${pos(e.pos)}${what}`)
    if (e.status === 'failed' || e.status === 'unreachable' || e.status === 'unknown') {
      for (const l of failureLines(e, '               ')) this.out(l)
    } else if ((this.opts.verbosity ?? 0) > 0 && e.msg) this.out(`               ${e.msg}`)
    if (this.opts.diff && e.diff) for (const d of e.diff) this.out(unifiedDiff(d).replace(/\n$/, ''))
  }

  async close(): Promise<void> {}
}
