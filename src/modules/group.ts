// group: a local group present (with a gid) or absent. Compared against `getent group NAME` in one
// probe; changed with groupadd/groupmod/groupdel, so a second run plans nothing.
import { shQuote } from '../connection/quote.js'
import type { Module } from './types.js'
import { bool, choice, guardPlan, int, moduleSchema, str, toBool, toInt, ArgError, effectKey, defineModule } from './lib/index.js'

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
      const result = { name, state, system: toBool(args.system, false), ...(cur ? { gid: cur.gid } : {}) }
      if (state === 'absent') {
        if (!cur) return { status: 'ok', result: { ...result, changed: false } }
        return {
          status: 'change',
          changes: [{ summary: `remove group ${name}` }],
          steps: [{ describe: `groupdel ${name}`, script: `groupdel ${shQuote(name)}`, effects: [{ key: effectKey.group(name), value: 'absent' }] }],
          result: { ...result, changed: true },
        }
      }
      const cmd = groupCommand(name, { gid, system: toBool(args.system, false), nonUnique: toBool(args.non_unique, false) }, cur)
      if (!cmd) return { status: 'ok', result: { ...result, changed: false } }
      const summary = cur ? `gid ${cur.gid} → ${gid}` : `create group ${name}${gid !== undefined ? ` (gid ${gid})` : ''}`
      return {
        status: 'change',
        changes: [{ summary }],
        steps: [{ describe: cmd.join(' '), script: cmd.map(shQuote).join(' '), effects: [{ key: effectKey.group(name), value: 'present' }] }],
        result: { ...result, ...(gid !== undefined ? { gid } : {}), changed: true },
      }
    }),
})
