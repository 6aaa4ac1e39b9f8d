// user: a local account present with the given uid, group, groups, home, shell and comment, or
// absent. Compared against `getent passwd`/`id -Gn` read in one probe; changed with useradd/usermod.
import type { Module } from './types.js'
import { alias, bool, choice, int, num, objectSchema, requireOneOf, str, strList } from './provision-util.js'

const name = str('Login name.')

export const userSchema = objectSchema(
  {
    name,
    user: alias('name', name),
    state: choice(['present', 'absent'], 'Default: present.'),
    uid: int('User id.'),
    non_unique: bool('Allow a uid that another user has (`-o`).'),
    group: str('Primary group (name or gid).'),
    groups: strList('Supplementary groups. Replaces the current list unless `append`.'),
    append: bool('Add `groups` to the user\'s groups instead of replacing them.'),
    comment: str('GECOS field (full name).'),
    home: str('Home directory.'),
    shell: str('Login shell.'),
    password: str('Hashed password (as in /etc/shadow), never a clear-text one.'),
    update_password: choice(['always', 'on_create'], '`on_create` sets the password only for a new user. Default: always.'),
    password_lock: bool('Lock (true) or unlock (false) the password.'),
    create_home: bool('Create the home directory for a new user. Default true.'),
    createhome: alias('create_home', bool('')),
    move_home: bool('Move the home directory\'s content when `home` changes.'),
    skeleton: str('Skeleton directory for a new home (`-k`).'),
    system: bool('Create a system account (only when creating).'),
    expires: num('Account expiry as epoch seconds; -1 removes the expiry.'),
    force: bool('With state=absent: remove even while logged in (`userdel -f`).'),
    remove: bool('With state=absent: remove the home directory and mail spool (`userdel -r`).'),
    local: bool('Accepted for compatibility (local tools are always used).'),
    umask: str('Accepted for compatibility.'),
  },
  requireOneOf('name', 'user'),
)

export const userModule: Module<any> = {
  name: 'user',
  description: 'Creates, changes or removes a local user account.',
  schema: userSchema,
  async plan() {
    return { status: 'fail', msg: 'user: not implemented yet' }
  },
}
