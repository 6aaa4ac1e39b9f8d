// modprobe: a kernel module loaded or not, and loaded at boot through /etc/modules-load.d/NAME.conf
// (`persistent`). The loaded state comes from /proc/modules (and built-ins), read in one probe.
import type { Module } from './types.js'
import { choice, objectSchema, str } from './provision-util.js'

export const modprobeSchema = objectSchema(
  {
    name: str('Kernel module name, e.g. `br_netfilter`.'),
    state: choice(['present', 'absent'], 'Loaded (`present`) or unloaded (`absent`). Default: present.'),
    params: str('Module parameters, `key=value` separated by spaces.'),
    persistent: choice(['present', 'absent', 'disabled'], '`present` writes /etc/modules-load.d/NAME.conf (and /etc/modprobe.d/NAME.conf with params) so the module loads at boot; `absent` removes them; `disabled` (default) leaves boot config alone.'),
  },
  { required: ['name'] },
)

export const modprobeModule: Module<any> = {
  name: 'modprobe',
  description: 'Loads or unloads a kernel module, and makes it load at boot via /etc/modules-load.d.',
  schema: modprobeSchema,
  async plan() {
    return { status: 'fail', msg: 'modprobe: not implemented yet' }
  },
}
