// The terminal view: a listr2 list per play with one line per host that shows, live, the host's
// current task and its ok/changed/failed counts. A host that leaves the play (host:end: failed
// with nothing left to rescue it, or unreachable) stops at its failure while the others go on.
// When the hosts do not fit the terminal's height, the play collapses to one live block: counts,
// the current task's progress, the hosts that failed and the hosts that are slow — listr2 redraws
// by erasing lines upwards, so a frame taller than the screen would leave duplicated lines in the
// scrollback. listr2 only draws: scheduling stays in the executor, which feeds this reporter
// events. After each play: which tasks changed on which hosts, then failures and diffs; at the end
// the PLAY RECAP.
import { Listr, type ListrTaskWrapper } from 'listr2'
import type { HostResultEvent, RunEvent } from '../executor/events.js'
import { debugText, failureLines, pos, recapLines, Redactor, unifiedDiff, visible, type Reporter } from './common.js'
import { oneLine } from '../text.js'

interface HostLine {
  host: string
  ok: number
  changed: number
  failed: number
  unreachable: boolean
  skipped: number
  current: string
  /** When the host started its current task (ms), and whether it is still running it. */
  since: number
  running: boolean
  done: boolean
  error?: string
  /** Names of the tasks that changed on this host in this play, in order. */
  changedTasks: string[]
  wrapper?: ListrTaskWrapper<unknown, any, any>
  finish?: () => void
}

export interface TtyOptions {
  diff?: boolean
  verbosity?: number
  redactor?: Redactor
  rendererOptions?: Record<string, unknown>
  /** The terminal's size; a play with more hosts than fit collapses to counts. */
  rows?: number
  columns?: number
  /** Milliseconds before a host still on its task counts as slow (10 s; 3 s once half its peers are done). */
  slowMs?: number
}

/** Lines a play needs around its host lines (play title, spare lines for the prompt and the frame). */
const FRAME_LINES = 4

export class TtyReporter implements Reporter {
  private lines = new Map<string, HostLine>()
  private details: string[] = []
  private check = false
  private collapsed = false
  private current = { task: '', hosts: 0, finished: 0 }
  private summaryWrapper?: ListrTaskWrapper<unknown, any, any>
  private summaryFinish?: () => void
  private ticker?: NodeJS.Timeout

  constructor(
    private readonly write: (s: string) => void,
    private readonly opts: TtyOptions = {},
  ) {}

  /** Event text as drawn: secrets masked, then control characters made visible (common.ts visible()). */
  private r(s: string): string {
    return visible(this.opts.redactor ? this.opts.redactor.text(s) : s)
  }

  private get rows(): number {
    return this.opts.rows && this.opts.rows > 0 ? this.opts.rows : 24
  }

  private get columns(): number {
    return this.opts.columns && this.opts.columns > 0 ? this.opts.columns : 80
  }

  private clip(s: string): string {
    const max = Math.max(20, this.columns - 4)
    const one = oneLine(s)
    return one.length > max ? one.slice(0, max - 1) + '…' : one
  }

  private title(l: HostLine): string {
    const counts = `ok=${l.ok} ${this.check ? 'would change' : 'changed'}=${l.changed}${l.failed ? ` failed=${l.failed}` : ''}`
    const state = l.done ? (l.unreachable ? '  ✖ unreachable' : l.error ? `  ✖ stopped at ${l.current}` : '') : `  ▸ ${l.current}`
    return this.r(`${l.host}  ${counts}${state}`)
  }

  /** The collapsed view: one block whose height never exceeds the terminal's. */
  private summaryTitle(): string {
    const all = [...this.lines.values()]
    const sum = (f: (l: HostLine) => number) => all.reduce((n, l) => n + f(l), 0)
    const failed = all.filter((l) => l.done && (l.error || l.unreachable))
    const active = all.filter((l) => !l.done)
    const head =
      `${all.length} hosts  ok=${sum((l) => l.ok)} ${this.check ? 'would change' : 'changed'}=${sum((l) => l.changed)}` +
      `${failed.length ? ` failed=${failed.length}` : ''}` +
      (this.current.task && active.length ? `  ▸ ${this.current.task} ${this.current.finished}/${this.current.hosts}` : '')
    const now = Date.now()
    const slowMs = this.opts.slowMs ?? 10_000
    const halfDone = this.current.finished * 2 >= this.current.hosts
    const slow = active
      .filter((l) => l.running && (now - l.since >= slowMs || (halfDone && now - l.since >= Math.min(slowMs, 3000))))
      .sort((a, b) => a.since - b.since)
    // the block's height: head + failed + slow lines, within the terminal (listr2 adds the play title)
    const room = Math.max(2, this.rows - FRAME_LINES - 2)
    const body: string[] = []
    const slowShown = slow.slice(0, Math.min(3, Math.max(0, room - 1)))
    const failedRoom = Math.max(0, room - slowShown.length - (slow.length > slowShown.length ? 1 : 0))
    const failedShown = failed.length > failedRoom ? failed.slice(0, Math.max(0, failedRoom - 1)) : failed
    for (const l of failedShown) body.push(this.clip(`  ✖ ${l.host}: ${l.unreachable ? 'unreachable' : (l.error ?? 'failed')}`))
    if (failed.length > failedShown.length) body.push(`  ✖ … and ${failed.length - failedShown.length} more failed (listed after the play)`)
    for (const l of slowShown) body.push(this.clip(`  ⏳ ${l.host}: ${l.current} for ${Math.round((now - l.since) / 1000)}s`))
    if (slow.length > slowShown.length) body.push(`  ⏳ … and ${slow.length - slowShown.length} more slow`)
    return this.r([head, ...body].join('\n'))
  }

  private refresh(l?: HostLine): void {
    if (this.collapsed) {
      if (this.summaryWrapper) this.summaryWrapper.title = this.summaryTitle()
    } else if (l?.wrapper) l.wrapper.title = this.title(l)
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
        this.chain = this.chain.then(() => this.write(this.r(`PLAY [${e.play}] skipped: ${e.reason}\n`)))
        break
      case 'task:start': {
        const now = Date.now()
        this.current = { task: (e.handler ? 'handler: ' : '') + e.task, hosts: 0, finished: 0 }
        for (const h of e.hosts) {
          const l = this.lines.get(h)
          if (l && !l.done) {
            l.current = this.current.task
            l.since = now
            l.running = true
            this.current.hosts++
            if (!this.collapsed) this.refresh(l)
          }
        }
        if (this.collapsed) this.refresh()
        break
      }
      case 'host:result':
        this.result(e)
        break
      case 'host:end': {
        const l = this.lines.get(e.host)
        if (l && !l.done) {
          l.done = true
          l.running = false
          if (e.status === 'unreachable') l.unreachable = true
          l.error = l.error ?? e.status
          this.refresh(l)
          l.finish?.()
        }
        break
      }
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
    this.current = { task: 'connecting', hosts: hosts.length, finished: 0 }
    const now = Date.now()
    for (const host of hosts)
      this.lines.set(host, {
        host,
        ok: 0,
        changed: 0,
        failed: 0,
        unreachable: false,
        skipped: 0,
        current: 'connecting',
        since: now,
        running: true,
        done: false,
        changedTasks: [],
      })
    this.collapsed = hosts.length + FRAME_LINES > this.rows
    const rendererOptions = { collapseErrors: false, showErrorMessage: true, ...(this.opts.rendererOptions ?? {}) }
    let list: Listr<unknown>
    if (this.collapsed) {
      this.summaryWrapper = undefined
      list = new Listr(
        [
          {
            title: this.summaryTitle(),
            task: (_ctx: unknown, wrapper: ListrTaskWrapper<unknown, any, any>) =>
              new Promise<void>((resolve) => {
                this.summaryWrapper = wrapper
                this.refresh()
                this.summaryFinish = resolve
              }),
          },
        ],
        listrOptions(rendererOptions),
      )
      // slow hosts are a matter of time passing: redraw the block every second while the play runs
      this.ticker = setInterval(() => this.refresh(), 1000)
      this.ticker.unref()
    } else {
      const tasks = [...this.lines.values()].map((l) => ({
        title: this.title(l),
        task: (_ctx: unknown, wrapper: ListrTaskWrapper<unknown, any, any>) =>
          new Promise<void>((resolve, reject) => {
            l.wrapper = wrapper
            this.refresh(l)
            l.finish = () => (l.error ? reject(new Error(this.r(l.unreachable ? `UNREACHABLE: ${l.error}` : l.error))) : resolve())
            if (l.done) l.finish()
          }),
      }))
      list = new Listr(tasks, listrOptions(rendererOptions))
    }
    // Plays are drawn one after the other even when events of the next one arrive early.
    this.chain = this.chain.then(() => {
      this.write(this.r(`PLAY [${play}]${this.collapsed ? ` (${hosts.length} hosts: counts, failed and slow hosts)` : ''}\n`))
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
        const name = (e.handler ? 'handler ' : '') + e.task + (e.status === 'unknown' ? ' (unknown)' : '')
        if (l.changedTasks[l.changedTasks.length - 1] !== name) l.changedTasks.push(name)
      } else if (e.status === 'skipped') l.skipped++
      else if (e.status === 'failed' && !e.ignored) {
        l.failed++
        l.error = `${e.task}: ${e.msg ?? 'failed'}`
      } else if (e.status === 'unreachable') {
        l.unreachable = true
        l.error = `${e.msg ?? ''}`
      }
      if (l.running && !l.done) {
        l.running = false
        this.current.finished++
      }
      this.refresh(l)
    }
    if (e.status === 'failed' || e.status === 'unreachable') {
      const lines = [`${e.status === 'failed' ? (e.ignored ? 'failed (ignored)' : 'FAILED') : 'UNREACHABLE'}: ${e.host}  ${e.task}  ${pos(e.pos)}`]
      lines.push(...failureLines(e, '  '))
      this.details.push(this.r(lines.join('\n')))
    } else if (e.status === 'skipped' && (this.opts.verbosity ?? 0) > 0 && e.msg) {
      this.details.push(this.r(`skipped: ${e.host}  ${e.task}  ${pos(e.pos)}\n  ${e.msg}`))
    }
    if (this.opts.diff && e.diff?.length) {
      for (const d of e.diff) this.details.push(this.r(`${e.host}  ${e.task}\n${unifiedDiff(d)}`))
    }
  }

  /** After a play: the changed tasks of each host, hosts with the same list on one line. */
  private changedSummary(): string[] {
    const groups = new Map<string, string[]>()
    for (const l of this.lines.values()) {
      if (!l.changedTasks.length) continue
      const key = l.changedTasks.join(', ')
      groups.set(key, [...(groups.get(key) ?? []), l.host])
    }
    if (groups.size === 0) return []
    const out = [this.check ? 'Would change:' : 'Changed:']
    for (const [tasks, hosts] of groups) out.push(`  ${hosts.join(', ')}: ${tasks}`)
    return out.map((s) => this.r(s))
  }

  private endPlay(): void {
    if (this.ticker) clearInterval(this.ticker)
    this.ticker = undefined
    for (const l of this.lines.values()) {
      if (!l.done) {
        l.done = true
        l.running = false
        if (!this.collapsed) this.refresh(l)
      }
      if (!this.collapsed) l.finish?.()
    }
    if (this.collapsed) {
      this.refresh()
      this.summaryFinish?.()
    }
    const details = [...this.changedSummary(), ...this.details]
    this.details = []
    this.chain = this.chain.then(() => {
      if (details.length) this.write(details.join('\n') + '\n')
    })
  }

  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker)
    await this.chain
    if (this.details.length) this.write(this.details.join('\n') + '\n')
    const e = this.pendingRecap
    if (e) {
      this.write(this.r('\nPLAY RECAP\n' + recapLines(e.recap, e.check).join('\n') + '\n'))
      const changed = Object.values(e.recap).some((c) => c.changed > 0)
      const bad = Object.values(e.recap).some((c) => c.failed > 0 || c.unreachable > 0)
      this.write(
        `${e.interrupted ? 'interrupted' : bad ? 'failed' : e.check ? (changed ? 'changes pending (check mode)' : 'no changes needed') : changed ? 'changed' : 'no changes'} in ${(e.durationMs / 1000).toFixed(2)}s\n`,
      )
    }
  }
}

function listrOptions(rendererOptions: Record<string, unknown>): never {
  return {
    concurrent: true,
    exitOnError: false,
    // listr2's own SIGINT handler calls process.exit (exit 127, no recap): the run's handler in
    // src/cli/run.ts lets the steps in flight finish, prints the recap and exits 130.
    registerSignalListeners: false,
    renderer: 'default',
    rendererOptions,
  } as never
}
