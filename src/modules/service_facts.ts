// `service_facts`: the host's services as Ansible's service_facts reports them
// (`ansible_facts.services`): SysV scripts from `service --status-all`, then systemd's units from
// `systemctl list-units` and `list-unit-files`, parsed as Ansible parses them. Read-only, always ok.
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { defineModule, guardPlan, moduleSchema, sections } from './lib/index.js'
import { trimEndOf } from '../text.js'

/**
 * One probe for everything: which tools exist, `service --status-all`, and on a systemd host the
 * two listings plus the ActiveState of every unit file (one `systemctl show` for all of them;
 * templates are left out: systemctl refuses them, and Ansible then says "unknown").
 */
export const SERVICE_FACTS_SCRIPT = `LC_ALL=C LANG=C; export LC_ALL LANG
PATH=$PATH:/sbin:/usr/sbin:/usr/local/sbin:/usr/local/bin; export PATH
has() { command -v "$1" >/dev/null 2>&1; }
echo @@sysv
if has service && ! has chkconfig && ! has rc-status; then
  out=$(service --status-all 2>/dev/null); rc=$?
  echo "rc=$rc"; [ -e /etc/init.d ] && echo "initd=1"
  printf '%s\\n' "$out"
fi
if grep -q systemd /proc/1/comm 2>/dev/null && has systemctl; then
  echo @@units
  systemctl list-units --no-pager --type service --all 2>/dev/null
  echo @@unitfiles
  files=$(systemctl list-unit-files --no-pager --type service --all 2>/dev/null)
  printf '%s\\n' "$files"
  names=$(printf '%s\\n' "$files" | awk '/\\.service/ {print $1}' | grep -v '@\\.service$')
  echo @@active
  if [ -n "$names" ]; then
    out=$(systemctl show --property=ActiveState -- $names 2>/dev/null)
    if [ "$(printf '%s\\n' "$out" | grep -c '^ActiveState=')" -eq "$(echo $names | wc -w)" ]; then
      printf '%s\\n' "$out" | sed -n 's/^ActiveState=//p'
    else
      for u in $names; do v=$(systemctl show "$u" --property=ActiveState 2>/dev/null) && echo "\${v#ActiveState=}" || echo; done
    fi
  fi
fi
`

export interface ServiceFact {
  name: string
  state: string
  status?: string
  source: string
}

const BAD_STATES = ['not-found', 'masked', 'failed']

/** Ansible's parses, in its order: sysv first, then systemd units, then unit files. */
export function parseServiceFacts(out: string): Record<string, ServiceFact> {
  const s = sections(out)
  const services: Record<string, ServiceFact> = {}
  if (s.sysv !== undefined) {
    const lines = s.sysv.split('\n')
    const rc = Number(lines.find((l) => l.startsWith('rc='))?.slice(3) ?? 0)
    const initd = lines.includes('initd=1')
    if (!(rc === 4 && !initd))
      for (const l of lines) {
        // ` [ + ]  name` (as /^\s*\[ (\+|-) \]\s+(.+)$/gm, which is quadratic on a run of newlines)
        const t = l.trimStart()
        if (!(t.startsWith('[ + ]') || t.startsWith('[ - ]')) || !/^\s/.test(t.slice(5))) continue
        const name = trimEndOf(t.slice(5).trimStart(), '\r')
        if (name) services[name] = { name, state: t[2] === '+' ? 'running' : 'stopped', source: 'sysv' }
      }
  }
  if (s.units !== undefined) {
    for (const line of s.units.split('\n').filter((l) => l.includes('.service'))) {
      let fields = line.split(/\s+/).filter((f) => f !== '')
      let status = BAD_STATES.find((b) => fields.includes(b))
      if (status !== undefined) fields = fields.slice(1)
      else status = fields[2]
      services[fields[0]] = { name: fields[0], state: fields[3] === 'running' ? 'running' : 'stopped', status, source: 'systemd' }
    }
  }
  if (s.unitfiles !== undefined) {
    const names = s.unitfiles
      .split('\n')
      .filter((l) => l.includes('.service'))
      .map((l) => l.split(/\s+/).filter((f) => f !== ''))
    const shown = names.map((f) => f[0]).filter((n) => !n.endsWith('@.service'))
    const active = new Map(shown.map((n, i) => [n, (s.active ?? '').split('\n')[i] ?? '']))
    for (const [name, status] of names) {
      const known = services[name]
      if (!known) {
        const a = active.get(name)
        services[name] = { name, state: a ? a : 'unknown', status, source: 'systemd' }
      } else if (!BAD_STATES.includes(known.status ?? '')) known.status = status
    }
  }
  return services
}

export const serviceFactsModule = defineModule({
  name: 'service_facts',
  description:
    'Read the state of every service on the host into `ansible_facts.services` (SysV scripts and systemd units, as Ansible reports them; not upstart, chkconfig or OpenRC). Changes nothing.',
  // not planned ahead: the probe runs every SysV script's status (seconds), and a read-ahead is
  // dropped by any step applied before it, which would pay it twice
  namesAtRun: true,
  gathersFacts: true,
  schema: moduleSchema({}),
  plan: (_args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      const r = await ctx.reader.probe(SERVICE_FACTS_SCRIPT)
      const services = parseServiceFacts(r.stdout.toString())
      if (Object.keys(services).length === 0)
        return {
          status: 'skip',
          reason: 'Failed to find any services. This can be due to privileges or some other configuration issue.',
          result: { skipped: true },
        }
      return { status: 'ok', result: { ansible_facts: { services } } }
    }),
  result: (plan): Vars => ({ changed: false, ...(plan.result ?? {}), ...(plan.status === 'skip' ? { msg: plan.reason } : {}) }),
})
