// include_tasks / include_role at run time: which hosts include which file (the target rendered
// per host and loop item; hosts that include the same file with the same item run it together),
// and loading what a templated target names. The runner runs the loaded tasks (run.ts).
import { isAbsolute, resolve } from 'node:path'
import type { Include, Task, TaskItem, Vars } from '../model.js'
import { srcPos } from '../model.js'
import { evalCondition, isTemplated, templateValue } from '../template/index.js'
import { OMIT } from '../template/runtime.js'
import type { HostResultEvent } from './events.js'
import { loopOnHost, loopVars, renderLoopItems } from './loop.js'
import type { HostState, PlayCtx, Scope } from './state.js'
import { ROLE_FILE_OPTIONS, templatedRoleOptions } from '../playbook/load.js'
import type { RunContext } from './task-context.js'

/** One file some hosts include, with the loop variables of one item. */
export interface IncludeRun {
  target: string
  extra: Vars
  hosts: HostState[]
  /** An include_role's options rendered for these hosts, when some are templates (`tasks_from: "{{ x }}"`). */
  options?: Vars
}

interface Reporting {
  /** Whether the include is reported (before --start-at-task's task it is followed silently). */
  report: boolean
  base: Omit<HostResultEvent, 'host' | 'status' | 'durationMs'>
  started: number
  /** A host whose include cannot be decided (a template error) fails there. */
  failed(h: HostState, e: unknown): void
}

/** Per host: the include's conditions, its loop items and its target; the hosts grouped by file and item. */
export function planIncludes(rc: RunContext, ctx: PlayCtx, inc: Include, hosts: HostState[], inner: Scope, r: Reporting): IncludeRun[] {
  const runs = new Map<string, IncludeRun>()
  for (const h of hosts) {
    const vars = rc.taskVars(ctx, inc, h, inner)
    try {
      // its blocks' conditions too: an include in a block whose `when` is false is skipped (hostname)
      if (!inner.when.every((c) => evalCondition(c, vars, srcPos(inc.src, ['when'])))) {
        if (r.report) {
          h.counts.skipped++
          rc.emit({ ...r.base, host: h.name, status: 'skipped', durationMs: 0 })
        }
        continue
      }
      const extras: Vars[] = []
      if (inc.loop) {
        const asTask = inc as unknown as Task
        const items = renderLoopItems(asTask, vars, rc.lookupPath(inc))
        const loop = loopOnHost(asTask, vars)
        for (let i = 0; i < items.length; i++) extras.push(loopVars(loop, items, i))
      } else extras.push({})
      const planned: { key: string; target: string; extra: Vars; options?: Vars }[] = []
      for (const [i, extra] of extras.entries()) {
        let target = inc.target
        if (isTemplated(inc.target)) {
          const v = inc.loop ? rc.taskVars(ctx, inc, h, inner, extra) : vars
          target = String(templateValue(inc.target, v, { ...srcPos(inc.src), searchPath: rc.lookupPath(inc) }))
        }
        let options: Vars | undefined
        if (inc.what === 'role' && templatedRoleOptions(inc.options)) {
          const v = inc.loop ? rc.taskVars(ctx, inc, h, inner, extra) : vars
          options = { ...inc.options }
          for (const k of ROLE_FILE_OPTIONS)
            if (typeof options[k] === 'string' && isTemplated(options[k] as string)) {
              const rendered = templateValue(options[k], v, { ...srcPos(inc.src), searchPath: rc.lookupPath(inc) })
              // `omit` leaves the option out, as in a module's arguments
              if (rendered === OMIT) delete options[k]
              else options[k] = rendered
            }
        }
        planned.push({ key: `${target}\0${options ? JSON.stringify(options) : ''}\0${inc.loop ? i : ''}`, target, extra, options })
      }
      for (const p of planned) {
        const run = runs.get(p.key)
        if (run) run.hosts.push(h)
        else runs.set(p.key, { target: p.target, extra: p.extra, hosts: [h], options: p.options })
      }
      if (r.report) {
        // as Ansible's recap counts them: an include_tasks is ok once per file included (per loop
        // item), an include_role is no result of its own; a loop with no items is skipped
        if (!extras.length) {
          h.counts.skipped++
          rc.emit({ ...r.base, host: h.name, status: 'skipped', msg: 'No items in the list', durationMs: 0 })
        } else {
          if (inc.what !== 'role') h.counts.ok += extras.length
          rc.emit({ ...r.base, host: h.name, status: 'ok', durationMs: Date.now() - r.started })
        }
      }
    } catch (e) {
      r.failed(h, e)
    }
  }
  return [...runs.values()]
}

/** The task list an include runs: loaded with the playbook when its target is literal, else now. */
export function includedItems(rc: RunContext, inc: Include, run: IncludeRun): TaskItem[] {
  if (!isTemplated(inc.target) && inc.preloaded && !run.options) return inc.preloaded
  // (the runner has made sure there is a loader: only test harnesses run without one)
  const target = inc.what === 'role' || isAbsolute(run.target) ? run.target : resolve(inc.baseDir, run.target)
  return rc.opts.loadTasks!(target, run.options ? { ...inc, options: run.options } : inc)
}
