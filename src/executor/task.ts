// The per-task pipeline: render → plan → (checked: predict | apply) → result. The runner runs every
// module through runTaskModule, the read-ahead plans through renderArgs and planContext, and the
// module tests run modules through executeModule: one pipeline, not copies of it.
// Whether a task is checked is decided by checkModeFor (check.ts) alone; this file only takes the
// answer. `--confirm` pinning is a gate handed in from outside (confirm.ts).
import type { Become, Connection } from '../connection/types.js'
import { atomicWriteScript, inlineWrite, isAtomicWrite } from '../connection/atomic.js'
import { ConnectionError, K3sbookError, RemoteError, TemplateError, tail } from '../errors.js'
import type { Task, Vars } from '../model.js'
import { srcPos } from '../model.js'
import { canonicalModuleName, getModule, moduleFor } from '../modules/registry.js'
import { applySteps } from '../modules/lib/plan-data.js'
import type { ActionablePlan, ApplyContext, ControllerFiles, FileDiff, HostReader, Module, Plan, PlanContext, Step, StepResult } from '../modules/types.js'
import { evalCondition, isTemplated, stripOmitted, templateArgs, templateValue } from '../template/index.js'
import { unwrapUnsafe } from '../template/taint.js'
import { UndefinedError } from '../template/pyvalues.js'
import {
  contentUnknown,
  realRunInCheck,
  resultOnlyAfterRun,
  settleChecked,
  stopRetrying,
  unknownFromError,
  unknownFromMessage,
  unknownWhy,
  writtenPath,
} from './check.js'
import { coerceArgs } from './coerce.js'
import { hostDataInEnvironment, hostDataRefusal } from './controller-guard.js'
import type { PlanGate } from './confirm.js'
import { scoped } from './connections.js'
import type { HostStatus } from './events.js'
import type { CachedProbes } from './probe-cache.js'
import { makeReader, type Overlay } from './reader.js'
import { isUndefinedError, loopOnHost, loopOutcome, loopVars, renderLoopItems, sleep, type ItemOutcome } from './loop.js'
import { splitArgs, unquote } from '../kv.js'
import { errorText, hostResult, judgeResult, mergeGathered, ownFacts, withResult } from './result.js'
import type { HostState, TaskOutcome } from './state.js'
import { taskName, type TaskContext } from './task-context.js'
import { runJob, type AsyncSpec } from './async.js'

/** The module's arguments for this host: templated, omitted values dropped, coerced to its schema. */
export function renderArgs(task: Task, mod: Module, vars: Vars, searchPath?: string[], defaults?: Vars): Vars {
  try {
    return renderArgsAt(task, mod, vars, searchPath, defaults)
  } catch (e) {
    throw undefinedInArgs(e)
  }
}

/**
 * An undefined variable in the arguments, worded as Ansible's post_validate of a task's args
 * ("The task includes an option with an undefined variable. The error was: M. M", the message twice
 * as AnsibleUndefinedVariable(e, orig_exc=e) prints it); other errors pass unchanged.
 */
export function undefinedInArgs(e: unknown): unknown {
  if (!(e instanceof TemplateError) || !(e.cause instanceof UndefinedError)) return e
  const m = e.message
  return new TemplateError(`The task includes an option with an undefined variable. The error was: ${m}. ${m}`, { pos: e.pos, hint: e.hint, cause: e.cause })
}

function renderArgsAt(task: Task, mod: Module, vars: Vars, searchPath?: string[], defaults?: Vars): Vars {
  // set_fact stores what it is given: values computed from host data stay unsafe there; every
  // other module gets plain strings
  const render = mod.setsVars ? templateValue : templateArgs
  const pos = { ...srcPos(task.src, [task.moduleKey]), searchPath }
  // `set_fact: "{{ name }}={{ value }}"`: split as Ansible's parse_kv does before anything is
  // rendered (the first unescaped '='), then the name and the value rendered each on its own, so
  // a value keeps its type (a list stays a list)
  if (mod.freeFormVars && typeof task.args._raw_params === 'string') {
    const { _raw_params: text, ...rest } = task.args
    const kv: Vars = {}
    for (const word of splitArgs(text as string)) {
      const eq = firstEquals(word)
      if (eq < 0) throw new K3sbookError(`set_fact: "${word}" is not a key=value pair`, { pos })
      const name = unwrapUnsafe(templateValue(word.slice(0, eq).trim(), vars, pos))
      kv[String(name)] = templateValue(unquote(word.slice(eq + 1).trim()), vars, pos)
    }
    return coerceArgs(mod.schema, stripOmitted({ ...(render(rest, vars, pos) as Vars), ...kv }) as Vars)
  }
  const args = stripOmitted(render(task.args, vars, pos)) as Vars
  // set_fact's action templates each variable name too (`"path_{{ idx }}": …`)
  if (mod.setsVars && Object.keys(args).some(isTemplated)) {
    const named: Vars = {}
    for (const [k, v] of Object.entries(args)) named[isTemplated(k) ? String(unwrapUnsafe(templateValue(k, vars, pos))) : k] = v
    return coerceArgs(mod.schema, named)
  }
  // module_defaults (rendered already): what the task does not give itself
  return coerceArgs(mod.schema, defaults ? (stripOmitted({ ...defaults, ...args }) as Vars) : args)
}

/** Ansible's parse_kv: the first '=' after the first character not escaped by a backslash. */
function firstEquals(word: string): number {
  for (let i = 1; i < word.length; i++) if (word[i] === '=' && word[i - 1] !== '\\') return i
  return -1
}

/** What plan() is given for a task on a host. */
export function planContext(tc: TaskContext, host: string, vars: Vars, reader: HostReader, become?: Become): PlanContext {
  return { host, vars, reader, diff: tc.diff, controller: tc.controller(vars), become, task: tc.task, resultRead: resultRead(tc.task) }
}

/** Only a registered result (which until, changed_when and failed_when read) shows more than the status. */
function resultRead(task: Task): boolean {
  return task.register !== undefined || !!task.until?.length
}

/** One module call on one host: the pipeline's input once the task is rendered. */
export interface ModuleCall {
  mod: Module
  args: Vars
  /** The inventory host the task runs for (delegate_to changes `conn`, not this). */
  host: string
  task: Task
  vars: Vars
  /** The connection the steps run on; none for controller-only modules. */
  conn?: Connection
  /** Predict instead of applying (checkModeFor's answer). */
  check: boolean
  /** Checked because of `check_mode: true` in the playbook (task, block, play), not only --check. */
  checkForced?: boolean
  diff: boolean
  controller: ControllerFiles
  become?: Become
  /** The target's check-mode overlay: read through when checked, recorded into when predicting. */
  overlay?: Overlay
  /** Answers the read-ahead fetched for this task. */
  cache?: CachedProbes
  /** Between plan and predict/apply (--confirm pinning). */
  gate?: PlanGate
  /** Steps are about to run on the host (the read-ahead drops what it fetched). */
  applying?: () => void
  /** `async`/`poll`: the step runs as a background job (async.ts), for modules with asyncJob. */
  async?: AsyncSpec
}

export interface ModuleOutcome {
  plan: Plan
  status: HostStatus
  result: Vars
  changes: string[]
  diffs: FileDiff[]
  msg?: string
  steps?: StepResult[]
  failedStep?: StepResult
  /** Checked and would change: predicted, not run, so the module has no result of its own. */
  notRun: boolean
}

/** render is done; plan → (check: predict | apply) → result. */
export async function executeModule(c: ModuleCall): Promise<ModuleOutcome> {
  const { mod, args, check, conn } = c
  const reader = conn ? makeReader(conn, check ? c.overlay : undefined, { cache: c.cache }) : noReader(c.host)
  const plan = await mod.plan(args, {
    host: c.host,
    vars: c.vars,
    reader,
    diff: c.diff,
    controller: c.controller,
    become: c.become,
    task: c.task,
    check,
    resultRead: resultRead(c.task),
  })
  const changes = 'changes' in plan && plan.changes ? plan.changes.map((x) => x.summary) : []
  const diffs = 'changes' in plan && plan.changes ? plan.changes.flatMap((x) => (x.diff ? [x.diff] : [])) : []
  let steps: StepResult[] | undefined
  let status: HostStatus
  let failedStep: StepResult | undefined
  let msg: string | undefined
  let jobResult: Vars | undefined
  switch (plan.status) {
    case 'ok':
    case 'skip':
      // a module that says it skipped (script's creates, debug below its verbosity) is skipped, as in Ansible
      status = plan.status === 'skip' && plan.result?.skipped === true ? 'skipped' : 'ok'
      msg = plan.status === 'skip' ? plan.reason : plan.note
      break
    case 'fail':
      status = 'failed'
      msg = plan.msg
      break
    case 'change':
    case 'unknown':
      c.gate?.(plan.status, changes)
      if (check) {
        // predict: later plans on this host read what these steps would have written
        for (const s of plan.steps) c.overlay?.record(s.effects, `"${c.task.name ?? c.task.module}" not run: ${s.describe}`)
        status = plan.status === 'unknown' ? 'unknown' : 'changed'
        if (plan.status === 'unknown') msg = plan.reason
      } else {
        if (!conn) throw new K3sbookError(`${mod.name}: has steps to run but no host to run them on`, { pos: srcPos(c.task.src) })
        const applyCtx: ApplyContext = {
          host: c.host,
          task: c.task,
          run: (step) => runStep(conn, step),
          upload: (src, remote, o) => uploadTo(conn, src, remote, o),
          stream: (step, stdout) => runStep(conn, step, stdout),
          reconnect: async () => {
            await conn.reset?.()
            await conn.connect()
          },
        }
        c.applying?.()
        if (c.async && mod.asyncJob && plan.steps.length === 1) {
          // a background job: its result is the job's (async.ts), not the module's of a finished step
          const job = await runJob(conn, plan, args, mod, c.async, (step) => runStep(conn, step))
          steps = job.steps
          status = job.status
          msg = job.msg
          jobResult = job.result
          break
        }
        steps = mod.apply ? await mod.apply(plan, args, applyCtx) : await applySteps(plan.steps, applyCtx)
        failedStep = steps.find((r) => !(r.step.okCodes ?? [0]).includes(r.rc))
        status = failedStep ? 'failed' : 'changed'
        if (failedStep)
          msg = `${failedStep.step.describe}: exit code ${failedStep.rc}${failedStep.stderr.length ? `: ${tail(failedStep.stderr.toString(), 3)}` : ''}${untouchedNote(failedStep.step)}`
      }
      break
  }
  let result: Vars = jobResult ? { ...jobResult } : { ...(plan.result ?? {}) }
  // `check_mode: true` in the playbook: every run registers the module's check-mode result, which
  // is then final (Ansible's command: skipped with "Command would have run if not in check mode").
  const checkFinal = check && !!c.checkForced && !!mod.checkModeResult && plan.status === 'change'
  // A plan not applied (check mode) has no step results: the module's result would describe a
  // run that never happened, so only what planning learned is registered.
  const notRun = check && !checkFinal && (plan.status === 'change' || plan.status === 'unknown')
  let own: Vars | undefined
  if (mod.result && !notRun && !jobResult) {
    own = mod.result(plan, steps, args)
    if (checkFinal && own.changed === false) status = own.skipped === true ? 'skipped' : 'ok'
    result = { ...result, ...own }
    // A module may find after applying that nothing changed (identical bytes downloaded again).
    if (status === 'changed' && own.changed === false) status = 'ok'
  }
  // Ansible's module skipped itself (no check mode support, in check mode)
  if ((mod.bridged || checkFinal) && result.skipped === true && status !== 'failed') status = 'skipped'
  // A module's own result may say it failed (e.g. command with a non-zero rc); what it changed
  // stays in its result (a failed command is changed=true in Ansible, seen by failed_when: false).
  const ranChanged = status === 'changed' || status === 'unknown'
  if (result.failed === true && status !== 'failed') {
    status = 'failed'
    msg = String(result.msg ?? 'failed')
  }
  result.changed = status === 'changed' || status === 'unknown' || (status === 'failed' && ranChanged && own?.changed !== false)
  if (status === 'failed') {
    result.failed = true
    if (msg && result.msg === undefined) result.msg = msg
  } else if (result.failed !== 0) result.failed = false // a job left running registers failed: 0, as Ansible's async_wrapper
  if (msg && result.msg === undefined) result.msg = msg
  if (diffs.length) result.diff = diffs.map((d) => ({ before: d.before, after: d.after, before_header: d.path, after_header: d.path }))
  return { plan, status, result, changes, diffs, msg, steps, failedStep, notRun }
}

/** `async`/`poll` as the task gives them (templates rendered): none unless `async` is above 0; `poll` defaults to 15 s, as Ansible's. */
function asyncSpec(task: Task, vars: Vars): AsyncSpec | undefined {
  if (task.async === undefined) return undefined
  const seconds = Number(templateValue(task.async, vars))
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined
  const poll = task.poll === undefined ? 15 : Number(templateValue(task.poll, vars))
  return { seconds, poll: Number.isFinite(poll) && poll > 0 ? poll : 0 }
}

/** A task refused before anything ran (its arguments, host data): failed, nothing changed. */
function refusedOutcome(msg: string): TaskOutcome {
  return { status: 'failed', result: { failed: true, changed: false, msg }, changes: [], diff: undefined, msg }
}

/** The runner's module step for a task on a host, with its variables (an item's, in a loop). */
export async function runTaskModule(tc: TaskContext, h: HostState, vars: Vars, attempt?: number): Promise<TaskOutcome> {
  const { task, rc } = tc
  // arguments validate found wrong where the task was guarded: it fails here, where it runs
  if (task.invalid) return refusedOutcome(task.invalid)
  // `action: {module: "{{ m }}"}` names its module only now
  const modName = isTemplated(task.moduleKey) ? String(templateValue(task.moduleKey, vars, srcPos(task.src))) : task.moduleKey
  // a module k3sbook lacks runs through Ansible's own code (the bridge)
  const mod = moduleFor(modName, task)
  const check = tc.check
  const target = tc.target(h.name, vars)
  const targetState = target === h.name ? h : rc.state(target)
  const exec = tc.exec(vars)
  const conn = mod.controllerOnly ? undefined : scoped(await rc.conns.get(target), exec)
  if ((conn?.controller && mod.commandArgs) || mod.controllerFiles) {
    // rendered as the module's arguments are: with the task's search path, for its file lookups
    const refused = hostDataRefusal(task, mod, vars, { ...srcPos(task.src, [task.moduleKey]), searchPath: rc.lookupPath(task) }, conn?.controller === true)
    if (refused) return refusedOutcome(refused)
  }
  if (conn?.controller) {
    const refused = hostDataInEnvironment(tc.environment, vars, rc.lookupPath(task))
    if (refused) return refusedOutcome(refused)
  }
  // a check run: a whole file at a known path whose content reads an unknown value (check.ts)
  const unknownContent = async (e: unknown, path: () => string | undefined, mode: unknown): Promise<TaskOutcome> => {
    const why = check && rc.check && conn ? unknownWhy(e, task, h) : undefined
    let p: string | undefined
    try {
      p = why ? path() : undefined
    } catch {
      p = undefined
    }
    if (!why || !p || !conn) throw e
    return contentUnknown(p, { mode }, makeReader(conn, targetState.overlay), targetState.overlay, why)
  }
  let args: Vars
  try {
    args = renderArgs(task, mod, vars, rc.lookupPath(task), tc.moduleDefaults(vars, canonicalModuleName(modName)))
  } catch (e) {
    const key = mod.writesWholeFile
    return unknownContent(
      e,
      () => (key ? writtenPath(mod, { [key]: templateValue(task.args[key], vars) }) : undefined),
      typeof task.args.mode === 'string' ? templateValue(task.args.mode, vars) : undefined,
    )
  }
  let out: ModuleOutcome
  try {
    out = await executeModule({
      mod,
      args,
      host: h.name,
      task,
      vars,
      conn,
      check,
      checkForced: tc.checkForced,
      diff: tc.diff,
      controller: tc.controller(vars),
      become: exec.become,
      overlay: targetState.overlay,
      cache: conn ? rc.probes.view(target, task.module, { become: exec.become, env: exec.env }) : undefined,
      gate: rc.pinning.gate(h.name, task, check),
      applying: () => rc.probes.invalidate(target),
      async: asyncSpec(task, vars),
    })
    if (out.status === 'failed' && check && rc.check && unknownFromMessage(out.msg)) throw new Error(out.msg)
  } catch (e) {
    return unknownContent(e, () => writtenPath(mod, args), args.mode)
  }
  const { result, changes } = out
  const diff = out.diffs.length ? out.diffs : undefined
  let stale = false
  if (rc.check && !check) {
    const real = realRunInCheck({ status: out.status, result, changes, diff, msg: out.msg }, targetState)
    if (real.outcome) return real.outcome
    stale = real.stale
  }
  // in an until loop, changed_when/failed_when see this attempt's number (Ansible sets it first)
  if (attempt !== undefined) result.attempts = attempt
  const j = judgeResult(task, vars, result, { status: out.status, msg: out.msg, failedStep: out.failedStep }, !(out.notRun && resultOnlyAfterRun(task)))
  const { status } = j
  const shown = status === 'changed' || status === 'unknown'
  return {
    status,
    result,
    changes: shown ? changes : [],
    diff: diff && shown ? diff : undefined,
    msg: j.msg,
    failedStep: j.failedStep,
    notRun: (out.notRun && resultOnlyAfterRun(task)) || stale,
    fromController: conn?.controller === true,
  }
}

/** The task on one host: `when`, then the loop's items or the task once, each with until/retries. */
export async function taskOutcome(tc: TaskContext, h: HostState, vars: Vars): Promise<TaskOutcome> {
  const { task } = tc
  const conds = tc.conditions
  // the first condition that is false is the skip's reason (shown with -v, as Ansible's false_condition)
  let falseCond: string | undefined
  const when = (v: Vars) => {
    for (const c of conds) {
      if (!evalCondition(c, v, srcPos(task.src, ['when']))) {
        falseCond = String(c)
        return false
      }
    }
    return true
  }
  const SKIPPED = () => skippedOutcome(falseCond)
  if (!task.loop) return when(vars) ? withRetries(tc, h, vars) : SKIPPED()
  let items: unknown[]
  try {
    items = renderLoopItems(task, vars, tc.rc.lookupPath(task))
  } catch (e) {
    // Ansible decides the task's `when` before it reports a loop it could not evaluate because of
    // an undefined variable (`loop: "{{ x }}"` with `when: x is defined`); a condition that itself
    // fails reports the loop's error. Any other error of the loop (a lookup that fails: a missing
    // file, no file found) fails the task whatever its `when` says, as in Ansible.
    if (!isUndefinedError(e)) throw e
    let run: boolean
    try {
      run = when(vars)
    } catch {
      throw e
    }
    if (!run) return SKIPPED()
    throw e
  }
  const loop = loopOnHost(task, vars)
  const setsVars = !!getModule(task.module)?.setsVars
  const gathers = !!getModule(task.module)?.gathersFacts
  const done: ItemOutcome[] = []
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    const iv = tc.vars(h.name, loopVars(loop, items, i))
    let label: string
    try {
      const plain = unwrapUnsafe(item)
      label = loop.label !== undefined ? String(templateValue(loop.label, iv)) : typeof plain === 'string' ? plain : JSON.stringify(plain)
    } catch {
      label = JSON.stringify(unwrapUnsafe(item))
    }
    let out: TaskOutcome
    // (a condition that fails fails the task; in a check run, one reading an unknown makes the item unknown)
    const runs = tc.rc.check ? undefined : when(iv)
    try {
      out = (runs ?? when(iv)) ? await withRetries(tc, h, iv) : SKIPPED()
    } catch (e) {
      if (e instanceof ConnectionError) throw e
      out = (tc.rc.check && unknownFromError(e, h, task, errorText(e))) || {
        status: 'failed',
        result: { failed: true, msg: errorText(e) },
        changes: [],
        diff: undefined,
        msg: errorText(e),
      }
    }
    // a check run settles each item as it settles a task (an item failing on an unknown is unknown)
    if (tc.rc.check) out = settleChecked(out, task, h)
    done.push({ item, label, out })
    // set_fact in a loop: each item's facts are set as it runs, so later items (and the tasks
    // after) see them all (Ansible updates the task's variables per item)
    if (setsVars && out.status !== 'failed' && out.status !== 'skipped') Object.assign(h.hostFacts, ownFacts(task, out))
    if (gathers && out.status !== 'failed' && out.status !== 'skipped') mergeGathered(h, out.result, out.fromController)
    if (loop.pause) await sleep(loop.pause * 1000)
  }
  return loopOutcome(loop, done)
}

function skippedOutcome(falseCondition: string | undefined): TaskOutcome {
  const result: Vars = { changed: false, skipped: true, skip_reason: 'Conditional result was False' }
  if (falseCondition === undefined) return { status: 'skipped', result, changes: [], diff: undefined }
  // the reason goes to the event only: the registered result stays as ansible-core 2.14 shapes it
  return { status: 'skipped', result, changes: [], diff: undefined, msg: `skipped: the condition ${JSON.stringify(falseCondition)} was false` }
}

/** until/retries/delay around the module pipeline. */
async function withRetries(tc: TaskContext, h: HostState, vars: Vars): Promise<TaskOutcome> {
  const { task, rc } = tc
  if (!task.until?.length) return runTaskModule(tc, h, vars)
  const retries = Number(task.retries !== undefined ? templateValue(task.retries, vars) : 3)
  const delay = Number(task.delay !== undefined ? templateValue(task.delay, vars) : 5)
  // ansible-core 2.14 (task_executor): retries + 1 attempts, one when retries is 0 or less
  const total = retries > 0 ? retries + 1 : 1
  let out: TaskOutcome | undefined
  for (let attempt = 1; attempt <= total; attempt++) {
    out = await runTaskModule(tc, h, vars, attempt)
    if (rc.check && stopRetrying(out)) return out
    const rv = task.register ? withResult(vars, { [task.register]: hostResult(out, out.result) }) : vars
    const done = task.until.every((c) => evalCondition(c, rv, srcPos(task.src, ['until'])))
    out.result.attempts = attempt
    if (done) {
      // until satisfied: the last attempt's result stands (it may still have failed).
      return out
    }
    if (attempt < total) {
      rc.emit({ type: 'verbose', level: 1, host: h.name, message: `FAILED - RETRYING: ${taskName(task)} (${total - attempt} retries left)` })
      if (rc.interrupted) break
      await sleep(delay * 1000)
    }
  }
  // a single attempt (retries 0 or less) is not marked, as in ansible-core 2.14
  if (total === 1) return out!
  // retries exhausted: Ansible reports `attempts` as the retries (one fewer than the attempts made)
  out!.result.attempts = total - 1
  // a failure, unless failed_when (already judged on the last attempt) says otherwise, as in ansible-core 2.14
  if (task.failedWhen !== undefined) return out!
  out!.status = 'failed'
  out!.result.failed = true
  out!.msg = out!.msg ?? `retries exhausted (${retries}): until condition never true`
  return out!
}

/** A reader for controller-only modules: they never ask the host anything. */
function noReader(host: string): HostReader {
  return {
    host,
    probe: () => Promise.reject(new Error('no connection')),
    files: () => Promise.reject(new Error('no connection')),
    pending: () => undefined,
    hasPending: () => false,
  }
}

export async function runStep(conn: Connection, step: Step, stdout?: NodeJS.WritableStream): Promise<StepResult> {
  const t0 = Date.now()
  // An atomic write's small content may ride inside the script (atomic.ts: three processes fewer).
  const inline = step.stdin !== undefined && !stdout ? inlineWrite(step.script, step.stdin) : undefined
  const r = await conn.exec(step.script, { stdin: step.stdin, inline, env: step.env, timeoutMs: step.timeoutMs, maxOutput: step.maxOutput, stdout })
  return { ...r, step, durationMs: Date.now() - t0 }
}

/** Bytes or a local file to a remote path, atomically (temp file beside the target, then rename). */
export async function uploadTo(conn: Connection, src: string | Buffer, remote: string, o: { mode?: string } = {}): Promise<void> {
  if (typeof src === 'string') return conn.upload(src, remote, { mode: o.mode })
  // The shared atomic write (size check, temp file removed on a hang-up).
  const script = atomicWriteScript(remote, { size: src.length, mode: o.mode })
  const r = await conn.exec(script, { stdin: src, inline: inlineWrite(script, src) })
  if (r.rc !== 0) throw new RemoteError(conn.host, `upload ${remote}`, r.rc, r.stderr.toString())
}

/**
 * A failed whole-file write (temp file beside the target, then rename) never reached the rename:
 * say that the target is as it was, so nobody goes looking for a half-written file.
 */
function untouchedNote(step: Step): string {
  const writes = (step.effects ?? []).filter((e) => 'state' in e && e.state === 'file' && ('content' in e || 'sha256' in e) && isAtomicWrite(step.script))
  return writes.length ? ` (${writes.map((e) => (e as { path: string }).path).join(', ')} was left as it was: files are replaced atomically)` : ''
}
