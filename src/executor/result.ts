// What a task's outcome on a host leaves behind: its result checked against changed_when and
// failed_when, registered (register, set_fact), counted in the recap, notified handlers, and the
// host:result event that reporters draw (no_log hides everything but the name and the status).
import { K3sbookError, formatPos, tail } from '../errors.js'
import type { Task, Vars } from '../model.js'
import { srcPos } from '../model.js'
import type { FileDiff, StepResult } from '../modules/types.js'
import { MAX_DIFF_SIZE } from '../modules/lib/text.js'
import { getModule } from '../modules/registry.js'
import { evalCondition } from '../template/index.js'
import type { HostResultEvent, HostStatus, RunEvent } from './events.js'
import { wrapHostData, wrapUnsafe } from '../template/taint.js'
import type { HostState, TaskOutcome } from './state.js'
import { lazyVars } from './vars.js'
import { partlyKnown, whyNotKnown } from './check.js'

export function errorText(e: unknown): string {
  if (e instanceof K3sbookError) return e.pos ? `${formatPos(e.pos)}: ${e.message}${e.hint ? ` (${e.hint})` : ''}` : e.message + (e.hint ? ` (${e.hint})` : '')
  return e instanceof Error ? e.message : String(e)
}

/** Variables plus a result (under the register name, and at the top as Ansible's conditions see it). */
export function withResult(vars: Vars, extra: Vars): Vars {
  // Each variable is read from the lazy view only when the condition uses it: a variable whose
  // template cannot render here (a role's `cidr: "{{ (cfg | from_yaml).x }}"` with cfg undefined)
  // must not fail a `changed_when: false` that never reads it (spreading the getters read them all).
  const out: Vars = {}
  for (const k of Object.keys(vars)) {
    if (k in extra) continue
    Object.defineProperty(out, k, { get: () => vars[k], enumerable: true, configurable: true })
  }
  for (const [k, v] of Object.entries(extra)) out[k] = v
  return lazyVars(out)
}

function condList(c: string[] | boolean): string[] {
  if (typeof c === 'boolean') return [c ? 'True' : 'False']
  return c
}

export interface Judged {
  status: HostStatus
  msg?: string
  failedStep?: StepResult
}

/**
 * changed_when, then failed_when (Ansible's order, task_executor.py), both seeing the result under
 * the register name. A list of conditions is true when all are (Ansible's evaluate_conditional);
 * failed_when leaves `failed_when_result` in the result. `canEvaluate` is false for a checked task
 * whose result only a run produces: only a literal `changed_when: false` holds.
 */
export function judgeResult(task: Task, vars: Vars, result: Vars, j: Judged, canEvaluate: boolean): Judged {
  if (task.changedWhen === undefined && task.failedWhen === undefined) return j
  let { status, msg, failedStep } = j
  const rv = () => {
    const unsafe = wrapHostData(result) as Vars
    return withResult(vars, { ...(task.register ? { [task.register]: unsafe } : {}), ...unsafe })
  }
  if (task.changedWhen !== undefined) {
    if (canEvaluate) {
      let c: boolean
      try {
        c = condList(task.changedWhen).every((x) => evalCondition(x, rv(), srcPos(task.src, ['changed_when'])))
      } catch (e) {
        return condError(result, 'changed', e)
      }
      result.changed = c
      if (status !== 'failed') status = c ? 'changed' : 'ok'
    } else if (status !== 'failed' && condList(task.changedWhen).every((x) => x === 'false' || x === 'False')) {
      status = 'ok'
      result.changed = false
    }
  }
  if (task.failedWhen !== undefined && canEvaluate) {
    let f: boolean
    try {
      f = condList(task.failedWhen).every((c) => evalCondition(c, rv(), srcPos(task.src, ['failed_when'])))
    } catch (e) {
      return condError(result, 'failed', e)
    }
    result.failed_when_result = f
    if (f) {
      status = 'failed'
      result.failed = true
      msg = msg ?? 'failed_when condition was true'
    } else if (status === 'failed') {
      status = result.changed ? 'changed' : 'ok'
      result.failed = false
      failedStep = undefined
      msg = undefined
    } else result.failed = false
  }
  return { status, msg, failedStep }
}

/**
 * add_host/group_by: changed_when judged again once the inventory change is applied, over the
 * (item's) result whose `changed` now says whether the inventory changed, with the item's loop
 * and index variables (Ansible's post_process_whens in the strategy). A condition that cannot be
 * evaluated leaves `changed` as it is.
 */
export function rejudgeChanged(task: Task, vars: Vars, r: Vars): boolean {
  const itemVars: Vars = {}
  const loopVar = r.ansible_loop_var
  if (typeof loopVar === 'string' && loopVar in r) itemVars[loopVar] = r[loopVar]
  const indexVar = r.ansible_index_var
  if (typeof indexVar === 'string' && indexVar in r) itemVars[indexVar] = r[indexVar]
  const unsafe = wrapHostData(r) as Vars
  const all = withResult(vars, { ...itemVars, ...(task.register ? { [task.register]: unsafe } : {}) })
  try {
    return condList(task.changedWhen!).every((x) => evalCondition(x, all, srcPos(task.src, ['changed_when'])))
  } catch {
    return r.changed === true
  }
}

/** A changed_when/failed_when that cannot be evaluated fails the task, its result kept (as Ansible does). */
function condError(result: Vars, cond: 'changed' | 'failed', e: unknown): Judged {
  const msg = errorText(e)
  result.failed = true
  result[`${cond}_when_result`] = msg
  return { status: 'failed', msg }
}

function pickFacts(result: Vars): Vars {
  const f = result.ansible_facts
  return f && typeof f === 'object' ? (f as Vars) : {}
}

/**
 * Facts a gathering module returned (`ansible_X` keys, as setup names them), merged into the host's
 * gathered facts: `ansible_facts.X` without the prefix and each key as a variable (Ansible's
 * namespace_facts and INJECT_FACTS_AS_VARS). What the host reports is data: wrapped unsafe, as host
 * data unless the module ran on the control machine itself.
 */
export function mergeGathered(h: HostState, result: Vars, fromController = false): void {
  const f = pickFacts(result)
  const wrap = fromController ? wrapUnsafe : wrapHostData
  const bare = (k: string) => (k.startsWith('ansible_') ? k.slice('ansible_'.length) : k)
  const before = h.facts.ansible_facts
  const old = before && typeof before === 'object' ? (before as Vars) : {}
  const facts = Object.fromEntries([...Object.entries(old), ...Object.entries(f).map(([k, v]) => [bare(k), wrap(v)] as const)])
  const vars = Object.fromEntries([...Object.entries(h.facts), ...Object.entries(f).map(([k, v]) => [k, wrap(v)] as const)])
  h.facts = { ...vars, ansible_facts: facts }
}

/** What a task's outcome returned, as the variables keep it: host data, unless the task ran on the control machine. */
export function hostResult<T>(outcome: Pick<TaskOutcome, 'fromController'>, v: T): T {
  return (outcome.fromController ? wrapUnsafe : wrapHostData)(v) as T
}

/** register and set_fact: what the outcome leaves in the host's variables. */
export function registerOutcome(h: HostState, task: Task, outcome: TaskOutcome): void {
  if (task.register) {
    // registered results came from the host: unsafe, never rendered again (Ansible's wrap_var);
    // host data unless the task ran on the control machine
    const r = hostResult(outcome, outcome.result)
    if (outcome.status === 'unknown' || outcome.notRun) {
      // check mode: what is known of it reads as itself, the rest is unknown with why
      const why = whyNotKnown(task.name ?? task.module, outcome, task)
      h.unknownRegs.set(task.register, why)
      h.hostFacts[task.register] = partlyKnown(r, task.register, why)
    } else {
      h.hostFacts[task.register] = r
      h.unknownRegs.delete(task.register)
    }
  }
  if ((getModule(task.module)?.setsVars || task.unsupported) && outcome.status !== 'failed' && outcome.status !== 'skipped')
    Object.assign(h.hostFacts, ownFacts(task, outcome))
  if (getModule(task.module)?.gathersFacts && outcome.status !== 'failed' && outcome.status !== 'skipped')
    mergeGathered(h, outcome.result, outcome.fromController)
}

/**
 * The facts a task sets: set_fact's and include_vars' (computed on the control machine: their values
 * keep the taint they were rendered with, and include_vars' stay templates, as in Ansible), or what
 * a module that reads the host returned (getent, Ansible's own modules through the bridge): host data.
 */
export function ownFacts(task: Task, outcome: TaskOutcome): Vars {
  const f = pickFacts(outcome.result)
  const mod = getModule(task.module)
  return mod?.setsVars && mod.controllerOnly ? f : hostResult(outcome, f)
}

/** run_once: every other host gets the registered result and facts, as in Ansible. */
export function shareRunOnce(task: Task, src: HostState, outcome: TaskOutcome, others: HostState[]): void {
  for (const h of others) {
    // A failed run_once task fails every host of the play (counted once, on the host it ran on).
    if (src.failed && outcome.status === 'failed') h.failed = true
    if (task.register && src.hostFacts[task.register] !== undefined) h.hostFacts[task.register] = src.hostFacts[task.register]
    if (getModule(task.module)?.setsVars || task.unsupported) Object.assign(h.hostFacts, ownFacts(task, outcome))
    if (getModule(task.module)?.gathersFacts && outcome.status !== 'failed' && outcome.status !== 'skipped')
      mergeGathered(h, outcome.result, outcome.fromController)
    if (outcome.status === 'changed') for (const n of task.notify) h.notified.add(n)
  }
}

/** The recap's counts and notified handlers; returns whether a failure was ignored. */
export function countOutcome(h: HostState, task: Task, outcome: TaskOutcome, ignoreErrors: boolean): boolean {
  switch (outcome.status) {
    case 'ok':
      h.counts.ok++
      break
    case 'changed':
    case 'unknown':
      if (outcome.status === 'unknown') h.counts.unknown = (h.counts.unknown ?? 0) + 1
      h.counts.ok++
      h.counts.changed++
      for (const n of task.notify) h.notified.add(String(n))
      break
    case 'skipped':
      h.counts.skipped++
      break
    case 'failed':
      if (ignoreErrors) {
        // Ansible counts an ignored failure as ok too, and as changed when its result says so
        // (a failing command is changed: true); its handlers are not notified
        h.counts.ok++
        h.counts.ignored++
        if (outcome.result?.changed === true) h.counts.changed++
        return true
      }
      h.counts.failed++
      h.failed = true
      break
  }
  return false
}

export type ResultBase = Pick<HostResultEvent, 'type' | 'play' | 'task' | 'pos' | 'host' | 'check' | 'handler'>

/** The host:result event; with no_log, nothing but the task's name and status. */
export function resultEvent(
  base: ResultBase,
  outcome: TaskOutcome,
  o: { noLog: boolean; ignored: boolean; verbosity: number; durationMs: number },
): HostResultEvent {
  const { noLog } = o
  const ev: HostResultEvent = {
    ...base,
    status: outcome.status,
    ignored: o.ignored || undefined,
    // no_log: the task's name and status, nothing else (no change summary, item labels, diff, output)
    changes: outcome.changes.length && !noLog ? outcome.changes : undefined,
    diff: noLog ? undefined : outcome.diff?.map(boundedDiff),
    msg: noLog ? NO_LOG_MSG : (outcome.msg ?? outcome.unknownReason),
    durationMs: o.durationMs,
  }
  // no_log hides the items too (their labels, their number): the task's own status is all there is
  if (outcome.items?.length && !noLog) ev.items = outcome.items
  if (!noLog && (outcome.status === 'failed' || o.verbosity > 0)) {
    const r = outcome.result
    // a loop's own result holds the items': the first that failed tells why
    const item = Array.isArray(r.results) ? (r.results as Vars[]).find((x) => x && typeof x === 'object' && x.failed) : undefined
    // a module's own output where it died (the bridge's MODULE FAILURE: its traceback, "sudo: not found")
    const text = (...keys: string[]): string | undefined => {
      for (const from of item ? [r, item] : [r]) for (const k of keys) if (typeof from[k] === 'string' && from[k]) return from[k] as string
      return undefined
    }
    const rc = typeof r.rc === 'number' ? r.rc : item?.rc
    if (typeof rc === 'number') ev.rc = rc
    const stdout = text('stdout', 'module_stdout')
    const stderr = text('stderr', 'module_stderr')
    if (stdout) ev.stdout = tail(stdout, 20)
    if (stderr) ev.stderr = tail(stderr, 20)
    // command/shell: the command that ran (Ansible's `cmd`, a string or an argv list)
    if (typeof r.cmd === 'string') ev.command = r.cmd
    else if (Array.isArray(r.cmd)) ev.command = r.cmd.map(String).join(' ')
    if (outcome.failedStep) {
      ev.command = outcome.failedStep.step.describe
      ev.rc = outcome.failedStep.rc
      ev.stderr = tail(outcome.failedStep.stderr.toString(), 20)
    }
  }
  return ev
}

/**
 * The backstop of the diff size limit (modules that use fileDiff never build a large side): a
 * side larger than Ansible's MAX_FILE_SIZE_FOR_DIFF is replaced by its one-line note.
 */
function boundedDiff(d: FileDiff): FileDiff {
  if (d.skipped) return d
  const big = (s: string) => s.length > MAX_DIFF_SIZE || Buffer.byteLength(s) > MAX_DIFF_SIZE
  if (big(d.before)) return { path: d.path, before: '', after: '', skipped: `diff skipped: destination file size is greater than ${MAX_DIFF_SIZE}` }
  if (big(d.after)) return { path: d.path, before: '', after: '', skipped: `diff skipped: source file size is greater than ${MAX_DIFF_SIZE}` }
  return d
}

const NO_LOG_MSG = 'the output has been hidden due to the no_log: true specified for this result'

/** A debug task's output: `msg`, or with `var:` the variable's name and value (as Ansible prints `x: value`). */
export function debugEvent(host: string, task: string, result: Vars): Extract<RunEvent, { type: 'debug' }> {
  const name = result._var
  if (typeof name === 'string') return { type: 'debug', host, task, msg: result[name], var: name, value: result[name] }
  return { type: 'debug', host, task, msg: result.msg }
}
