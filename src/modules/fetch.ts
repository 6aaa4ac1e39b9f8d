// fetch: copies a file from the host to the control machine, into DEST/HOSTNAME/SRC-PATH (or DEST
// itself with `flat`). Idempotent by sha: when the local copy matches the host's, nothing moves.
import type { Module } from './types.js'
import { bool, objectSchema, str } from './provision-util.js'

export const fetchSchema = objectSchema(
  {
    src: str('File on the host to fetch (not a directory).'),
    dest: str('Directory on the control machine; the file lands in DEST/HOSTNAME/SRC (or, with `flat`, at DEST, or in DEST when it ends with /).'),
    flat: bool('Do not add the host name and source path below dest.'),
    fail_on_missing: bool('Fail when src does not exist on the host. Default true.'),
    validate_checksum: bool('Verify the fetched copy\'s checksum against the host\'s. Default true.'),
  },
  { required: ['src', 'dest'] },
)

export const fetchModule: Module<any> = {
  name: 'fetch',
  description: 'Copies a file from the host to the control machine (DEST/HOSTNAME/PATH, or DEST with flat).',
  schema: fetchSchema,
  async plan() {
    return { status: 'fail', msg: 'fetch: not implemented yet' }
  },
}
