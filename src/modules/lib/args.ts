// Module arguments: JSON Schema fragments (so argument docs read the same in every module) and the
// conversions Ansible's argument spec makes (loose booleans, numbers written as strings, comma
// lists, aliases). A bad value found only at plan time throws ArgError; guardPlan/argFail turn it
// into a failing plan.
import type { SchemaObject } from 'ajv'
import { asBool, BOOL_PATTERN } from '../../bool.js'
import { ArgError } from '../../errors.js'
import type { Plan } from '../types.js'

export { ArgError }

// ---------------------------------------------------------------- schema fragments

/** A value that is still a template when validated before rendering: validated again once rendered. */
const TEMPLATED = '\\{\\{|\\{%'
const TEMPLATED_STRING: SchemaObject = { type: 'string', pattern: TEMPLATED }

export function str(description: string, extra: SchemaObject = {}): SchemaObject {
  return { type: 'string', description, ...extra }
}

/** Paths and other scalars users may write as numbers in YAML. */
export function scalar(description: string): SchemaObject {
  return { type: ['string', 'number'], description }
}

/** Strings, but numbers and booleans are accepted too (YAML turns `value: 1` into a number, `yes` into true). */
export function looseScalar(description: string): SchemaObject {
  return { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], description }
}

/** Ansible booleans (convert_bool's words in any case, 0/1) or a template. */
export function bool(description: string): SchemaObject {
  return {
    description,
    anyOf: [{ type: 'boolean' }, { type: 'integer', enum: [0, 1] }, { type: 'string', pattern: BOOL_PATTERN }, TEMPLATED_STRING],
  }
}

export function choice(values: readonly string[], description: string): SchemaObject {
  return { description, anyOf: [{ type: 'string', enum: [...values] }, TEMPLATED_STRING] }
}

export function int(description: string): SchemaObject {
  return { description, anyOf: [{ type: 'integer' }, { type: 'string', pattern: `^\\s*-?[0-9]+\\s*$|${TEMPLATED}` }] }
}

export function num(description: string): SchemaObject {
  return { anyOf: [{ type: 'number' }, { type: 'string', pattern: '^\\s*-?[0-9.]+\\s*$' }, TEMPLATED_STRING], description }
}

/** A list of strings; Ansible also takes one string with commas. */
export function strList(description: string): SchemaObject {
  return { anyOf: [{ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } }, { type: 'string' }], description }
}

export function intList(description: string): SchemaObject {
  return {
    anyOf: [
      { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\s*[0-9]+\\s*$' }, TEMPLATED_STRING] } },
      { type: 'integer' },
      { type: 'string' },
    ],
    description,
  }
}

export function dict(description: string): SchemaObject {
  return { type: 'object', description }
}

export const modeSchema = (extra = ''): SchemaObject => ({
  anyOf: [{ type: 'string' }, { type: 'integer' }],
  description:
    "Permissions: octal as a quoted string ('0644', '644'), symbolic ('u=rw,g=r,o=r', 'u+x'), or a YAML octal number (0644)." +
    ' An unquoted 644 is the decimal number 644, as in Ansible: quote modes.' +
    ' Not given: new files get the umask default and existing files keep theirs.' +
    extra,
})

export const ownerSchema = (): SchemaObject => ({
  type: ['string', 'integer'],
  description: 'User name (or uid) that should own the path. Not given: kept as is (new files: the connecting/become user).',
})
export const groupSchema = (): SchemaObject => ({
  type: ['string', 'integer'],
  description: 'Group name (or gid) that should own the path. Not given: kept as is.',
})

/** A property that only renames another (Ansible's aliases). */
export function alias(of: string, base: SchemaObject): SchemaObject {
  return { ...base, description: `Alias of \`${of}\`.` }
}

/** An object of exactly these arguments; the property names type the module's args (see defineModule). */
export function moduleSchema<P extends Record<string, SchemaObject>>(properties: P, extra: SchemaObject = {}): SchemaObject & { properties: P } {
  return { type: 'object', properties, additionalProperties: false, ...extra } as SchemaObject & { properties: P }
}

/** `required` for an argument that may be written under any of its alias names. */
export function requireOneOf(...names: string[]): SchemaObject {
  // Each branch names the property again so ajv's strictRequired sees it defined.
  return { anyOf: names.map((n) => ({ type: 'object', properties: { [n]: true }, required: [n] })) }
}

// ---------------------------------------------------------------- argument values

/**
 * An Ansible boolean argument: `dflt` when not given (or empty), else convert_bool's words; any
 * other value is an ArgError naming the argument.
 */
export function toBool(v: unknown, dflt: boolean, name?: string): boolean
export function toBool(v: unknown, dflt?: boolean, name?: string): boolean | undefined
export function toBool(v: unknown, dflt?: boolean, name = 'value'): boolean | undefined {
  if (v === undefined || v === null || v === '') return dflt
  const b = asBool(v)
  if (b === undefined) throw new ArgError(`${name}: "${String(v)}" is not a boolean (use true or false)`)
  return b
}

/** toBool with a default: the shape most arguments have. */
export function optBool(v: unknown, def: boolean, name?: string): boolean {
  return toBool(v, def, name)
}

export function optStr(v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : String(v)
}

export function toInt(v: unknown, dflt: number): number
export function toInt(v: unknown, dflt?: number): number | undefined
export function toInt(v: unknown, dflt?: number): number | undefined {
  if (v === undefined || v === null || v === '') return dflt
  const n = typeof v === 'number' ? v : Number(String(v).trim())
  if (!Number.isFinite(n)) throw new ArgError(`"${v}" is not a number`)
  return Math.trunc(n)
}

export function toList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return []
  if (Array.isArray(v)) return v.flatMap((x) => (x === undefined || x === null ? [] : [String(x)]))
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** First defined value among an argument and its aliases. */
export function pick<T = unknown>(args: object, ...names: string[]): T | undefined {
  const a = args as Record<string, unknown>
  for (const n of names) if (a[n] !== undefined && a[n] !== null) return a[n] as T
  return undefined
}

export function oneOf<T extends string>(v: unknown, values: readonly T[], name: string, def: T): T {
  if (v === undefined || v === null) return def
  const s = String(v)
  if ((values as readonly string[]).includes(s)) return s as T
  throw new ArgError(`${name}: value must be one of: ${values.join(', ')}, got: ${s}`)
}

/** A plan that fails with the message of a bad argument, instead of throwing from deep inside. */
export function argFail(e: unknown): Plan {
  if (e instanceof ArgError) return { status: 'fail', msg: e.message }
  throw e
}

/** Runs a plan body, turning argument errors into a failing plan instead of a crash. */
export async function guardPlan(body: () => Promise<Plan>): Promise<Plan> {
  try {
    return await body()
  } catch (e) {
    return argFail(e)
  }
}
