// timezone (community.general): the host's time zone and whether its hardware clock keeps local
// time, as community.general's module sets them on Linux: with `timedatectl` when it works (a
// systemd host), else Debian's way (/etc/timezone edited, /etc/localtime linked, `dpkg-reconfigure
// tzdata`). plan reads the current values the way the module does; apply runs its commands.
import { shQuote } from '../connection/quote.js'
import type { Module, Step } from './types.js'
import type { Vars } from '../model.js'
import { alias, choice, defineModule, planData, effectKey, guardPlan, moduleSchema, requireOneOf, sections, str, ArgError } from './lib/index.js'

const hwclock = choice(['local', 'UTC'], 'Whether the hardware clock keeps local time or UTC (systemd hosts: `timedatectl set-local-rtc`).')

export const timezoneSchema = moduleSchema(
  {
    name: str('The time zone, a name under /usr/share/zoneinfo (`Europe/Berlin`, `UTC`).'),
    hwclock,
    rtc: alias('hwclock', hwclock),
  },
  requireOneOf('name', 'hwclock', 'rtc'),
)

/** The module's regexps on `timedatectl status`: the zone name and local RTC as 'local' | 'UTC'. */
export function parseTimedatectl(status: string): { name?: string; hwclock?: string } {
  const name = /^\s*Time ?zone\s*:\s*(\S+)/m.exec(status)?.[1]
  const rtc = /^\s*RTC in local TZ\s*:\s*(\S+)/m.exec(status)?.[1]
  return { name, hwclock: rtc === undefined ? undefined : ['yes', 'on', '1', 'true', 'y'].includes(rtc.toLowerCase()) ? 'local' : 'UTC' }
}

/** Without systemd: the zone named in /etc/timezone, checked against /etc/localtime as the module checks it. */
export function debianZone(p: { etcTimezone?: string; link?: string; linkExists: boolean; isLink: boolean; sameAsZoneFile: boolean }, planned: string): string {
  if (p.etcTimezone === undefined) return 'n/a'
  const v = /^(\S+)/m.exec(p.etcTimezone)?.[1]
  if (v === undefined) return 'n/a'
  if (v !== planned) return v
  if (p.isLink) {
    if (!p.linkExists) return 'n/a'
    const m = /(?:\/(?:usr\/share|etc)\/zoneinfo\/)(.*)/.exec(p.link ?? '')
    if (!m) return 'n/a'
    return m[1] !== planned ? m[1] : v
  }
  return p.sameAsZoneFile ? v : 'n/a'
}

/** _edit_file: every line a zone name starts is dropped, the new one goes where the first was (or on top). */
export function editEtcTimezone(text: string, zone: string): { text: string; deleted: number } {
  const lines = text.split(/(?<=\n)/).filter((l) => l !== '')
  const matched = lines.map((l, i) => (/^\S+/.test(l) ? i : -1)).filter((i) => i >= 0)
  const at = matched.length ? matched[0] : 0
  for (const i of [...matched].reverse()) lines.splice(i, 1)
  lines.splice(at, 0, `${zone}\n`)
  return { text: lines.join(''), deleted: matched.length }
}

const logMsg = planData<string>()

const b64d = (s: string | undefined) => Buffer.from((s ?? '').trim(), 'base64').toString('utf8')

export const timezoneModule: Module = defineModule({
  readAhead: false,
  name: 'timezone',
  description: "Sets the host's time zone and hardware clock mode, as community.general's timezone module (timedatectl, or Debian's files).",
  schema: timezoneSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const name = args.name === undefined || args.name === null ? undefined : String(args.name)
      const hw = args.hwclock ?? args.rtc
      const clock = hw === undefined || hw === null ? undefined : String(hw)
      const zone = name === undefined ? '' : name
      const r = await ctx.reader.probe(
        [
          'echo @@tdc',
          't=$(command -v timedatectl) && timedatectl >/dev/null 2>&1 && echo "$t"',
          'echo @@status',
          '[ -n "$t" ] && timedatectl status 2>/dev/null | base64 | tr -d "\\n"; echo',
          'echo @@zonefile',
          `[ -f ${shQuote('/usr/share/zoneinfo/' + zone)} ] && echo yes`,
          'echo @@etctz',
          '[ -e /etc/timezone ] && base64 < /etc/timezone | tr -d "\\n" && echo && echo exists',
          'echo @@link',
          '[ -L /etc/localtime ] && { echo link; readlink /etc/localtime; [ -e /etc/localtime ] && echo exists; }',
          'echo @@cmp',
          `cmp -s /etc/localtime ${shQuote('/usr/share/zoneinfo/' + zone)} && echo same`,
          'echo @@dpkg',
          'command -v dpkg-reconfigure',
          'exit 0',
        ].join('\n'),
      )
      const s = sections(r.stdout.toString())
      const timedatectl = (s.tdc ?? '').trim()
      if (name !== undefined && (s.zonefile ?? '').trim() !== 'yes') return { status: 'fail', msg: `Error message:\ngiven timezone "${name}" is not available` }

      const before: Record<string, string> = {}
      const planned: Record<string, string> = {}
      const steps: Step[] = []
      const logged: string[] = []
      if (timedatectl) {
        const now = parseTimedatectl(b64d(s.status))
        if (clock !== undefined) {
          const pending = ctx.reader.pending(effectKey.timezone('hwclock'))
          before.hwclock = typeof pending === 'string' ? pending : (now.hwclock ?? 'UTC')
          planned.hwclock = clock
          if (before.hwclock !== clock) {
            const cmd = `${timedatectl} set-local-rtc ${clock === 'local' ? 'yes' : 'no'}`
            logged.push(`executed \`${cmd}\``)
            steps.push({ describe: cmd, script: cmd, effects: [{ key: effectKey.timezone('hwclock'), value: clock }] })
          }
        }
        if (name !== undefined) {
          const pending = ctx.reader.pending(effectKey.timezone('name'))
          before.name = typeof pending === 'string' ? pending : (now.name ?? 'n/a')
          planned.name = name
          if (before.name !== name) {
            const cmd = `${timedatectl} set-timezone ${name}`
            logged.push(`executed \`${cmd}\``)
            steps.push({
              describe: cmd,
              script: `${shQuote(timedatectl)} set-timezone ${shQuote(name)}`,
              effects: [
                { key: effectKey.timezone('name'), value: name },
                { path: '/etc/localtime', state: 'link', target: `../usr/share/zoneinfo/${name}` },
              ],
            })
          }
        }
      } else {
        if (clock !== undefined) throw new ArgError('hwclock without a working timedatectl (no systemd) is not supported by k3sbook')
        const dpkg = (s.dpkg ?? '').trim()
        if (!dpkg) throw new ArgError('a time zone without timedatectl is set the Debian way (dpkg-reconfigure tzdata), and this host has no dpkg-reconfigure')
        const et = (s.etctz ?? '').split('\n')
        const etcText = et[1]?.trim() === 'exists' ? b64d(et[0]) : undefined
        const link = (s.link ?? '').split('\n')
        const pending = ctx.reader.pending(effectKey.timezone('name'))
        before.name =
          typeof pending === 'string'
            ? pending
            : debianZone(
                {
                  etcTimezone: etcText,
                  isLink: link[0] === 'link',
                  link: link[1],
                  linkExists: link[2] === 'exists',
                  sameAsZoneFile: (s.cmp ?? '').trim() === 'same',
                },
                name!,
              )
        planned.name = name!
        if (before.name !== name) {
          const edit = editEtcTimezone(etcText ?? '', name!)
          logged.push(`Added 1 line and deleted ${edit.deleted} line(s) on /etc/timezone`)
          const zonefile = `/usr/share/zoneinfo/${name}`
          steps.push({
            describe: `set /etc/timezone, ln -sf ${zonefile} /etc/localtime, dpkg-reconfigure tzdata`,
            script: [
              `printf %s ${shQuote(edit.text)} > /etc/timezone`,
              `ln -sf ${shQuote(zonefile)} /etc/localtime`,
              `DEBIAN_FRONTEND=noninteractive ${shQuote(dpkg)} --frontend noninteractive tzdata`,
            ].join(' && '),
            effects: [
              { key: effectKey.timezone('name'), value: name },
              { path: '/etc/timezone', state: 'file', content: Buffer.from(`${name}\n`) },
              { path: '/etc/localtime', state: 'link', target: zonefile },
            ],
          })
        }
      }
      const result: Vars = { changed: steps.length > 0 }
      if (ctx.diff) result.diff = { before, after: planned }
      if (!steps.length) return { status: 'ok', result }
      return logMsg.attach(
        {
          status: 'change',
          changes: Object.keys(planned)
            .filter((k) => before[k] !== planned[k])
            .map((k) => ({ summary: `${k}: ${before[k]} → ${planned[k]}` })),
          steps,
          result,
        },
        logged.join('\n'),
      )
    }),
  // the module's msg: what it executed or edited (only after a run)
  result: (plan, steps) => {
    const r: Vars = { ...((plan as { result?: Vars }).result ?? {}) }
    const msg = logMsg.of(plan)
    if (steps?.length && msg) r.msg = msg
    return r
  },
})
