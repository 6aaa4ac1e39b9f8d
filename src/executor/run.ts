// The executor: plays over hosts (linear or free strategy, serial batches), tasks over hosts under
// p-limit, blocks with rescue/always, loops, handlers, and the one place where check mode is
// decided (runModule: plan, then apply unless checking). It emits typed events; it draws nothing.
import { isAbsolute, join, resolve } from 'node:path'
import pLimit from 'p-limit'
import { ConnectionError, K3sbookError, RemoteError, TemplateError, formatPos, tail } from '../errors.js'
import type { Connection, ExecOptions } from '../connection/types.js'
import { LocalConnection } from '../connection/local.js'
import { shQuote } from '../connection/quote.js'
import type { Block, Handler, Include, Inventory, Play, Playbook, Task, TaskItem, Vars } from '../model.js'
import { srcPos } from '../model.js'
import { getModule } from '../modules/registry.js'
import type { ActionablePlan, ApplyContext, ControllerFiles, Plan, PlanContext, Step, StepResult } from '../modules/types.js'
import { evalCondition, render, templateArgs, templateValue, stripOmitted } from '../template/index.js'
import { unwrapUnsafe, wrapUnsafe } from '../template/taint.js'
import { markNoLogResult } from './nolog.js'
import { groupsMap, hostInventoryVars, limitHosts, resolvePattern } from '../inventory/index.js'
import { emptyCounts, type Emit, type HostCounts, type HostResultEvent, type HostStatus, type RunEvent } from './events.js'
import { gatherFacts } from './facts.js'
import { makeReader, Overlay } from './reader.js'
import { noLogScope, TRACE, trace } from '../trace.js'
import { Prefetcher, type LookAheadHooks } from './prefetch.js'
import { ControllerCache } from './ctlfiles.js'
import { tagSelected } from './tags.js'
import { EXIT } from '../exit.js'
import { hostvarsProxy, lazyVars, mergeLayers } from './vars.js'
import { coerceArgs } from './coerce.js'

export interface Project {
  playbook: Playbook
  inventory: Inventory
  extraVars: Vars
}

export type ConnectionFactory = (host: string, vars: Vars) => Connection | Promise<Connection>

export interface RunOptions {
  check?: boolean
  diff?: boolean
  limit?: string
  tags?: string[]
  skipTags?: string[]
  /** Concurrent hosts (default 50). */
  forks?: number
  startAtTask?: string
  verbosity?: number
  /** Opens a connection for a host from its variables (ansible_host, ansible_port, ...). */
  connect: ConnectionFactory
  /** Aborting stops scheduling new tasks; running steps finish; the recap says interrupted. */
  signal?: AbortSignal
  /**
   * Plan pinning for `--confirm`: a check pass fills `record` with the changes it planned (per host
   * and task); the apply pass given them as `expect` applies exactly those and stops before
   * anything that differs (the host changed in between).
   */
  record?: Map<string, string[][]>
  expect?: Map<string, string[][]>
  /** Loads the tasks of a dynamic include_tasks file at run time. */
  loadTasks?: (file: string, include: Include) => TaskItem[]
}

export interface RunSummary {
  recap: Record<string, HostCounts>
  /** Anything changed (or, in check mode, would change). */
  changed: boolean
  failed: boolean
  unreachable: boolean
  interrupted: boolean
  roundTrips: Record<string, number>
  exitCode: number
}


interface HostState {
  name: string
  /** Gathered facts (ansible_*), below play vars in precedence. */
  facts: Vars
  /** set_fact and register results: above play, role and task vars. */
  hostFacts: Vars
  failed: boolean
  unreachable: boolean
  /** end_host / end_play: out of this play only. */
  ended: boolean
  notified: Set<string>
  overlay: Overlay
  counts: HostCounts
  /** Registered results produced in check mode without running (their values are unknown). */
  unknownRegs: Set<string>
}

/** What a block passes down to the tasks inside it. */
interface Scope {
  when: string[]
  vars: Vars
  become?: boolean
  becomeUser?: string
  environment: unknown[]
  ignoreErrors?: boolean | string
  delegateTo?: string
  noLog?: boolean | string
  checkMode?: boolean
}

const ROOT_SCOPE: Scope = { when: [], vars: {}, environment: [] }

interface TaskOutcome {
  status: HostStatus
  result: Vars
  changes: string[]
  diff: HostResultEvent['diff']
  msg?: string
  failedStep?: StepResult
  unknownReason?: string
  /** Check mode: the module's result (stdout, rc, content) only exists once it runs. */
  notRun?: boolean
}

class PlayAbort extends Error {}

export class Runner {
  private readonly hosts = new Map<string, HostState>()
  private readonly conns = new Map<string, Promise<Connection>>()
  private readonly opened: Connection[] = []
  private readonly limit: ReturnType<typeof pLimit>
  private readonly prefetcher = new Prefetcher()
  private readonly ctl = new ControllerCache()
  private readonly groups: Record<string, string[]>
  private readonly invVarsCache = new Map<string, Vars>()
  private startAtReached: boolean
  /** Hosts that were in a play (the recap lists these, not delegation targets). */
  private readonly inPlay = new Set<string>()
  private interrupted = false

  constructor(
    private readonly project: Project,
    private readonly opts: RunOptions,
    private readonly emit: Emit,
  ) {
    this.limit = pLimit(Math.max(1, opts.forks ?? 50))
    this.groups = groupsMap(project.inventory)
    this.startAtReached = !opts.startAtTask
    opts.signal?.addEventListener('abort', () => {
      this.interrupted = true
    })
  }

  private get check(): boolean {
    return !!this.opts.check
  }

  private state(host: string): HostState {
    let s = this.hosts.get(host)
    if (!s) {
      s = {
        name: host,
        facts: {},
        hostFacts: {},
        failed: false,
        unreachable: false,
        ended: false,
        notified: new Set(),
        overlay: new Overlay(),
        counts: emptyCounts(),
        unknownRegs: new Set(),
      }
      this.hosts.set(host, s)
    }
    return s
  }

  private invVars(host: string): Vars {
    let v = this.invVarsCache.get(host)
    if (!v) {
      v = this.project.inventory.hosts.has(host)
        ? hostInventoryVars(this.project.inventory, host, this.project.playbook.dir)
        : { inventory_hostname: host, inventory_hostname_short: host.split('.')[0], group_names: [] }
      this.invVarsCache.set(host, v)
    }
    return v
  }

  async run(): Promise<RunSummary> {
    const t0 = Date.now()
    this.emit({ type: 'run:start', playbook: this.project.playbook.file, check: this.check, diff: !!this.opts.diff, time: new Date().toISOString() })
    try {
      for (const play of this.project.playbook.plays) {
        if (this.interrupted) break
        await this.runPlay(play)
      }
    } finally {
      trace('plays done')
      await Promise.allSettled(this.opened.map((c) => c.close()))
      trace('connections closed')
    }
    const recap: Record<string, HostCounts> = {}
    const roundTrips: Record<string, number> = {}
    for (const [h, s] of this.hosts) if (this.inPlay.has(h)) recap[h] = s.counts
    for (const c of this.opened) roundTrips[c.host] = c.stats.roundTrips
    const failed = [...this.hosts.values()].some((s) => s.counts.failed > 0)
    const unreachable = [...this.hosts.values()].some((s) => s.counts.unreachable > 0)
    const changed = [...this.hosts.values()].some((s) => s.counts.changed > 0)
    const exitCode = this.interrupted
      ? EXIT.interrupted
      : failed
        ? EXIT.failed
        : unreachable
          ? EXIT.unreachable
          : EXIT.ok
    this.emit({ type: 'run:end', recap, durationMs: Date.now() - t0, check: this.check, interrupted: this.interrupted, roundTrips, exitCode })
    return { recap, changed, failed, unreachable, interrupted: this.interrupted, roundTrips, exitCode }
  }

  // ------------------------------------------------------------------ plays

  private playHosts(play: Play): string[] {
    const inv = this.project.inventory
    let pattern = play.hosts
    try {
      pattern = String(templateValue(play.hosts, lazyVars({ ...this.project.extraVars, groups: this.groups })))
    } catch {
      /* validate reports template errors in hosts: patterns */
    }
    const warn = (message: string) => this.emit({ type: 'warning', message, pos: srcPos(play.src, ['hosts']) })
    let hosts = resolvePattern(inv, pattern, { warn, baseDir: this.project.playbook.dir })
    if (this.opts.limit) hosts = limitHosts(inv, hosts, this.opts.limit)
    // Hosts that failed or were unreachable in an earlier play stay out (as in Ansible).
    return hosts.filter((h) => {
      const s = this.hosts.get(h)
      return !s || (!s.failed && !s.unreachable)
    })
  }

  private async runPlay(play: Play): Promise<void> {
    const t0 = Date.now()
    const hosts = this.playHosts(play)
    if (hosts.length === 0) {
      this.emit({ type: 'play:skip', play: play.name, reason: 'no hosts matched', pos: srcPos(play.src) })
      return
    }
    this.emit({ type: 'play:start', play: play.name, hosts, pos: srcPos(play.src) })
    for (const h of hosts) this.inPlay.add(h)
    for (const h of hosts) this.state(h).ended = false
    // Connect to every host of the play at once: handshakes overlap instead of queueing per task.
    const needsHost = !allControllerOnly(play)
    const batches = serialBatches(hosts, play.serial)
    if (needsHost) {
      if (TRACE) trace('play: connecting')
      const connecting = hosts.map((h) => this.conn(h).catch(() => undefined))
      // While the handshakes are in flight, plan the first tasks ahead: each host's probes go out
      // as soon as that host is connected (the first task waits for them; see Prefetcher).
      if (!play.gatherFacts && !this.opts.startAtTask) this.readAheadFirst(play, batches[0] ?? [], hosts)
      await Promise.all(connecting)
    }

    for (const [bi, batch] of batches.entries()) {
      if (this.interrupted) break
      if (batches.length > 1) this.emit({ type: 'batch:start', play: play.name, hosts: batch, batch: bi + 1, batches: batches.length })
      const states = batch.map((h) => this.state(h))
      // Unreachable at connect time: reported once, then out of the play.
      for (const s of states) {
        if (!needsHost || s.unreachable) continue
        try {
          await this.conn(s.name)
        } catch (e) {
          this.markUnreachable(s, play, 'connect', e)
        }
      }
      const ctx: PlayCtx = { play, batch: states, allHosts: hosts }
      try {
        if (play.gatherFacts) await this.gather(ctx)
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
    this.emit({ type: 'play:end', play: play.name, durationMs: Date.now() - t0 })
  }

  private readAheadFirst(play: Play, batch: string[], hosts: string[]): void {
    const items = [play.preTasks, play.roleTasks, play.tasks].find((l) => l.length > 0)
    const first = items?.[0]
    if (!items || !first || first.kind !== 'task') return
    const states = batch.map((h) => this.state(h))
    const ctx: PlayCtx = { play, batch: states, allHosts: hosts }
    const names = states.filter((s) => !s.failed && !s.unreachable && !s.ended).map((s) => s.name)
    this.prefetcher.ahead(items, first, names, this.lookAhead(ctx, ROOT_SCOPE)).catch(() => undefined)
  }

  private async runSections(ctx: PlayCtx): Promise<void> {
    const { play } = ctx
    await this.runItems(play.preTasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
    await this.runItems(play.roleTasks, ctx, ROOT_SCOPE)
    await this.runItems(play.tasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
    await this.runItems(play.postTasks, ctx, ROOT_SCOPE)
    await this.flushHandlers(ctx)
  }

  private active(ctx: PlayCtx, among?: HostState[]): HostState[] {
    return (among ?? ctx.batch).filter((s) => !s.failed && !s.unreachable && !s.ended)
  }

  private async gather(ctx: PlayCtx): Promise<void> {
    const hosts = this.active(ctx)
    if (hosts.length === 0) return
    const name = 'Gathering Facts'
    this.emit({ type: 'task:start', play: ctx.play.name, task: name, module: 'setup', hosts: hosts.map((h) => h.name), pos: srcPos(ctx.play.src) })
    const t0 = Date.now()
    await Promise.all(
      hosts.map((s) =>
        this.limit(async () => {
          const st = Date.now()
          try {
            const conn = await this.conn(s.name)
            const { ansible_facts, vars } = await gatherFacts(conn)
            // what the host reports is data, never a template (Ansible's AnsibleUnsafe)
            s.facts = wrapUnsafe({ ...vars, ansible_facts }) as Vars
            s.counts.ok++
            this.emit({ type: 'host:result', play: ctx.play.name, task: name, pos: srcPos(ctx.play.src), host: s.name, status: 'ok', check: this.check, durationMs: Date.now() - st })
          } catch (e) {
            if (e instanceof ConnectionError) this.markUnreachable(s, ctx.play, name, e)
            else throw e
          }
        }),
      ),
    )
    this.emit({ type: 'task:end', play: ctx.play.name, task: name, durationMs: Date.now() - t0 })
  }

  // ------------------------------------------------------------------ task lists

  private async runItems(items: TaskItem[], ctx: PlayCtx, scope: Scope, among?: HostState[]): Promise<void> {
    for (const item of items) {
      if (this.interrupted) return
      const hosts = this.active(ctx, among)
      if (hosts.length === 0) return
      if (item.kind === 'task') {
        await this.prefetcher.ahead(items, item, hosts.map((h) => h.name), this.lookAhead(ctx, scope))
        await this.runTask(item, hosts, ctx, scope)
      } else if (item.kind === 'block') await this.runBlock(item, hosts, ctx, scope)
      else await this.runInclude(item, hosts, ctx, scope)
    }
  }

  private childScope(scope: Scope, b: Block | Include): Scope {
    return {
      when: [...scope.when, ...b.when],
      vars: { ...scope.vars, ...b.vars },
      become: b.become ?? scope.become,
      becomeUser: b.becomeUser ?? scope.becomeUser,
      environment: b.environment !== undefined ? [...scope.environment, b.environment] : scope.environment,
      ignoreErrors: b.ignoreErrors ?? scope.ignoreErrors,
      delegateTo: b.delegateTo ?? scope.delegateTo,
      noLog: b.noLog ?? scope.noLog,
      checkMode: b.checkMode ?? scope.checkMode,
    }
  }

  private async runBlock(b: Block, hosts: HostState[], ctx: PlayCtx, scope: Scope): Promise<void> {
    const inner = this.childScope(scope, b)
    const failedBefore = new Set(hosts.filter((h) => h.failed).map((h) => h.name))
    await this.runItems(b.block, ctx, inner, hosts)
    const failedHere = hosts.filter((h) => h.failed && !failedBefore.has(h.name))
    if (b.rescue.length && failedHere.length) {
      for (const h of failedHere) {
        h.failed = false
      }
      await this.runItems(b.rescue, ctx, inner, failedHere)
      for (const h of failedHere) {
        if (!h.failed && !h.unreachable) {
          h.counts.rescued++
          h.counts.failed = Math.max(0, h.counts.failed - 1)
        }
      }
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

  private async runInclude(inc: Include, hosts: HostState[], ctx: PlayCtx, scope: Scope): Promise<void> {
    const inner = this.childScope(scope, inc)
    if (inc.what === 'role' || inc.preloaded) {
      // Static target: evaluate `when` per host, then run the loaded tasks on those hosts.
      const run: HostState[] = []
      for (const h of hosts) {
        const vars = this.taskVars(ctx, inc, h, inner)
        try {
          if (inc.when.every((c) => evalCondition(c, vars, srcPos(inc.src, ['when'])))) run.push(h)
        } catch (e) {
          this.hostFailed(h, ctx, inc, e)
        }
      }
      if (run.length && inc.preloaded) await this.runItems(inc.preloaded, ctx, { ...inner, when: scope.when }, run)
      return
    }
    // Dynamic file name: group hosts by the file they resolve to.
    const byFile = new Map<string, HostState[]>()
    for (const h of hosts) {
      const vars = this.taskVars(ctx, inc, h, inner)
      try {
        if (!inc.when.every((c) => evalCondition(c, vars, srcPos(inc.src, ['when'])))) continue
        const file = String(templateValue(inc.target, vars))
        const path = isAbsolute(file) ? file : resolve(inc.baseDir, file)
        byFile.set(path, [...(byFile.get(path) ?? []), h])
      } catch (e) {
        this.hostFailed(h, ctx, inc, e)
      }
    }
    for (const [file, hs] of byFile) {
      if (!this.opts.loadTasks) throw new K3sbookError(`include_tasks: cannot load ${file} at run time`, { pos: srcPos(inc.src) })
      const items = this.opts.loadTasks(file, inc)
      await this.runItems(items, ctx, { ...inner, when: scope.when }, hs)
    }
  }

  private hostFailed(h: HostState, ctx: PlayCtx, t: { name?: string; src: Task['src'] }, e: unknown): void {
    h.failed = true
    h.counts.failed++
    this.emit({
      type: 'host:result',
      play: ctx.play.name,
      task: t.name ?? 'include',
      pos: srcPos(t.src),
      host: h.name,
      status: 'failed',
      check: this.check,
      msg: errorText(e),
      durationMs: 0,
    })
  }

  // ------------------------------------------------------------------ one task

  private taskName(task: Task | Include): string {
    if (task.name) return task.name
    if (task.kind === 'task') return task.module + (task.role ? ` (${task.role.name})` : '')
    return `include_${task.what}`
  }

  private async runTask(task: Task, hosts: HostState[], ctx: PlayCtx, scope: Scope, handler = false): Promise<void> {
    if (TRACE) trace(`task ${task.name ?? task.module}`)
    if (!handler && !tagSelected(task.tags, this.opts.tags ?? [], this.opts.skipTags ?? [])) return
    const name = this.renderName(task, hosts[0], ctx, scope)
    if (!this.startAtReached) {
      if (!globMatch(this.opts.startAtTask!, name)) return
      this.startAtReached = true
    }
    const t0 = Date.now()
    this.emit({ type: 'task:start', play: ctx.play.name, task: name, module: task.module, hosts: hosts.map((h) => h.name), pos: srcPos(task.src), handler })
    const runOn = task.runOnce ? hosts.slice(0, 1) : hosts
    const noLog = isTrue(task.noLog ?? scope.noLog)
    const outcomes = await Promise.all(
      runOn.map((h) => this.limit(() => (noLog ? noLogScope.run(true, () => this.runTaskOnHost(task, name, h, ctx, scope, handler)) : this.runTaskOnHost(task, name, h, ctx, scope, handler)))),
    )
    if (task.runOnce && outcomes[0]) {
      // run_once: every host gets the registered result and facts, as in Ansible.
      const src = hosts[0]
      for (const h of hosts.slice(1)) {
        // A failed run_once task fails every host of the play (counted once, on the host it ran on).
        if (src.failed && outcomes[0].status === 'failed') h.failed = true
        if (task.register && src.hostFacts[task.register] !== undefined) h.hostFacts[task.register] = src.hostFacts[task.register]
        if (task.module === 'set_fact') Object.assign(h.hostFacts, pickFacts(outcomes[0].result))
        if (outcomes[0].status === 'changed') for (const n of task.notify) h.notified.add(n)
      }
    }
    this.emit({ type: 'task:end', play: ctx.play.name, task: name, durationMs: Date.now() - t0 })
    if (outcomes.some((o) => o?.result._meta === 'flush_handlers')) await this.flushHandlers(ctx)
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

  private renderName(task: Task, h: HostState | undefined, ctx: PlayCtx, scope: Scope): string {
    const raw = this.taskName(task)
    if (!h || !raw.includes('{')) return raw
    try {
      return String(templateValue(raw, this.taskVars(ctx, task, h, scope)))
    } catch {
      return raw
    }
  }

  /** All variables for one task on one host, in Ansible's precedence order, templated lazily. */
  private taskVars(ctx: PlayCtx, task: TaskItem | Include, h: HostState, scope: Scope, extra?: Vars): Vars {
    const play = ctx.play
    const role = task.role
    const roleDefaults: Vars[] = []
    const roleVars: Vars[] = []
    for (const r of play.roles) {
      roleDefaults.push(r.defaults)
      roleVars.push(r.vars)
    }
    // The task's own role chain wins over other roles of the play.
    const chain: NonNullable<typeof role>[] = []
    for (let r = role; r; r = r.parent) chain.unshift(r)
    for (const r of chain) roleDefaults.push(r.defaults)
    for (const r of chain) roleVars.push(r.vars)
    const magic: Vars = {
      inventory_hostname: h.name,
      groups: this.groups,
      play_hosts: ctx.batch.filter((s) => !s.failed && !s.unreachable).map((s) => s.name),
      ansible_play_hosts: ctx.batch.filter((s) => !s.failed && !s.unreachable).map((s) => s.name),
      ansible_play_batch: ctx.batch.map((s) => s.name),
      ansible_play_hosts_all: ctx.allHosts,
      ansible_play_name: play.name,
      playbook_dir: this.project.playbook.dir,
      inventory_dir: this.project.inventory.sources[0] ? resolve(this.project.inventory.sources[0], '..') : undefined,
      ansible_check_mode: this.check,
      ansible_diff_mode: !!this.opts.diff,
      ansible_run_tags: this.opts.tags?.length ? this.opts.tags : ['all'],
      ansible_skip_tags: this.opts.skipTags ?? [],
      ansible_verbosity: this.opts.verbosity ?? 0,
      ansible_limit: this.opts.limit,
      ansible_version: { full: '2.14.0', major: 2, minor: 14, revision: 0, string: '2.14.0 (k3sbook)' },
      role_name: role?.name,
      role_path: role?.path,
      hostvars: hostvarsProxy([...this.project.inventory.hostOrder, ...[...this.hosts.keys()].filter((k) => !this.project.inventory.hosts.has(k))], (other) =>
        lazyVars(mergeLayers([this.invVars(other), this.hosts.get(other)?.facts, this.hosts.get(other)?.hostFacts, { inventory_hostname: other }])),
      ),
    }
    const layers: (Vars | undefined)[] = [
      ...roleDefaults,
      this.invVars(h.name),
      h.facts,
      play.vars,
      ...play.varsFiles.map((f) => f.vars),
      ...roleVars,
      scope.vars,
      task.vars,
      h.hostFacts,
      ...chain.map((r) => r.params),
      extra,
      this.project.extraVars,
      magic,
    ]
    return lazyVars(mergeLayers(layers))
  }

  private async runTaskOnHost(task: Task, name: string, h: HostState, ctx: PlayCtx, scope: Scope, handler: boolean): Promise<TaskOutcome | undefined> {
    if (h.failed || h.unreachable || h.ended || this.interrupted) return undefined
    const t0 = Date.now()
    const pos = srcPos(task.src)
    const base = { type: 'host:result' as const, play: ctx.play.name, task: name, pos, host: h.name, check: this.check, handler: handler || undefined }
    const noLog = isTrue(task.noLog ?? scope.noLog)
    const ignoreErrors = task.ignoreErrors ?? scope.ignoreErrors
    let outcome: TaskOutcome
    let vars = this.taskVars(ctx, task, h, scope)
    try {
      const conds = [...scope.when, ...task.when]
      if (task.loop) {
        outcome = await this.runLoop(task, h, ctx, scope, vars, conds)
      } else if (!conds.every((c) => evalCondition(c, vars, srcPos(task.src, ['when'])))) {
        outcome = { status: 'skipped', result: { changed: false, skipped: true, skip_reason: 'Conditional result was False' }, changes: [], diff: undefined }
      } else {
        outcome = await this.runModuleWithRetries(task, h, ctx, scope, vars)
      }
    } catch (e) {
      if (e instanceof ConnectionError) {
        this.markUnreachable(h, ctx.play, name, e, pos)
        return undefined
      }
      if (this.check && isUnknownDependency(e, h, task)) {
        outcome = { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on a result not known in check mode: ${errorText(e)}` }
      } else outcome = { status: 'failed', result: { failed: true, msg: errorText(e) }, changes: [], diff: undefined, msg: errorText(e) }
    }
    // Check mode: a task that reads the host and fails after an earlier planned command (whose
    // effects can't be known: it may create the very file this task reads) may well succeed in
    // the real run. (fail/assert/debug read only variables, which unknownRegs tracks.)
    if (this.check && outcome.status === 'failed' && h.overlay.opaque > 0 && !getModule(task.module)?.controllerOnly) {
      outcome = { ...outcome, status: 'unknown', result: { changed: true, check_mode: true }, unknownReason: `may succeed once earlier commands have run: ${outcome.msg ?? 'failed'}` }
    }
    // Check mode: whatever a task makes of a value that only a real run would have produced is
    // unknown (and so is what it registers or sets), not ok and not failed.
    if (this.check && outcome.status !== 'skipped' && outcome.status !== 'unknown' && referencesUnknown(task, h)) {
      const why = outcome.status === 'failed' ? `: ${outcome.msg ?? ''}` : ''
      outcome = { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on a result not known in check mode${why}` }
    }
    if (this.check && outcome.status === 'unknown' && (task.module === 'set_fact' || task.module === 'include_vars')) {
      for (const k of Object.keys(task.args)) h.unknownRegs.add(k)
    }
    if (this.opts.record && outcome.status === 'unknown') {
      const key = planKey(h.name, task)
      this.opts.record.set(key, [...(this.opts.record.get(key) ?? []), [UNKNOWN_MARK]])
    }
    // A no_log task's result is secret, whatever it holds (masked wherever it is used later).
    if (noLog) markNoLogResult(outcome.result)
    if (task.register) {
      // registered results came from the host: unsafe, never rendered again (Ansible's wrap_var)
      h.hostFacts[task.register] = wrapUnsafe(outcome.result) as Vars
      if (outcome.status === 'unknown' || outcome.notRun) h.unknownRegs.add(task.register)
      else h.unknownRegs.delete(task.register)
    }
    if (task.module === 'set_fact' && outcome.status !== 'failed' && outcome.status !== 'skipped') Object.assign(h.hostFacts, pickFacts(outcome.result))
    const meta = outcome.result._meta as string | undefined
    if (task.module === 'meta' && outcome.status !== 'failed') {
      // Like Ansible, meta tasks act but are not results: no line, nothing in the recap.
      if (meta) await this.runMeta(meta, h, ctx)
      return outcome
    }
    let ignored = false
    switch (outcome.status) {
      case 'ok':
        h.counts.ok++
        break
      case 'changed':
      case 'unknown':
        h.counts.ok++
        h.counts.changed++
        for (const n of task.notify) h.notified.add(String(n))
        break
      case 'skipped':
        h.counts.skipped++
        break
      case 'failed':
        if (ignoreErrors !== undefined && evalLoose(ignoreErrors, vars)) {
          // Ansible counts an ignored failure as ok too.
          h.counts.ok++
          h.counts.ignored++
          ignored = true
        } else {
          h.counts.failed++
          h.failed = true
        }
        break
    }
    // no_log: the task's name and status, nothing else (no change summary, item labels, diff, output)
    const ev: HostResultEvent = {
      ...base,
      status: outcome.status,
      ignored: ignored || undefined,
      changes: outcome.changes.length && !noLog ? outcome.changes : undefined,
      diff: noLog ? undefined : outcome.diff,
      msg: noLog ? NO_LOG_MSG : outcome.msg ?? outcome.unknownReason,
      durationMs: Date.now() - t0,
    }
    if (!noLog && (outcome.status === 'failed' || (this.opts.verbosity ?? 0) > 0)) {
      const r = outcome.result
      if (typeof r.rc === 'number') ev.rc = r.rc
      if (typeof r.stdout === 'string' && r.stdout) ev.stdout = tail(r.stdout, 20)
      if (typeof r.stderr === 'string' && r.stderr) ev.stderr = tail(r.stderr, 20)
      if (outcome.failedStep) {
        ev.command = outcome.failedStep.step.describe
        ev.rc = outcome.failedStep.rc
        ev.stderr = tail(outcome.failedStep.stderr.toString(), 20)
      }
    }
    this.emit(ev)
    if (task.module === 'debug' && outcome.status === 'ok' && !noLog) this.emit(debugEvent(h.name, name, outcome.result))
    if (meta) await this.runMeta(meta, h, ctx)
    return outcome
  }

  private async runMeta(meta: string, h: HostState, ctx: PlayCtx): Promise<void> {
    switch (meta) {
      case 'end_host':
        h.ended = true
        break
      case 'end_play':
        for (const s of ctx.batch) s.ended = true
        break
      case 'clear_facts':
        h.facts = {}
        h.hostFacts = {}
        break
      default:
        break // flush_handlers is handled at the task level (see runTask callers); noop, refresh_inventory, reset_connection
    }
  }

  private async runLoop(task: Task, h: HostState, ctx: PlayCtx, scope: Scope, vars: Vars, conds: string[]): Promise<TaskOutcome> {
    const loop = task.loop!
    // items keep their taint: an item from host data is never rendered as a template
    const items = loopItems(loop.kind, templateValue(loop.items, vars, srcPos(task.src, [loop.kind])), task)
    const results: Vars[] = []
    let anyChanged = false
    let anyFailed = false
    let anyUnknown = false
    let anyNotRun = false
    const changes: string[] = []
    const diffs: NonNullable<TaskOutcome['diff']> = []
    const msgs: string[] = []
    let lastFailedStep: StepResult | undefined
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      const loopVars: Vars = { [loop.loopVar]: item, ansible_loop_var: loop.loopVar }
      if (loop.indexVar) loopVars[loop.indexVar] = i
      if (loop.extended)
        loopVars.ansible_loop = { index: i + 1, index0: i, first: i === 0, last: i === items.length - 1, length: items.length, revindex: items.length - i, revindex0: items.length - i - 1, allitems: items }
      const iv = this.taskVars(ctx, task, h, scope, loopVars)
      let label: string
      try {
        const plain = unwrapUnsafe(item)
        label = loop.label !== undefined ? String(templateValue(loop.label, iv)) : typeof plain === 'string' ? plain : JSON.stringify(plain)
      } catch {
        label = JSON.stringify(unwrapUnsafe(item))
      }
      let out: TaskOutcome
      if (!conds.every((c) => evalCondition(c, iv, srcPos(task.src, ['when'])))) {
        out = { status: 'skipped', result: { changed: false, skipped: true, skip_reason: 'Conditional result was False' }, changes: [], diff: undefined }
      } else {
        try {
          out = await this.runModuleWithRetries(task, h, ctx, scope, iv)
        } catch (e) {
          if (e instanceof ConnectionError) throw e
          out = { status: 'failed', result: { failed: true, msg: errorText(e) }, changes: [], diff: undefined, msg: errorText(e) }
        }
      }
      results.push({ ...out.result, [loop.loopVar]: item, ansible_loop_var: loop.loopVar, item_label: label })
      if (out.status === 'changed') anyChanged = true
      if (out.status === 'unknown') anyUnknown = true
      if (out.notRun) anyNotRun = true
      if (out.status === 'failed') {
        anyFailed = true
        lastFailedStep = out.failedStep ?? lastFailedStep
        msgs.push(`${label}: ${out.msg ?? 'failed'}`)
      }
      for (const c of out.changes) changes.push(`${label}: ${c}`)
      if (out.diff) diffs.push(...out.diff)
      if (loop.pause) await sleep(loop.pause * 1000)
    }
    const allSkipped = results.length > 0 && results.every((r) => r.skipped)
    const result: Vars = { results, changed: anyChanged || anyUnknown, msg: anyFailed ? 'One or more items failed' : 'All items completed', skipped: allSkipped || results.length === 0 }
    if (anyFailed) result.failed = true
    const status: HostStatus = anyFailed ? 'failed' : anyUnknown ? 'unknown' : anyChanged ? 'changed' : allSkipped || results.length === 0 ? 'skipped' : 'ok'
    return { status, result, changes, diff: diffs.length ? diffs : undefined, msg: anyFailed ? msgs.join('; ') : undefined, failedStep: lastFailedStep, notRun: anyNotRun }
  }

  private async runModuleWithRetries(task: Task, h: HostState, ctx: PlayCtx, scope: Scope, vars: Vars): Promise<TaskOutcome> {
    if (!task.until?.length) return this.runModule(task, h, ctx, scope, vars)
    const retries = Number(task.retries !== undefined ? templateValue(task.retries, vars) : 3)
    const delay = Number(task.delay !== undefined ? templateValue(task.delay, vars) : 5)
    let out: TaskOutcome | undefined
    for (let attempt = 1; attempt <= retries + 1; attempt++) {
      out = await this.runModule(task, h, ctx, scope, vars)
      if (this.check && out.status !== 'ok' && out.status !== 'failed') return out
      const rv = task.register ? lazyVars({ ...rawOf(vars), [task.register]: wrapUnsafe(out.result) }) : vars
      const done = task.until.every((c) => evalCondition(c, rv, srcPos(task.src, ['until'])))
      out.result.attempts = attempt
      if (done) {
        // until satisfied: the last attempt's result stands (it may still have failed).
        return out
      }
      if (attempt <= retries) {
        this.emit({ type: 'verbose', level: 1, host: h.name, message: `FAILED - RETRYING: ${this.taskName(task)} (${retries - attempt + 1} retries left)` })
        if (this.interrupted) break
        await sleep(delay * 1000)
      }
    }
    out!.status = 'failed'
    out!.result.failed = true
    out!.msg = out!.msg ?? `retries exhausted (${retries}): until condition never true`
    return out!
  }

  /** The one place that decides check mode: plan, then apply unless checking. */
  private async runModule(task: Task, h: HostState, ctx: PlayCtx, scope: Scope, vars: Vars): Promise<TaskOutcome> {
    const mod = getModule(task.module)
    if (!mod) throw new K3sbookError(`unknown module "${task.moduleKey}"`, { pos: srcPos(task.src) })
    const pos = srcPos(task.src, [task.moduleKey])
    // set_fact stores what it is given: values computed from host data stay unsafe there
    let args = stripOmitted(task.module === 'set_fact' ? templateValue(task.args, vars, pos) : templateArgs(task.args, vars, pos)) as Vars
    args = coerceArgs(mod.schema, args)
    const check = task.checkMode ?? scope.checkMode ?? ctx.play.checkMode ?? this.check
    const diff = task.diff ?? ctx.play.diff ?? !!this.opts.diff
    const delegate = task.delegateTo ?? scope.delegateTo
    const target = delegate ? String(templateValue(delegate, vars)) : h.name
    const targetState = target === h.name ? h : this.state(target)
    const become = this.becomeFor(task, scope, ctx.play, vars)
    const env = this.environmentFor(task, scope, ctx.play, vars)
    const timeoutMs = task.timeout ? task.timeout * 1000 : undefined
    let conn: Connection | undefined
    if (!mod.controllerOnly) conn = scoped(await this.conn(target), { become, env, timeoutMs })
    const reader = conn
      ? makeReader(conn, check ? targetState.overlay : undefined, { cache: this.prefetcher.view(target, task.module, { become, env }) })
      : { host: target, probe: () => Promise.reject(new Error('no connection')), files: () => Promise.reject(new Error('no connection')), pending: () => undefined, hasPending: () => false }
    const planCtx: PlanContext = { host: h.name, vars, reader, diff, controller: this.controllerFiles(task, vars), become, task }
    const plan = await mod.plan(args, planCtx)
    const changes = 'changes' in plan && plan.changes ? plan.changes.map((c) => c.summary) : []
    const diffs = 'changes' in plan && plan.changes ? plan.changes.flatMap((c) => (c.diff ? [c.diff] : [])) : []
    let stepResults: StepResult[] | undefined
    let status: HostStatus
    let failedStep: StepResult | undefined
    let msg: string | undefined
    switch (plan.status) {
      case 'ok':
      case 'skip':
        status = 'ok'
        msg = plan.status === 'skip' ? plan.reason : plan.note
        break
      case 'fail':
        status = 'failed'
        msg = plan.msg
        break
      case 'change':
      case 'unknown':
        if (this.opts.record) {
          const key = planKey(h.name, task)
          this.opts.record.set(key, [...(this.opts.record.get(key) ?? []), changes])
        }
        if (!check && this.opts.expect) {
          const key = planKey(h.name, task)
          const queue = this.opts.expect.get(key)
          // '?': the check could not know what this task would do and said so ("unknown").
          const wasUnknown = !!queue?.some((q) => q[0] === UNKNOWN_MARK)
          const shown = wasUnknown ? changes : queue?.shift()
          if (!shown || JSON.stringify(shown) !== JSON.stringify(changes)) {
            this.interrupted = true
            throw new K3sbookError(
              `not applied: this change was not among those shown before confirmation (${changes.join(', ') || plan.status}); the host changed since the check, so the run stops here`,
              { pos: srcPos(task.src), hint: 'run --confirm again to see the current changes' },
            )
          }
        }
        if (check) {
          for (const s of plan.steps) targetState.overlay.record(s.effects)
          status = plan.status === 'unknown' ? 'unknown' : 'changed'
          if (plan.status === 'unknown') msg = plan.reason
        } else {
          const c = conn!
          const applyCtx: ApplyContext = { host: h.name, task, run: (step) => runStep(c, step), upload: (src, remote, o) => uploadTo(c, src, remote, o) }
          this.prefetcher.invalidate(target)
          stepResults = mod.apply ? await mod.apply(plan as ActionablePlan, args, applyCtx) : await defaultApply(plan as ActionablePlan, applyCtx)
          failedStep = stepResults.find((r) => !(r.step.okCodes ?? [0]).includes(r.rc))
          status = failedStep ? 'failed' : 'changed'
          if (failedStep) msg = `${failedStep.step.describe}: exit code ${failedStep.rc}${failedStep.stderr.length ? `: ${tail(failedStep.stderr.toString(), 3)}` : ''}${untouchedNote(failedStep.step)}`
        }
        break
    }
    let result: Vars = { ...(plan.result ?? {}) }
    // A plan not applied (check mode) has no step results: the module's result would describe a
    // run that never happened, so only what planning learned is registered.
    const notRun = check && (plan.status === 'change' || plan.status === 'unknown')
    if (mod.result && !notRun) {
      const own = mod.result(plan, stepResults, args)
      result = { ...result, ...own }
      // A module may find after applying that nothing changed (identical bytes downloaded again).
      if (status === 'changed' && own.changed === false) status = 'ok'
    }
    // A module's own result may say it failed (e.g. command with a non-zero rc).
    if (result.failed === true && status !== 'failed') {
      status = 'failed'
      msg = String(result.msg ?? 'failed')
    }
    result.changed = status === 'changed' || status === 'unknown'
    if (status === 'failed') {
      result.failed = true
      if (msg && result.msg === undefined) result.msg = msg
    } else result.failed = false
    if (msg && result.msg === undefined) result.msg = msg
    if (diffs.length) result.diff = diffs.map((d) => ({ before: d.before, after: d.after, before_header: d.path, after_header: d.path }))
    if (check && (plan.status === 'change' || plan.status === 'unknown')) result.check_mode = true
    // `check_mode: false` runs a task for real during a check; if it fails while earlier changes on
    // this host are only planned, it may well succeed once they are applied: unknown, not failed.
    if (this.check && !check && status === 'failed' && targetState.overlay.hasAny) {
      return { status: 'unknown', result: { changed: true, check_mode: true }, changes, diff: undefined, msg: `may succeed once earlier changes are applied: ${msg ?? 'failed'}`, notRun: true }
    }
    // changed_when / failed_when see the result under the register name.
    if (task.changedWhen !== undefined || task.failedWhen !== undefined) {
      const unsafe = wrapUnsafe(result) as Vars
      const rv = lazyVars({ ...rawOf(vars), ...(task.register ? { [task.register]: unsafe } : {}), ...unsafe })
      const canEvaluate = !(check && (plan.status === 'change' || plan.status === 'unknown') && UNKNOWN_RESULT_MODULES.has(task.module))
      if (task.failedWhen !== undefined && canEvaluate) {
        const f = condList(task.failedWhen).some((c) => evalCondition(c, rv, srcPos(task.src, ['failed_when'])))
        if (f) {
          status = 'failed'
          result.failed = true
          msg = msg ?? 'failed_when condition was true'
        } else if (status === 'failed') {
          status = result.changed ? 'changed' : 'ok'
          result.failed = false
          failedStep = undefined
          msg = undefined
        }
      }
      if (task.changedWhen !== undefined && status !== 'failed') {
        if (canEvaluate) {
          const c = condList(task.changedWhen).every((x) => evalCondition(x, rv, srcPos(task.src, ['changed_when'])))
          status = c ? 'changed' : 'ok'
          result.changed = c
        } else if (condList(task.changedWhen).every((x) => x === 'false' || x === 'False')) {
          status = 'ok'
          result.changed = false
        }
      }
    }
    // A real run during a check, while earlier changes on this host are only planned, observed the
    // host as it is now, not as it will be: what it registers may differ in the real run.
    const stale = this.check && !check && targetState.overlay.hasAny
    return { status, result, changes: status === 'changed' || status === 'unknown' ? changes : [], diff: diffs.length && (status === 'changed' || status === 'unknown') ? diffs : undefined, msg, failedStep, notRun: (notRun && UNKNOWN_RESULT_MODULES.has(task.module)) || stale }
  }

  private becomeFor(task: Task, scope: Scope, play: Play, vars: Vars): ExecOptions['become'] {
    const on = task.become ?? scope.become ?? play.become ?? (vars.ansible_become !== undefined ? isTrue(vars.ansible_become as never) : false)
    if (!on) return undefined
    const user = task.becomeUser ?? scope.becomeUser ?? play.becomeUser ?? (vars.ansible_become_user as string | undefined) ?? 'root'
    const password = (vars.ansible_become_password ?? vars.ansible_become_pass) as string | undefined
    const method = (task.becomeMethod ?? play.becomeMethod ?? (vars.ansible_become_method as string | undefined) ?? 'sudo') as 'sudo' | 'su'
    return { user: String(user), password: password === undefined ? undefined : String(password), method }
  }

  private environmentFor(task: Task, scope: Scope, play: Play, vars: Vars): Record<string, string> | undefined {
    const parts = [play.environment, ...scope.environment, task.environment].filter((e) => e !== undefined)
    if (parts.length === 0) return undefined
    const env: Record<string, string> = {}
    for (const p of parts) {
      const v = templateValue(p, vars)
      if (v && typeof v === 'object') for (const [k, x] of Object.entries(v as Vars)) env[k] = String(x)
    }
    return env
  }

  private controllerFiles(task: Task, vars: Vars): ControllerFiles {
    const dirs = (kind: 'templates' | 'files'): string[] => {
      const out: string[] = []
      for (let r = task.role; r; r = r.parent) out.push(join(r.path, kind), r.path)
      out.push(join(task.baseDir, kind), task.baseDir, join(this.project.playbook.dir, kind), this.project.playbook.dir)
      return out
    }
    const ctl = this.ctl
    return {
      async find(name, kind) {
        const candidates = isAbsolute(name) ? [name] : dirs(kind).map((d) => join(d, name))
        for (const p of candidates) {
          const content = ctl.read(p)
          if (content) return { path: p, content }
        }
        throw new K3sbookError(`could not find ${kind === 'templates' ? 'template' : 'file'} "${name}"`, {
          pos: srcPos(task.src),
          hint: `looked in ${dirs(kind).slice(0, 4).join(', ')}`,
        })
      },
      render(text, v, file) {
        return ctl.render(text, v ?? vars, file, () => render(text, v ?? vars, { file, source: 'file', searchPath: dirs('templates').filter((d) => !d.endsWith('/templates')) }))
      },
    }
  }

  // ------------------------------------------------------------------ handlers

  private async flushHandlers(ctx: PlayCtx): Promise<void> {
    const { play } = ctx
    for (const hd of play.handlers) {
      if (this.interrupted) return
      const names = [hd.name, ...hd.listen].filter((n): n is string => !!n)
      const hosts = this.active(ctx).filter((s) => names.some((n) => s.notified.has(n)))
      if (hosts.length === 0) continue
      for (const s of hosts) for (const n of names) s.notified.delete(n)
      await this.runTask(hd as Handler, hosts, ctx, ROOT_SCOPE, true)
    }
  }

  // ------------------------------------------------------------------ connections

  /** What the prefetcher needs to plan a task ahead the way runModule will plan it. */
  private lookAhead(ctx: PlayCtx, scope: Scope): LookAheadHooks {
    return {
      vars: (task, host, extra) => this.taskVars(ctx, task, this.state(host), scope, extra),
      conditions: (task) => [...scope.when, ...task.when],
      selected: (task) => tagSelected(task.tags, this.opts.tags ?? [], this.opts.skipTags ?? []),
      execContext: (task, vars) => ({ become: this.becomeFor(task, scope, ctx.play, vars), env: this.environmentFor(task, scope, ctx.play, vars) }),
      check: (task) => task.checkMode ?? scope.checkMode ?? ctx.play.checkMode ?? this.check,
      diff: (task) => task.diff ?? ctx.play.diff ?? !!this.opts.diff,
      delegated: (task) => (task.delegateTo ?? scope.delegateTo) !== undefined,
      overlay: (host) => this.state(host).overlay,
      controller: (task, vars) => this.controllerFiles(task, vars),
      conn: (host) => this.conn(host),
    }
  }

  private conn(host: string): Promise<Connection> {
    let p = this.conns.get(host)
    if (!p) {
      p = (async () => {
        const vars = lazyVars(mergeLayers([this.invVars(host), this.project.extraVars]))
        // The implicit localhost (delegate_to: localhost without an inventory entry) is this machine.
        const implicitLocal = !this.project.inventory.hosts.has(host) && IMPLICIT_LOCALHOST.has(host)
        const c = implicitLocal ? new LocalConnection(host) : await this.opts.connect(host, vars)
        await c.connect()
        this.opened.push(c)
        return c
      })()
      this.conns.set(host, p)
    }
    return p
  }

  private markUnreachable(s: HostState, play: Play, task: string, e: unknown, pos = srcPos(play.src)): void {
    if (s.unreachable) return
    s.unreachable = true
    s.counts.unreachable++
    this.emit({ type: 'host:result', play: play.name, task, pos, host: s.name, status: 'unreachable', check: this.check, msg: errorText(e), durationMs: 0 })
  }
}

interface PlayCtx {
  play: Play
  batch: HostState[]
  allHosts: string[]
}

/** Run a playbook; events go to `emit`. */
export async function runPlaybook(project: Project, opts: RunOptions, emit: Emit): Promise<RunSummary> {
  return new Runner(project, opts, emit).run()
}


// ------------------------------------------------------------------ helpers

const IMPLICIT_LOCALHOST = new Set(['localhost', '127.0.0.1', '::1'])

const UNKNOWN_MARK = '\u0000unknown'

function planKey(host: string, task: Task): string {
  return `${host}\u0000${formatPos(srcPos(task.src))}`
}

/** Modules whose result (stdout, rc) only exists after they run: unknown in check mode. */
const UNKNOWN_RESULT_MODULES = new Set(['command', 'shell', 'uri', 'slurp', 'fetch', 'get_url', 'unarchive', 'script', 'raw'])

/** A template failed in check mode on a value that reads a result not produced (a command not run). */
function isUnknownDependency(e: unknown, h: HostState, task: Task): boolean {
  return e instanceof TemplateError && referencesUnknown(task, h)
}

/** The task reads a registered result or fact that check mode could not produce. */
function referencesUnknown(task: Task, h: HostState): boolean {
  if (h.unknownRegs.size === 0) return false
  const text = JSON.stringify([task.args, task.when, task.loop?.items, task.changedWhen, task.failedWhen, task.until])
  return [...h.unknownRegs].some((r) => new RegExp(`\\b${r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text))
}

function rawOf(v: Vars): Vars {
  // Spread of a lazy proxy yields resolved values, which is what conditions need.
  const out: Vars = {}
  for (const k of Object.keys(v)) {
    Object.defineProperty(out, k, { get: () => v[k], enumerable: true, configurable: true })
  }
  return out
}

function condList(c: string[] | boolean): string[] {
  if (typeof c === 'boolean') return [c ? 'True' : 'False']
  return c
}

function evalLoose(v: boolean | string, vars: Vars): boolean {
  if (typeof v === 'boolean') return v
  return evalCondition(v, vars)
}

export function isTrue(v: boolean | string | undefined): boolean {
  if (typeof v === 'boolean') return v
  if (v === undefined) return false
  return ['yes', 'true', 'on', '1', 'y'].includes(String(v).toLowerCase())
}

const NO_LOG_MSG = 'the output has been hidden due to the no_log: true specified for this result'

/** A debug task's output: `msg`, or with `var:` the variable's name and value (as Ansible prints `x: value`). */
function debugEvent(host: string, task: string, result: Vars): Extract<RunEvent, { type: 'debug' }> {
  const name = result._var
  if (typeof name === 'string') return { type: 'debug', host, task, msg: result[name], var: name, value: result[name] }
  return { type: 'debug', host, task, msg: result.msg }
}

function pickFacts(result: Vars): Vars {
  const f = result.ansible_facts
  return f && typeof f === 'object' ? (f as Vars) : {}
}

function errorText(e: unknown): string {
  if (e instanceof K3sbookError) return e.pos ? `${formatPos(e.pos)}: ${e.message}${e.hint ? ` (${e.hint})` : ''}` : e.message + (e.hint ? ` (${e.hint})` : '')
  return e instanceof Error ? e.message : String(e)
}

/**
 * A failed whole-file write (temp file beside the target, then rename) never reached the rename:
 * say that the target is as it was, so nobody goes looking for a half-written file.
 */
function untouchedNote(step: Step): string {
  const writes = (step.effects ?? []).filter((e) => 'state' in e && e.state === 'file' && ('content' in e || 'sha256' in e) && /\bmv -Tf -- "\$t"/.test(step.script))
  return writes.length ? ` (${writes.map((e) => (e as { path: string }).path).join(', ')} was left as it was: files are replaced atomically)` : ''
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function globMatch(pattern: string, s: string): boolean {
  if (pattern === s) return true
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$')
  return re.test(s)
}

function allControllerOnly(play: Play): boolean {
  if (play.gatherFacts) return false
  const items = [...play.preTasks, ...play.roleTasks, ...play.tasks, ...play.postTasks, ...play.handlers]
  const walk = (xs: TaskItem[]): boolean =>
    xs.every((t) => (t.kind === 'task' ? (getModule(t.module)?.controllerOnly ?? false) && !t.delegateTo : t.kind === 'block' ? walk(t.block) && walk(t.rescue) && walk(t.always) : false))
  return walk(items)
}

export function serialBatches(hosts: string[], serial: (number | string)[] | undefined): string[][] {
  if (!serial || serial.length === 0) return [hosts]
  const batches: string[][] = []
  let i = 0
  let k = 0
  while (i < hosts.length) {
    const spec = serial[Math.min(k, serial.length - 1)]
    let n: number
    if (typeof spec === 'string' && spec.trim().endsWith('%')) n = Math.max(1, Math.floor((hosts.length * parseFloat(spec)) / 100))
    else n = Math.max(1, Number(spec))
    if (!Number.isFinite(n) || n <= 0) n = hosts.length
    batches.push(hosts.slice(i, i + n))
    i += n
    k++
  }
  return batches
}

export function loopItems(kind: string, value: unknown, task: Task): unknown[] {
  const pos = srcPos(task.src, [kind])
  switch (kind) {
    case 'with_dict': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TemplateError('with_dict expects a dict', { pos })
      return Object.entries(value as Vars).map(([key, v]) => ({ key, value: v }))
    }
    case 'with_indexed_items':
      return asList(value, pos).flat().map((v, i) => [i, v])
    case 'with_items':
      // with_items flattens one level, loop does not.
      return asList(value, pos).flatMap((v) => (Array.isArray(v) ? v : [v]))
    case 'with_together': {
      const lists = asList(value, pos) as unknown[][]
      const n = Math.max(...lists.map((l) => l.length))
      return Array.from({ length: n }, (_, i) => lists.map((l) => l[i] ?? null))
    }
    case 'with_nested': {
      const lists = asList(value, pos) as unknown[][]
      return lists.reduce<unknown[][]>((acc, l) => acc.flatMap((a) => asList(l, pos).map((x) => [...a, x])), [[]])
    }
    case 'with_sequence': {
      const spec = String(value)
      const m = /^(?:start=)?(-?\d+)?\s*(?:end=|-)?(-?\d+)(?:\s*stride=(-?\d+))?(?:\s*format=(.*))?$/.exec(spec)
      const kv: Record<string, string> = {}
      for (const part of spec.split(/\s+/)) {
        const [k, v] = part.split('=')
        if (v !== undefined) kv[k] = v
      }
      const start = Number(kv.start ?? m?.[1] ?? 1)
      const end = Number(kv.end ?? (kv.count !== undefined ? start + Number(kv.count) - 1 : m?.[2]))
      const stride = Number(kv.stride ?? 1)
      const fmt = kv.format
      const out: unknown[] = []
      for (let i = start; stride > 0 ? i <= end : i >= end; i += stride) out.push(fmt ? fmt.replace(/%0?(\d*)d/, (_s, w) => String(i).padStart(Number(w) || 0, '0')) : String(i))
      return out
    }
    default:
      return asList(value, pos)
  }
}

function asList(v: unknown, pos: ReturnType<typeof srcPos>): unknown[] {
  if (Array.isArray(v)) return v
  if (v === undefined || v === null) return []
  if (typeof v === 'string') return [v]
  throw new TemplateError(`loop expects a list, got ${typeof v}`, { pos, hint: 'use dict2items to loop over a dict' })
}

/** A connection whose every exec carries the task's become, environment and timeout. */
function scoped(conn: Connection, extra: { become?: ExecOptions['become']; env?: Record<string, string>; timeoutMs?: number }): Connection {
  if (!extra.become && !extra.env && !extra.timeoutMs) return conn
  return {
    host: conn.host,
    stats: conn.stats,
    connect: () => conn.connect(),
    exec: (script, o = {}) =>
      conn.exec(script, { ...o, become: o.become ?? extra.become, env: extra.env || o.env ? { ...extra.env, ...o.env } : undefined, timeoutMs: o.timeoutMs ?? extra.timeoutMs }),
    upload: (l, r, o = {}) => conn.upload(l, r, { ...o, become: o.become ?? extra.become }),
    download: (r, o = {}) => conn.download(r, { ...o, become: o.become ?? extra.become }),
    close: () => conn.close(),
  }
}

async function runStep(conn: Connection, step: Step): Promise<StepResult> {
  const t0 = Date.now()
  const r = await conn.exec(step.script, { stdin: step.stdin, env: step.env, timeoutMs: step.timeoutMs })
  return { ...r, step, durationMs: Date.now() - t0 }
}

/** Bytes or a local file to a remote path, atomically (temp file beside the target, then rename). */
async function uploadTo(conn: Connection, src: string | Buffer, remote: string, o: { mode?: string } = {}): Promise<void> {
  if (typeof src === 'string') return conn.upload(src, remote, { mode: o.mode })
  const tmp = `${remote}.k3sbook-${process.pid}-${Date.now()}.tmp`
  const r = await conn.exec(
    // the size check: a truncated transfer (controller killed mid-way) must not replace the target
    `set -e; umask 077; t=${shQuote(tmp)}; trap 'rm -f -- "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; cat > "$t"; [ $(wc -c < "$t") -eq ${src.length} ]; ${o.mode ? `chmod ${shQuote(o.mode)} "$t"; ` : ''}mv -f -- "$t" ${shQuote(remote)}; trap - EXIT`,
    { stdin: src },
  )
  if (r.rc !== 0) {
    await conn.exec(`rm -f ${shQuote(tmp)}`)
    throw new RemoteError(conn.host, `upload ${remote}`, r.rc, r.stderr.toString())
  }
}

async function defaultApply(plan: ActionablePlan, ctx: ApplyContext): Promise<StepResult[]> {
  const out: StepResult[] = []
  for (const step of plan.steps) {
    const r = await ctx.run(step)
    out.push(r)
    if (!(step.okCodes ?? [0]).includes(r.rc)) break
  }
  return out
}

