// `set_fact`: sets host variables from the task's (already rendered) arguments; the executor merges
// the returned `ansible_facts` into the host's facts. Controller only, never a change.
import type { Vars } from '../model.js'
import type { Module } from './types.js'
import { bool, optBool, defineModule } from './lib/index.js'

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export const set_fact = defineModule<Vars>({
  name: 'set_fact',
  description: 'Set variables for the current host (visible to later tasks and, through hostvars, to other hosts).',
  controllerOnly: true,
  freeForm: true,
  freeFormVars: true,
  setsVars: (args) => Object.keys(args).filter((k) => k !== 'cacheable' && k !== '_raw_params'),
  schema: {
    type: 'object',
    description: 'Each key is a variable name, its value the value to set.',
    properties: {
      cacheable: bool('Also store the facts in the fact cache (accepted; k3sbook keeps facts for the run only).'),
    },
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    additionalProperties: { description: 'The value of the variable named by the key.' },
  },
  async plan(args) {
    const facts: Vars = {}
    for (const [k, v] of Object.entries(args)) {
      if (k === 'cacheable' || k === '_raw_params') continue
      if (!NAME.test(k))
        return {
          status: 'fail',
          msg: `The variable name '${k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.`,
        }
      // Ansible's set_fact turns the strings true/false/yes/no (any case) into booleans, from k=v
      // text and YAML strings alike (jinja2_native off, the default)
      facts[k] = typeof v === 'string' && /^(true|false|yes|no)$/i.test(v) ? /^(true|yes)$/i.test(v) : v
    }
    if (Object.keys(facts).length === 0) return { status: 'fail', msg: 'No key/value pairs provided, at least one is required for this action to succeed' }
    return { status: 'ok', result: { ansible_facts: facts, _ansible_facts_cacheable: optBool(args.cacheable, false, 'cacheable') } }
  },
  result: (plan) => ({
    changed: false,
    failed: plan.status === 'fail',
    ...((plan.result ?? {}) as Vars),
    ...(plan.status === 'fail' ? { msg: plan.msg } : {}),
  }),
})
