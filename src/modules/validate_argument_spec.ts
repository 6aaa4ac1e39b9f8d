// `validate_argument_spec`: checks values against an argument spec, as Ansible's action of that
// name does. Ansible inserts it as the first task of a role whose meta/argument_specs.yml (or
// meta/main.yml's `argument_specs`) has the entry point's spec ("Validating arguments against arg
// spec 'main' - …", tagged always; the loader does the same, playbook/load.ts). The values are the
// spec's options found among the task's variables, overridden by `provided_arguments` (the role's
// parameters). Like Ansible it sets nothing: a `default` is only the validator's, never a variable.
// Checked here (our port of the checks content relies on): required, type (str, int, float, bool,
// list with elements, dict, path, raw), choices; Ansible's messages, except that its type errors
// name Python's classes (k3sbook says <class 'str'> where Ansible says its YAML class).
import type { Vars } from '../model.js'
import { defineModule, dict, moduleSchema } from './lib/index.js'

const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't'])
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f'])

function pyClass(v: unknown): string {
  if (typeof v === 'string') return "<class 'str'>"
  if (typeof v === 'boolean') return "<class 'bool'>"
  if (typeof v === 'number') return Number.isInteger(v) ? "<class 'int'>" : "<class 'float'>"
  if (Array.isArray(v)) return "<class 'list'>"
  if (v === null || v === undefined) return "<class 'NoneType'>"
  return "<class 'dict'>"
}

/** Ansible's check_type_* for one value: the converted value, or why it cannot be converted. */
function convert(v: unknown, type: string): { value?: unknown; error?: string } {
  const cls = pyClass(v)
  switch (type) {
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) return { value: v }
      if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return { value: parseInt(v, 10) }
      return { error: `${cls} cannot be converted to an int` }
    case 'float':
      if (typeof v === 'number') return { value: v }
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return { value: Number(v) }
      return { error: `${cls} cannot be converted to a float` }
    case 'bool':
    case 'boolean':
      if (typeof v === 'boolean') return { value: v }
      if (typeof v === 'string' || typeof v === 'number') {
        const s = String(v).toLowerCase()
        if (TRUE.has(s)) return { value: true }
        if (FALSE.has(s)) return { value: false }
      }
      return {
        error: `The value '${String(v)}' is not a valid boolean.  Valid booleans include: 0, 'on', 'f', 'false', 1, 'no', 'n', '1', '0', 't', 'y', 'off', 'yes', 'true'`,
      }
    case 'list':
      if (Array.isArray(v)) return { value: v }
      if (typeof v === 'string') return { value: v.split(',') }
      if (typeof v === 'number') return { value: [String(v)] }
      return { error: `${cls} cannot be converted to a list` }
    case 'dict':
      if (v && typeof v === 'object' && !Array.isArray(v)) return { value: v }
      if (typeof v === 'string') {
        try {
          const j = JSON.parse(v)
          if (j && typeof j === 'object' && !Array.isArray(j)) return { value: j }
        } catch {
          // k=v pairs below
        }
        const out: Vars = {}
        for (const part of v.split(/[\s,]+/).filter(Boolean)) {
          const i = part.indexOf('=')
          if (i <= 0) return { error: `dictionary requested, could not parse JSON or key=value` }
          out[part.slice(0, i)] = part.slice(i + 1)
        }
        return { value: out }
      }
      return { error: `${cls} cannot be converted to a dict` }
    case 'str':
      return { value: typeof v === 'string' ? v : v === null || v === undefined ? v : JSON.stringify(v) }
    default:
      return { value: v } // path, raw, jsonarg, bytes, bits …: taken as they are
  }
}

/** The spec's errors for these values, in Ansible's words. */
export function argumentErrors(spec: Vars, values: Vars): string[] {
  const errors: string[] = []
  const missing = Object.entries(spec)
    .filter(([k, o]) => o && typeof o === 'object' && (o as Vars).required === true && (values[k] === undefined || values[k] === null))
    .map(([k]) => k)
  if (missing.length) errors.push(`missing required arguments: ${missing.sort().join(', ')}`)
  for (const [k, raw] of Object.entries(spec)) {
    const o = (raw && typeof raw === 'object' ? raw : {}) as Vars
    let v = values[k]
    if (v === undefined || v === null) continue
    const type = typeof o.type === 'string' ? o.type : 'str'
    const c = convert(v, type)
    if (c.error) {
      errors.push(`argument '${k}' is of type ${pyClass(v)} and we were unable to convert to ${type}: ${c.error}`)
      continue
    }
    v = c.value
    if (type === 'list' && typeof o.elements === 'string' && Array.isArray(v)) {
      const elems: unknown[] = []
      for (const e of v) {
        const ce = convert(e, o.elements)
        if (ce.error) errors.push(`Elements value for option '${k}' is of type ${pyClass(e)} and we were unable to convert to ${o.elements}: ${ce.error}`)
        else elems.push(ce.value)
      }
      v = elems
    }
    if (Array.isArray(o.choices)) {
      const choices = o.choices.map((x) => String(x))
      const bad = Array.isArray(v) ? v.filter((x) => !choices.includes(String(x))) : choices.includes(String(v)) ? [] : [v]
      if (bad.length) errors.push(`value of ${k} must be one of: ${choices.join(', ')}, got: ${Array.isArray(v) ? bad.join(', ') : String(v)}`)
    }
  }
  return errors
}

export const validate_argument_spec = defineModule<{ argument_spec?: Vars; provided_arguments?: Vars; validate_args_context?: Vars }>({
  name: 'validate_argument_spec',
  description: "Validate values against an argument spec (the first task of a role with meta/argument_specs.yml), as Ansible's action does.",
  controllerOnly: true,
  schema: moduleSchema({
    argument_spec: dict('The options: each with type, required, choices, elements, default.'),
    provided_arguments: dict('Values given directly (a role: its parameters); the others are read from the variables.'),
    validate_args_context: dict('Where the spec comes from (role name, entry point, path), returned as is.'),
  }),
  async plan(args, ctx) {
    const spec = args.argument_spec ?? {}
    const fromVars: Vars = {}
    for (const k of Object.keys(spec)) {
      try {
        if (k in ctx.vars && ctx.vars[k] !== undefined) fromVars[k] = ctx.vars[k]
      } catch {
        // a variable that cannot be rendered is left out, as an undefined one
      }
    }
    const values = { ...fromVars, ...(args.provided_arguments ?? {}) }
    const errors = argumentErrors(spec, values)
    const context = args.validate_args_context ?? {}
    if (errors.length)
      return {
        status: 'fail',
        msg: `Validation of arguments failed:\n${errors.join('\n')}`,
        result: { argument_errors: errors, argument_spec_data: spec, validate_args_context: context },
      }
    return { status: 'ok', result: { msg: 'The arg spec validation passed', validate_args_context: context } }
  },
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})

/** The task Ansible puts first in a role with a spec for its entry point (Role._create_validation_task). */
export function roleArgSpecTask(entry: string, spec: Vars, params: Vars, context: Vars): Vars {
  const short = spec.short_description
  return {
    name: `Validating arguments against arg spec '${entry}'${short !== undefined ? ` - ${String(short)}` : ''}`,
    'ansible.builtin.validate_argument_spec': {
      argument_spec: spec.options && typeof spec.options === 'object' && !Array.isArray(spec.options) ? spec.options : {},
      provided_arguments: params,
      validate_args_context: context,
    },
    tags: ['always'],
  }
}
