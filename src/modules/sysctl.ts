// sysctl: a kernel parameter's value in a sysctl file (and, with `reload`, in the running kernel).
// Compares the file's line and `sysctl -n NAME` in one probe; edits the file with a pure line edit.
import type { Module } from './types.js'
import { alias, bool, choice, objectSchema, requireOneOf, scalar, str } from './provision-util.js'

const name = str('Dotted parameter name, e.g. `net.ipv4.ip_forward`.')
const value = scalar('Desired value (required with state=present).')

export const sysctlSchema = objectSchema(
  {
    name,
    key: alias('name', name),
    value,
    val: alias('value', value),
    state: choice(['present', 'absent'], 'Whether the entry is in the sysctl file. Default: present.'),
    reload: bool('Apply the file (`sysctl -p FILE`) after changing it. Default true.'),
    sysctl_set: bool('Also check the running kernel\'s value with `sysctl -n` and set it with `sysctl -w` when it differs. Default false.'),
    ignoreerrors: bool('Ignore unknown keys when reloading (`sysctl -e`).'),
    sysctl_file: str('File to edit. Default /etc/sysctl.conf.'),
  },
  requireOneOf('name', 'key'),
)

export const sysctlModule: Module<any> = {
  name: 'sysctl',
  description: 'Sets a kernel parameter in a sysctl file and, when asked, in the running kernel.',
  schema: sysctlSchema,
  async plan() {
    return { status: 'fail', msg: 'sysctl: not implemented yet' }
  },
}
