// defineModule: how every module is declared. Inside the definition the arguments are typed, either
// by the module's own interface (`defineModule<CopyArgs>({...})`) or, by default, from its schema:
// each property the schema declares, its value `unknown` until converted (toBool, toInt, String),
// so a misspelt argument name is a compile error. The registry holds modules with their argument
// types erased: the executor validates a task's arguments against the schema before plan() sees them.
import type { SchemaObject } from 'ajv'
import type { Vars } from '../../model.js'
import type { Module } from '../types.js'

/** The arguments a schema built with moduleSchema() declares. */
export type ArgsOf<S> = S extends { properties: infer P } ? { readonly [K in keyof P]?: unknown } : Vars

export function defineModule<A = never, S extends SchemaObject = SchemaObject>(m: Module<[A] extends [never] ? ArgsOf<S> : A> & { schema: S }): Module {
  if (m.freeFormOptions && !m.freeForm) throw new Error(`module ${m.name}: freeFormOptions without freeForm`)
  if (m.probeIsLast && !m.readAhead) throw new Error(`module ${m.name}: probeIsLast only matters to a module planned ahead (readAhead)`)
  return m as unknown as Module
}
