// hostname: the host's name, now and at boot. Writes /etc/hostname and sets the running name
// (`hostname NAME`), or uses `hostnamectl` on systemd; compares both in one probe.
import type { Module } from './types.js'
import { choice, objectSchema, str } from './provision-util.js'

export const hostnameSchema = objectSchema(
  {
    name: str('The host name (a FQDN is allowed; /etc/hostname gets it as written).'),
    use: choice(['systemd', 'debian', 'generic', 'alpine', 'file'], 'Strategy: `systemd` uses hostnamectl; `debian`/`generic`/`file` write /etc/hostname and run `hostname NAME`. Default: systemd when it runs, else file.'),
  },
  { required: ['name'] },
)

export const hostnameModule: Module<any> = {
  name: 'hostname',
  description: 'Sets the host name, now and at boot.',
  schema: hostnameSchema,
  async plan() {
    return { status: 'fail', msg: 'hostname: not implemented yet' }
  },
}
