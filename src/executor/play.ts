// Plays: which hosts a play runs on (its pattern, --limit, hosts that failed earlier stay out), in
// which serial batches, whether it needs the hosts at all, and the implicit fact gathering.
import { ConnectionError } from '../errors.js'
import type { Play, TaskItem, Vars } from '../model.js'
import { asBool } from '../bool.js'
import { srcPos } from '../model.js'
import { FACTS_MODULE, getModule } from '../modules/registry.js'
import { limitHosts, resolvePattern } from '../inventory/index.js'
import { templateValue } from '../template/index.js'
import { wrapHostData, wrapUnsafe } from '../template/taint.js'
import { gatherFacts } from './facts.js'
import { errorText } from './result.js'
import { activeHosts, type HostState, type PlayCtx } from './state.js'
import type { RunContext } from './task-context.js'
import { lazyVars } from './vars.js'

export function playHosts(rc: RunContext, play: Play): string[] {
  const inv = rc.project.inventory
  let pattern = play.hosts
  try {
    pattern = String(templateValue(play.hosts, lazyVars({ ...rc.project.extraVars, groups: rc.groups })))
  } catch {
    /* validate reports template errors in hosts: patterns */
  }
  const warn = (message: string) => rc.emit({ type: 'warning', message, pos: srcPos(play.src, ['hosts']) })
  let hosts = resolvePattern(inv, pattern, { warn, baseDir: rc.project.playbook.dir })
  if (rc.opts.limit) hosts = limitHosts(inv, hosts, rc.opts.limit)
  // Hosts that failed or were unreachable in an earlier play stay out (as in Ansible).
  return hosts.filter((h) => {
    const s = rc.hosts.get(h)
    return !s || (!s.failed && !s.unreachable)
  })
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

/** Every task of the play runs on the controller: no host is contacted. */
export function allControllerOnly(play: Play): boolean {
  if (play.gatherFacts) return false
  const items = [...play.preTasks, ...play.roleTasks, ...play.tasks, ...play.postTasks, ...play.handlers]
  const walk = (xs: TaskItem[]): boolean =>
    xs.every((t) =>
      t.kind === 'task'
        ? (getModule(t.module)?.controllerOnly ?? false) && !t.delegateTo
        : t.kind === 'block'
          ? walk(t.block) && walk(t.rescue) && walk(t.always)
          : false,
    )
  return walk(items)
}

/** Unreachable: reported once, then out of the play. */
export function markUnreachable(rc: RunContext, s: HostState, play: Play, task: string, e: unknown, pos = srcPos(play.src)): void {
  if (s.unreachable) return
  s.unreachable = true
  s.counts.unreachable++
  rc.emit({ type: 'host:result', play: play.name, task, pos, host: s.name, status: 'unreachable', check: rc.check, msg: errorText(e), durationMs: 0 })
}

/** The implicit "Gathering Facts" task. */
export async function gather(rc: RunContext, ctx: PlayCtx, limit: <T>(f: () => Promise<T>) => Promise<T>): Promise<void> {
  const hosts = activeHosts(ctx)
  if (hosts.length === 0) return
  const name = 'Gathering Facts'
  rc.emit({ type: 'task:start', play: ctx.play.name, task: name, module: FACTS_MODULE, hosts: hosts.map((h) => h.name), pos: srcPos(ctx.play.src) })
  const t0 = Date.now()
  await Promise.all(
    hosts.map((s) =>
      limit(async () => {
        const st = Date.now()
        try {
          const conn = await rc.conns.get(s.name)
          const { ansible_facts, vars } = await gatherFacts(conn, await rc.probes.ridden(s.name))
          // what the host reports is data, never a template (Ansible's AnsibleUnsafe), and never a
          // command on the control machine unless it is the control machine's own
          s.facts = (conn.controller ? wrapUnsafe : wrapHostData)({ ...vars, ansible_facts }) as Vars
          s.gathered = s.facts
          s.counts.ok++
          rc.emit({
            type: 'host:result',
            play: ctx.play.name,
            task: name,
            pos: srcPos(ctx.play.src),
            host: s.name,
            status: 'ok',
            check: rc.check,
            durationMs: Date.now() - st,
          })
        } catch (e) {
          if (e instanceof ConnectionError) markUnreachable(rc, s, ctx.play, name, e)
          else throw e
        }
      }),
    ),
  )
  rc.emit({ type: 'task:end', play: ctx.play.name, task: name, durationMs: Date.now() - t0 })
}

/** gather_facts, rendered when templated, with the play's and extra vars (Ansible has no host vars there). */
export function gatherDecided(play: Play, extraVars: Vars): boolean {
  if (typeof play.gatherFacts !== 'string') return !!play.gatherFacts
  const vars = { ...play.vars, ...Object.assign({}, ...play.varsFiles.map((f) => f.vars)), ...extraVars }
  const v = templateValue(play.gatherFacts, vars, srcPos(play.src, ['gather_facts']))
  if (typeof v === 'boolean') return v
  // Ansible's boolean(): its false words, and an empty or None value, are false
  const s = String(v).trim()
  return !(s === '' || s === 'None' || asBool(s) === false)
}

/** What a meta task does to the play (flush_handlers is handled where tasks run). */
export function applyMeta(meta: string, h: HostState, ctx: PlayCtx): void {
  switch (meta) {
    case 'end_host':
      h.ended = true
      break
    case 'end_play':
      for (const s of ctx.batch) s.ended = true
      break
    case 'clear_facts':
      // the fact cache only (gathered facts, a module's ansible_facts, set_fact's cacheable copy):
      // registered results and set_fact variables stay, as Ansible's nonpersistent facts do
      h.facts = { ansible_facts: {} }
      break
    default:
      break // flush_handlers is handled at the task level (see runTask); noop, refresh_inventory, reset_connection
  }
}

/** --start-at-task: the task's name, or a glob of it (`*`, `?`), as Ansible matches it. */
export function startAtMatches(pattern: string, s: string): boolean {
  if (pattern === s) return true
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  )
  return re.test(s)
}
