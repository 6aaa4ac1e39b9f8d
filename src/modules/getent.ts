// `getent`: reads a name service database on the host (passwd, group, hosts, services, ...) with
// getent(1) and sets it as the fact `getent_<database>`, as Ansible does. Read-only, always ok.
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { bool, defineModule, guardPlan, moduleSchema, optBool, str } from './lib/index.js'

const COLON = ['passwd', 'shadow', 'group', 'gshadow']

/** Ansible's parse: one key per line (first field); a key seen twice becomes a list of records. */
export function parseGetent(out: string, split: string | undefined): Record<string, unknown> {
  const tree: Record<string, unknown> = {}
  const seen: Record<string, number> = {}
  for (const line of out.split(/\r\n|\n|\r/).filter((l, i, a) => !(i === a.length - 1 && l === ''))) {
    const rec =
      split === undefined
        ? line
            .trim()
            .split(/\s+/)
            .filter((x, i) => x !== '' || i > 0)
        : line.split(split)
    if (split === undefined && line.trim() === '') rec.length = 0
    const [k, ...rest] = rec.length ? rec : ['']
    if (k in seen) {
      if (seen[k] === 1) tree[k] = [tree[k]]
      ;(tree[k] as unknown[]).push(rest)
      seen[k]++
    } else {
      tree[k] = rest
      seen[k] = 1
    }
  }
  return tree
}

export const getentModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'getent',
  description: 'Read a name service database on the host (passwd, group, hosts, ...) into the fact `getent_<database>`. Changes nothing.',
  schema: moduleSchema({
    database: str('The database: passwd, group, hosts, services, shadow, ... (what getent(1) takes).'),
    key: str('Only this key (a user name, a host name, ...); all entries when not given.'),
    service: str('Override the name service (getent -s).'),
    split: str("The field separator (default ':' for passwd, shadow, group and gshadow, else whitespace)."),
    fail_key: bool('Fail when the key is not found (default true); false sets it to null instead.'),
  }),
  setsVars: (args) => (typeof args.database === 'string' ? [`getent_${args.database}`] : []),
  // Ansible merges a module's ansible_facts into the host's facts: `ansible_facts.getent_passwd` too
  gathersFacts: true,
  plan: (args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      if (args.database === undefined) return { status: 'fail', msg: 'missing required arguments: database' }
      const db = String(args.database)
      const key = args.key === undefined ? undefined : String(args.key)
      const split = args.split !== undefined ? String(args.split) : COLON.includes(db) ? ':' : undefined
      const failKey = optBool(args.fail_key, true, 'fail_key')
      const cmd = ['getent', db, ...(key !== undefined ? [key] : []), ...(args.service !== undefined ? ['-s', String(args.service)] : [])]
      const r = await ctx.reader.probe(`${cmd.map(shQuote).join(' ')}\n`)
      const tree = `getent_${db}`
      if (r.rc === 0) return { status: 'ok', result: { ansible_facts: { [tree]: parseGetent(r.stdout.toString('utf8'), split) } } }
      if (r.rc === 2 && !failKey)
        return {
          status: 'ok',
          result: { ansible_facts: { [tree]: { [key ?? 'None']: null } as Vars }, msg: 'One or more supplied key could not be found in the database.' },
        }
      const msg =
        r.rc === 1
          ? 'Missing arguments, or database unknown.'
          : r.rc === 2
            ? 'One or more supplied key could not be found in the database.'
            : r.rc === 3
              ? 'Enumeration not supported on this database.'
              : r.rc === 127
                ? 'Failed to find required executable "getent"'
                : 'Unexpected failure!'
      return { status: 'fail', msg }
    }),
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})
