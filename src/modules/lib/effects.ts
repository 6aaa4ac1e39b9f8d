// Non-file effects a step declares, so check mode can tell later plans what earlier planned steps
// would have done (a package installed, a service started). The keys are built here, in one
// place, so a module that depends on another module's effect (zfs on apt's packages and on
// service's units) asks for it by meaning, never by spelling the other module's key.

export type EffectKey =
  | `pkg:${string}`
  | 'apt:cache'
  | `service:${string}`
  | `service-boot:${string}`
  | `user:${string}`
  | `group:${string}`
  | 'hostname'
  | `kmod:${string}`
  | `mount:${string}`
  | `sysctl:${string}`
  | `fs:${string}`
  | `dev:${string}`
  | `zpool:${string}`
  | `zfs:${string}`
  | `tmp:${string}`
  | `crontab:${string}`
  | `timezone:${string}`
  | `aptkey:${string}`
  | 'boot'

export const effectKey = {
  /** A Debian package (value 'present' | 'absent'). */
  pkg: (name: string): EffectKey => `pkg:${name}`,
  /** apt's package lists (value 'updated'). */
  aptCache: (): EffectKey => 'apt:cache',
  /** A service's running state (value 'started' | 'stopped'). */
  service: (name: string): EffectKey => `service:${name}`,
  /** A service's boot state (value the systemctl verb: 'enable', 'disable', 'mask', ...). */
  serviceBoot: (name: string): EffectKey => `service-boot:${name}`,
  user: (name: string): EffectKey => `user:${name}`,
  group: (name: string): EffectKey => `group:${name}`,
  hostname: (): EffectKey => 'hostname',
  /** A kernel module loaded (value 'present' | 'absent'). */
  kmod: (name: string): EffectKey => `kmod:${name}`,
  /** A mount point (value 'mounted' | 'unmounted'). */
  mount: (path: string): EffectKey => `mount:${path}`,
  sysctl: (key: string): EffectKey => `sysctl:${key}`,
  /** The file system on a device (value its type, or 'absent'). */
  fs: (device: string): EffectKey => `fs:${device}`,
  /** A block device made by an earlier step (value 'present'). */
  dev: (path: string): EffectKey => `dev:${path}`,
  zpool: (name: string, prop?: string): EffectKey => `zpool:${name}${prop === undefined ? '' : `:${prop}`}`,
  zfs: (name: string, prop?: string): EffectKey => `zfs:${name}${prop === undefined ? '' : `:${prop}`}`,
  /** A new file or directory with a name made up on the host (tempfile), in this directory (value 'file' | 'directory'). */
  tempIn: (dir: string): EffectKey => `tmp:${dir}`,
  /** The host restarted (value 'rebooted'): what lives in memory (/run, /tmp on tmpfs, started services) starts over. */
  boot: (): EffectKey => 'boot',
  /** A user's crontab (value its text; '' : the connecting user's). */
  crontab: (user: string): EffectKey => `crontab:${user}`,
  /** The host's time zone setting (`name` or `hwclock`; value what it is set to). */
  timezone: (key: 'name' | 'hwclock'): EffectKey => `timezone:${key}`,
  /** An OpenPGP key (its last 8 hex digits) in an apt-key keyring ('' : the default; value 'present' | 'absent'). */
  aptKey: (keyring: string, shortId: string): EffectKey => `aptkey:${keyring}:${shortId}`,
}
