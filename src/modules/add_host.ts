// `add_host` and `group_by`: change the inventory while the play runs, as Ansible's actions of the
// same names. The module only computes what to add (its result's `add_host` / `add_group`); the
// executor applies it (executor/inventory-change.ts) and that decides `changed`. add_host runs
// once per play (Ansible's BYPASS_HOST_LOOP), group_by for each host.
import { parseAddress } from '../inventory/address.js'
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { defineModule, str, strList, toList } from './lib/index.js'

const NAME_KEYS = ['name', 'host', 'hostname']
const GROUP_KEYS = ['groups', 'group', 'groupname']

/** Python's type() of a value, as Ansible's messages print it. */
function pyType(v: unknown): string {
  const t =
    typeof v === 'string'
      ? 'str'
      : typeof v === 'boolean'
        ? 'bool'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'int'
            : 'float'
          : Array.isArray(v)
            ? 'list'
            : v === null
              ? 'NoneType'
              : 'dict'
  return `<class '${t}'>`
}

/**
 * Ansible's add_host action: free-form text (`add_host: "{{ host_data }}"`, rendered) must be a
 * mapping and is merged under the other arguments; then the name (with an optional :port), the
 * groups, every other argument a host variable.
 */
export function addHostResult(given: Vars): Plan {
  const { _raw_params: free, ...rest } = given
  let args: Vars = rest
  if (free !== undefined) {
    if (free === null || typeof free !== 'object' || Array.isArray(free))
      return { status: 'fail', msg: `Invalid raw parameters passed, requires a dictonary/mapping got a  ${pyType(free)}` }
    args = { ...(free as Vars), ...rest }
  }
  const raw = args.name ?? args.hostname ?? args.host
  if (raw === undefined || raw === null || raw === '') return { status: 'fail', msg: 'name, host or hostname needs to be provided' }
  let name = String(raw)
  const hostVars: Vars = {}
  if (name.includes(':')) {
    const a = parseAddress(name, false)
    if (a) {
      name = a.host
      if (a.port !== undefined) hostVars.ansible_ssh_port = a.port
    }
  }
  const g = args.groupname ?? args.groups ?? args.group
  const groups =
    g === undefined || g === null
      ? []
      : typeof g === 'string'
        ? g
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : toList(g)
  for (const [k, v] of Object.entries(args)) if (![...NAME_KEYS, ...GROUP_KEYS].includes(k)) hostVars[k] = v
  return { status: 'ok', result: { add_host: { host_name: name, groups, host_vars: hostVars } } }
}

export const addHostModule = defineModule<Vars>({
  name: 'add_host',
  description: 'Add a host (and its groups and variables) to the inventory while the play runs; later tasks and plays see it. Runs once per play.',
  controllerOnly: true,
  namesAtRun: true,
  changesInventory: 'once',
  // one of Ansible's RAW_PARAM_MODULES: free-form text is its action's to judge (a template of a mapping)
  freeForm: true,
  schema: {
    type: 'object',
    properties: {
      name: str('The host name; `host:port` sets its port.'),
      host: str('Alias of `name`.'),
      hostname: str('Alias of `name`.'),
      groups: strList('Groups to put the host in (a list or one string with commas).'),
      group: strList('Alias of `groups`.'),
      groupname: strList('Alias of `groups`.'),
    },
    additionalProperties: { description: 'Any other key is a variable of the host (ansible_host, ansible_port, ...).' },
  },
  async plan(args) {
    return addHostResult(args)
  },
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})

export const groupByModule = defineModule({
  name: 'group_by',
  description:
    'Put the host into a group named from its variables (`key: os_{{ ansible_distribution }}`) while the play runs; later plays can target the group.',
  controllerOnly: true,
  namesAtRun: true,
  changesInventory: 'per-host',
  schema: {
    type: 'object',
    properties: {
      key: str('The group name (spaces become dashes).'),
      parents: strList("The group's parent groups (default all)."),
    },
    required: ['key'],
    additionalProperties: false,
  },
  async plan(args): Promise<Plan> {
    if (args.key === undefined || args.key === null) return { status: 'fail', msg: "the 'key' param is required when using group_by" }
    const parents = args.parents === undefined ? ['all'] : typeof args.parents === 'string' ? [args.parents] : toList(args.parents)
    return { status: 'ok', result: { add_group: String(args.key).replace(/ /g, '-'), parent_groups: parents.map((p) => p.replace(/ /g, '-')) } }
  },
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})
