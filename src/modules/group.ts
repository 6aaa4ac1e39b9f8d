// group: a local group present (with a gid) or absent, compared against `getent group`.
import type { Module } from './types.js'
import { bool, choice, int, objectSchema, str } from './provision-util.js'

export const groupSchema = objectSchema(
  {
    name: str('Group name.'),
    state: choice(['present', 'absent'], 'Default: present.'),
    gid: int('Group id.'),
    system: bool('Create a system group (only when creating).'),
    non_unique: bool('Allow a gid that another group has (`-o`).'),
    local: bool('Accepted for compatibility (local tools are always used).'),
  },
  { required: ['name'] },
)

export const groupModule: Module<any> = {
  name: 'group',
  description: 'Creates or removes a local group.',
  schema: groupSchema,
  async plan() {
    return { status: 'fail', msg: 'group: not implemented yet' }
  },
}
