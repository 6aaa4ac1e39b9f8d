// The executor: plays over hosts (linear or free strategy, serial batches), task lists with blocks
// (rescue/always), includes and handlers, tasks over hosts under p-limit. One task on one host goes
// through the pipeline in task.ts; check mode is decided in check.ts; the look-ahead is
// prefetch.ts. It emits typed events; it draws nothing. (docs/ARCHITECTURE.md has the map.)
import pLimit from 'p-limit'
import { ConnectionError, K3sbookError } from '../errors.js'
import type { Block, Handler, Include, Play, Task, TaskItem } from '../model.js'
import type { RuntimeItems } from '../playbook/load.js'
import { srcPos } from '../model.js'
import { isTemplated } from '../template/index.js'
import { EXIT } from '../exit.js'
import { noLogScope, TRACE, trace } from '../trace.js'
import { asBool } from '../bool.js'
import { splitSetFact, unknownFromError } from './check.js'
import type { Emit, HostCounts } from './events.js'
import { dueHandlers } from './handlers.js'
import { allControllerOnly, gather, gatherDecided, markUnreachable, startAtMatches, playHosts, serialBatches } from './play.js'
import { FACTS_SCRIPT } from './facts.js'
import { Prefetcher } from './prefetch.js'
import { errorText, shareRunOnce } from './result.js'
import {
  activeHosts,
  childScope,
  includeScope,
  PlayAbort,
  ROOT_SCOPE,
  type HostState,
  type PlayCtx,
  type Project,
  type RunOptions,
  type RunSummary,
  type Scope,
  type TaskOutcome,
} from './state.js'
import { taskOutcome } from './task.js'
import { includedItems, planIncludes } from './include.js'
import { settleOutcome } from './outcome.js'
import { isTrue, renderTaskName, RunContext, taskName } from './task-context.js'
import { getModule } from '../modules/registry.js'
import { wrapHostData } from '../template/taint.js'

export type { ConnectionFactory, Project, RunOptions, RunSummary } from './state.js'
export { serialBatches } from './play.js'
export { loopItems } from './loop.js'
export { isTrue } from './task-context.js'

export class Runner {
  private readonly rc: RunContext
  private readonly limit: ReturnType<typeof pLimit>
  private readonly prefetcher = new Prefetcher()
  private startAtReached: boolean
  /** Hosts that were in a play (the recap lists these, not delegation targets). */
  private readonly inPlay = new Set<string>()

  constructor(project: Project, opts: RunOptions, emit: Emit) {
    this.rc = new RunContext(project, opts, emit, this.prefetcher)
    this.limit = pLimit(Math.max(1, opts.forks ?? 50))
    this.startAtReached = !opts.startAtTask
  }

  async run(): Promise<RunSummary> {
    const { rc } = this
    const t0 = Date.now()
    rc.emit({ type: 'run:start', playbook: rc.project.playbook.file, check: rc.check, diff: !!rc.opts.diff, time: new Date().toISOString() })
    try {
      for (const play of rc.project.playbook.plays) {
        if (rc.interrupted) break
        await this.runPlay(play)
      }
    } finally {
      trace('plays done')
      await rc.conns.closeAll()
      trace('connections closed')
    }
    const recap: Record<string, HostCounts> = {}
    const roundTrips: Record<string, number> = {}
    for (const [h, s] of rc.hosts) if (this.inPlay.has(h)) recap[h] = s.counts
    for (const c of rc.conns.opened) roundTrips[c.host] = c.stats.roundTrips
    const states = [...rc.hosts.values()]
    const failed = states.some((s) => s.counts.failed > 0)
    const unreachable = states.some((s) => s.counts.unreachable > 0)
    const changed = states.some((s) => s.counts.changed > 0)
    const exitCode = rc.interrupted ? EXIT.interrupted : failed ? EXIT.failed : unreachable ? EXIT.unreachable : EXIT.ok
    rc.emit({ type: 'run:end', recap, durationMs: Date.now() - t0, check: rc.check, interrupted: rc.interrupted, roundTrips, exitCode })
    return { recap, changed, failed, unreachable, interrupted: rc.interrupted, roundTrips, exitCode }
  }

  // ------------------------------------------------------------------ plays

  private async runPlay(play: Play): Promise<void> {
    const { rc } = this
    const t0 = Date.now()
    const hosts = playHosts(rc, play)
    if (hosts.length === 0) {
      rc.emit({ type: 'play:skip', play: play.name, reason: 'no hosts matched', pos: srcPos(play.src) })
      return
    }
    rc.emit({ type: 'play:start', play: play.name, hosts, pos: srcPos(play.src) })
    for (const h of hosts) this.inPlay.add(h)
    this.gone.clear()
    for (const h of hosts) rc.state(h).ended = false
    // Connect to every host of the play at once: handshakes overlap instead of queueing per task.
    // a templated gather_facts is decided now, with play and extra vars (Ansible: the play's vars, no host)
    const gatherOn = gatherDecided(play, rc.project.extraVars)
    const needsHost = !allControllerOnly(play)
    const batches = serialBatches(hosts, play.serial)
    if (needsHost) {
      if (TRACE) trace('play: connecting')
      const connecting = hosts.map((h) => rc.conns.get(h).catch(() => undefined))
      // While the handshakes are in flight, plan the first tasks ahead: each host's probes go out
      // as soon as that host is connected (the first task waits for them; see Prefetcher), and
      // the facts go with them, in the same round trip (tasks that read facts are planned later).
      if (!rc.opts.startAtTask) this.readAheadFirst(play, batches[0] ?? [], hosts, gatherOn)
      await Promise.all(connecting)
    }

    for (const [bi, batch] of batches.entries()) {
      if (rc.interrupted) break
      if (batches.length > 1) rc.emit({ type: 'batch:start', play: play.name, hosts: batch, batch: bi + 1, batches: batches.length })
      const states = batch.map((h) => rc.state(h))
      // Unreachable at connect time: reported once, then out of the play.
      for (const s of states) {
        if (!needsHost || s.unreachable) continue
        try {
          await rc.conns.get(s.name)
        } catch (e) {
          markUnreachable(rc, s, play, 'connect', e)
        }
      }
      const ctx: PlayCtx = { play, batch: states, allHosts: hosts }
      try {
        this.announceGone(ctx, ROOT_SCOPE)
        if (gatherOn) await gather(rc, ctx, this.limit)
        this.announceGone(ctx, ROOT_SCOPE)
        if (play.strategy === 'free') {
          await Promise.all(states.map((s) => this.runSections({ ...ctx, batch: [s] })))
        } else await this.runSections(ctx)
      } catch (e) {
        if (!(e instanceof PlayAbort)) throw e
      }
      const failedInBatch = states.filter((s) => s.failed || s.unreachable).length
      if (failedInBatch === states.length && states.length > 0) break
      if (play.maxFailPercentage !== undefined && (failedInBatch / states.length) * 100 > play.maxFailPercentage) break
    }
    rc.emit({ type: 'play:end', play: play.name, durationMs: Date.now() - t0 })
  }

  private readAheadFirst(play: Play, batch: string[], hosts: string[], facts: boolean): void {
    const items = [play.preTasks, play.roleTasks, play.tasks].find((l) => l.length > 0)
    const first = items?.[0]
    if (!items || !first || first.kind !== 'task') return
    const ctx: PlayCtx = { play, batch: batch.map((h) => this.rc.state(h)), allHosts: hosts }
    const names = activeHosts(ctx).map((s) => s.name)
    if (facts) for (const n of names) this.prefetcher.ride(n, FACTS_SCRIPT)
    this.prefetcher.ahead(items, first, names, (t) => this.rc.at(ctx, ROOT_SCOPE, t)).catch(() => undefined)
  }

  private async runSections(ctx: PlayCtx): Promise<void> {
    try {
      await this.runSectionsInOrder(ctx)
    } finally {
      if (this.rc.opts.forceHandlers && !this.rc.interrupted) await this.forceFlush(ctx)
    }
  }

  /** --force-handlers: hosts that failed after being notified still run their handlers. */
  private async forceFlush(ctx: PlayCtx): Promise<void> {
    const failed = ctx.batch.filter((s) => s.failed && !s.unreachable && s.notified.size > 0)
    for (const s of failed) s.failed = false
    try {
      await this.flushHandlers(ctx)
    } finally {
      for (const s of failed) s.failed = true
    }
  }

  private async runSectionsInOrder(ctx: PlayCtx): Promise<void> {
    const { play } = ctx
    await this.runItems(play.preTasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
    await this.runItems(play.roleTasks, ctx, ROOT_SCOPE)
    await this.runItems(play.tasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
    await this.runItems(play.postTasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
  }

  private async flushHandlers(ctx: PlayCtx): Promise<void> {
    for (const [hd, hosts] of dueHandlers(ctx)) {
      if (this.rc.interrupted) return
      if (hd.kind === 'include') await this.runInclude(hd, hosts, ctx, ROOT_SCOPE, true)
      else await this.runTask(hd, hosts, ctx, ROOT_SCOPE, true)
      this.announceGone(ctx, ROOT_SCOPE)
    }
  }

  // ------------------------------------------------------------------ task lists

  private async runItems(items: TaskItem[], ctx: PlayCtx, scope: Scope, among?: HostState[]): Promise<void> {
    for (const item of items) {
      if (this.rc.interrupted) return
      const hosts = activeHosts(ctx, among)
      if (hosts.length === 0) return
      if (item.kind === 'task') {
        await this.prefetcher.ahead(
          items,
          item,
          hosts.map((h) => h.name),
          (t) => this.rc.at(ctx, scope, t),
        )
        await this.runTask(item, hosts, ctx, scope)
      } else if (item.kind === 'block') await this.runBlock(item, hosts, ctx, scope)
      else await this.runInclude(item, hosts, ctx, scope)
      this.announceGone(ctx, scope)
    }
  }

  /** Hosts announced as out of the current play (host:end), so each is announced once. */
  private gone = new Set<string>()

  /** Tells the reporters which hosts have left the play, once no enclosing rescue/always can take them back. */
  private announceGone(ctx: PlayCtx, scope: Scope): void {
    if (scope.recovers) return
    for (const h of ctx.batch) {
      if ((h.failed || h.unreachable) && !this.gone.has(h.name)) {
        this.gone.add(h.name)
        this.rc.emit({ type: 'host:end', play: ctx.play.name, host: h.name, status: h.unreachable ? 'unreachable' : 'failed' })
      }
    }
  }

  private async runBlock(b: Block, hosts: HostState[], ctx: PlayCtx, scope: Scope): Promise<void> {
    const inner = childScope(scope, b)
    const failedBefore = new Set(hosts.filter((h) => h.failed).map((h) => h.name))
    await this.runItems(b.block, ctx, inner, hosts)
    const failedHere = hosts.filter((h) => h.failed && !failedBefore.has(h.name))
    if (b.rescue.length && failedHere.length) {
      // As Ansible's strategy does: a failure a rescue takes is counted as rescued (not failed)
      // whatever the rescue does, and the rescue sees the failed task and its result
      for (const h of failedHere) {
        h.failed = false
        h.counts.rescued++
        h.counts.failed = Math.max(0, h.counts.failed - 1)
        if (h.lastFailure) {
          h.hostFacts.ansible_failed_task = wrapHostData(h.lastFailure.task)
          h.hostFacts.ansible_failed_result = wrapHostData(h.lastFailure.result)
        }
      }
      await this.runItems(b.rescue, ctx, inner, failedHere)
    }
    if (b.always.length) {
      // always runs for every host that entered the block, failed or not (but reachable).
      const still = hosts.filter((h) => !h.unreachable && !h.ended)
      const wasFailed = still.filter((h) => h.failed)
      for (const h of wasFailed) h.failed = false
      await this.runItems(b.always, { ...ctx, batch: still }, inner, still)
      for (const h of wasFailed) h.failed = true
    }
  }

  /**
   * include_tasks / include_role, as Ansible runs them: per host, `when`, then the loop's items (each
   * item includes the file again, with the loop variable), the target's name rendered per item; the
   * include itself is a result (ok, or skipped) counted in the recap. Hosts that resolve to the same
   * file with the same item run it together.
   */
  private async runInclude(inc: Include, hosts: HostState[], ctx: PlayCtx, scope: Scope, handler = false): Promise<void> {
    const { rc } = this
    // the include's own keywords (and when) are for the include itself
    const inner = childScope(scope, inc)
    const forTasks = includeScope(scope, inc)
    const name = taskName(inc)
    const base = { type: 'host:result' as const, play: ctx.play.name, task: name, pos: srcPos(inc.src), check: rc.check }
    const started = Date.now()
    // before --start-at-task's task is reached, includes are followed but not reported
    const report = this.startAtReached && (handler || rc.selected(inc as unknown as Task))
    if (report && hosts.length)
      rc.emit({
        type: 'task:start',
        play: ctx.play.name,
        task: name,
        module: `include_${inc.what}`,
        hosts: hosts.map((x) => x.name),
        pos: srcPos(inc.src),
        handler,
      })
    const runs = planIncludes(rc, ctx, inc, hosts, inner, { report, base, started, failed: (h, e) => this.hostFailed(h, ctx, inc, e) })
    if (report) rc.emit({ type: 'task:end', play: ctx.play.name, task: name, durationMs: Date.now() - started })
    for (const run of runs) {
      if ((isTemplated(inc.target) || !inc.preloaded) && !rc.opts.loadTasks)
        throw new K3sbookError(`include_${inc.what}: cannot load ${run.target} at run time`, { pos: srcPos(inc.src) })
      let items: TaskItem[]
      try {
        items = includedItems(rc, inc, run)
      } catch (e) {
        for (const h of run.hosts) this.hostFailed(h, ctx, inc, e)
        continue
      }
      // a role loaded now brings its handlers into this play (once, however often it is included),
      // and with public: true its defaults and vars, for the rest of the play
      const { handlers, roles } = items as RuntimeItems
      for (const r of roles ?? [])
        if (!ctx.play.roles.some((x) => x.path === r.path && JSON.stringify(x.params) === JSON.stringify(r.params))) ctx.play.roles.push(r)
      if (handlers?.length) {
        const key = (x: Handler) => {
          const p = srcPos(x.src)
          return `${p.file}:${p.line}:${p.col}`
        }
        const known = new Set(ctx.play.handlers.map(key))
        for (const hd of handlers) if (!known.has(key(hd))) ctx.play.handlers.push(hd)
      }
      const live = run.hosts.filter((h) => !h.failed && !h.unreachable && !h.ended)
      if (!live.length) continue
      await this.runItems(items, ctx, { ...forTasks, vars: { ...forTasks.vars, ...run.extra } }, live)
    }
  }

  private hostFailed(h: HostState, ctx: PlayCtx, t: { name?: string; src: Task['src'] }, e: unknown): void {
    h.failed = true
    h.counts.failed++
    h.lastFailure = { task: { name: t.name ?? '' }, result: { failed: true, msg: errorText(e) } }
    this.rc.emit({
      type: 'host:result',
      play: ctx.play.name,
      task: t.name ?? 'include',
      pos: srcPos(t.src),
      host: h.name,
      status: 'failed',
      check: this.rc.check,
      msg: errorText(e),
      durationMs: 0,
    })
  }

  // ------------------------------------------------------------------ one task

  private async runTask(task: Task, hosts: HostState[], ctx: PlayCtx, scope: Scope, handler = false): Promise<void> {
    const { rc } = this
    if (TRACE) trace(`task ${task.name ?? task.module}`)
    if (!handler && !rc.selected(task)) return
    const name = renderTaskName(rc, task, hosts[0], ctx, scope)
    if (!this.startAtReached) {
      if (!startAtMatches(rc.opts.startAtTask!, name)) return
      this.startAtReached = true
    }
    if (!handler && rc.opts.beforeTask && !(await rc.opts.beforeTask(name))) return
    const t0 = Date.now()
    rc.emit({ type: 'task:start', play: ctx.play.name, task: name, module: task.module, hosts: hosts.map((h) => h.name), pos: srcPos(task.src), handler })
    // add_host bypasses the host loop in Ansible: it runs once, for the first host
    const once = task.runOnce || getModule(task.module)?.changesInventory === 'once'
    const runOn = once ? hosts.slice(0, 1) : hosts
    // traces of a no_log task (or one whose no_log is templated) show no script text
    const nl = task.noLog ?? scope.noLog
    const hideTraces = typeof nl === 'string' && asBool(nl) === undefined ? true : isTrue(nl)
    const onHost = (h: HostState) =>
      hideTraces ? noLogScope.run(true, () => this.runTaskOnHost(task, name, h, ctx, scope, handler)) : this.runTaskOnHost(task, name, h, ctx, scope, handler)
    // Each host's outcome is dropped as soon as it is settled (reported, counted, registered): only
    // whether one asks to flush handlers, and run_once's single outcome, are kept. Kept for the whole
    // task, a loop's item results stayed alive for every host until the last one finished (issue
    // 18: the tinc mesh task's 150 x 150 items at 150 hosts).
    let flush = false
    let first: TaskOutcome | undefined
    await Promise.all(
      runOn.map((h) =>
        this.limit(async () => {
          const o = await onHost(h)
          if (o?.result._meta === 'flush_handlers') flush = true
          if (once) first = o
        }),
      ),
    )
    if (once && first) shareRunOnce(task, hosts[0], first, hosts.slice(1))
    rc.emit({ type: 'task:end', play: ctx.play.name, task: name, durationMs: Date.now() - t0 })
    if (flush) await this.flushHandlers(ctx)
    const anyFatal = task.anyErrorsFatal ?? ctx.play.anyErrorsFatal
    if (anyFatal && hosts.some((h) => h.failed)) {
      for (const h of ctx.batch) if (!h.unreachable) h.failed = true
      throw new PlayAbort()
    }
    if (ctx.play.maxFailPercentage !== undefined) {
      const failed = ctx.batch.filter((h) => h.failed || h.unreachable).length
      if ((failed / ctx.batch.length) * 100 > ctx.play.maxFailPercentage) {
        for (const h of ctx.batch) h.ended = true
        throw new PlayAbort()
      }
    }
  }

  /** One task on one host: the pipeline, then what the outcome leaves behind (result.ts). */
  private async runTaskOnHost(task: Task, name: string, h: HostState, ctx: PlayCtx, scope: Scope, handler: boolean): Promise<TaskOutcome | undefined> {
    const { rc } = this
    if (h.failed || h.unreachable || h.ended || rc.interrupted) return undefined
    const t0 = Date.now()
    const pos = srcPos(task.src)
    // check mode, set_fact: keys computed from unknown values are unknown, the others are set
    const split = rc.check ? splitSetFact(task, h) : undefined
    const tc = rc.at(ctx, scope, split?.task ?? task)
    const vars = tc.vars(h.name)
    let outcome: TaskOutcome
    try {
      outcome = await taskOutcome(tc, h, vars)
    } catch (e) {
      if (e instanceof ConnectionError) {
        markUnreachable(rc, h, ctx.play, name, e, pos)
        return undefined
      }
      outcome = (rc.check && unknownFromError(e, h, task, errorText(e))) || {
        status: 'failed',
        // the result's msg is the message as Ansible words it; the shown one says where
        result: { failed: true, msg: e instanceof Error ? e.message : String(e) },
        changes: [],
        diff: undefined,
        msg: errorText(e),
      }
    }
    return settleOutcome({ rc, ctx, scope, task, name, h, vars, handler, t0, split }, outcome)
  }
}

/** Run a playbook; events go to `emit`. */
export async function runPlaybook(project: Project, opts: RunOptions, emit: Emit): Promise<RunSummary> {
  return new Runner(project, opts, emit).run()
}
