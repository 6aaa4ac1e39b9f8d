// unarchive: unpacks a tar (gz, bz2, xz, zst) or zip archive into a directory on the host. Idempotent
// through `creates`, or by listing the archive and comparing each member with what dest holds.
import type { Module } from './types.js'
import { bool, modeSchema, objectSchema, str, strList } from './provision-util.js'

export const unarchiveSchema = objectSchema(
  {
    src: str('The archive: a file on the control machine (looked up in the role\'s files/), a path on the host with `remote_src`, or a URL with `remote_src`.'),
    dest: str('Existing directory on the host to unpack into.'),
    remote_src: bool('`src` is already on the host (or is a URL the host downloads). Default false.'),
    creates: str('A path on the host; when it exists, nothing is unpacked.'),
    list_files: bool('Return the archive\'s member names in `files`.'),
    exclude: strList('Members (or patterns) not to unpack.'),
    include: strList('Only these members (or patterns) are unpacked.'),
    extra_opts: strList('Extra options for tar/unzip, e.g. `--strip-components=1`.'),
    keep_newer: bool('Do not replace files in dest newer than the archive\'s.'),
    mode: modeSchema('Permissions applied to the unpacked top-level entries.'),
    owner: str('Owner of unpacked files.'),
    group: str('Group of unpacked files.'),
    copy: bool('Deprecated inverse of `remote_src`.'),
    decrypt: bool('Accepted for compatibility (vault is not used).'),
    validate_certs: bool('Verify TLS when `src` is a URL.'),
    io_buffer_size: str('Accepted for compatibility.'),
  },
  { required: ['src', 'dest'] },
)

export const unarchiveModule: Module<any> = {
  name: 'unarchive',
  description: 'Unpacks a tar or zip archive (from the control machine or the host) into a directory on the host.',
  schema: unarchiveSchema,
  async plan() {
    return { status: 'fail', msg: 'unarchive: not implemented yet' }
  },
}
