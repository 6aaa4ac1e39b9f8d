// slurp: reads a file on the host into a registered variable (base64, as Ansible returns it).
// Read-only: always ok, never changed.
import type { Module } from './types.js'
import { alias, objectSchema, requireOneOf, str } from './provision-util.js'

const src = str('File on the host to read.')

export const slurpSchema = objectSchema({ src, path: alias('src', src) }, requireOneOf('src', 'path'))

export const slurpModule: Module<any> = {
  name: 'slurp',
  description: 'Reads a file from the host into a variable (base64 `content`).',
  schema: slurpSchema,
  async plan() {
    return { status: 'fail', msg: 'slurp: not implemented yet' }
  },
}
