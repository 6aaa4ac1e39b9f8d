// apt / package: Debian packages present, absent or at the newest candidate. One dpkg-query probe
// answers every name at once; one apt-get command installs everything missing, so a run where
// all packages are there costs one round trip and changes nothing.
import type { Module } from './types.js'
import { alias, bool, choice, int, objectSchema, str, strList } from './provision-util.js'

const name = strList('Package names (a list, or one string with commas). `foo=1.2*` pins a version. Ansible also calls it `pkg` and `package`.')

export const aptSchema = objectSchema({
  name,
  pkg: alias('name', name),
  package: alias('name', name),
  state: choice(['present', 'absent', 'latest', 'fixed', 'build-dep'], '`present` installs what is missing, `latest` also upgrades to the candidate version, `absent` removes. Default: present.'),
  update_cache: bool('Run `apt-get update` first (skipped while the cache is younger than `cache_valid_time`).'),
  'update-cache': alias('update_cache', bool('')),
  cache_valid_time: int('Seconds the package lists stay fresh: `update_cache` is skipped when the last update is younger. Default 0 (always update).'),
  deb: str('Path on the host of a .deb file to install; skipped when that version is already installed.'),
  purge: bool('With state=absent, also remove configuration files.'),
  autoremove: bool('Remove packages no longer needed as dependencies.'),
  install_recommends: bool('Install recommended packages too (default: apt\'s own setting).'),
  'install-recommends': alias('install_recommends', bool('')),
  default_release: str('Target release (`apt-get -t`).'),
  'default-release': alias('default_release', str('')),
  force: bool('Pass --allow-downgrades --allow-remove-essential --allow-change-held-packages (dangerous).'),
  allow_downgrade: bool('Allow installing an older version than the installed one.'),
  allow_unauthenticated: bool('Install from unauthenticated sources.'),
  allow_change_held_packages: bool('Allow changing packages that are on hold.'),
  dpkg_options: str('dpkg options, comma-separated, each passed as `-o Dpkg::Options::=--OPT`. Default: force-confdef,force-confold.'),
  upgrade: choice(['no', 'yes', 'safe', 'full', 'dist'], 'Upgrade installed packages: yes/safe → `apt-get upgrade`, full/dist → `apt-get dist-upgrade`. Default: no.'),
  only_upgrade: bool('Only upgrade packages that are already installed; never install new ones.'),
  lock_timeout: int('Seconds to wait for the dpkg/apt lock held by another process before failing. Default 60.'),
  update_cache_retries: int('Retries of `apt-get update` (accepted for compatibility).'),
  update_cache_retry_max_delay: int('Accepted for compatibility.'),
  clean: bool('Run `apt-get clean`.'),
  autoclean: bool('Run `apt-get autoclean`.'),
  policy_rc_d: int('Accepted for compatibility (not used).'),
  force_apt_get: bool('Accepted for compatibility: apt-get is always used.'),
  fail_on_autoremove: bool('Accepted for compatibility.'),
})

export const aptModule: Module<any> = {
  name: 'apt',
  aliases: ['package'],
  description: 'Installs, upgrades or removes Debian packages with apt-get (one probe, one install command).',
  schema: aptSchema,
  async plan() {
    return { status: 'fail', msg: 'apt: not implemented yet' }
  },
}
