// What one task's outcome on one host leaves behind, after the pipeline (task.ts) gave it: check
// mode's settling and unknowns, no_log marking, inventory changes (add_host, group_by), the
// registered result, ignore_errors, the recap counts, the host:result event, meta's effect.
import type { Task, Vars } from '../model.js'
import { srcPos } from '../model.js'
import { getModule } from '../modules/registry.js'
import { evalCondition } from '../template/index.js'
import { settleChecked, setUnknowns } from './check.js'
import { applyInventoryChange } from './inventory-change.js'
import { markNoLogResult, plainStrings } from './nolog.js'
import { applyMeta } from './play.js'
import { countOutcome, debugEvent, registerOutcome, rejudgeChanged, resultEvent } from './result.js'
import type { HostState, PlayCtx, Scope, TaskOutcome } from './state.js'
import { noLogOn, type RunContext } from './task-context.js'

export interface Settling {
  rc: RunContext
  ctx: PlayCtx
  scope: Scope
  task: Task
  /** The task's rendered name. */
  name: string
  h: HostState
  vars: Vars
  handler: boolean
  /** When the task started on this host (ms). */
  t0: number
  /** check mode, set_fact: the keys computed from unknown values (splitSetFact). */
  split?: { task: Task; unknown: [string, string][] }
}

export function settleOutcome(s: Settling, given: TaskOutcome): TaskOutcome {
  const { rc, ctx, scope, task, name, h, vars, handler, t0, split } = s
  let outcome = given
  const pos = srcPos(task.src)
  if (rc.check) outcome = settleChecked(outcome, split?.task ?? task, h)
  if (split?.unknown.length && outcome.status !== 'failed' && outcome.status !== 'skipped') {
    setUnknowns(h, split.unknown)
    // the task is unknown (what it sets is partly unknown); its known values are set all the same
    outcome = { ...outcome, status: 'unknown', unknownReason: split.unknown.map(([k, why]) => `${k}: ${why}`).join('; ') }
  }
  if (outcome.status === 'unknown') rc.pinning.unknown(h.name, task)
  const noLog = noLogOn(task.noLog ?? scope.noLog, vars)
  // A no_log task's result is secret, whatever it holds (masked wherever it is used later).
  if (noLog) {
    const facts = plainStrings(h.facts)
    const gathered = h.gathered && plainStrings(h.gathered)
    markNoLogResult(outcome.result, (s) => facts.has(s) || !!gathered?.has(s))
  }
  const mod = getModule(task.module)
  if (mod?.changesInventory && outcome.status !== 'failed' && outcome.status !== 'skipped') {
    const judge = task.changedWhen !== undefined ? (r: Vars) => rejudgeChanged(task, vars, r) : undefined
    const changed = applyInventoryChange(rc.project.inventory, h.name, outcome.result, judge)
    rc.inventoryChanged()
    // With changed_when, Ansible's strategy only ever turns a loop's task changed (an item changed);
    // without a loop the result is the one changed_when just judged again.
    const looped = Array.isArray(outcome.result.results)
    if (!judge || !looped || changed)
      outcome = { ...outcome, status: changed ? 'changed' : judge ? 'ok' : outcome.status, result: { ...outcome.result, changed } }
  }
  registerOutcome(h, task, outcome)
  const meta = outcome.result._meta as string | undefined
  const base = { type: 'host:result' as const, play: ctx.play.name, task: name, pos, host: h.name, check: rc.check, handler: handler || undefined }
  if (mod?.playControl && outcome.status !== 'failed') {
    // Like Ansible, meta tasks act but are not results: no line, nothing in the recap. One its `when`
    // skipped is shown skipped (Ansible's v2_runner_on_skipped), still not counted.
    if (outcome.status === 'skipped')
      rc.emit(resultEvent(base, outcome, { noLog: false, ignored: false, verbosity: rc.opts.verbosity ?? 0, durationMs: Date.now() - t0 }))
    if (meta) applyMeta(meta, h, ctx)
    return outcome
  }
  const ignoreErrors = task.ignoreErrors ?? scope.ignoreErrors
  const ignore =
    outcome.status === 'failed' && ignoreErrors !== undefined && (typeof ignoreErrors === 'boolean' ? ignoreErrors : evalCondition(ignoreErrors, vars))
  const ignored = countOutcome(h, task, outcome, ignore)
  if (outcome.status === 'failed' && !ignored) h.lastFailure = { task: failedTaskVar(task, name), result: outcome.result }
  rc.emit(resultEvent(base, outcome, { noLog, ignored, verbosity: rc.opts.verbosity ?? 0, durationMs: Date.now() - t0 }))
  if (mod?.printsResult && outcome.status === 'ok' && !noLog) rc.emit(debugEvent(h.name, name, outcome.result))
  if (meta) applyMeta(meta, h, ctx)
  return outcome
}

/** ansible_failed_task: the parts of Ansible's serialized task that rescues look at. */
function failedTaskVar(task: Task, name: string): Vars {
  return { name: task.name !== undefined ? name : '', action: task.module, args: task.args, register: task.register, tags: task.tags }
}
