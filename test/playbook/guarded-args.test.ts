// Strict means certainly wrong: a module argument k3sbook does not know (an option of a newer
// ansible-core, a typo) is an error only where the task runs on every path. Under a `when`, in a
// handler, with ignore_errors or failed_when, in a block with a `when` or a rescue, or in a rescue,
// it is a warning; the task then fails with the same message where it runs, and only there (as
// Ansible's argument check fails the task when it runs).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { loadProject, loadTasksAtRuntime } from '../../src/playbook/project.js'
import { run } from '../executor/helpers.js'

function project(tasks: string): { playbook: string; inventory: string } {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-guarded-'))
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
  writeFileSync(join(dir, 'site.yml'), `- hosts: localhost\n  gather_facts: false\n  vars:\n    newer: false\n  tasks:\n${tasks}`)
  return { playbook: join(dir, 'site.yml'), inventory: join(dir, 'inv.yml') }
}

function validate(p: { playbook: string; inventory: string }): string[] {
  const diags = new Diagnostics()
  loadProject({ playbook: p.playbook, inventories: [p.inventory], extraVars: [] }, diags)
  return diags.items.map((d) => `${d.severity}: ${formatDiagnostic(d)}`)
}

const BAD = 'debug: { msg: hi, colour: red }'

test('an unknown argument on every path is an error', () => {
  const out = validate(project(`    - ${BAD}\n`))
  assert.ok(
    out.some((l) => l.startsWith('error: ') && l.includes('debug: unknown argument "colour"')),
    out.join('\n'),
  )
})

for (const [where, tasks] of [
  ['under when', `    - ${BAD}\n      when: newer\n`],
  ['with ignore_errors', `    - ${BAD}\n      ignore_errors: true\n`],
  ['with failed_when', `    - ${BAD}\n      failed_when: false\n`],
  ['in a block with a when', `    - block:\n        - ${BAD}\n      when: newer\n`],
  ['in a block with a rescue', `    - block:\n        - ${BAD}\n      rescue:\n        - debug: { msg: rescued }\n`],
  ['in a rescue', `    - block:\n        - fail: { msg: boom }\n      rescue:\n        - ${BAD}\n          ignore_errors: true\n`],
]) {
  test(`an unknown argument ${where} is a warning, and the run fails the task only where it runs`, async () => {
    const p = project(tasks)
    const out = validate(p)
    assert.ok(!out.some((l) => l.startsWith('error: ')), out.join('\n'))
    assert.ok(
      out.some((l) => l.startsWith('warning: ') && l.includes('debug: unknown argument "colour"') && l.includes('(the task fails where it runs)')),
      out.join('\n'),
    )
    const r = await run(p.playbook, [p.inventory])
    const mine = r.results.filter((e) => e.task === 'debug' && e.host === 'localhost')
    if (where === 'under when' || where === 'in a block with a when')
      assert.deepEqual(
        mine.map((e) => e.status),
        ['skipped'],
      )
    else {
      assert.equal(mine[0]?.status, 'failed', JSON.stringify(mine))
      assert.match(mine[0].msg ?? '', /debug: unknown argument "colour"/)
    }
  })
}

// A role or task file that is not there, named by a dynamic include that may not run (its own
// `when`, or inside an include_tasks file that may not run, as willshersystems.sshd includes
// fedora.linux_system_roles.firewall from a firewall.yml included only when sshd_manage_firewall):
// a warning, and the include fails where it runs, naming what is missing. Before, the whole playbook
// was refused, and a role loaded when it ran failed for a file it never reached.
test('a missing role or task file behind an include that may not run is a warning; it fails only where it runs', async () => {
  const p = project(
    '    - include_tasks: fw.yml\n      when: manage_fw | default(false)\n' +
      '    - include_role: { name: missing.collection.other }\n      when: newer\n' +
      '    - include_tasks: not-there.yml\n      when: newer\n' +
      '    - debug: { msg: after }\n',
  )
  writeFileSync(join(p.playbook, '../fw.yml'), '- include_role:\n    name: missing.collection.role\n')
  const out = validate(p)
  assert.ok(!out.some((l) => l.startsWith('error: ')), out.join('\n'))
  for (const what of ['role "missing.collection.role" not found', 'role "missing.collection.other" not found', 'include_tasks: file "not-there.yml" not found'])
    assert.ok(
      out.some((l) => l.startsWith('warning: ') && l.includes(what) && l.includes('it fails where it runs')),
      `${what}\n${out.join('\n')}`,
    )
  const skipped = await run(p.playbook, [p.inventory], { loadTasks: loadTasksAtRuntime })
  assert.equal(skipped.summary.exitCode, 0)
  assert.equal(skipped.results.find((e) => e.task === 'debug')?.status, 'ok')
  const reached = await run(p.playbook, [p.inventory], { extraVars: ['manage_fw=true'], loadTasks: loadTasksAtRuntime })
  const failed = reached.results.find((e) => e.status === 'failed')
  assert.match(failed?.msg ?? '', /include_role missing\.collection\.role: .*role "missing\.collection\.role" not found/)
})

test('a missing role behind an include that runs on every path is an error', () => {
  const out = validate(project('    - include_role: { name: missing.collection.role }\n'))
  assert.ok(
    out.some((l) => l.startsWith('error: ') && l.includes('role "missing.collection.role" not found')),
    out.join('\n'),
  )
})

test('a missing copy src is an error, unless an earlier task on the control machine may make it (a warning then)', () => {
  const copy = '    - copy: { src: made-at-run-time, dest: /tmp/x }\n'
  const alone = validate(project(copy))
  assert.ok(
    alone.some((l) => l.startsWith('error: ') && l.includes('copy: src "made-at-run-time" not found')),
    alone.join('\n'),
  )
  const made = validate(project(`    - file: { path: made-at-run-time, state: directory }\n      delegate_to: localhost\n${copy}`))
  assert.ok(!made.some((l) => l.startsWith('error: ')), made.join('\n'))
  assert.ok(
    made.some((l) => l.startsWith('warning: ') && l.includes('not found (unless an earlier task on the control machine makes it)')),
    made.join('\n'),
  )
  // made only after the copy: still certainly missing when the copy runs
  const after = validate(project(`${copy}    - file: { path: made-at-run-time, state: directory }\n      delegate_to: localhost\n`))
  assert.ok(
    after.some((l) => l.startsWith('error: ') && l.includes('not found')),
    after.join('\n'),
  )
})
