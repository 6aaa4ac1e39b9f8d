// `raw`: sends a command line to the host's shell as it is (no module, no Python needed: how hosts
// without Python are bootstrapped). Always a change, like Ansible; a non-zero exit fails the task.
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Plan, StepResult } from './types.js'
import { defineModule, moduleSchema, splitLines, str } from './lib/index.js'
import { ANY_RC } from './command.js'

export const rawModule = defineModule({
  name: 'raw',
  commandArgs: { _raw_params: 'shell', executable: 'shell' },
  description: 'Run a command line on the host through its shell, as written (no Python needed). Always reports changed; a non-zero exit fails.',
  freeForm: true,
  freeFormOptions: new Set(['executable']),
  resultAfterRun: true,
  schema: moduleSchema({
    _raw_params: str('The command line (free form: `raw: apt-get install -y python3`).'),
    executable: str('Run the command line with this shell (`/bin/bash`): `executable -c CMD`. Default: the login shell runs it as is.'),
  }),
  async plan(args): Promise<Plan> {
    const cmd = args._raw_params === undefined ? '' : String(args._raw_params)
    if (cmd.trim() === '') return { status: 'fail', msg: 'raw needs a command line (free form)' }
    const script = args.executable !== undefined ? `exec ${shQuote(String(args.executable))} -c ${shQuote(cmd)}\n` : cmd + '\n'
    return {
      status: 'unknown',
      reason: 'a raw command can only be known by running it',
      changes: [{ summary: `run ${cmd}` }],
      steps: [{ describe: cmd, script, okCodes: ANY_RC }],
    }
  },
  apply: async (plan, _args, ctx) => [await ctx.run(plan.steps[0])],
  result: (plan, steps): Vars => rawResult(plan, steps),
})

/** Ansible's result of a low-level command (raw, script): rc, stdout, stderr and their lines. */
export function rawResult(plan: Plan, steps: StepResult[] | undefined): Vars {
  const base = (plan.result ?? {}) as Vars
  if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: plan.msg }
  if (plan.status === 'ok') return { changed: false, failed: false, ...base }
  if (plan.status === 'skip') return { changed: false, skipped: true, msg: plan.reason, ...base }
  const s = steps?.[0]
  if (!s) return { changed: true, ...base }
  const stdout = s.stdout.toString('utf8')
  const stderr = s.stderr.toString('utf8')
  const r: Vars = { changed: true, rc: s.rc, stdout, stdout_lines: splitLines(stdout), stderr, stderr_lines: splitLines(stderr), ...base }
  if (s.rc !== 0) return { ...r, failed: true, msg: 'non-zero return code' }
  return { ...r, failed: false }
}
