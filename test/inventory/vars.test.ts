import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Diagnostics, ValidationError } from '../../src/errors.js'
import { groupsMap, hostInventoryVars, invalidateInventoryCaches, sortedHostGroups } from '../../src/inventory/index.js'
import { loadIn, tree } from './helpers.js'

describe('hostInventoryVars', () => {
  const dir = tree({
    'inv/hosts.yml': `all:
  vars: {v: all_file, only_all: 1}
  children:
    top:
      vars: {v: top_file}
      children:
        mid:
          vars: {v: mid_file}
          hosts:
            h1: {hv: h1_file}
    zeta:
      vars: {v: zeta_file}
      hosts: {h1: }
    alpha:
      vars: {v: alpha_file, ansible_group_priority: 5}
      hosts: {h2: }
    beta:
      vars: {v: beta_file}
      hosts: {h2: }
ungrouped:
  hosts: {u1: }
`,
    'inv/group_vars/all.yml': 'gall: inv\n',
    'inv/group_vars/top.yml': 'v: top_gv\n',
    'inv/host_vars/h2.yml': 'v: h2_hv\n',
    'pb/group_vars/all.yml': 'gall: pb\n',
    'pb/group_vars/beta.yml': 'b: pb\n',
    'pb/host_vars/h1.yml': 'hv: pb_h1\n',
    'badpb/group_vars/all.yml': 'x: [1\n',
  })
  const { inv } = loadIn(dir, ['inv/hosts.yml'])

  it('orders groups by depth, then ansible_group_priority, then name', () => {
    assert.deepEqual(sortedHostGroups(inv, 'h1').map((g) => g.name), ['top', 'zeta', 'mid'])
    assert.deepEqual(sortedHostGroups(inv, 'h2').map((g) => g.name), ['beta', 'alpha'])
  })

  it('lets inventory group_vars files beat every inventory-file group var', () => {
    // mid (depth 2) wins among file vars, but group_vars/top.yml comes later in precedence
    const v = hostInventoryVars(inv, 'h1')
    assert.equal(v.v, 'top_gv')
    assert.equal(v.hv, 'h1_file')
    assert.equal(v.gall, 'inv')
    assert.deepEqual(v.group_names, ['mid', 'top', 'zeta'])
    assert.equal(v.inventory_hostname, 'h1')
  })

  it('applies priority between siblings and host_vars last', () => {
    assert.equal(hostInventoryVars(inv, 'u1').v, 'all_file')
    assert.equal(hostInventoryVars(inv, 'h2').v, 'h2_hv')
  })

  it('adds playbook group_vars and host_vars above the inventory ones', () => {
    const v = hostInventoryVars(inv, 'h1', `${dir}/pb`)
    assert.equal(v.gall, 'pb')
    assert.equal(v.hv, 'pb_h1')
    assert.equal(hostInventoryVars(inv, 'h2', `${dir}/pb`).b, 'pb')
    assert.equal(hostInventoryVars(inv, 'h2').b, undefined, 'cached per playbook dir')
  })

  it('keeps ungrouped in group_names, as Ansible does', () => {
    assert.deepEqual(hostInventoryVars(inv, 'u1').group_names, ['ungrouped'])
  })

  it('caches per host and returns copies', () => {
    const a = hostInventoryVars(inv, 'h1')
    a.v = 'changed'
    assert.equal(hostInventoryVars(inv, 'h1').v, 'top_gv')
    inv.hosts.get('h1')!.vars.hv = 'edited'
    assert.equal(hostInventoryVars(inv, 'h1').hv, 'h1_file', 'cached')
    invalidateInventoryCaches(inv)
    assert.equal(hostInventoryVars(inv, 'h1').hv, 'edited')
    inv.hosts.get('h1')!.vars.hv = 'h1_file'
    invalidateInventoryCaches(inv)
  })

  it('gives the implicit localhost all-group vars and a local connection; unknown hosts throw', () => {
    const v = hostInventoryVars(inv, 'localhost')
    assert.equal(v.ansible_connection, 'local')
    assert.equal(v.only_all, 1)
    assert.equal(v.gall, 'inv')
    assert.deepEqual(v.group_names, [])
    assert.throws(() => hostInventoryVars(inv, 'nosuch'), (e) => e instanceof ValidationError && /host "nosuch" is not in the inventory/.test(e.message))
  })

  it('reports a broken playbook vars file into diags, or throws without them', () => {
    const d = new Diagnostics()
    hostInventoryVars(inv, 'h1', `${dir}/badpb`, d)
    assert.equal(d.errors.length, 1)
    assert.match(d.errors[0].pos!.file, /badpb\/group_vars\/all\.yml$/)
    const { inv: inv2 } = loadIn(dir, ['inv/hosts.yml'])
    assert.throws(() => hostInventoryVars(inv2, 'h1', `${dir}/badpb`), ValidationError)
  })

  it('builds the groups magic variable with all and ungrouped, frozen', () => {
    const g = groupsMap(inv)
    assert.deepEqual(Object.keys(g), ['all', 'ungrouped', 'top', 'mid', 'zeta', 'alpha', 'beta'])
    // breadth first: zeta (h1) and alpha (h2) are children of all, mid (h1 again) is deeper
    assert.deepEqual(g.all, ['u1', 'h1', 'h2'])
    assert.deepEqual(g.top, ['h1'])
    assert.deepEqual(g.ungrouped, ['u1'])
    assert.throws(() => (g.all as string[]).push('x'))
  })
})
