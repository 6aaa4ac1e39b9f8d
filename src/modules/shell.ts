// `shell`: runs a command line through a shell on the host (pipes, redirections, globs, `$VAR`).
// Idempotent only through `creates`/`removes`; otherwise it reports changed, like Ansible.
import type { Module } from './types.js'
import { moduleSchema, str, defineModule } from './lib/index.js'
import { COMMAND_OPTIONS, commandProps, planCommand, commandResult, jobResult, type CommandArgs } from './command.js'

export const shell = defineModule<CommandArgs>({
  readAhead: true,
  resultAfterRun: true,
  checkModeResult: true,
  name: 'shell',
  commandArgs: { _raw_params: 'shell', cmd: 'shell', argv: 'shell', executable: 'shell' },
  description:
    'Run a command line through a shell on the host (/bin/sh unless `executable` names another). Reports changed unless `creates`/`removes` say it is not needed.',
  freeForm: true,
  freeFormOptions: COMMAND_OPTIONS,
  requiresArgs: true,
  schema: moduleSchema({
    ...commandProps,
    _raw_params: str('The command line (free form: `shell: grep web /etc/hosts | wc -l`), run by the shell.'),
    argv: { ...commandProps.argv, description: 'The command as a list; for `shell` the items are joined with spaces and run by the shell (as in Ansible).' },
    executable: str('The shell that runs the command, an absolute path (e.g. /bin/bash). Default /bin/sh.'),
  }),
  asyncJob: { resultOfJob: (plan, step, args, times) => jobResult(commandResult(plan, [step], args, true), times) },
  plan: (args, ctx) => planCommand(args, ctx, true),
  apply: async (plan, _args, ctx) => [await ctx.run(plan.steps[0])],
  result: (plan, steps, args) => commandResult(plan, steps, args, true),
})
