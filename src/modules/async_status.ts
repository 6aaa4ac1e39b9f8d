// async_status: what became of a job a task started with `async` (lib/async-job.ts). A job still
// running is `finished: 0`; a job that is over gives the result its module (command, shell) would
// have given, with the job's keys, and fails as that module would (a non-zero exit code); a job that
// ran out of time is Ansible's "Timeout exceeded"; an unknown job id is "could not find job".
// `mode: cleanup` removes the job's files. As ansible-core 2.14's async_status module and action.
import type { Module, Plan, StepResult } from './types.js'
import type { Vars } from '../model.js'
import { choice, defineModule, guardPlan, moduleSchema, str, ArgError, parseKeyValues } from './lib/index.js'
import { cleanupScript, finishedResult, parseJob, runningResult, statusScript } from './lib/async-job.js'
import { command } from './command.js'
import { shell } from './shell.js'

const JOB_MODULES: Record<string, Module<never>> = { command: command as Module<never>, shell: shell as Module<never> }

const EMPTY = { stderr: '', stderr_lines: [], stdout: '', stdout_lines: [] }

export const asyncStatusModule = defineModule({
  name: 'async_status',
  description: 'Reports on a job started with `async` (running or finished, with its result), or removes its files (`mode: cleanup`).',
  schema: moduleSchema(
    {
      jid: str('The job id (`ansible_job_id` of the result the async task registered).'),
      mode: choice(['status', 'cleanup'], 'status (default) or cleanup.'),
      _async_dir: str("Accepted for compatibility (the jobs are in the user's ~/.ansible_async)."),
    },
    ['jid'],
  ),
  plan: (args, ctx) =>
    guardPlan(async () => {
      const jid = String(args.jid)
      if (!/^[A-Za-z0-9_.-]+$/.test(jid) || jid.startsWith('.')) throw new ArgError(`async_status: invalid job id "${jid}"`)
      if (args.mode === 'cleanup') {
        const plan: Plan = {
          status: 'change',
          changes: [{ summary: `remove async job ${jid}` }],
          steps: [{ describe: `remove async job ${jid}`, script: cleanupScript(jid) }],
          result: { ansible_job_id: jid, finished: 0, started: 0, ...EMPTY },
        }
        return plan
      }
      const job = parseJob((await ctx.reader.probe(statusScript(jid))).stdout.toString())
      if (job.state === 'missing') return { status: 'fail', msg: 'could not find job', result: { ansible_job_id: jid, started: 1, finished: 1, ...EMPTY } }
      if (job.state === 'running') return { status: 'ok', result: { ...runningResult(jid, job.resultsFile), changed: false } }
      const mod = job.meta ? JOB_MODULES[job.meta.module] : undefined
      const build = (mod?.asyncJob?.resultOfJob ?? (() => ({}))) as (
        plan: Plan,
        step: StepResult,
        args: Vars,
        t: { start: string; end: string; delta: string },
      ) => Vars
      const result = finishedResult(jid, job, build)
      // the job's own result, nothing to run now: changed as its module said (a command is changed,
      // also when it failed), a failure as its module's (a non-zero exit code) or the time running out
      if (result.failed === true && result.changed !== true) return { status: 'fail', msg: String(result.msg ?? 'failed'), result }
      if (result.changed === false) return { status: 'ok', result }
      return { status: 'change', changes: [{ summary: `async job ${jid} finished` }], steps: [], result }
    }),
  result: (plan, steps) => {
    const base: Vars = { ...((plan as { result?: Vars }).result ?? {}) }
    // cleanup: what was erased, from the host's own path; Ansible reports it unchanged
    const erased = steps?.length ? parseKeyValues(steps[0].stdout.toString()).file : undefined
    if (erased !== undefined) return { ...base, erased, changed: false }
    return base
  },
})
