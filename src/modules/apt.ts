// apt / package: Debian packages present, absent or at the newest candidate. One dpkg-query probe
// answers every name at once; one apt-get command installs everything missing, so a run where
// all packages are there costs one round trip and changes nothing.
import { shQuote } from '../connection/quote.js'
import type { Module, Step, Plan } from './types.js'
import {
  alias,
  bool,
  choice,
  guardPlan,
  int,
  moduleSchema,
  pick,
  sections,
  stepOutput,
  str,
  strList,
  toBool,
  toInt,
  toList,
  ArgError,
  effectKey,
  defineModule,
} from './lib/index.js'

const name = strList('Package names (a list, or one string with commas). `foo=1.2*` pins a version. Ansible also calls it `pkg` and `package`.')

export const aptSchema = moduleSchema({
  name,
  pkg: alias('name', name),
  package: alias('name', name),
  state: choice(
    ['present', 'absent', 'latest', 'fixed', 'build-dep'],
    '`present` installs what is missing, `latest` also upgrades to the candidate version, `absent` removes. Default: present.',
  ),
  update_cache: bool('Run `apt-get update` first (skipped while the cache is younger than `cache_valid_time`).'),
  'update-cache': alias('update_cache', bool('')),
  cache_valid_time: int('Seconds the package lists stay fresh: `update_cache` is skipped when the last update is younger. Default 0 (always update).'),
  deb: str('Path on the host of a .deb file to install; skipped when that version is already installed.'),
  purge: bool('With state=absent, also remove configuration files.'),
  autoremove: bool('Remove packages no longer needed as dependencies.'),
  install_recommends: bool("Install recommended packages too (default: apt's own setting)."),
  'install-recommends': alias('install_recommends', bool('')),
  default_release: str('Target release (`apt-get -t`).'),
  'default-release': alias('default_release', str('')),
  force: bool('Pass --allow-downgrades --allow-remove-essential --allow-change-held-packages (dangerous).'),
  allow_downgrade: bool('Allow installing an older version than the installed one.'),
  allow_unauthenticated: bool('Install from unauthenticated sources.'),
  allow_change_held_packages: bool('Allow changing packages that are on hold.'),
  dpkg_options: str('dpkg options, comma-separated, each passed as `-o Dpkg::Options::=--OPT`. Default: force-confdef,force-confold.'),
  upgrade: choice(
    ['no', 'yes', 'safe', 'full', 'dist'],
    'Upgrade installed packages: yes/safe → `apt-get upgrade`, full/dist → `apt-get dist-upgrade`. Default: no.',
  ),
  only_upgrade: bool('Only upgrade packages that are already installed; never install new ones.'),
  lock_timeout: int('Seconds to wait for the dpkg/apt lock held by another process before failing. Default 60.'),
  update_cache_retries: int('Retries of `apt-get update` (accepted for compatibility).'),
  update_cache_retry_max_delay: int('Accepted for compatibility.'),
  clean: bool('Run `apt-get clean`.'),
  autoclean: bool('Run `apt-get autoclean`.'),
  policy_rc_d: int('Accepted for compatibility (not used).'),
  force_apt_get: bool('Accepted for compatibility: apt-get is always used.'),
  fail_on_autoremove: bool('Accepted for compatibility.'),
  use: str(
    "`package`'s package manager: `auto` (the default) or `apt`; k3sbook manages Debian packages with apt only, so any other fails the task (an omitted value is Ansible's default).",
  ),
})

export interface DpkgState {
  installed: boolean
  version?: string
}

/** The listing of every package dpkg knows, one per line: name, architecture, status, version. */
export const DPKG_LIST = `dpkg-query -W -f='\${Package}\\t\${Architecture}\\t\${db:Status-Abbrev}\\t\${Version}\\n' 2>/dev/null`

/**
 * Parses dpkg-query output, either DPKG_LIST's four fields or `${Package}\t${db:Status-Abbrev}\t${Version}`
 * (names possibly arch-qualified): `ii ` means installed. Keyed by name and by name:arch.
 */
export function parseDpkgQuery(out: string): Map<string, DpkgState> {
  const m = new Map<string, DpkgState>()
  const put = (key: string, s: DpkgState) => {
    if (!m.get(key)?.installed) m.set(key, s)
  }
  for (const line of out.split('\n')) {
    const f = line.split('\t')
    let pkg: string, arch: string | undefined, status: string | undefined, version: string | undefined
    if (f.length >= 4) [pkg, arch, status, version] = f
    else [pkg, status, version] = f
    if (!pkg || status === undefined) continue
    const qual = /^(.*):([a-z0-9]+)$/.exec(pkg) // multiarch suffix
    if (qual) [pkg, arch] = [qual[1], qual[2]]
    const installed = /^.i/.test(status)
    const s = { installed, version: installed ? version : undefined }
    put(pkg, s)
    if (arch) put(`${pkg}:${arch}`, s)
  }
  return m
}

export interface Wanted {
  name: string
  /** `foo=1.2*`: a version glob. */
  version?: string
}

export function parseWanted(spec: string): Wanted {
  const i = spec.indexOf('=')
  return i > 0 ? { name: spec.slice(0, i), version: spec.slice(i + 1) } : { name: spec }
}

function globMatch(glob: string, s: string): boolean {
  const re = new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  )
  return re.test(s)
}

/**
 * dpkg's state of one package (`name` or `name:arch`), from only the lines about it: the listing
 * of every package has a thousand or more lines, and an apt task asks about a few names.
 */
export function dpkgState(dpkgOut: string, pkg: string): DpkgState | undefined {
  const base = pkg.replace(/:[a-z0-9]+$/, '')
  const lines: string[] = []
  for (const prefix of [`${base}\t`, `${base}:`]) {
    let at = dpkgOut.startsWith(prefix) ? 0 : -1
    if (at < 0) at = dpkgOut.indexOf('\n' + prefix) + 1 || -1
    while (at >= 0) {
      const end = dpkgOut.indexOf('\n', at)
      lines.push(dpkgOut.slice(at, end < 0 ? undefined : end))
      if (end < 0) break
      at = dpkgOut.indexOf('\n' + prefix, end) + 1 || -1
    }
  }
  return lines.length ? parseDpkgQuery(lines.join('\n')).get(pkg) : undefined
}

/** Packages (as given, with their pins) not installed, or installed at a version that does not match the pin. */
export function missingPackages(dpkgOut: string, wanted: string[]): string[] {
  return wanted.filter((w) => {
    const { name, version } = parseWanted(w)
    const s = dpkgState(dpkgOut, name)
    return !s?.installed || (version !== undefined && !globMatch(version, s.version ?? ''))
  })
}

export function installedPackages(dpkgOut: string, wanted: string[]): string[] {
  return wanted.filter((w) => dpkgState(dpkgOut, parseWanted(w).name)?.installed)
}

/** Parses `apt-cache policy A B …` into installed and candidate versions ('(none)' → undefined). */
export function parseAptPolicy(out: string): Map<string, { installed?: string; candidate?: string }> {
  const m = new Map<string, { installed?: string; candidate?: string }>()
  let cur: { installed?: string; candidate?: string } | undefined
  for (const line of out.split('\n')) {
    const head = /^(\S+):$/.exec(line)
    if (head) {
      cur = {}
      m.set(head[1].replace(/:[a-z0-9]+$/, ''), cur)
      continue
    }
    const f = /^\s+(Installed|Candidate):\s+(\S+)/.exec(line)
    if (cur && f) {
      const v = f[2] === '(none)' ? undefined : f[2]
      if (f[1] === 'Installed') cur.installed = v
      else cur.candidate = v
    }
  }
  return m
}

/** Installed packages whose candidate is newer (differs from) the installed version. */
export function upgradablePackages(policyOut: string, names: string[]): string[] {
  const p = parseAptPolicy(policyOut)
  return names.filter((n) => {
    const s = p.get(n)
    return s?.installed !== undefined && s.candidate !== undefined && s.candidate !== s.installed
  })
}

/** Whether `apt-get update` can be skipped: the last successful update is younger than validSeconds. */
export function cacheIsFresh(lastUpdate: number | undefined, now: number, validSeconds: number): boolean {
  return validSeconds > 0 && lastUpdate !== undefined && now - lastUpdate < validSeconds
}

const STAMP = '/var/lib/apt/periodic/update-success-stamp'

function probeScript(names: string[], wantPolicy: boolean, deb?: string): string {
  const q = names.map(shQuote).join(' ')
  return [
    'LC_ALL=C; export LC_ALL',
    'echo @@dpkg',
    // Every package, not just these names: the script is then the same for every apt task, and
    // a read-ahead asks it once per host (dpkg-query costs the same either way: it loads its database).
    names.length || deb ? DPKG_LIST : ':',
    'echo @@policy',
    wantPolicy && names.length ? `apt-cache policy ${q} 2>/dev/null` : ':',
    'echo @@stamp',
    // one stat for both: the first line is the stamp's when it exists, else the lists' (one program fewer)
    `stat -c %Y -- ${STAMP} /var/lib/apt/lists 2>/dev/null || :`,
    'echo @@now',
    'date +%s',
    'echo @@deb',
    deb ? `dpkg-deb -f ${shQuote(deb)} Package Version 2>&1 || echo "k3sbook:nodeb"` : ':',
    'echo @@end',
  ].join('\n')
}

/**
 * apt-get with apt's own lock wait (DPkg::Lock::Timeout, apt ≥ 1.9.11): another apt or dpkg
 * holding the lock makes it wait up to lock_timeout seconds, then fail with apt's message naming
 * the process that holds it.
 */
function aptGet(args: string[], o: { lockTimeout: number; dpkgOptions: string[]; extra: string[] }): string {
  const opts = ['-y', '-o', `DPkg::Lock::Timeout=${o.lockTimeout}`, ...o.dpkgOptions.flatMap((d) => ['-o', `Dpkg::Options::=--${d}`]), ...o.extra]
  return `apt-get ${[...opts, ...args].map(shQuote).join(' ')}`
}

const ENV = { DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a', LC_ALL: 'C' }

export const aptModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'apt',
  aliases: ['package'],
  description: 'Installs, upgrades or removes Debian packages with apt-get (one probe, one install command).',
  schema: aptSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const state = String(args.state ?? 'present')
      if (state === 'build-dep' || state === 'fixed') throw new ArgError(`apt: state=${state} is not supported by k3sbook`)
      const use = args.use === undefined ? 'auto' : String(args.use)
      if (!['auto', 'apt', 'ansible.builtin.apt'].includes(use))
        throw new ArgError(`package: use=${use}: k3sbook manages Debian packages with apt only (use auto or apt, or leave it out)`)
      const names = toList(pick(args, 'name', 'pkg', 'package'))
      const deb = args.deb === undefined ? undefined : String(args.deb)
      const upgrade = String(args.upgrade ?? 'no')
      const updateCache = toBool(pick(args, 'update_cache', 'update-cache'), false)
      const validTime = toInt(args.cache_valid_time, 0)
      const lockTimeout = toInt(args.lock_timeout, 60)
      const bare = names.map((n) => parseWanted(n).name)
      const r = await ctx.reader.probe(probeScript(bare, state === 'latest', deb))
      const s = sections(r.stdout.toString('utf8'))
      const dpkgOut = s.dpkg ?? ''
      const stamp = (s.stamp ?? '').trim().split('\n')[0]
      const lastUpdate = stamp ? Number(stamp) : undefined
      const now = Number(s.now?.trim())
      const extra: string[] = []
      const ir = pick(args, 'install_recommends', 'install-recommends')
      if (ir !== undefined) extra.push(toBool(ir) ? '--install-recommends' : '--no-install-recommends')
      const rel = pick<string>(args, 'default_release', 'default-release')
      if (rel) extra.push('-t', rel)
      if (toBool(args.force, false)) extra.push('--allow-downgrades', '--allow-remove-essential', '--allow-change-held-packages')
      if (toBool(pick(args, 'allow_downgrade'), false)) extra.push('--allow-downgrades')
      if (toBool(args.allow_unauthenticated, false)) extra.push('--allow-unauthenticated')
      if (toBool(args.allow_change_held_packages, false)) extra.push('--allow-change-held-packages')
      if (toBool(args.only_upgrade, false)) extra.push('--only-upgrade')
      const o = {
        lockTimeout,
        dpkgOptions: String(args.dpkg_options ?? 'force-confdef,force-confold')
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
        extra,
      }
      const steps: Step[] = []
      const changes: { summary: string }[] = []
      const env = ENV
      const timeoutMs = (lockTimeout + 1800) * 1000
      const needUpdate = updateCache && !cacheIsFresh(lastUpdate, now, validTime)
      if (needUpdate)
        steps.push({
          describe: 'apt-get update',
          script: aptGet(['update'], { ...o, extra: [] }),
          env,
          timeoutMs,
          effects: [{ key: effectKey.aptCache(), value: 'updated' }],
        })
      let toInstall: string[] = []
      let toRemove: string[] = []
      if (state === 'present' || state === 'latest') {
        // In check mode, a package an earlier task would install counts as installed.
        toInstall = missingPackages(dpkgOut, names).filter((n) => ctx.reader.pending(effectKey.pkg(parseWanted(n).name)) !== 'present')
        if (state === 'latest') {
          const up = upgradablePackages(s.policy ?? '', bare).filter((n) => !toInstall.some((t) => parseWanted(t).name === n))
          toInstall.push(...up)
        }
      } else if (state === 'absent') {
        toRemove = installedPackages(dpkgOut, bare)
      }
      if (deb) {
        const f = Object.fromEntries(
          (s.deb ?? '')
            .split('\n')
            .map((l) => /^(\w+): (.*)$/.exec(l))
            .filter((m): m is RegExpExecArray => !!m)
            .map((m) => [m[1], m[2]]),
        )
        if (!f.Package) return { status: 'fail', msg: `apt: cannot read the package file ${deb}: ${(s.deb ?? '').replace('k3sbook:nodeb', '').trim()}` }
        const cur = dpkgState(dpkgOut, f.Package)
        if (!cur?.installed || cur.version !== f.Version) toInstall.push(deb)
      }
      if (toInstall.length) {
        changes.push({ summary: `install ${toInstall.join(' ')}` })
        steps.push({
          describe: `apt-get install ${toInstall.join(' ')}`,
          script: aptGet(['install', ...toInstall], o),
          env,
          timeoutMs,
          effects: toInstall.map((n) => ({ key: effectKey.pkg(n === deb ? n : parseWanted(n).name), value: 'present' })),
        })
      }
      if (toRemove.length) {
        changes.push({ summary: `remove ${toRemove.join(' ')}` })
        steps.push({
          describe: `apt-get remove ${toRemove.join(' ')}`,
          script: aptGet([toBool(args.purge, false) ? 'purge' : 'remove', ...toRemove], o),
          env,
          timeoutMs,
          effects: toRemove.map((n) => ({ key: effectKey.pkg(n), value: 'absent' })),
        })
      }
      if (upgrade !== 'no') {
        changes.push({ summary: `upgrade (${upgrade})` })
        steps.push({
          describe: `apt-get ${upgrade === 'full' || upgrade === 'dist' ? 'dist-upgrade' : 'upgrade'}`,
          script: aptGet([upgrade === 'full' || upgrade === 'dist' ? 'dist-upgrade' : 'upgrade'], o),
          env,
          timeoutMs,
        })
      }
      if (toBool(args.autoremove, false)) steps.push({ describe: 'apt-get autoremove', script: aptGet(['autoremove'], o), env, timeoutMs })
      if (toBool(args.autoclean, false)) steps.push({ describe: 'apt-get autoclean', script: aptGet(['autoclean'], o), env, timeoutMs })
      if (toBool(args.clean, false)) steps.push({ describe: 'apt-get clean', script: aptGet(['clean'], o), env, timeoutMs })
      const result = { cache_updated: false, cache_update_time: lastUpdate ?? null }
      if (steps.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      if (needUpdate && changes.length === 0) changes.push({ summary: 'update the package cache' })
      const plan: Plan = { status: 'change', changes, steps, result }
      return plan
    }),
  result(plan, steps) {
    const base = { ...(plan.result ?? {}) }
    if (plan.status !== 'change') return base
    if (!steps) return { ...base, changed: true }
    const o = stepOutput(steps)
    const updated = steps.some((s) => s.step.describe === 'apt-get update' && s.rc === 0)
    // An upgrade or autoremove with nothing to do changes nothing: apt says "0 upgraded, 0 newly installed, 0 to remove".
    const idle = steps.every((s) => s.step.describe === 'apt-get update' || /\b0 upgraded, 0 newly installed, 0 to remove\b/.test(s.stdout.toString()))
    return {
      ...base,
      ...o,
      cache_updated: updated,
      cache_update_time: updated ? Math.floor(Date.now() / 1000) : base.cache_update_time,
      changed: !idle || (updated && steps.length === 1),
    }
  },
})
