// The terminal view: a listr2 list per play with one line per host that shows, live, the host's
// current task and its ok/changed/failed counts. listr2 only draws: scheduling stays in the
// executor, which feeds this reporter events. Failures and diffs are printed under the play when
// it ends, then the PLAY RECAP.
import { Listr, type ListrTaskWrapper } from 'listr2'
import type { HostResultEvent, RunEvent } from '../executor/events.js'
import { debugText, pos, recapLines, Redactor, unifiedDiff, type Reporter } from './common.js'

interface HostLine {
  host: string
  ok: number
  changed: number
  failed: number
  skipped: number
  current: string
  done: boolean
  error?: string
  wrapper?: ListrTaskWrapper<unknown, any, any>
  finish?: () => void
}

export class TtyReporter implements Reporter {
  private lines = new Map<string, HostLine>()
  private details: string[] = []
  private check = false

  constructor(
    private readonly write: (s: string) => void,
    private readonly opts: { diff?: boolean; verbosity?: number; redactor?: Redactor; rendererOptions?: Record<string, unknown>; listChanges?: boolean } = {},
  ) {}

  private r(s: string): string {
    return this.opts.redactor ? this.opts.redactor.text(s) : s
  }

  private title(l: HostLine): string {
    const counts = `ok=${l.ok} ${this.check ? 'would change' : 'changed'}=${l.changed}${l.failed ? ` failed=${l.failed}` : ''}`
    return this.r(`${l.host}  ${counts}${l.done ? '' : `  ▸ ${l.current}`}`)
  }

  private refresh(l: HostLine): void {
    if (l.wrapper) l.wrapper.title = this.title(l)
  }

  handle(e: RunEvent): void {
    switch (e.type) {
      case 'run:start':
        this.check = e.check
        if (e.check) this.write('CHECK MODE: nothing will be changed\n')
        break
      case 'play:start':
        this.startPlay(e.play, e.hosts)
        break
      case 'play:skip':
        this.write(this.r(`PLAY [${e.play}] skipped: ${e.reason}\n`))
        break
      case 'task:start':
        for (const h of e.hosts) {
          const l = this.lines.get(h)
          if (l) {
            l.current = (e.handler ? 'handler: ' : '') + e.task
            this.refresh(l)
          }
        }
        break
      case 'host:result':
        this.result(e)
        break
      case 'warning':
        this.details.push(this.r(`[WARNING]: ${e.message}${e.pos ? `  ${pos(e.pos)}` : ''}`))
        break
      case 'debug':
        this.details.push(this.r(`debug ${e.host}: ${debugText(e)}`))
        break
      case 'play:end':
        this.endPlay()
        break
      case 'run:end':
        this.pendingRecap = e
        break
      default:
        break
    }
  }

  private pendingRecap?: Extract<RunEvent, { type: 'run:end' }>

  private startPlay(play: string, hosts: string[]): void {
    this.lines = new Map()
    const tasks = hosts.map((host) => {
      const l: HostLine = { host, ok: 0, changed: 0, failed: 0, skipped: 0, current: 'connecting', done: false }
      this.lines.set(host, l)
      return {
        title: this.title(l),
        task: (_ctx: unknown, wrapper: ListrTaskWrapper<unknown, any, any>) =>
          new Promise<void>((resolve, reject) => {
            l.wrapper = wrapper
            this.refresh(l)
            l.finish = () => (l.error ? reject(new Error(this.r(l.error))) : resolve())
            if (l.done) l.finish()
          }),
      }
    })
    const list = new Listr(tasks, {
      concurrent: true,
      exitOnError: false,
      // listr2's own SIGINT handler calls process.exit (exit 127, no recap): the run's handler in
      // src/cli/run.ts lets the steps in flight finish, prints the recap and exits 130.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: { collapseErrors: false, showErrorMessage: true, ...(this.opts.rendererOptions ?? {}) },
    } as never)
    // Plays are drawn one after the other even when events of the next one arrive early.
    this.chain = this.chain.then(() => {
      this.write(this.r(`PLAY [${play}]\n`))
      return list.run().catch(() => undefined)
    })
  }

  private chain: Promise<unknown> = Promise.resolve()

  private result(e: HostResultEvent): void {
    const l = this.lines.get(e.host)
    if (l) {
      if (e.status === 'ok') l.ok++
      else if (e.status === 'changed' || e.status === 'unknown') {
        l.ok++
        l.changed++
      } else if (e.status === 'skipped') l.skipped++
      else if (e.status === 'failed' && !e.ignored) {
        l.failed++
        l.error = `${e.task}: ${e.msg ?? 'failed'}`
      } else if (e.status === 'unreachable') l.error = `UNREACHABLE: ${e.msg ?? ''}`
      this.refresh(l)
    }
    if (e.status === 'failed' || e.status === 'unreachable') {
      const lines = [`${e.status === 'failed' ? (e.ignored ? 'failed (ignored)' : 'FAILED') : 'UNREACHABLE'}: ${e.host}  ${e.task}  ${pos(e.pos)}`]
      if (e.msg) lines.push(`  ${e.msg}`)
      if (e.command) lines.push(`  command: ${e.command}${e.rc !== undefined ? ` (exit ${e.rc})` : ''}`)
      if (e.stderr) lines.push(`  stderr: ${e.stderr}`)
      this.details.push(this.r(lines.join('\n')))
    }
    if (this.opts.diff && e.diff?.length) {
      for (const d of e.diff) this.details.push(this.r(`${e.host}  ${e.task}\n${unifiedDiff(d)}`))
    }
  }

  private endPlay(): void {
    for (const l of this.lines.values()) {
      l.done = true
      this.refresh(l)
      l.finish?.()
    }
    const details = this.details
    this.details = []
    this.chain = this.chain.then(() => {
      if (details.length) this.write(details.join('\n') + '\n')
    })
  }

  async close(): Promise<void> {
    await this.chain
    if (this.details.length) this.write(this.details.join('\n') + '\n')
    const e = this.pendingRecap
    if (e) {
      this.write('\nPLAY RECAP\n' + recapLines(e.recap, e.check).join('\n') + '\n')
      const changed = Object.values(e.recap).some((c) => c.changed > 0)
      const bad = Object.values(e.recap).some((c) => c.failed > 0 || c.unreachable > 0)
      this.write(
        `${e.interrupted ? 'interrupted' : bad ? 'failed' : e.check ? (changed ? 'changes pending (check mode)' : 'no changes needed') : changed ? 'changed' : 'no changes'} in ${(e.durationMs / 1000).toFixed(2)}s\n`,
      )
    }
  }
}
