// hostname: the host's name, now and at boot. One probe reads the running name (`hostname`), the
// static one (/etc/hostname) and whether systemd runs; on systemd `hostnamectl set-hostname`
// sets both, elsewhere /etc/hostname is written atomically and `hostname NAME` sets the running one.
import { shQuote } from '../connection/quote.js'
import type { Change, Module, Step } from './types.js'
import { ArgError, choice, guardPlan, moduleSchema, sections, str, writeFileStep, effectKey, defineModule } from './lib/index.js'

export const hostnameSchema = moduleSchema(
  {
    name: str('The host name (a FQDN is allowed; /etc/hostname gets it as written).'),
    use: choice(
      ['systemd', 'debian', 'generic', 'alpine', 'file'],
      'Strategy: `systemd` uses hostnamectl; `debian`/`generic`/`file`/`alpine` write /etc/hostname and run `hostname NAME`. Default: systemd when it runs, else file.',
    ),
  },
  { required: ['name'] },
)

/** RFC 1123 labels, dot-separated, at most 253 characters: what `hostname` and hostnamectl accept. */
export function validHostname(name: string): boolean {
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))
}

/** The name /etc/hostname gives: its first non-comment line, trimmed. */
export function staticHostname(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('#')) ?? ''
  )
}

/** Ansible's facts after the change: short name, node name, domain. */
export function hostnameFacts(name: string): Record<string, string> {
  const i = name.indexOf('.')
  return { ansible_hostname: i < 0 ? name : name.slice(0, i), ansible_nodename: name, ansible_fqdn: name, ansible_domain: i < 0 ? '' : name.slice(i + 1) }
}

const FILE = '/etc/hostname'

export const hostnameModule = defineModule({
  readAhead: true,
  name: 'hostname',
  description: 'Sets the host name, now and at boot.',
  schema: hostnameSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const name = String(args.name).trim()
      if (!validHostname(name)) throw new ArgError(`hostname: "${name}" is not a valid host name (letters, digits and dashes in dot-separated labels)`)
      const r = await ctx.reader.probe(
        [
          'echo @@current; hostname 2>/dev/null || uname -n',
          `echo @@file; cat ${FILE} 2>/dev/null`,
          'echo @@systemd; if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo yes; else echo no; fi',
          'echo @@end',
        ].join('\n'),
      )
      const s = sections(r.stdout.toString('utf8'))
      const use = args.use === undefined ? ((s.systemd ?? '').trim() === 'yes' ? 'systemd' : 'file') : String(args.use)
      let current = (s.current ?? '').trim()
      let fileText = s.file ?? ''
      const pend = ctx.reader.pending(effectKey.hostname())
      if (typeof pend === 'string') current = pend
      if (ctx.reader.hasPending()) {
        const f = (await ctx.reader.files([FILE], { content: true, follow: true })).get(FILE)!
        if (f.unknown) return { status: 'unknown', reason: f.unknown, steps: [] }
        fileText = f.content?.toString('utf8') ?? ''
      }
      const permanent = staticHostname(fileText)
      const result = { name, ansible_facts: hostnameFacts(name) }
      const changes: Change[] = []
      const steps: Step[] = []
      if (use === 'systemd') {
        if (current !== name || permanent !== name) {
          changes.push({ summary: `hostname ${current} → ${name}${permanent !== current ? ` (static ${permanent || '(none)'})` : ''}` })
          steps.push({
            describe: `hostnamectl set-hostname ${name}`,
            script: `hostnamectl set-hostname ${shQuote(name)}`,
            effects: [
              { key: effectKey.hostname(), value: name },
              { path: FILE, state: 'file', content: Buffer.from(`${name}\n`) },
            ],
          })
        }
      } else {
        if (permanent !== name) {
          const after = `${name}\n`
          changes.push({ summary: `${FILE}: ${permanent || '(none)'} → ${name}`, ...(ctx.diff ? { diff: { path: FILE, before: fileText, after } } : {}) })
          steps.push(writeFileStep(FILE, Buffer.from(after), {}))
        }
        if (current !== name) {
          changes.push({ summary: `running hostname ${current} → ${name}` })
          steps.push({ describe: `hostname ${name}`, script: `hostname ${shQuote(name)}`, effects: [{ key: effectKey.hostname(), value: name }] })
        }
      }
      if (steps.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      return { status: 'change', changes, steps, result: { ...result, changed: true } }
    }),
})
