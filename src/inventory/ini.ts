// The INI inventory format (Ansible's `ini` inventory plugin): [group], [group:vars],
// [group:children], `host key=value ...` lines, host ranges; values read as Python literals.
// Children may name groups declared further down; unresolved names are reported at the end.
import { didYouMean, type SourcePos } from '../errors.js'
import { displayPath } from '../yamlfile.js'
import type { InventoryBuilder } from './builder.js'
import { iniValue, shlexSplit } from './pyliteral.js'
import { expandHost } from './yaml.js'
import { iniGroupName } from '../text.js'

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/

export function parseIniInventory(b: InventoryBuilder, file: string, text: string): void {
  const diags = b.diags
  const display = displayPath(file)
  const pos = (line: number, col = 1): SourcePos => ({ file: display, line, col })
  const pending = new Map<string, { line: number; col: number; state: 'vars' | 'children'; parents: string[] }>()
  let group = 'ungrouped'
  let state: 'hosts' | 'vars' | 'children' | 'skip' = 'hosts'
  const lines = text.split(/\r?\n/)
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1
    const rawLine = lines[n]
    const line = rawLine.trim()
    const col = rawLine.length - rawLine.trimStart().length + 1
    if (!line || line[0] === '#' || line[0] === ';') continue
    const m = SECTION.exec(line)
    if (m) {
      group = m[1]
      const kind = m[2] ?? 'hosts'
      if (kind !== 'hosts' && kind !== 'vars' && kind !== 'children') {
        diags.error(
          `section [${m[1]}:${kind}] has unknown type "${kind}"`,
          pos(lineNo, col + m[1].length + 2),
          didYouMean(kind, ['vars', 'children']) ?? 'a section is [group], [group:vars] or [group:children]',
        )
        state = 'skip'
        continue
      }
      state = kind
      if (!b.groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: lineNo, col, state: 'vars', parents: [] })
        b.addGroup(group, undefined, () => pos(lineNo, col + 1))
      }
      const p = pending.get(group)
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(b, group, pending, display)
        else pending.delete(group)
      }
      continue
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      diags.error(`invalid section header "${line}"`, pos(lineNo, col), 'a section looks like [group], [group:vars] or [group:children], without spaces')
      state = 'skip'
      continue
    }
    if (state === 'skip') continue
    if (state === 'hosts') {
      let tokens: string[]
      try {
        tokens = shlexSplit(line)
      } catch (e) {
        diags.error(`cannot parse host line: ${(e as Error).message}`, pos(lineNo, col), 'check the quotes')
        continue
      }
      if (tokens.length === 0) continue
      const hostPattern = tokens[0]
      const vars: Record<string, unknown> = {}
      let ok = true
      for (const t of tokens.slice(1)) {
        const eq = t.indexOf('=')
        if (eq < 0) {
          const c = rawLine.indexOf(t)
          diags.error(`expected key=value after the host name, got "${t}"`, pos(lineNo, c >= 0 ? c + 1 : col), 'host variables are written key=value; quote values with spaces')
          ok = false
          continue
        }
        vars[t.slice(0, eq)] = iniValue(t.slice(eq + 1))
      }
      if (!ok) continue
      const where = () => pos(lineNo, col)
      const expanded = expandHost(hostPattern, where, b)
      if (hostPattern.trim().endsWith(':') && expanded.port === undefined) {
        diags.error(`host "${hostPattern}" ends in ":"`, where(), '":" is reserved for a port number, as in host:2222')
        continue
      }
      if (expanded.hosts.some((h) => h.trim() === '---')) {
        diags.error('"---" is not a host name', where(), 'this looks like a YAML file: give it a .yml extension')
        continue
      }
      for (const h of expanded.hosts) {
        b.addHost(h, group, expanded.port)
        for (const [k, v] of Object.entries(vars)) b.setHostVar(h, k, v)
      }
    } else if (state === 'vars') {
      const eq = line.indexOf('=')
      if (eq < 0) {
        diags.error(`expected key=value in [${group}:vars], got "${line}"`, pos(lineNo, col))
        continue
      }
      const k = line.slice(0, eq).trim()
      const v = line.slice(eq + 1).trim()
      b.setGroupVar(group, k, iniValue(v), () => pos(lineNo, col))
    } else {
      const child = iniGroupName(line)
      if (child === undefined) {
        diags.error(`expected a group name in [${group}:children], got "${line}"`, pos(lineNo, col), 'one group name per line')
        continue
      }
      if (!b.groups.has(child)) {
        const p = pending.get(child)
        if (!p) pending.set(child, { line: lineNo, col, state: 'children', parents: [group] })
        else p.parents.push(group)
      } else b.addChild(group, child, () => pos(lineNo, col))
    }
  }
  for (const [name, p] of pending) {
    if (p.state === 'vars')
      diags.error(`section [${name}:vars] is for a group that is not defined`, pos(p.line, p.col), hintGroup(b, name) ?? `add a [${name}] section`)
    else
      diags.error(
        `[${p.parents[p.parents.length - 1]}:children] names group "${name}", which is not defined`,
        pos(p.line, p.col),
        hintGroup(b, name) ?? `add a [${name}] section`,
      )
  }
}

function hintGroup(b: InventoryBuilder, name: string): string | undefined {
  return didYouMean(name, [...b.groups.keys()].filter((g) => g !== 'all' && g !== 'ungrouped' && g !== name))
}

function addPendingChildren(
  b: InventoryBuilder,
  group: string,
  pending: Map<string, { line: number; col: number; state: 'vars' | 'children'; parents: string[] }>,
  display: string,
): void {
  const p = pending.get(group)!
  for (const parent of p.parents) {
    b.addChild(parent, group, () => ({ file: display, line: p.line, col: p.col }))
    const pp = pending.get(parent)
    if (pp && pp.state === 'children') addPendingChildren(b, parent, pending, display)
  }
  pending.delete(group)
}
