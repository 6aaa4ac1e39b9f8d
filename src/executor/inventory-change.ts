// add_host and group_by change the inventory while the play runs: their results name a host (with
// groups and variables) or a group for the current host, and this applies them the way Ansible's
// strategy does (_add_host, _add_group, then reconcile_inventory), so later tasks see the new
// `groups`/`hostvars` and later plays can target the new hosts and groups. Returns whether the
// inventory changed: that is the task's `changed`, as in Ansible.
import type { Inventory, InventoryGroup, Vars } from '../model.js'
import { invalidateInventoryCaches } from '../inventory/vars.js'
import { groupHostsOf } from '../inventory/builder.js'

function group(inv: Inventory, name: string): { g: InventoryGroup; created: boolean } {
  let g = inv.groups.get(name)
  if (g) return { g, created: false }
  g = { name, vars: {}, hosts: [], children: [], parents: new Set() }
  inv.groups.set(name, g)
  if (name !== 'all') {
    inv.groups.get('all')?.children.push(name)
    g.parents.add('all')
  }
  return { g, created: true }
}

function addToGroup(inv: Inventory, host: string, g: InventoryGroup): boolean {
  if (g.hosts.includes(host)) return false
  g.hosts.push(host)
  inv.hosts.get(host)?.groups.add(g.name)
  return true
}

/** Ansible's reconcile_inventory for the hosts: ungrouped holds exactly the hosts in no other group. */
function reconcile(inv: Inventory): void {
  const ungrouped = group(inv, 'ungrouped').g
  for (const h of inv.hosts.values()) {
    const others = [...h.groups].some((x) => x !== 'all' && x !== 'ungrouped')
    if (others && h.groups.has('ungrouped')) {
      h.groups.delete('ungrouped')
      ungrouped.hosts.splice(ungrouped.hosts.indexOf(h.name), 1)
    } else if (!others && !h.groups.has('ungrouped')) {
      ungrouped.hosts.push(h.name)
      h.groups.add('ungrouped')
    }
  }
  inv.hostOrder = groupHostsOf(inv, 'all')
  invalidateInventoryCaches(inv)
}

function combine(a: Vars, b: Vars): Vars {
  return { ...a, ...b }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** add_host's `add_host: {host_name, groups, host_vars}`. */
export function addHost(inv: Inventory, info: { host_name: string; groups?: string[]; host_vars?: Vars }): boolean {
  let changed = false
  const name = info.host_name
  let h = inv.hosts.get(name)
  if (!h) {
    h = { name, vars: {}, groups: new Set() }
    inv.hosts.set(name, h)
    changed = true
  }
  const merged = combine(h.vars, info.host_vars ?? {})
  if (!same(merged, h.vars)) {
    h.vars = merged
    changed = true
  }
  for (const gname of info.groups ?? []) {
    const { g, created } = group(inv, gname)
    if (created) changed = true
    if (addToGroup(inv, name, g)) changed = true
  }
  reconcile(inv)
  return changed
}

/** group_by's `add_group` and `parent_groups` for one host. */
export function groupBy(inv: Inventory, host: string, name: string, parents: string[]): boolean {
  let changed = false
  const { g } = group(inv, name)
  for (const p of parents) {
    const pg = group(inv, p)
    if (pg.created) changed = true
    if (!pg.g.children.includes(name) && p !== name) {
      pg.g.children.push(name)
      g.parents.add(p)
      changed = true
    }
  }
  if (addToGroup(inv, host, g)) changed = true
  reconcile(inv)
  return changed
}

/**
 * The inventory change a result asks for (a loop's items each may ask one); whether anything changed.
 * Each item's `changed` is whether the inventory changed; `judge` (the task's changed_when) then has
 * the last word on it, reading the item's result with that `changed` (Ansible's strategy applies
 * the change and then runs post_process_whens over the result again, per item in a loop).
 */
export function applyInventoryChange(inv: Inventory, host: string, result: Vars, judge?: (r: Vars) => boolean): boolean {
  let changed = false
  const loop = Array.isArray(result.results)
  const items = loop ? (result.results as Vars[]) : [result]
  for (const r of items) {
    if (!r || typeof r !== 'object' || r.failed === true || r.skipped === true) continue
    let one = false
    const ah = r.add_host as { host_name?: string; groups?: string[]; host_vars?: Vars } | undefined
    if (ah && typeof ah.host_name === 'string') one = addHost(inv, ah as { host_name: string })
    if (typeof r.add_group === 'string') one = groupBy(inv, host, r.add_group, (r.parent_groups as string[] | undefined) ?? ['all'])
    if (loop || judge) r.changed = one
    if (judge) one = judge(r)
    if (loop || judge) r.changed = one
    changed ||= one
  }
  return changed
}
