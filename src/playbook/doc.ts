// Module documentation from the module's own JSON Schema: one source for validation and docs.
import type { SchemaObject } from 'ajv'
import { getModule, moduleNames } from '../modules/registry.js'
import type { Module } from '../modules/types.js'

export interface ArgDoc {
  name: string
  type: string
  required: boolean
  default?: unknown
  choices?: unknown[]
  description: string
}

function isTemplateBranch(b: SchemaObject): boolean {
  return b.type === 'string' && typeof b.pattern === 'string' && b.pattern.includes('\\{\\{')
}

/** A short type for a property schema: "bool", "str", "int", "list", "dict", "str|int", ... */
export function typeOf(s: SchemaObject): string {
  const branches: SchemaObject[] = s.anyOf ?? s.oneOf ?? [s]
  if (branches.some((b) => b.type === 'boolean')) return 'bool'
  const names = new Set<string>()
  for (const b of branches) {
    if (isTemplateBranch(b) && branches.length > 1) continue
    const ts: string[] = b.type ? [b.type].flat() : b.enum ? ['str'] : []
    for (const t of ts)
      names.add({ string: 'str', integer: 'int', number: 'num', boolean: 'bool', array: 'list', object: 'dict', null: 'null' }[t as string] ?? t)
  }
  return names.size ? [...names].join('|') : 'any'
}

function choicesOf(s: SchemaObject): unknown[] | undefined {
  if (Array.isArray(s.enum)) return s.enum
  const branches: SchemaObject[] = s.anyOf ?? s.oneOf ?? []
  if (branches.some((b) => b.type === 'boolean')) return undefined
  const all = branches.flatMap((b) => (Array.isArray(b.enum) ? b.enum : []))
  return all.length ? all : undefined
}

export function argDocs(mod: Module): ArgDoc[] {
  const schema = mod.schema as SchemaObject
  const props = (schema.properties ?? {}) as Record<string, SchemaObject>
  const required = new Set<string>(Array.isArray(schema.required) ? schema.required : [])
  return Object.entries(props)
    .filter(([name]) => name !== '_raw_params' || mod.freeForm)
    .map(([name, p]) => ({
      name: name === '_raw_params' ? '(free form)' : name,
      type: typeOf(p),
      required: required.has(name),
      default: p.default,
      choices: choicesOf(p),
      description: String(p.description ?? ''),
    }))
    .sort((a, b) => Number(b.required) - Number(a.required) || a.name.localeCompare(b.name))
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/).filter(Boolean)
  const lines: string[] = []
  let cur = ''
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur)
      cur = w
    } else cur = cur ? `${cur} ${w}` : w
  }
  if (cur) lines.push(cur)
  return lines.map((l) => indent + l).join('\n')
}

export function moduleDoc(mod: Module): string {
  const out: string[] = [`${mod.name}${mod.aliases?.length ? ` (also: ${mod.aliases.join(', ')})` : ''}`, '', wrap(mod.description, 76, '  '), '']
  const notes: string[] = []
  if (mod.freeForm) notes.push('takes free-form text')
  if (mod.controllerOnly) notes.push('runs on the control machine only')
  if (mod.sourceArgs)
    notes.push(
      `reads ${Object.entries(mod.sourceArgs)
        .map(([a, k]) => `"${a}" from ${k}/`)
        .join(', ')} on the control machine`,
    )
  if (notes.length) out.push(`  (${notes.join('; ')})`, '')
  const args = argDocs(mod)
  out.push(args.length ? 'Arguments:' : 'No arguments.')
  for (const a of args) {
    const bits = [a.type]
    if (a.required) bits.push('required')
    if (a.default !== undefined) bits.push(`default: ${JSON.stringify(a.default)}`)
    if (a.choices) bits.push(`choices: ${a.choices.map((c) => JSON.stringify(c)).join(', ')}`)
    out.push('', `  ${a.name}  (${bits.join('; ')})`)
    if (a.description) out.push(wrap(a.description, 72, '      '))
  }
  return out.join('\n') + '\n'
}

export function moduleList(): string {
  const names = moduleNames()
  const width = Math.max(...names.map((n) => n.length), 4)
  const lines = names.map((n) => {
    const m = getModule(n)!
    const first = m.description.split(/(?<=\.)\s/)[0]
    return `${n.padEnd(width)}  ${m.name !== n ? `(alias of ${m.name}) ` : ''}${first}`
  })
  return lines.join('\n') + '\n'
}
