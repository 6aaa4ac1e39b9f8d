// Ansible converts argument values to the type its argument spec declares ("yes" → true,
// "0644" stays a string for modes, "3" → 3). Templated arguments arrive as strings, so do the same
// against each module's JSON Schema before planning.
import type { SchemaObject } from 'ajv'
import { asBool } from '../bool.js'
import type { Vars } from '../model.js'

function types(schema: SchemaObject | undefined): string[] {
  if (!schema) return []
  if (Array.isArray(schema.type)) return schema.type as string[]
  if (typeof schema.type === 'string') return [schema.type]
  const alts = (schema.anyOf ?? schema.oneOf) as SchemaObject[] | undefined
  return alts ? alts.flatMap(types) : []
}

export function coerceValue(schema: SchemaObject | undefined, v: unknown): unknown {
  const t = types(schema)
  if (t.length === 0) return v
  if (typeof v === 'string') {
    if (t.includes('string')) return v
    const b = t.includes('boolean') ? asBool(v) : undefined
    if (b !== undefined) return b
    if ((t.includes('integer') || t.includes('number')) && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v)
    if (t.includes('array'))
      return v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')
  }
  if (typeof v === 'number' && !t.includes('number') && !t.includes('integer')) {
    if (t.includes('string')) return String(v)
    if (t.includes('boolean') && asBool(v) !== undefined) return asBool(v)
  }
  if (typeof v === 'boolean' && !t.includes('boolean') && t.includes('string')) return v ? 'True' : 'False'
  if (v !== null && !Array.isArray(v) && typeof v !== 'object' && t.includes('array') && !t.includes(typeof v)) return [v]
  return v
}

export function coerceArgs(schema: SchemaObject, args: Vars): Vars {
  const props = schema.properties as Record<string, SchemaObject> | undefined
  if (!props) return args
  const out: Vars = {}
  for (const [k, v] of Object.entries(args)) out[k] = props[k] ? coerceValue(props[k], v) : v
  return out
}
