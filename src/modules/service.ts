// service / systemd: a service's running state and whether it starts at boot. The init system is
// detected on the host (systemd when /run/systemd/system exists, else SysV init scripts), so one
// task works on both; the current state comes from one probe parsed by pure functions.
import type { Module } from './types.js'
import { alias, bool, choice, int, objectSchema, requireOneOf, str } from './provision-util.js'

const name = str('Service (unit) name, e.g. `ssh` or `k3s.service`.')
const state = choice(['started', 'stopped', 'restarted', 'reloaded'], '`started`/`stopped` change only when needed; `restarted` and `reloaded` always act.')

export const serviceSchema = objectSchema(
  {
    name,
    state,
    enabled: bool('Start at boot (systemd: enable/disable; SysV: update-rc.d links).'),
    daemon_reload: bool('Run `systemctl daemon-reload` first (systemd only).'),
    'daemon-reload': alias('daemon_reload', bool('')),
    masked: bool('Mask (true) or unmask (false) the unit (systemd only).'),
    pattern: str('SysV only: a process-name pattern used when the init script has no status command.'),
    sleep: int('Seconds to wait between stop and start on `restarted` (SysV).'),
    runlevel: str('Accepted for compatibility (OpenRC).'),
    arguments: str('Extra arguments given to the init script.'),
    args: alias('arguments', str('')),
    use: choice(['auto', 'systemd', 'sysv', 'service'], 'Force an init system instead of detecting it. Default: auto.'),
  },
  requireOneOf('name'),
)

export const systemdSchema = objectSchema(
  {
    name,
    unit: alias('name', name),
    service: alias('name', name),
    state,
    enabled: bool('Start at boot (`systemctl enable`/`disable`).'),
    masked: bool('Mask (true) or unmask (false) the unit.'),
    daemon_reload: bool('Run `systemctl daemon-reload` before anything else (also allowed without a name).'),
    'daemon-reload': alias('daemon_reload', bool('')),
    daemon_reexec: bool('Run `systemctl daemon-reexec` before anything else.'),
    'daemon-reexec': alias('daemon_reexec', bool('')),
    force: bool('Pass --force to enable/disable (overrides existing links).'),
    no_block: bool('Do not wait for the start/stop job to finish (`--no-block`).'),
    scope: choice(['system', 'user', 'global'], 'systemd manager to talk to. Default: system.'),
  },
  {},
)

export const serviceModule: Module<any> = {
  name: 'service',
  description: 'Starts, stops, restarts or reloads a service and sets whether it starts at boot (systemd or SysV init).',
  schema: serviceSchema,
  async plan() {
    return { status: 'fail', msg: 'service: not implemented yet' }
  },
}

export const systemdModule: Module<any> = {
  name: 'systemd',
  aliases: ['systemd_service'],
  description: 'Controls a systemd unit: started/stopped/restarted/reloaded, enabled, masked, daemon-reload.',
  schema: systemdSchema,
  async plan() {
    return { status: 'fail', msg: 'systemd: not implemented yet' }
  },
}
