// A no_log task's result is secret, but not the strings the run already holds as plain facts: a
// role that gathers facts again under no_log (willshersystems.sshd's "Ensure ansible_facts used by
// role", after its tests' meta clear_facts) had "systemd", "Debian" and "x86_64" masked in every later
// line, condition texts included.
// What the task alone brought stays secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isSecret, maskSecrets } from '../../src/secrets.js'
import { run } from './helpers.js'

test('facts gathered again under no_log stay readable; what only the no_log task brought is secret', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-nolog-facts-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const hidden = `nolog-only-${randomBytes(8).toString('hex')}`
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: localhost
  gather_facts: true
  tasks:
    # (as willshersystems.sshd's tests run the role: facts cleared, then gathered again under no_log)
    - meta: clear_facts
    - setup: { gather_subset: [min, virtual] }
      no_log: true
    - command: echo ${hidden}
      register: out
      no_log: true
    - debug: { msg: "{{ ansible_facts.system }} {{ ansible_facts.architecture }} {{ ansible_facts.distribution }}" }
`,
  )
  const r = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')])
  assert.equal(r.summary.exitCode, 0)
  assert.equal(r.results.find((e) => e.task === 'debug')?.status, 'ok')
  for (const v of ['Linux', 'Debian', 'x86_64']) {
    assert.equal(isSecret(v), false, v)
    assert.equal(maskSecrets(`system ${v}`), `system ${v}`)
  }
  assert.equal(isSecret(hidden), true, 'what only the no_log task brought is secret')
  assert.equal(maskSecrets(`said ${hidden}`), 'said ********')
})
