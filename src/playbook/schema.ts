// JSON Schemas (ajv) for plays, task and block keywords, role meta and module arguments, and the
// mapping of ajv errors back to YAML positions with messages a person can act on
// ("unknown key … (did you mean …)", "must be a boolean", "missing required argument …").
import type { Ajv as AjvT, ErrorObject, SchemaObject, ValidateFunction } from 'ajv'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { BOOL_PATTERN } from '../bool.js'
import { didYouMean, type Diagnostics, type SourcePos } from '../errors.js'
import { isTemplated } from '../template/index.js'
import { packageRoot } from '../paths.js'
import type { YamlFile, YamlPath } from '../yamlfile.js'

const TEMPLATE = '(\\{\\{|\\{%)'
const BOOL_STRING = `${BOOL_PATTERN}|${TEMPLATE}`

// Keyword value shapes. `expected` is ours (not JSON Schema): the phrase used when a value is wrong.
const str = { type: ['string', 'number'], expected: 'a string' }
const bool = { anyOf: [{ type: 'boolean' }, { type: 'string', pattern: BOOL_STRING }], expected: 'a boolean (yes/no, true/false) or a template' }
const int = { anyOf: [{ type: 'integer' }, { type: 'string', pattern: `^\\s*-?\\d+\\s*$|${TEMPLATE}` }], expected: 'an integer or a template' }
const num = { anyOf: [{ type: 'number' }, { type: 'string', pattern: `^\\s*-?\\d+(\\.\\d+)?\\s*$|${TEMPLATE}` }], expected: 'a number or a template' }
const strList = {
  anyOf: [{ type: ['string', 'number'] }, { type: 'array', items: { type: ['string', 'number'] } }],
  expected: 'a string or a list of strings',
}
const cond = {
  anyOf: [{ type: ['string', 'boolean', 'number'] }, { type: 'array', items: { type: ['string', 'boolean', 'number'] } }],
  expected: 'a condition (string or boolean) or a list of them',
}
const dict = { type: 'object', expected: 'a mapping' }
const dictOrTemplate = { anyOf: [{ type: 'object' }, { type: 'string', pattern: TEMPLATE }], expected: 'a mapping or a template' }
const listOrTemplate = { anyOf: [{ type: 'array' }, { type: 'string', pattern: TEMPLATE }], expected: 'a list or a template that gives one' }
const anything = {}

/** Keywords shared by plays, blocks, tasks and roles (Ansible's Base/Conditional/Taggable/Become). */
const COMMON = {
  // `name:` left empty is no name, as in Ansible (a task then shows its module)
  name: { type: ['string', 'number', 'null'], expected: 'a string' },
  become: bool,
  become_user: str,
  become_method: str,
  become_exe: str,
  become_flags: str,
  vars: { anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }], expected: 'a mapping or a list of mappings' },
  environment: {
    anyOf: [{ type: 'object' }, { type: 'string', pattern: TEMPLATE }, { type: 'array', items: { anyOf: [{ type: 'object' }, { type: 'string' }] } }],
    expected: 'a mapping, a list of mappings or a template',
  },
  tags: strList,
  no_log: bool,
  check_mode: bool,
  diff: bool,
  ignore_errors: bool,
  ignore_unreachable: bool,
  any_errors_fatal: bool,
  run_once: bool,
  connection: str,
  remote_user: str,
  port: int,
  collections: strList,
  module_defaults: anything,
  throttle: int,
  timeout: int,
  debugger: str,
}

export const loopControlSchema = {
  type: 'object',
  expected: 'a mapping',
  properties: {
    loop_var: { type: 'string', pattern: `^[A-Za-z_][A-Za-z0-9_]*$|${TEMPLATE}`, expected: 'a variable name' },
    index_var: { type: 'string', pattern: `^[A-Za-z_][A-Za-z0-9_]*$|${TEMPLATE}`, expected: 'a variable name' },
    label: str,
    pause: num,
    extended: bool,
    extended_allitems: bool,
  },
  additionalProperties: false,
}

export const TASK_KEYWORDS = {
  ...COMMON,
  when: cond,
  loop: listOrTemplate,
  loop_control: loopControlSchema,
  register: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'a variable name' },
  notify: strList,
  changed_when: cond,
  failed_when: cond,
  until: cond,
  retries: int,
  delay: num,
  delegate_to: str,
  delegate_facts: bool,
  args: dictOrTemplate,
  async: int,
  poll: int,
  // legacy forms handled by the loader
  action: { anyOf: [{ type: 'string' }, { type: 'object' }], expected: 'a module call: a string or a mapping' },
  local_action: { anyOf: [{ type: 'string' }, { type: 'object' }], expected: 'a module call: a string or a mapping' },
} as const

export const HANDLER_KEYWORDS = { ...TASK_KEYWORDS, listen: strList } as const

export const BLOCK_KEYWORDS = {
  ...COMMON,
  when: cond,
  delegate_to: str,
  delegate_facts: bool,
  notify: strList,
  block: { type: 'array', expected: 'a list of tasks' },
  rescue: { type: 'array', expected: 'a list of tasks' },
  always: { type: 'array', expected: 'a list of tasks' },
} as const

export const PLAY_KEYWORDS = {
  ...COMMON,
  hosts: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: ['string', 'number'] } }], expected: 'a host pattern or a list of them' },
  vars_files: {
    anyOf: [{ type: 'string' }, { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } }],
    expected: 'a file name or a list of them',
  },
  vars_prompt: anything,
  roles: { type: 'array', expected: 'a list of roles' },
  pre_tasks: { type: 'array', expected: 'a list of tasks' },
  tasks: { type: 'array', expected: 'a list of tasks' },
  post_tasks: { type: 'array', expected: 'a list of tasks' },
  handlers: { type: 'array', expected: 'a list of handlers' },
  gather_facts: bool,
  gather_subset: strList,
  gather_timeout: int,
  fact_path: str,
  serial: {
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: `^\\s*\\d+%?\\s*$|${TEMPLATE}` },
      {
        type: 'array',
        items: {
          anyOf: [
            { type: 'integer', minimum: 0 },
            { type: 'string', pattern: `^\\s*\\d+%?\\s*$|${TEMPLATE}` },
          ],
        },
      },
    ],
    expected: 'a number, a percentage ("30%") or a list of them',
  },
  strategy: {
    anyOf: [
      { type: 'string', enum: ['linear', 'free', 'host_pinned', 'debug'] },
      { type: 'string', pattern: TEMPLATE },
    ],
  },
  max_fail_percentage: num,
  force_handlers: bool,
  order: { enum: ['inventory', 'reverse_inventory', 'sorted', 'reverse_sorted', 'shuffle'] },
  import_playbook: str,
  when: cond,
} as const

export const PLAY_SCHEMA = { type: 'object', properties: PLAY_KEYWORDS, additionalProperties: false }
export const BLOCK_SCHEMA = { type: 'object', properties: BLOCK_KEYWORDS, additionalProperties: false }

/** Keys a `- role: x` entry may carry besides role parameters (which are any other key). */
export const ROLE_ENTRY_KEYWORDS = { ...COMMON, role: str, when: cond, delegate_to: str } as const

export const ROLE_META_SCHEMA = {
  type: 'object',
  properties: {
    dependencies: {
      type: 'array',
      expected: 'a list of roles',
      items: {
        anyOf: [{ type: 'string' }, { type: 'object', anyOf: [{ required: ['role'] }, { required: ['name'] }, { required: ['src'] }] }],
        expected: 'a role name or a mapping with "role:"',
      },
    },
    allow_duplicates: bool,
    galaxy_info: { type: 'object', expected: 'a mapping' },
    collections: strList,
    argument_specs: { type: 'object', expected: 'a mapping' },
  },
  additionalProperties: false,
}

// Each validator runs a handful of times per validate, so ajv's code optimisation passes cost
// more than they save (measured: roughly half the compile time of the module schemas).
export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: false, allowUnionTypes: true, code: { optimize: false } } as const

const require = createRequire(import.meta.url)
let ajvInstance: AjvT | undefined

/** The ajv instance, loaded on first use: with prebuilt validators a run never needs it. */
export function getAjv(opts: { source?: boolean } = {}): AjvT {
  if (opts.source) return newAjv(true)
  return (ajvInstance ??= newAjv(false))
}

function newAjv(source: boolean): AjvT {
  const { Ajv } = require('ajv') as typeof import('ajv')
  // Prebuilt code (source) is compiled once at build time: there ajv's optimisation pays.
  const a = new Ajv({ ...AJV_OPTIONS, code: source ? { source, optimize: true } : AJV_OPTIONS.code })
  a.addKeyword({ keyword: 'expected', schemaType: 'string' })
  return a
}

/** Content key of a schema: `npm run build` writes validators/<key>.cjs (ajv standalone code) for the known ones. */
export function schemaKey(schema: SchemaObject): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex').slice(0, 32)
}

let prebuilt: string | undefined
const PREBUILT = () => (prebuilt ??= join(packageRoot(), 'dist', 'playbook', 'validators'))
const compiled = new WeakMap<object, ValidateFunction>()
export function compile(schema: SchemaObject): ValidateFunction {
  let v = compiled.get(schema)
  if (!v) {
    // Compiling a schema costs tens of milliseconds per module at start-up; the prebuilt code is
    // ajv's own output for the same schema text, so errors (with parentSchema) come out the same.
    const key = schemaKey(schema)
    const bundled = (globalThis as { __k3sbookValidators?: Record<string, () => ValidateFunction> }).__k3sbookValidators?.[key]
    const file = bundled ? '' : join(PREBUILT(), `${key}.cjs`)
    v = bundled ? bundled() : existsSync(file) ? (require(file) as ValidateFunction) : getAjv().compile(schema)
    compiled.set(schema, v)
  }
  return v
}

export const playValidator = (): ValidateFunction => compile(PLAY_SCHEMA)
export const blockValidator = (): ValidateFunction => compile(BLOCK_SCHEMA)
export const roleMetaValidator = (): ValidateFunction => compile(ROLE_META_SCHEMA)

export interface SchemaReport {
  /** Prefix of every message: "template: " for module args, "" for keywords. */
  prefix?: string
  /** "argument", "play keyword", "task keyword", ... used in unknown-key messages. */
  noun: string
  /** Skip type and pattern errors on values that are templates (their value is known only at run time). */
  templatesUnknown?: boolean
}

/**
 * Validate `value` (found at `base` in `yf`) and report every schema error with its position.
 * Returns true when valid.
 */
export type PosOf = (path: (string | number)[], opts: { key?: boolean }) => SourcePos

export function yamlPosOf(yf: YamlFile, base: YamlPath): PosOf {
  return (path, opts) => yf.pos([...base, ...path], opts)
}

export function reportSchema(validate: ValidateFunction, value: unknown, posOf: PosOf, diags: Diagnostics, how: SchemaReport): boolean {
  if (validate(value)) return true
  const errors = validate.errors ?? []
  // errors below an anyOf/oneOf that itself failed are noise: the anyOf speaks for them
  const groups = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath + '/')
  let reported = 0
  for (const e of errors) {
    if (groups.some((g) => e.schemaPath.startsWith(g))) continue
    if (how.templatesUnknown && e.keyword !== 'additionalProperties' && e.keyword !== 'required' && templatedAt(e.data)) continue
    const msg = describe(e, how)
    if (!msg) continue
    const path = instanceSegments(e.instancePath)
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty
      diags.error(msg.text, posOf([...path, key], { key: true }), msg.hint)
    } else diags.error(msg.text, posOf(path, {}), msg.hint)
    reported++
  }
  return reported === 0
}

function templatedAt(data: unknown): boolean {
  return typeof data === 'string' && isTemplated(data)
}

export function instanceSegments(p: string): (string | number)[] {
  if (!p) return []
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
}

function fieldName(e: ErrorObject): string {
  const segs = instanceSegments(e.instancePath)
  let name = ''
  for (const s of segs) name += typeof s === 'number' ? `[${s}]` : name ? `.${s}` : s
  return name
}

function describe(e: ErrorObject, how: SchemaReport): { text: string; hint?: string } | undefined {
  const pre = how.prefix ?? ''
  const field = fieldName(e)
  const what = field ? `"${field}"` : 'value'
  const parent = e.parentSchema as SchemaObject | undefined
  const expected: string | undefined = parent?.expected
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty
      const known = Object.keys((parent?.properties as object) ?? {})
      const noun = field ? `${field} key` : how.noun
      return { text: `${pre}unknown ${noun} "${key}"`, hint: didYouMean(key, known) }
    }
    case 'required': {
      const p = (e.params as { missingProperty: string }).missingProperty
      return { text: `${pre}missing required ${field ? `key "${p}" in ${what}` : `${how.noun} "${p}"`}` }
    }
    case 'type':
      return { text: `${pre}${what} must be ${expected ?? typeName((e.params as { type: string | string[] }).type)}`, hint: `got ${jsType(e.data)}` }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
      return {
        text: `${pre}${what} must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
        hint: typeof e.data === 'string' ? (didYouMean(e.data, allowed.map(String)) ?? `got "${e.data}"`) : `got ${jsType(e.data)}`,
      }
    }
    case 'anyOf':
    case 'oneOf': {
      if (expected) return { text: `${pre}${what} must be ${expected}`, hint: `got ${jsType(e.data)}` }
      const branches = ((parent?.anyOf ?? parent?.oneOf) as SchemaObject[] | undefined) ?? []
      if (branches.length && branches.every((b) => Array.isArray(b.required))) {
        const names = branches.flatMap((b) => b.required as string[])
        return {
          text: `${pre}missing required ${how.noun} "${names[0]}"`,
          hint: names.length > 1 ? `or one of its other names: ${names.slice(1).join(', ')}` : undefined,
        }
      }
      const enums = branches.flatMap((b) => (Array.isArray(b.enum) && b.type !== 'boolean' ? b.enum : []))
      if (branches.some((b) => b.type === 'boolean')) return { text: `${pre}${what} must be a boolean (yes/no, true/false)`, hint: `got ${jsType(e.data)}` }
      if (enums.length && branches.every((b) => b.enum || isTemplateBranch(b)))
        return {
          text: `${pre}${what} must be one of: ${enums.map((v) => JSON.stringify(v)).join(', ')}`,
          hint: typeof e.data === 'string' ? (didYouMean(e.data, enums.map(String)) ?? `got "${e.data}"`) : `got ${jsType(e.data)}`,
        }
      // a string branch with a pattern (digits, yes/no) is a spelling of another type, not "any string"
      const hasOther = branches.some((b) => b.type && b.type !== 'string')
      const types = [
        ...new Set(
          branches
            .filter((b) => !isTemplateBranch(b) && !(hasOther && b.type === 'string' && (b.pattern || b.enum)))
            .flatMap((b) => (b.type ? [b.type].flat() : [])),
        ),
      ]
      return { text: `${pre}${what} must be ${types.length ? typeName(types as string[]) : 'one of the allowed forms'}`, hint: `got ${jsType(e.data)}` }
    }
    case 'pattern':
      return {
        text: `${pre}${what} must be ${expected ?? `text matching ${(e.params as { pattern: string }).pattern}`}`,
        hint: `got ${JSON.stringify(e.data)}`,
      }
    case 'const':
      return { text: `${pre}${what} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` }
    case 'not':
    case 'if':
      return undefined
    default:
      return { text: `${pre}${what} ${e.message ?? 'is not valid'}` }
  }
}

function isTemplateBranch(b: SchemaObject): boolean {
  return b.type === 'string' && typeof b.pattern === 'string' && b.pattern.includes('\\{\\{')
}

function typeName(t: string | string[]): string {
  const ts = Array.isArray(t) ? t : t.split(',')
  const words = ts.map(
    (x) =>
      ({ string: 'a string', number: 'a number', integer: 'an integer', boolean: 'a boolean', array: 'a list', object: 'a mapping', null: 'null' })[x] ?? x,
  )
  return words.length > 1 ? words.slice(0, -1).join(', ') + ' or ' + words[words.length - 1] : words[0]
}

export function jsType(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return v.length > 30 ? 'a string' : `"${v}"`
  if (typeof v === 'boolean') return `a boolean (${v})`
  return `${typeof v === 'number' ? 'a number' : typeof v} (${String(v)})`
}
