// `script`: copies a script from the control machine (the role's files/, then the playbook's) to a
// temporary folder on the host, runs it there with the rest of the command line, and removes it,
// as Ansible's script action does. `creates`/`removes` skip it (the task is skipped, as in Ansible);
// otherwise it is a change that can only be known by running it.
import { basename } from 'node:path'
import { shQuote } from '../connection/quote.js'
import type { Plan, Step } from './types.js'
import { argFail, defineModule, moduleSchema, str, bool } from './lib/index.js'
import { ANY_RC, shlexSplit } from './command.js'
import { rawResult } from './raw.js'

const SCRIPT_VAR = '_k3s_script'

/**
 * The host side: the script's bytes come on stdin into a fresh temp folder; the command line is
 * the user's with the script's name replaced by its path there (every occurrence, as Ansible's
 * str.replace), run by the shell (or `executable`); the folder is removed, the script's exit kept.
 */
export function scriptRunner(o: { name: string; command: string; executable?: string; chdir?: string }): string {
  const line = (o.executable !== undefined ? `${o.executable} ` : '') + o.command
  return (
    [
      `d=$(mktemp -d "\${TMPDIR:-/tmp}/k3sbook-script.XXXXXXXX") || exit 1`,
      `trap 'rm -rf "$d"' HUP INT TERM`,
      `${SCRIPT_VAR}="$d"/${shQuote(o.name)}; export ${SCRIPT_VAR}`,
      `cat > "$${SCRIPT_VAR}" && chmod 0700 "$${SCRIPT_VAR}" || { rm -rf "$d"; exit 1; }`,
      ...(o.chdir !== undefined ? [`cd -- ${shQuote(o.chdir)} || { rm -rf "$d"; exit 1; }`] : []),
      `/bin/sh -c ${shQuote(line)} </dev/null`,
      'rc=$?',
      'rm -rf "$d"',
      'exit $rc',
    ].join('\n') + '\n'
  )
}

export const scriptModule = defineModule({
  name: 'script',
  commandArgs: { _raw_params: 'shell', cmd: 'shell', executable: 'shell' },
  // the script itself is a file on the control machine, sent to the host
  controllerFiles: () => ({ _raw_params: 'read', cmd: 'read' }),
  description:
    'Copy a script from the control machine to the host, run it there with its arguments, and remove it. `creates`/`removes` skip it; otherwise a change.',
  freeForm: true,
  freeFormOptions: new Set(['creates', 'removes', 'chdir', 'executable', 'decrypt', 'cmd']),
  resultAfterRun: true,
  readAhead: true,
  schema: moduleSchema({
    _raw_params: str('The script (looked up in files/) and its arguments: `script: setup.sh --fast`.'),
    cmd: str('The script and its arguments, given as an argument instead of free form.'),
    creates: str('A path on the host: when it exists, the script is not run (the task is skipped).'),
    removes: str('A path on the host: when it does not exist, the script is not run (the task is skipped).'),
    chdir: str('An absolute directory on the host to run the script in.'),
    executable: str('Run the script with this program (`python3`, `/bin/bash`) instead of its own #! line.'),
    decrypt: bool('Decrypt a vault-encrypted script (default true).'),
  }),
  async plan(args, ctx): Promise<Plan> {
    try {
      const raw = String(args.cmd ?? args._raw_params ?? '').trim()
      if (raw === '') return { status: 'fail', msg: 'script needs a script to run (free form or cmd)' }
      const chdir = args.chdir === undefined ? undefined : String(args.chdir)
      if (chdir !== undefined && !chdir.startsWith('/')) return { status: 'fail', msg: `chdir ${chdir} must be an absolute path for a Unix-aware remote node` }
      const creates = args.creates === undefined ? undefined : String(args.creates)
      const removes = args.removes === undefined ? undefined : String(args.removes)
      const asked = [creates, removes].filter((p): p is string => p !== undefined && p !== '')
      const info = asked.length ? await ctx.reader.files(asked) : undefined
      for (const p of asked)
        if (info?.get(p)?.unknown) return { status: 'unknown', reason: `${p} depends on an earlier step that can't be predicted`, steps: [] }
      if (creates && info?.get(creates)?.exists)
        return { status: 'skip', reason: `${creates} exists, matching creates option`, result: { skipped: true, changed: false } }
      if (removes && !info?.get(removes)?.exists)
        return { status: 'skip', reason: `${removes} does not exist, matching removes option`, result: { skipped: true, changed: false } }
      const source = shlexSplit(raw)[0]
      const file = await ctx.controller.find(source, 'files')
      const name = basename(source)
      const step: Step = {
        describe: `script ${raw}`,
        script: scriptRunner({
          name,
          command: raw.split(source).join(`"$${SCRIPT_VAR}"`),
          executable: args.executable === undefined ? undefined : String(args.executable),
          chdir,
        }),
        stdin: file.content,
        okCodes: ANY_RC,
        effects: asked.map((p) => ({ path: p, state: 'unknown' as const, reason: `the script may ${p === creates ? 'create' : 'remove'} it` })),
      }
      // With creates/removes the answer is "it would run" (Ansible: changed); without, what it does is unknowable.
      if (asked.length) return { status: 'change', changes: [{ summary: `run script ${raw}` }], steps: [step] }
      return { status: 'unknown', reason: 'a script can only be known by running it', changes: [{ summary: `run script ${raw}` }], steps: [step] }
    } catch (e) {
      return argFail(e)
    }
  },
  apply: async (plan, _args, ctx) => [await ctx.run(plan.steps[0])],
  result: (plan, steps) => rawResult(plan, steps),
})
