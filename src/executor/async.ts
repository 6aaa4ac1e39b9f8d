// `async`/`poll` on a task whose module runs its one step as a background job (Module.asyncJob:
// command, shell), as Ansible runs it through async_wrapper: the step starts on the host out of
// the connection's reach (modules/lib/async-job.ts), limited to `async` seconds. `poll: 0` leaves it
// running and registers the job (ansible_job_id, results_file, started, finished: 0), to be read by
// async_status; `poll: N` looks every N seconds until the job is over (the module's own result with
// the job's keys) or `async` seconds are spent ("async task did not complete within the requested
// time"), as ansible-playbook's task executor does (_poll_async_result).
import type { Connection } from '../connection/types.js'
import type { Vars } from '../model.js'
import type { HostStatus } from './events.js'
import type { Module, Plan, Step, StepResult } from '../modules/types.js'
import { finishedResult, launchScript, newJobId, parseJob, runningResult, statusScript } from '../modules/lib/async-job.js'
import { sleep } from './loop.js'

export interface AsyncSpec {
  /** The job's longest run, seconds (> 0). */
  seconds: number
  /** Seconds between looks; 0: fire and forget. */
  poll: number
}

export interface JobOutcome {
  status: HostStatus
  result: Vars
  msg?: string
  steps: StepResult[]
}

/** The arguments a command's result reads (command.ts commandResult: output trimming, the executable warning). */
function resultArgs(args: Vars): Vars {
  const out: Vars = {}
  for (const k of ['strip_empty_ends', 'executable']) if (args[k] !== undefined) out[k] = args[k]
  return out
}

export async function runJob(
  conn: Connection,
  plan: Extract<Plan, { steps: Step[] }>,
  args: Vars,
  mod: Module,
  spec: AsyncSpec,
  runStep: (step: Step) => Promise<StepResult>,
): Promise<JobOutcome> {
  const step = plan.steps[0]
  const jid = newJobId()
  const launch: Step = {
    describe: `start async job ${jid}: ${step.describe}`,
    // the job keeps only what its result is built from (not the task's stdin or other arguments)
    script: launchScript(
      jid,
      step.script,
      spec.seconds,
      { module: mod.name, args: resultArgs(args), base: plan.result ?? {}, async: spec.seconds },
      step.stdin,
    ),
    env: step.env,
  }
  const started = await runStep(launch)
  if (started.rc !== 0) {
    const err = started.stderr.toString().trim()
    return {
      status: 'failed',
      result: { failed: true, msg: `could not start the async job: ${err || `exit code ${started.rc}`}` },
      msg: `could not start the async job: ${err}`,
      steps: [started],
    }
  }
  const file = /^file=(.*)$/m.exec(started.stdout.toString())?.[1] ?? ''
  if (spec.poll <= 0)
    return { status: 'changed', result: { ansible_job_id: jid, changed: true, failed: 0, finished: 0, results_file: file, started: 1 }, steps: [started] }
  // the last look removes a finished job's files (Ansible's cleanup after a poll)
  const status: Step = { describe: `async_status ${jid}`, script: statusScript(jid, true) }
  let left = spec.seconds
  while (left > 0) {
    await sleep(spec.poll * 1000)
    const r = await runStep(status)
    const job = parseJob(r.stdout.toString())
    if (job.state === 'done') {
      const build = mod.asyncJob!.resultOfJob as (plan: Plan, step: StepResult, args: Vars, times: { start: string; end: string; delta: string }) => Vars
      const result = finishedResult(jid, job, build)
      const failed = result.failed === true
      return {
        status: failed ? 'failed' : result.changed === false ? 'ok' : 'changed',
        result,
        msg: failed ? String(result.msg ?? 'failed') : undefined,
        steps: [started],
      }
    }
    left -= spec.poll
  }
  const msg = `async task did not complete within the requested time - ${spec.seconds}s`
  return { status: 'failed', result: { async_result: runningResult(jid, file), changed: false, failed: true, msg }, msg, steps: [started] }
}
