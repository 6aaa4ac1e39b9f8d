// Paths that leave their folder: a host named "../../x" must not read a file outside host_vars/;
// vars files and roles reached through a symbolic link or ".." out of their folder are reported
// with their position.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { hostInventoryVars, loadInventory } from '../../src/inventory/index.js'
import { loadProject } from '../../src/playbook/project.js'
import { tree } from './helpers.js'

test('a host name with ".." does not read vars files outside host_vars/', () => {
  const dir = tree({
    'inv/inv.yml': 'all:\n  hosts:\n    "../../secret":\n    ok1:\n',
    'inv/host_vars/ok1.yml': 'mine: 1\n',
    'secret.yml': 'leaked: "from outside"\n',
  })
  const diags = new Diagnostics()
  const inv = loadInventory([join(dir, 'inv/inv.yml')], diags)
  const vars = hostInventoryVars(inv, '../../secret', join(dir, 'inv'), diags)
  assert.equal(vars.leaked, undefined)
  assert.equal(hostInventoryVars(inv, 'ok1', join(dir, 'inv')).mine, 1)
  const messages = diags.items.map(formatDiagnostic)
  assert.ok(
    messages.some((m) => /host_vars:1:1: warning: host_vars for "\.\.\/\.\.\/secret" skipped: the name climbs out of .*host_vars with "\.\."/.test(m)),
    messages.join('\n'),
  )
})

test('a group_vars file linked from outside is read, with a warning naming the target', () => {
  const dir = tree({ 'inv/inv.yml': 'all:\n  hosts:\n    h1:\n', 'shared/all.yml': 'shared: yes\n' })
  mkdirSync(join(dir, 'inv/group_vars'))
  symlinkSync(join(dir, 'shared/all.yml'), join(dir, 'inv/group_vars/all.yml'))
  const diags = new Diagnostics()
  const inv = loadInventory([join(dir, 'inv/inv.yml')], diags)
  assert.equal(hostInventoryVars(inv, 'h1', join(dir, 'inv'), diags).shared, true)
  const messages = diags.items.map(formatDiagnostic)
  assert.ok(
    messages.some((m) => m.includes('group_vars/all.yml:1:1: warning: ') && m.includes(`is a symbolic link to ${join(dir, 'shared/all.yml')}`)),
    messages.join('\n'),
  )
})

test('roles reached through ".." or a symbolic link out of the role folders are warned about at the role entry', () => {
  const dir = tree({
    'project/site.yml': '- hosts: all\n  gather_facts: false\n  roles:\n    - ../elsewhere/climber\n    - linked\n    - plain\n',
    'project/roles/plain/tasks/main.yml': '- debug: msg=plain\n',
    'elsewhere/climber/tasks/main.yml': '- debug: msg=climber\n',
    'elsewhere/linked/tasks/main.yml': '- debug: msg=linked\n',
    'inv.yml': 'all:\n  hosts:\n    h1:\n',
  })
  symlinkSync(join(dir, 'elsewhere/linked'), join(dir, 'project/roles/linked'))
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'project/site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const warnings = diags.items.filter((d) => d.severity === 'warning').map(formatDiagnostic)
  assert.ok(
    warnings.some((m) => /site\.yml:4:7: warning: role "\.\.\/elsewhere\/climber" resolves to .*elsewhere\/climber, outside the role folders/.test(m)),
    warnings.join('\n'),
  )
  assert.ok(
    warnings.some((m) => /site\.yml:5:7: warning: role "linked" resolves to .*elsewhere\/linked, outside the role folders/.test(m)),
    warnings.join('\n'),
  )
  assert.ok(!warnings.some((m) => m.includes('"plain"')))
})
