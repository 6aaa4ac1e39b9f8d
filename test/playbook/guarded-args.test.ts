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
import { loadProject } from '../../src/playbook/project.js'
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
