// `k3sbook schema [playbook|tasks|handlers|inventory] [--out DIR]`: JSON Schemas for editors
// (yaml-language-server: completion, hover docs, errors while typing), built from the same ajv
// schemas `validate` checks with: play, block and task keywords and every module's arguments
// with their descriptions. `validate` stays the authority (it also resolves roles, templates,
// variables and positions); the schema is what an editor can check on its own.
import type { Command } from 'commander'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CliError } from './common.js'

type Json = Record<string, unknown>
const KINDS = ['playbook', 'tasks', 'handlers', 'inventory'] as const
type Kind = (typeof KINDS)[number]

export function register(program: Command): void {
  program
    .command('schema')
    .description('write the JSON Schema of playbooks, task files, handler files or inventories (for editors: yaml-language-server)')
    .argument('[kind]', KINDS.join(' | '), 'playbook')
    .option('--out <dir>', 'write all of them into DIR as <kind>.schema.json instead of printing one')
    .action(async (kind: string, o: { out?: string }) => {
      const all = await buildSchemas()
      if (o.out) {
        const dir = resolve(o.out)
        mkdirSync(dir, { recursive: true })
        for (const k of KINDS) writeFileSync(join(dir, `${k}.schema.json`), JSON.stringify(all[k], null, 2) + '\n')
        process.stdout.write(`wrote ${KINDS.map((k) => join(dir, `${k}.schema.json`)).join(', ')}\n`)
        return
      }
      if (!(KINDS as readonly string[]).includes(kind)) throw new CliError(`unknown schema "${kind}"`, { hint: `one of ${KINDS.join(', ')}` })
      process.stdout.write(JSON.stringify(all[kind as Kind], null, 2) + '\n')
    })
}

/** Our schemas carry `expected` (the phrase for error messages): not JSON Schema, left out. */
function clean<T>(v: T): T {
  if (Array.isArray(v)) return v.map(clean) as T
  if (v && typeof v === 'object') {
    const out: Json = {}
    for (const [k, x] of Object.entries(v)) if (k !== 'expected') out[k] = clean(x)
    return out as T
  }
  return v
}

/** A template in any argument is checked when rendered (as validate does): the editor accepts it. */
function templatesAllowed(schema: Json): Json {
  const props = schema.properties as Record<string, Json> | undefined
  if (!props) return schema
  const TEMPLATE = { type: 'string', pattern: '\\{\\{|\\{%' }
  return {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, { ...(v.description ? { description: v.description } : {}), anyOf: [v, TEMPLATE] }]),
    ),
  }
}

const PREFIXES = ['', 'ansible.builtin.', 'ansible.legacy.']
const ref = (name: string) => ({ $ref: `#/definitions/${name}` })
const listOf = (name: string) => ({ type: 'array', items: ref(name) })

export async function buildSchemas(): Promise<Record<Kind, Json>> {
  const s = await import('../playbook/schema.js')
  const { getModule, moduleNames } = await import('../modules/registry.js')
  const loopKeys = { '^with_[a-z_]+$': {} }

  // One mapping with every module as an optional key (not one anyOf branch per module: ~150
  // branches make validators overflow their stack); that a task names exactly one module is
  // validate's to say.
  const moduleArgs: Json = {}
  const argDefs: Json = {}
  for (const name of moduleNames()) {
    const mod = getModule(name)!
    argDefs[`module_${name}`] = {
      description: mod.description,
      anyOf: [
        templatesAllowed(clean(mod.schema) as Json),
        { type: 'string', description: 'key=value arguments' + (mod.freeForm ? ' or the free-form command' : '') },
        { type: 'null' },
      ],
    }
    for (const p of PREFIXES) moduleArgs[p + name] = { description: mod.description, ...ref(`module_${name}`) }
  }
  const includeArgs = {
    tasks: {
      anyOf: [{ type: 'string' }, { type: 'object', properties: { file: { type: 'string' }, apply: { type: 'object' } }, additionalProperties: false }],
    },
    role: {
      type: 'object',
      required: ['name'],
      properties: Object.fromEntries(
        ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'public', 'apply', 'allow_duplicates', 'rolespec_validate'].map((k) => [k, {}]),
      ),
      additionalProperties: false,
    },
  }
  for (const what of ['include_tasks', 'import_tasks', 'include_role', 'import_role'])
    for (const p of PREFIXES) moduleArgs[p + what] = what.endsWith('tasks') ? includeArgs.tasks : includeArgs.role
  const legacy = { action: { anyOf: [{ type: 'string' }, { type: 'object' }] }, local_action: { anyOf: [{ type: 'string' }, { type: 'object' }] } }
  const taskBranches: Json[] = [
    {
      type: 'object',
      not: { required: ['block'] },
      properties: { ...clean(s.TASK_KEYWORDS), ...legacy, ...moduleArgs },
      patternProperties: loopKeys,
      additionalProperties: false,
    },
  ]
  const handlerBranches: Json[] = [
    {
      type: 'object',
      not: { required: ['block'] },
      properties: { ...clean(s.HANDLER_KEYWORDS), ...legacy, ...moduleArgs },
      patternProperties: loopKeys,
      additionalProperties: false,
    },
  ]
  const block = {
    type: 'object',
    required: ['block'],
    properties: { ...clean(s.BLOCK_KEYWORDS), block: listOf('task'), rescue: listOf('task'), always: listOf('task') },
    additionalProperties: false,
  }
  const handlerBlock = { ...block, properties: { ...block.properties, block: listOf('handler'), rescue: listOf('handler'), always: listOf('handler') } }
  const role = {
    anyOf: [
      { type: 'string' },
      { type: 'object', anyOf: [{ required: ['role'] }, { required: ['name'] }], properties: { ...clean(s.ROLE_ENTRY_KEYWORDS), name: { type: 'string' } } },
    ],
  }
  const play = {
    anyOf: [
      {
        type: 'object',
        required: ['hosts'],
        properties: {
          ...clean(s.PLAY_KEYWORDS),
          pre_tasks: listOf('task'),
          tasks: listOf('task'),
          post_tasks: listOf('task'),
          handlers: listOf('handler'),
          roles: { type: 'array', items: ref('role') },
        },
        additionalProperties: false,
      },
      {
        type: 'object',
        anyOf: [{ required: ['import_playbook'] }, { required: ['ansible.builtin.import_playbook'] }],
        properties: {
          import_playbook: { type: 'string' },
          'ansible.builtin.import_playbook': { type: 'string' },
          name: {},
          vars: { type: 'object' },
          when: {},
          tags: {},
        },
        additionalProperties: false,
      },
    ],
  }
  const definitions = {
    task: { anyOf: [ref('block'), ...taskBranches] },
    handler: { anyOf: [ref('handlerBlock'), ...handlerBranches] },
    block,
    handlerBlock,
    role,
    play,
    ...argDefs,
  }
  const meta = (title: string, root: Json) => ({ $schema: 'http://json-schema.org/draft-07/schema#', title, ...root, definitions })
  const group: Json = {
    type: ['object', 'null'],
    properties: {
      hosts: { type: ['object', 'null'], additionalProperties: { type: ['object', 'null'], description: 'host variables' } },
      vars: { type: ['object', 'null'] },
      children: { type: ['object', 'null'], additionalProperties: { $ref: '#/definitions/group' } },
    },
    additionalProperties: false,
  }
  return {
    playbook: meta('k3sbook / Ansible playbook', { type: 'array', items: ref('play') }),
    tasks: meta('k3sbook / Ansible task file', { type: ['array', 'null'], items: ref('task') }),
    handlers: meta('k3sbook / Ansible handlers file', { type: ['array', 'null'], items: ref('handler') }),
    inventory: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'k3sbook / Ansible YAML inventory',
      type: 'object',
      additionalProperties: { $ref: '#/definitions/group' },
      definitions: { group },
    },
  }
}
