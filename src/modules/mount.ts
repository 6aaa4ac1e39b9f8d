// mount: a filesystem's line in fstab and whether it is mounted. Compares /etc/fstab (a pure line
// edit) and /proc/mounts read in one probe; only what differs is changed.
import type { Module } from './types.js'
import { alias, bool, choice, objectSchema, requireOneOf, scalar, str } from './provision-util.js'

const path = str('Mount point, e.g. /var/lib/longhorn.')

export const mountSchema = objectSchema(
  {
    path,
    name: alias('path', path),
    src: str('Device, `UUID=…`, `LABEL=…`, `host:/export` or dataset to mount (required for present and mounted).'),
    fstype: str('Filesystem type (required for present and mounted).'),
    opts: str('Mount options, comma-separated. Default: defaults.'),
    dump: scalar('fstab dump field. Default 0.'),
    passno: scalar('fstab pass field. Default 0.'),
    state: choice(['mounted', 'present', 'absent', 'unmounted', 'remounted', 'absent_from_fstab', 'ephemeral'], '`present`: in fstab only; `mounted`: in fstab and mounted (creates the mount point); `unmounted`: unmounted, fstab kept; `absent`: unmounted and removed from fstab; `absent_from_fstab`: removed from fstab only; `remounted`: remount now (always changes); `ephemeral`: mounted without touching fstab.'),
    fstab: str('fstab file to edit. Default /etc/fstab.'),
    boot: bool('When false, adds `noauto` so the filesystem is not mounted at boot. Default true.'),
    backup: bool('Keep a copy of fstab before changing it.'),
  },
  { required: ['state'], ...requireOneOf('path', 'name') },
)

export const mountModule: Module<any> = {
  name: 'mount',
  description: 'Manages a filesystem\'s fstab line and whether it is mounted.',
  schema: mountSchema,
  async plan() {
    return { status: 'fail', msg: 'mount: not implemented yet' }
  },
}
