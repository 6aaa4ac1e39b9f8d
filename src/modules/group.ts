// group: a local group present (with a gid) or absent. Compared against `getent group NAME` in one
// probe; changed with groupadd/groupmod/groupdel, so a second run plans nothing.
import { shQuote } from '../connection/quote.js'
import type { Module } from './types.js'
import type { Vars } from '../model.js'
import { bool, choice, guardPlan, int, moduleSchema, str, toBool, toInt, ArgError, effectKey, defineModule, planData } from './lib/index.js'

export const groupSchema = moduleSchema(
  {
    name: str('Group name.'),
    state: choice(['present', 'absent'], 'Default: present.'),
    gid: int('Group id.'),
    system: bool('Create a system group (only when creating).'),
    non_unique: bool('Allow a gid that another group has (`-o`).'),
    local: bool('Accepted for compatibility (local tools are always used).'),
  },
  { required: ['name'] },
)

export interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

/** Parses `getent group` lines (`name:x:gid:m1,m2`). */
export function parseGroups(text: string): Map<string, GroupEntry> {
  const m = new Map<string, GroupEntry>()
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 4 || !f[0]) continue
    if (!m.has(f[0]))
      m.set(f[0], {
        name: f[0],
        gid: Number(f[2]),
        members: f[3]
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      })
  }
  return m
}

export function groupCommand(name: string, want: { gid?: number; system?: boolean; nonUnique?: boolean }, cur: GroupEntry | undefined): string[] | undefined {
  if (!cur)
    return ['groupadd', ...(want.gid !== undefined ? ['-g', String(want.gid)] : []), ...(want.nonUnique ? ['-o'] : []), ...(want.system ? ['-r'] : []), name]
  if (want.gid !== undefined && cur.gid !== want.gid) return ['groupmod', '-g', String(want.gid), ...(want.nonUnique ? ['-o'] : []), name]
  return undefined
}

export const groupModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'group',
  description: 'Creates or removes a local group.',
  schema: groupSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const name = String(args.name)
      if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name)) throw new ArgError(`group: "${name}" is not a valid group name`)
      const state = String(args.state ?? 'present')
      const gid = toInt(args.gid)
      const r = await ctx.reader.probe(`getent group ${shQuote(name)}; :`)
      let cur = parseGroups(r.stdout.toString('utf8')).get(name)
      const pend = ctx.reader.pending(effectKey.group(name))
      if (pend === 'absent') cur = undefined
      else if (pend === 'present' && !cur) cur = { name, gid: gid ?? -1, members: [] }
      // Ansible's result: name and state; system and gid only while the group exists (its gid as
      // the host has it); a check run that would create or remove it returns `changed` alone
      const system = toBool(args.system, false)
      const result = { name, state }
      const exists = (g: GroupEntry) => ({ system, ...(g.gid >= 0 ? { gid: g.gid } : {}) })
      const GID = `getent group ${shQuote(name)} | cut -d: -f3`
      if (state === 'absent') {
        if (!cur) return { status: 'ok', result: { ...result, changed: false } }
        const plan = {
          status: 'change' as const,
          changes: [{ summary: `remove group ${name}` }],
          steps: [{ describe: `groupdel ${name}`, script: `groupdel ${shQuote(name)}`, effects: [{ key: effectKey.group(name), value: 'absent' as const }] }],
          result: { changed: true }, // check mode: Ansible's exit_json(changed=True) alone
        }
        return groupData.attach(plan, { real: { ...result, changed: true } })
      }
      const cmd = groupCommand(name, { gid, system, nonUnique: toBool(args.non_unique, false) }, cur)
      if (!cmd) return { status: 'ok', result: { ...result, changed: false, ...(cur ? exists(cur) : {}) } }
      const summary = cur ? `gid ${cur.gid} → ${gid}` : `create group ${name}${gid !== undefined ? ` (gid ${gid})` : ''}`
      return groupData.attach(
        {
          status: 'change',
          changes: [{ summary }],
          // the gid the host gave (groupadd without -g picks one): read back in the same step
          steps: [{ describe: cmd.join(' '), script: `${cmd.map(shQuote).join(' ')} && ${GID}`, effects: [{ key: effectKey.group(name), value: 'present' }] }],
          // check mode: `changed` alone for a group to create; a gid to change keeps the current one
          result: cur ? { ...result, changed: true, ...exists(cur) } : { changed: true },
        },
        { real: { ...result, changed: true }, system },
      )
    }),
  result(plan, steps) {
    const d = groupData.of(plan)
    const base: Vars = { ...(d?.real ?? (plan as { result?: Vars }).result ?? {}) }
    const out = steps?.at(-1)?.stdout.toString().trim()
    if (d?.system !== undefined && out && /^\d+$/.test(out)) return { ...base, system: d.system, gid: Number(out) }
    return base
  },
})

/** The real run's result (the plan's own is check mode's), and `system` for a group that will exist. */
const groupData = planData<{ real: Vars; system?: boolean }>()
