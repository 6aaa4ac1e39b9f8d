// A meta task whose `when` is false is shown skipped, as Ansible's strategy reports it
// (v2_runner_on_skipped), and still not counted in the recap; one that runs is no result at all.
// Before, k3sbook showed nothing for it, so a role's `meta: end_host` guard (willshersystems.sshd's
// "OS is supported") was missing from the task list Ansible prints. Compared with ansible-playbook.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ansibleStatuses } from '../helpers/ansible.js'
import { run, statuses } from './helpers.js'

const PLAY = `- hosts: localhost
  gather_facts: false
  tasks:
${['end_host', 'flush_handlers', 'clear_facts', 'end_play', 'clear_host_errors', 'end_batch'].map((m) => `    - name: skipped ${m}\n      meta: ${m}\n      when: false\n`).join('')}    - name: runs noop
      meta: noop
    - name: runs flush_handlers
      meta: flush_handlers
    - name: runs clear_facts
      meta: clear_facts
    - name: after
      debug: { msg: done }
`

test('a meta task skipped by its when is a skipped result, not counted; one that runs is no result (same as ansible-playbook)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-meta-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
  writeFileSync(join(dir, 'site.yml'), PLAY)
  const ours = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')])
  const theirs = await ansibleStatuses(join(dir, 'inv.yml'), join(dir, 'site.yml'))
  assert.deepEqual(Object.fromEntries(statuses(ours, 'localhost')), Object.fromEntries(theirs.get('localhost')!))
  assert.deepEqual(
    [...statuses(ours, 'localhost').keys()],
    [...['end_host', 'flush_handlers', 'clear_facts', 'end_play', 'clear_host_errors', 'end_batch'].map((m) => `skipped ${m}`), 'after'],
  )
  assert.equal(ours.summary.recap.localhost.skipped, 0)
  assert.equal(ours.summary.recap.localhost.ok, 1)
})
