// A host's variables from inventory sources in Ansible's precedence order, the `groups` magic
// variable, and the per-inventory caches behind them (group order, depth, merged group layers),
// so asking for the same host's variables again costs a lookup.
import { existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Diagnostics, ValidationError } from '../errors.js'
import type { Inventory, InventoryGroup, Vars } from '../model.js'
import { isIpAddress } from './address.js'
import { groupHostsOf } from './builder.js'
import { VarsFileCache, type VarsDir } from './varsfiles.js'

/** Names Ansible treats as the controller when they are not in the inventory (C.LOCALHOST). */
export const LOCALHOST_NAMES = ['127.0.0.1', 'localhost', '::1']

interface State {
  files: VarsFileCache
  sourceDirs?: VarsDir[]
  groupHosts: Map<string, string[]>
  depth: Map<string, number>
  hostGroups: Map<string, InventoryGroup[]>
  groupLayer: Map<string, Vars>
  hostVars: Map<string, Vars>
  groupsMap?: Record<string, string[]>
  /** Ansible makes one implicit localhost, named by the first of localhost/127.0.0.1/::1 asked for. */
  implicitLocalhost?: string
}

const states = new WeakMap<Inventory, State>()

export function inventoryState(inv: Inventory): State {
  let s = states.get(inv)
  if (!s) {
    s = { files: new VarsFileCache(), groupHosts: new Map(), depth: new Map(), hostGroups: new Map(), groupLayer: new Map(), hostVars: new Map() }
    states.set(inv, s)
  }
  return s
}

/** Drop every cache for this inventory: call after changing its hosts, groups or vars in place. */
export function invalidateInventoryCaches(inv: Inventory): void {
  const s = states.get(inv)
  if (!s) return
  s.groupHosts.clear()
  s.depth.clear()
  s.hostGroups.clear()
  s.groupLayer.clear()
  s.hostVars.clear()
  s.groupsMap = undefined
  s.sourceDirs = undefined
}

/** The folder whose group_vars/ and host_vars/ belong to an inventory source (none for `a,b,` lists). */
export function sourceVarsBase(source: string): string | undefined {
  if (source.includes(',') && !existsSync(source)) return undefined
  const abs = resolve(source)
  try {
    return statSync(abs).isDirectory() ? abs : dirname(abs)
  } catch {
    return dirname(abs)
  }
}

export function sourceDirs(inv: Inventory): VarsDir[] {
  const s = inventoryState(inv)
  if (!s.sourceDirs) {
    s.sourceDirs = []
    for (const src of inv.sources) {
      const base = sourceVarsBase(src)
      if (base) s.sourceDirs.push(s.files.dir(base))
    }
  }
  return s.sourceDirs
}

/** Hosts of a group and its descendants, in Ansible's order (cached). */
export function groupHosts(inv: Inventory, group: string): string[] {
  const s = inventoryState(inv)
  let h = s.groupHosts.get(group)
  if (!h) {
    h = groupHostsOf(inv, group)
    s.groupHosts.set(group, h)
  }
  return h
}

/** Longest path from `all` (Ansible's Group.depth): deeper groups' vars win. */
export function groupDepth(inv: Inventory, group: string): number {
  const s = inventoryState(inv)
  const known = s.depth.get(group)
  if (known !== undefined) return known
  s.depth.set(group, 0) // guards against cycles in hand-built inventories
  const g = inv.groups.get(group)
  let d = 0
  if (g && group !== 'all') for (const p of g.parents) d = Math.max(d, groupDepth(inv, p) + 1)
  s.depth.set(group, d)
  return d
}

/** Every group a host belongs to, directly or through parents, except `all`, sorted as Ansible merges them. */
export function sortedHostGroups(inv: Inventory, host: string): InventoryGroup[] {
  const s = inventoryState(inv)
  const cached = s.hostGroups.get(host)
  if (cached) return cached
  const h = inv.hosts.get(host)
  const names = new Set<string>()
  const stack = h ? [...h.groups] : []
  while (stack.length) {
    const n = stack.pop()!
    if (names.has(n)) continue
    names.add(n)
    const g = inv.groups.get(n)
    if (g) stack.push(...g.parents)
  }
  names.delete('all')
  const out = [...names].map((n) => inv.groups.get(n)!).filter(Boolean)
  out.sort((a, b) => groupDepth(inv, a.name) - groupDepth(inv, b.name) || (a.priority ?? 1) - (b.priority ?? 1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  s.hostGroups.set(host, out)
  return out
}

/** The `group_names` magic variable: sorted, without `all` (Ansible keeps `ungrouped`). */
export function groupNames(inv: Inventory, host: string): string[] {
  return sortedHostGroups(inv, host)
    .map((g) => g.name)
    .sort()
}

/** The `groups` magic variable: every group (all and ungrouped included) → its hosts. Frozen, shared. */
export function groupsMap(inv: Inventory): Record<string, string[]> {
  const s = inventoryState(inv)
  if (!s.groupsMap) {
    const out: Record<string, string[]> = {}
    for (const name of inv.groups.keys()) out[name] = Object.freeze([...groupHosts(inv, name)]) as string[]
    s.groupsMap = Object.freeze(out)
  }
  return s.groupsMap
}

export function isImplicitLocalhost(inv: Inventory, host: string): boolean {
  return !inv.hosts.has(host) && LOCALHOST_NAMES.includes(host)
}

/**
 * A host's variables from the inventory, lowest to highest: inventory-file vars of `all`, of the
 * host's groups (by depth, ansible_group_priority, name), inventory group_vars/all, playbook
 * group_vars/all, inventory group_vars/GROUP, playbook group_vars/GROUP, the host's inventory-file
 * vars with inventory_hostname, inventory_hostname_short and group_names, inventory host_vars/,
 * playbook host_vars/. Cached per (host, playbookDir); the result is a fresh shallow copy.
 */
export function hostInventoryVars(inv: Inventory, host: string, playbookDir?: string, diags?: Diagnostics): Vars {
  const s = inventoryState(inv)
  const pbBase = playbookDir ? resolve(playbookDir) : undefined
  const key = `${host}\0${pbBase ?? ''}`
  const hit = s.hostVars.get(key)
  if (hit) return { ...hit }
  const h = inv.hosts.get(host)
  const implicit = isImplicitLocalhost(inv, host)
  if (!h && !implicit)
    throw new ValidationError(`host "${host}" is not in the inventory`, { hint: 'hosts come from the -i inventory sources' })
  const groups = sortedHostGroups(inv, host)
  const pb = pbBase ? s.files.dir(pbBase) : undefined
  const layerKey = `${groups.map((g) => g.name).join('\0')}\0\0${pbBase ?? ''}`
  let base = s.groupLayer.get(layerKey)
  if (!base) {
    const dirs = sourceDirs(inv)
    base = { ...(inv.groups.get('all')?.vars ?? {}) }
    for (const g of groups) Object.assign(base, g.vars)
    for (const d of dirs) Object.assign(base, d.varsFor('group_vars', 'all', diags))
    if (pb) Object.assign(base, pb.varsFor('group_vars', 'all', diags))
    for (const d of dirs) for (const g of groups) Object.assign(base, d.varsFor('group_vars', g.name, diags))
    if (pb) for (const g of groups) Object.assign(base, pb.varsFor('group_vars', g.name, diags))
    s.groupLayer.set(layerKey, base)
  }
  const out: Vars = { ...base }
  if (h) Object.assign(out, h.vars)
  // the implicit localhost Ansible makes on demand runs on the controller
  else Object.assign(out, { ansible_connection: 'local', inventory_file: null, inventory_dir: null })
  out.inventory_hostname = host
  out.inventory_hostname_short = isIpAddress(host) ? host : host.split('.')[0]
  out.group_names = groupNames(inv, host)
  for (const d of sourceDirs(inv)) Object.assign(out, d.varsFor('host_vars', host, diags))
  if (pb) Object.assign(out, pb.varsFor('host_vars', host, diags))
  s.hostVars.set(key, out)
  return { ...out }
}
