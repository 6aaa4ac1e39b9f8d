// Builds an Inventory the way Ansible's InventoryData does while sources are parsed: implicit
// `all` and `ungrouped`, first-seen order for hosts and groups, cycle checks on every edge, and
// the reconcile pass (orphan groups under `all`, hosts without a group into `ungrouped`).
import { Diagnostics, type SourcePos } from '../errors.js'
import type { Inventory, InventoryGroup, InventoryHost, SrcRef } from '../model.js'

export type Where = () => SourcePos | undefined

// C.INVALID_VARIABLE_NAMES: Ansible warns for group names that cannot be variable names.
const INVALID_GROUP_CHARS = /^[\d\W]|[^\w]/u

export class InventoryBuilder {
  readonly groups = new Map<string, InventoryGroup>()
  readonly hosts = new Map<string, InventoryHost>()
  /** The file that hosts are first seen in becomes their inventory_file (as in Ansible). */
  currentSource: { file: string | null; dir: string | null } = { file: null, dir: null }

  constructor(readonly diags: Diagnostics) {
    this.addGroup('all')
    this.addGroup('ungrouped')
    this.addChild('all', 'ungrouped', () => undefined)
  }

  addGroup(name: string, src?: SrcRef, where?: Where): InventoryGroup {
    let g = this.groups.get(name)
    if (!g) {
      g = { name, vars: {}, hosts: [], children: [], parents: new Set(), priority: 1, src }
      this.groups.set(name, g)
      if (where && INVALID_GROUP_CHARS.test(name))
        this.diags.warn(
          `group name "${name}" contains characters that are not valid in variable names`,
          where(),
          'Ansible warns about this too; use letters, digits and "_" (e.g. "' + name.replace(/^(\d)/, '_$1').replace(/\W/gu, '_') + '")',
        )
    } else if (!g.src && src) g.src = src
    return g
  }

  addHost(name: string, group: string | undefined, port: number | undefined, src?: SrcRef): InventoryHost {
    let h = this.hosts.get(name)
    if (!h) {
      h = { name, vars: {}, groups: new Set(), src }
      if (port !== undefined) h.vars.ansible_port = port
      h.vars.inventory_file = this.currentSource.file
      h.vars.inventory_dir = this.currentSource.dir
      this.hosts.set(name, h)
    }
    if (group !== undefined) {
      const g = this.groups.get(group)!
      if (!g.hosts.includes(name)) {
        g.hosts.push(name)
        h.groups.add(group)
      }
    }
    return h
  }

  /** Ansible's Group.set_variable: `ansible_group_priority` sets the priority instead of a variable. */
  setGroupVar(group: string, key: string, value: unknown, where: Where): void {
    const g = this.groups.get(group)!
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? parseInt(value, 10) : NaN
      if (!Number.isInteger(n)) {
        this.diags.error(`ansible_group_priority of group "${group}" must be an integer`, where(), `got ${JSON.stringify(value)}`)
        return
      }
      g.priority = n
      return
    }
    g.vars[key] = value
  }

  setHostVar(host: string, key: string, value: unknown): void {
    this.hosts.get(host)!.vars[key] = value
  }

  isAncestor(candidate: string, of: string): boolean {
    const seen = new Set<string>()
    const stack = [of]
    while (stack.length) {
      const g = this.groups.get(stack.pop()!)!
      for (const p of g.parents) {
        if (p === candidate) return true
        if (!seen.has(p)) {
          seen.add(p)
          stack.push(p)
        }
      }
    }
    return false
  }

  /** Add `child` under `parent`; a self-reference or a cycle is reported at `where` and the edge dropped. */
  addChild(parent: string, child: string, where: Where): boolean {
    const p = this.groups.get(parent)!
    const c = this.groups.get(child)!
    if (p.children.includes(child)) return false
    if (parent === child) {
      this.diags.error(`group "${parent}" cannot be a child of itself`, where(), 'remove it from its own children')
      return false
    }
    if (this.isAncestor(child, parent)) {
      this.diags.error(
        `adding group "${child}" as a child of "${parent}" creates a cycle: ${this.cyclePath(child, parent).join(' → ')} → ${child}`,
        where(),
        'groups in children: must form a tree (a group may not contain its own ancestor)',
      )
      return false
    }
    p.children.push(child)
    c.parents.add(parent)
    return true
  }

  /** child → … → parent path through children edges, for the cycle message. */
  private cyclePath(from: string, to: string): string[] {
    const prev = new Map<string, string>()
    const queue = [from]
    const seen = new Set([from])
    while (queue.length) {
      const g = queue.shift()!
      if (g === to) break
      for (const c of this.groups.get(g)!.children)
        if (!seen.has(c)) {
          seen.add(c)
          prev.set(c, g)
          queue.push(c)
        }
    }
    const path = [to]
    while (path[0] !== from && prev.has(path[0])) path.unshift(prev.get(path[0])!)
    return path
  }

  /** Ansible's reconcile_inventory, then the finished Inventory. */
  finish(sources: string[]): Inventory {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.size === 0) this.addChild('all', g.name, () => undefined)
    }
    const ungrouped = this.groups.get('ungrouped')!
    for (const h of this.hosts.values()) {
      if (h.groups.has('ungrouped')) {
        if ([...h.groups].some((g) => g !== 'all' && g !== 'ungrouped')) {
          h.groups.delete('ungrouped')
          ungrouped.hosts.splice(ungrouped.hosts.indexOf(h.name), 1)
        }
      } else if (h.groups.size === 0 || (h.groups.size === 1 && h.groups.has('all'))) {
        ungrouped.hosts.push(h.name)
        h.groups.add('ungrouped')
      }
    }
    for (const name of this.hosts.keys()) {
      const g = this.groups.get(name)
      if (g)
        this.diags.warn(
          `"${name}" is both a host and a group`,
          g.src ? g.src.yf.pos(g.src.path, { key: true }) : undefined,
          'a pattern naming it selects the host only; rename one of them',
        )
    }
    const inv: Inventory = { hostOrder: [], hosts: this.hosts, groups: this.groups, sources }
    inv.hostOrder = groupHostsOf(inv, 'all')
    return inv
  }
}

/**
 * A group's hosts in Ansible's order (Group.get_hosts): the group's own hosts, then its children's
 * level by level (breadth first), each host once.
 */
export function groupHostsOf(inv: Inventory, name: string): string[] {
  const root = inv.groups.get(name)
  if (!root) return []
  const ordered: InventoryGroup[] = [root]
  const seen = new Set<string>([root.name])
  let frontier: InventoryGroup[] = [root]
  for (const c of root.children) {
    const g = inv.groups.get(c)
    if (g && !seen.has(c)) {
      seen.add(c)
      ordered.push(g)
      frontier.push(g)
    }
  }
  frontier = frontier.slice(1)
  while (frontier.length) {
    const next: InventoryGroup[] = []
    for (const f of frontier)
      for (const c of f.children) {
        const g = inv.groups.get(c)
        if (g && !seen.has(c)) {
          seen.add(c)
          ordered.push(g)
          next.push(g)
        }
      }
    frontier = next
  }
  const out: string[] = []
  const hs = new Set<string>()
  for (const g of ordered)
    for (const h of g.hosts)
      if (!hs.has(h)) {
        hs.add(h)
        out.push(h)
      }
  return out
}
