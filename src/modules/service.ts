// service / systemd: a service's running state and whether it starts at boot. The init system is
// detected on the host (systemd when /run/systemd/system exists, else SysV init scripts), so one
// task works on both; the current state comes from one probe parsed by pure functions.
import { shQuote } from '../connection/quote.js'
import type { Module, Step, PlanContext } from './types.js'
import {
  alias,
  ArgError,
  bool,
  choice,
  guardPlan,
  int,
  moduleSchema,
  parseKeyValues,
  pick,
  requireOneOf,
  sections,
  str,
  toBool,
  toInt,
  effectKey,
  defineModule,
} from './lib/index.js'

const name = str('Service (unit) name, e.g. `ssh` or `k3s.service`.')
const state = choice(['started', 'stopped', 'restarted', 'reloaded'], '`started`/`stopped` change only when needed; `restarted` and `reloaded` always act.')

export const serviceSchema = moduleSchema(
  {
    name,
    state,
    enabled: bool('Start at boot (systemd: enable/disable; SysV: update-rc.d links).'),
    daemon_reload: bool(
      'Run `systemctl daemon-reload` before the unit is started or stopped (systemd only; an enable or disable in the same task goes first, with --no-reload, so systemd reloads once).',
    ),
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

export const systemdSchema = moduleSchema(
  {
    name,
    unit: alias('name', name),
    service: alias('name', name),
    state,
    enabled: bool('Start at boot (`systemctl enable`/`disable`).'),
    masked: bool('Mask (true) or unmask (false) the unit.'),
    daemon_reload: bool(
      'Run `systemctl daemon-reload` before the unit is started or stopped (also allowed without a name; an enable, disable, mask or unmask in the same task goes first, with --no-reload, so systemd reloads once).',
    ),
    'daemon-reload': alias('daemon_reload', bool('')),
    daemon_reexec: bool('Run `systemctl daemon-reexec` before anything else.'),
    'daemon-reexec': alias('daemon_reexec', bool('')),
    force: bool('Pass --force to enable/disable (overrides existing links).'),
    no_block: bool('Do not wait for the start/stop job to finish (`--no-block`).'),
    scope: choice(['system', 'user', 'global'], 'systemd manager to talk to. Default: system.'),
  },
  {},
)

export interface UnitState {
  loaded: boolean
  active: 'active' | 'inactive' | 'failed' | 'activating' | 'deactivating' | 'reloading' | string
  unitFileState: string
  masked: boolean
  props: Record<string, string>
}

/** Parses `systemctl show NAME --property=…` output. */
export function parseSystemctlShow(text: string): UnitState {
  const p = parseKeyValues(text)
  return {
    loaded: p.LoadState === 'loaded',
    active: p.ActiveState ?? 'inactive',
    unitFileState: p.UnitFileState ?? '',
    masked: p.LoadState === 'masked' || p.UnitFileState === 'masked' || p.UnitFileState === 'masked-runtime',
    props: p,
  }
}

export interface Want {
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded'
  enabled?: boolean
  masked?: boolean
}

export interface Current {
  running: boolean
  /** undefined: cannot tell (static units, SysV without links). */
  enabled?: boolean
  masked: boolean
}

/** What must be done, in order. restarted/reloaded always act (Ansible). */
export function serviceActions(cur: Current, want: Want): Array<'mask' | 'unmask' | 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload'> {
  const a: ReturnType<typeof serviceActions> = []
  if (want.masked === false && cur.masked) a.push('unmask')
  if (want.enabled === true && cur.enabled !== true) a.push('enable')
  if (want.enabled === false && cur.enabled !== false) a.push('disable')
  if (want.masked === true && !cur.masked) a.push('mask')
  if (want.state === 'started' && !cur.running) a.push('start')
  if (want.state === 'stopped' && cur.running) a.push('stop')
  if (want.state === 'restarted') a.push(cur.running ? 'restart' : 'start')
  if (want.state === 'reloaded') a.push(cur.running ? 'reload' : 'start')
  return a
}

/** SysV: enabled when some rc2..5 directory, or rcS.d for boot-time scripts (Default-Start: S), has an S link to the script. */
export function sysvEnabled(rcLinks: string): boolean | undefined {
  const names = rcLinks
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  if (names.length === 0) return undefined
  return names.some((n) => /\/rc[2-5S]\.d\/S/.test(n))
}

/**
 * LSB status exit codes: 0 running, 1-3 not running; 4 unknown. A `pattern` (pgrep's answer)
 * wins over the status code, as in Ansible: scripts without a status action (tinc's) answer
 * their usage text with exit 0 or 1, which says nothing about the daemon.
 */
export function sysvRunning(statusRc: number, pgrepRc?: number): boolean | undefined {
  if (pgrepRc !== undefined) return pgrepRc === 0
  if (statusRc === 0) return true
  if (statusRc >= 1 && statusRc <= 3) return false
  if (pgrepRc !== undefined) return pgrepRc === 0
  return undefined
}

const SHOW_PROPS = 'Id,Names,LoadState,ActiveState,SubState,UnitFileState,MainPID,FragmentPath,Description,NeedDaemonReload'

function probe(name: string, use: string, pattern?: string): string {
  const n = shQuote(name)
  return [
    'LC_ALL=C; export LC_ALL',
    use === 'systemd' || use === 'auto'
      ? 'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then init=systemd; else init=sysv; fi'
      : `init=${use === 'service' ? 'sysv' : use}`,
    'echo "@@init"; echo "$init"',
    'if [ "$init" = systemd ]; then',
    `  echo @@show; systemctl show ${n} --property=${SHOW_PROPS} --no-pager 2>&1`,
    'else',
    `  s=${shQuote(`/etc/init.d/${name}`)}`,
    '  echo @@script; [ -x "$s" ] && echo yes || echo no',
    '  echo @@status; if [ -x "$s" ]; then "$s" status >/dev/null 2>&1; echo $?; else echo 4; fi',
    // The probe's own shell may carry the pattern in its command line: leave it out.
    pattern ? `  echo @@pgrep; pgrep -f ${shQuote(pattern)} 2>/dev/null | grep -qvx "$$"; echo $?` : '  :',
    `  echo @@links; ls -1 /etc/rc[0-6S].d/[SK][0-9][0-9]${name.replace(/[^A-Za-z0-9_.@-]/g, '')} 2>/dev/null`,
    'fi',
    'echo @@end',
  ].join('\n')
}

async function planService(args: Record<string, any>, ctx: PlanContext, systemdOnly: boolean) {
  const name = pick<string>(args, 'name', 'unit', 'service')
  const state = args.state as Want['state']
  const want: Want = { state, enabled: toBool(args.enabled), masked: toBool(args.masked) }
  const daemonReload = toBool(pick(args, 'daemon_reload', 'daemon-reload'), false)
  const daemonReexec = toBool(pick(args, 'daemon_reexec', 'daemon-reexec'), false)
  if (!name && !daemonReload && !daemonReexec) throw new ArgError(`${systemdOnly ? 'systemd' : 'service'}: name is required`)
  if (name && !state && want.enabled === undefined && want.masked === undefined && !daemonReload && !daemonReexec)
    throw new ArgError(`${systemdOnly ? 'systemd' : 'service'}: give at least one of state, enabled${systemdOnly ? ', masked or daemon_reload' : ''}`)
  const steps: Step[] = []
  const changes: { summary: string }[] = []
  const flags = [toBool(args.no_block, false) ? '--no-block' : '', args.scope && args.scope !== 'system' ? `--${args.scope}` : ''].filter(Boolean).join(' ')
  const sc = (verb: string, unit?: string) => `systemctl ${flags ? flags + ' ' : ''}${verb}${unit ? ' ' + shQuote(unit) : ''}`
  if (daemonReexec) steps.push({ describe: 'systemctl daemon-reexec', script: sc('daemon-reexec') })
  const reloadStep: Step = { describe: 'systemctl daemon-reload', script: sc('daemon-reload') }
  if (!name) {
    // Ansible's systemd module runs a daemon-reload (or -reexec) without a unit and reports no change
    // (it changes nothing a playbook manages); in check mode it runs nothing
    if (ctx.check) return { status: 'ok' as const, result: { changed: false } }
    return {
      status: 'change' as const,
      changes: [{ summary: daemonReexec ? 'daemon-reexec' : 'daemon-reload' }],
      steps: daemonReload ? [...steps, reloadStep] : steps,
      result: { changed: false },
    }
  }
  const use = systemdOnly ? 'systemd' : String(args.use ?? 'auto')
  const r = await ctx.reader.probe(probe(name, use, args.pattern))
  const s = sections(r.stdout.toString('utf8'))
  const init = (s.init ?? '').trim()
  let cur: Current
  let status: Record<string, string> = {}
  if (init === 'systemd') {
    const u = parseSystemctlShow(s.show ?? '')
    status = u.props
    const pending = ctx.reader.pending(effectKey.service(name))
    // check mode: a unit file an earlier planned task writes is a unit that is neither running nor enabled yet
    const planned = !u.loaded && !u.masked && !pending ? await plannedFile(ctx, unitPaths(name)) : undefined
    if (!u.loaded && !u.masked && !pending && !planned)
      return { status: 'fail' as const, msg: `Could not find the requested service ${name}: systemd has no such unit` }
    cur = planned
      ? { running: false, enabled: false, masked: false }
      : {
          running: ['active', 'activating', 'reloading'].includes(u.active),
          enabled: u.unitFileState.startsWith('enabled') ? true : ['disabled', 'masked'].includes(u.unitFileState) ? false : undefined,
          masked: u.masked,
        }
    if (pending === 'started' || pending === 'stopped') cur.running = pending === 'started'
    // enable/disable/mask/unmask each make systemd reload itself; with daemon_reload asked for, they
    // run first with --no-reload and the one daemon-reload after them serves both (the end state is
    // Ansible's: the manager has the unit's file and its links, then the unit starts) — a first run
    // of a new service reloads systemd once, not twice. serviceActions lists those before the rest.
    const fileOps = (a: string) => a === 'enable' || a === 'disable' || a === 'mask' || a === 'unmask'
    const actions = serviceActions(cur, want)
    const deferReload = daemonReload && !daemonReexec && actions.some(fileOps)
    const step = (a: (typeof actions)[number]): Step => ({
      describe: `systemctl ${a} ${name}`,
      script:
        sc(a, name) + (toBool(args.force, false) && (a === 'enable' || a === 'disable') ? ' --force' : '') + (deferReload && fileOps(a) ? ' --no-reload' : ''),
      effects: effectOf(name, a),
    })
    if (deferReload) steps.push(...actions.filter(fileOps).map(step), reloadStep, ...actions.filter((a) => !fileOps(a)).map(step))
    else steps.push(...(daemonReload ? [reloadStep] : []), ...actions.map(step))
    for (const a of actions) changes.push({ summary: `${a} ${name}` })
  } else {
    if (systemdOnly) return { status: 'fail' as const, msg: `systemd: the host does not run systemd (no /run/systemd/system); use the service module` }
    if (daemonReload) steps.push(reloadStep)
    const plannedScript =
      (s.script ?? '').trim() !== 'yes' && !ctx.reader.pending(effectKey.service(name)) ? await plannedFile(ctx, [`/etc/init.d/${name}`]) : undefined
    if ((s.script ?? '').trim() !== 'yes' && !ctx.reader.pending(effectKey.service(name)) && !plannedScript)
      return { status: 'fail' as const, msg: `Could not find the requested service ${name}: no /etc/init.d/${name}` }
    const running = plannedScript ? false : sysvRunning(Number((s.status ?? '4').trim()), s.pgrep === undefined ? undefined : Number(s.pgrep.trim()))
    if (running === undefined && (want.state === 'started' || want.state === 'stopped'))
      return {
        status: 'unknown' as const,
        reason: `cannot tell whether ${name} runs (its init script has no status; give pattern)`,
        steps: [sysvStep(name, want.state === 'started' ? 'start' : 'stop', args)],
      }
    if (want.masked !== undefined) return { status: 'fail' as const, msg: 'service: masked needs systemd' }
    cur = { running: running ?? false, enabled: sysvEnabled(s.links ?? ''), masked: false }
    for (const a of serviceActions(cur, want)) {
      changes.push({ summary: `${a} ${name}` })
      steps.push(
        a === 'enable' || a === 'disable'
          ? {
              describe: `update-rc.d ${name} ${a}`,
              script:
                a === 'enable'
                  ? `update-rc.d ${shQuote(name)} defaults >/dev/null && update-rc.d ${shQuote(name)} enable`
                  : `update-rc.d ${shQuote(name)} disable`,
              effects: effectOf(name, a),
            }
          : { ...sysvStep(name, a, args), effects: effectOf(name, a) },
      )
    }
  }
  const result = { name, state: want.state ?? (cur.running ? 'started' : 'stopped'), enabled: want.enabled ?? cur.enabled ?? false, status }
  if (steps.length === 0) return { status: 'ok' as const, result: { ...result, changed: false } }
  // daemon_reload alone changes nothing when systemd already has the unit's file as it is on disk
  // (Ansible runs the reload anyway and reports no change either): a re-run stays changed=0
  if (changes.length === 0 && !daemonReexec && init === 'systemd' && status.NeedDaemonReload === 'no')
    return { status: 'ok' as const, result: { ...result, changed: false } }
  if (changes.length === 0) changes.push({ summary: 'daemon-reload' })
  return { status: 'change' as const, changes, steps, result: { ...result, changed: true } }
}

/** Where systemd looks for a unit's file. */
function unitPaths(name: string): string[] {
  const unit = name.includes('.') ? name : `${name}.service`
  return ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'].map((d) => `${d}/${unit}`)
}

/** Check mode: the first of these files that only an earlier planned step writes (the host has none yet). */
async function plannedFile(ctx: PlanContext, paths: string[]): Promise<string | undefined> {
  if (!ctx.reader.hasPending()) return undefined
  const info = await ctx.reader.files(paths)
  return paths.find((p) => info.get(p)?.exists && info.get(p)?.type === 'file')
}

function sysvStep(name: string, verb: string, args: Record<string, any>): Step {
  const extra = args.arguments ?? args.args
  const tail = extra ? ' ' + String(extra) : ''
  const svc = shQuote(name)
  if (verb === 'restart' && args.sleep) {
    return {
      describe: `service ${name} restart`,
      script: `if command -v service >/dev/null 2>&1; then service ${svc} stop${tail}; sleep ${toInt(args.sleep, 1)}; service ${svc} start${tail}; else /etc/init.d/${svc} stop${tail}; sleep ${toInt(args.sleep, 1)}; /etc/init.d/${svc} start${tail}; fi`,
    }
  }
  return {
    describe: `service ${name} ${verb}`,
    script: `if command -v service >/dev/null 2>&1; then service ${svc} ${verb}${tail}; else /etc/init.d/${svc} ${verb}${tail}; fi`,
  }
}

function effectOf(name: string, a: string) {
  if (a === 'start' || a === 'restart' || a === 'reload') return [{ key: effectKey.service(name), value: 'started' }]
  if (a === 'stop') return [{ key: effectKey.service(name), value: 'stopped' }]
  return [{ key: effectKey.serviceBoot(name), value: a }]
}

export const serviceModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'service',
  description: 'Starts, stops, restarts or reloads a service and sets whether it starts at boot (systemd or SysV init).',
  schema: serviceSchema,
  plan: (args, ctx) => guardPlan(() => planService(args, ctx, false)),
})

export const systemdModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'systemd',
  aliases: ['systemd_service'],
  description: 'Controls a systemd unit: started/stopped/restarted/reloaded, enabled, masked, daemon-reload.',
  schema: systemdSchema,
  plan: (args, ctx) => guardPlan(() => planService(args, ctx, true)),
  // a daemon-reload alone ran and changed nothing (its plan's result says so)
  result: (plan) => plan.result ?? {},
})
