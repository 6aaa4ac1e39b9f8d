// `tempfile`: creates a file or directory with a fresh unique name on the host (mktemp; Ansible's
// mkstemp/mkdtemp: `prefix` + random + `suffix`, mode 0600/0700) and registers its path. A new name
// every run, so always a change, as in Ansible.
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { choice, defineModule, effectKey, guardPlan, moduleSchema, oneOf, statFromSteps, statLine, str } from './lib/index.js'

const PATH_MARK = '#k3sbook-tempfile '

export function tempfileScript(o: { directory: boolean; path?: string; prefix: string; suffix: string }): string {
  const dir = o.path !== undefined ? shQuote(o.path) : '"${TMPDIR:-/tmp}"'
  return (
    [
      `t=$(mktemp ${o.directory ? '-d ' : ''}-p ${dir} --suffix=${shQuote(o.suffix)} ${shQuote(o.prefix + 'XXXXXXXX')}) || exit 1`,
      `printf '${PATH_MARK}%s\\n' "$t"`,
      statLine('"$t"'),
    ].join('\n') + '\n'
  )
}

export const tempfileModule = defineModule({
  name: 'tempfile',
  description: 'Create a file or directory with a fresh unique name on the host and register its `path`. Always a change.',
  resultAfterRun: true,
  schema: moduleSchema({
    state: choice(['file', 'directory'], 'Create a file (default) or a directory.'),
    path: str("The directory to create it in (default the host's $TMPDIR or /tmp)."),
    prefix: str("The name's start (default `ansible.`)."),
    suffix: str("The name's end (default empty)."),
  }),
  plan: (args) =>
    guardPlan(async (): Promise<Plan> => {
      const state = oneOf(args.state, ['file', 'directory'] as const, 'state', 'file')
      const path = args.path === undefined ? undefined : String(args.path)
      const o = {
        directory: state === 'directory',
        path,
        prefix: args.prefix === undefined ? 'ansible.' : String(args.prefix),
        suffix: args.suffix === undefined ? '' : String(args.suffix),
      }
      return {
        status: 'change',
        changes: [{ summary: `create a temporary ${state} in ${path ?? '$TMPDIR'}` }],
        steps: [{ describe: `mktemp ${state}`, script: tempfileScript(o), effects: [{ key: effectKey.tempIn(path ?? '/tmp'), value: state }] }],
      }
    }),
  result: (plan, steps): Vars => {
    if (plan.status === 'fail') return { changed: false, failed: true, msg: plan.msg }
    const s = steps?.[0]
    if (!s) return { changed: true }
    const line = s.stdout
      .toString('utf8')
      .split('\n')
      .find((l) => l.startsWith(PATH_MARK))
    if (s.rc !== 0 || !line) return { changed: false, failed: true, msg: `Failed to create a temporary file or directory: ${s.stderr.toString().trim()}` }
    return { changed: true, failed: false, path: line.slice(PATH_MARK.length), ...(statFromSteps(steps) ?? {}) }
  },
})
