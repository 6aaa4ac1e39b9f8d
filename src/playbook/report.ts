// Text the `validate`, `hosts` and `tasks` commands print, shaped like ansible-playbook's
// --list-hosts / --list-tasks (so the two can be compared line for line), plus positions.
import { limitHosts, resolvePattern } from '../inventory/index.js'
import type { Inventory, Play, Playbook, Vars } from '../model.js'
import { isTemplated, templateValue } from '../template/index.js'
import { displayPath } from '../yamlfile.js'
import { playItems, walkItems } from './load.js'
import { listName, playTaskLists, selectByTags } from './tags.js'

/** Python's repr of a str, as Ansible prints patterns. */
function pyRepr(s: string): string {
  if (s.includes("'") && !s.includes('"')) return `"${s}"`
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function tagList(tags: Iterable<string>): string {
  return `[${[...new Set(tags)].sort().join(', ')}]`
}

function patternList(play: Play): string[] {
  const raw = play.src.yf.node([...play.src.path, 'hosts'])?.toJSON() as unknown
  return Array.isArray(raw) ? raw.map(String) : [play.hosts]
}

function playHeader(play: Play, i: number): string {
  return `  play #${i + 1} (${play.hosts}): ${play.name}\tTAGS: ${tagList(play.tags)}`
}

/** The hosts of one play: its pattern (templated with extra vars) then --limit; in Ansible's sorted listing order. */
export function playHosts(play: Play, inv: Inventory, extraVars: Vars, opts: { limit?: string; warn?: (m: string) => void; baseDir?: string } = {}): string[] {
  let pattern = play.hosts
  if (isTemplated(pattern)) pattern = String(templateValue(pattern, extraVars))
  const hosts = resolvePattern(inv, pattern, { warn: opts.warn, baseDir: opts.baseDir })
  return limitHosts(inv, hosts, opts.limit, { warn: opts.warn, baseDir: opts.baseDir })
}

/** The --list-hosts text, and how many hosts all plays select together. */
export function listHosts(
  pb: Playbook,
  inv: Inventory,
  extraVars: Vars,
  opts: { limit?: string; warn?: (m: string) => void } = {},
): { text: string; total: number } {
  const lines = ['', `playbook: ${displayPath(pb.file)}`]
  let total = 0
  pb.plays.forEach((play, i) => {
    const hosts = playHosts(play, inv, extraVars, { ...opts, baseDir: pb.dir })
    total += hosts.length
    lines.push('', playHeader(play, i), `    pattern: [${patternList(play).map(pyRepr).join(', ')}]`, `    hosts (${hosts.length}):`)
    for (const h of [...hosts].sort()) lines.push(`      ${h}`)
  })
  return { text: lines.join('\n') + '\n', total }
}

export function listTasks(pb: Playbook, opts: { tags?: string[]; skipTags?: string[]; positions?: boolean } = {}): string {
  const lines = ['', `playbook: ${displayPath(pb.file)}`]
  pb.plays.forEach((play, i) => {
    lines.push('', playHeader(play, i), '    tasks:')
    for (const t of selectByTags(playTaskLists(play), opts.tags ?? [], opts.skipTags ?? [])) {
      const pos = t.src.yf.pos(t.src.path)
      const where = opts.positions === false ? '' : `\t${pos.file}:${pos.line}:${pos.col}`
      lines.push(`      ${listName(t)}\tTAGS: ${tagList(t.tags)}${where}`)
    }
  })
  return lines.join('\n') + '\n'
}

export interface Summary {
  plays: number
  roles: number
  tasks: number
  hosts: number
}

export function summarize(pb: Playbook, inv: Inventory | undefined): Summary {
  const roles = new Set<string>()
  let tasks = 0
  for (const play of pb.plays) {
    for (const r of play.roles) roles.add(r.path)
    for (const it of walkItems([...playItems(play), ...play.handlers])) if (it.kind === 'task') tasks++
  }
  return { plays: pb.plays.length, roles: roles.size, tasks, hosts: inv?.hostOrder.length ?? 0 }
}

export function summaryLine(s: Summary): string {
  const n = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 's'}`
  return `ok: ${n(s.plays, 'play')}, ${n(s.roles, 'role')}, ${n(s.tasks, 'task')}, ${n(s.hosts, 'host')}`
}
