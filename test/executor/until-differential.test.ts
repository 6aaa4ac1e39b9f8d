// until/retries against ansible-playbook (connection local, each tool in its own folder), as
// Ansible's integration target `until` found them: retries + 1 attempts, and once the retries are
// spent Ansible reports `attempts` as the retries (one fewer than the attempts made) and fails the
// task; with retries 0 or less there is one attempt, and a false until does not fail it; failed_when
// and changed_when are judged before until on every attempt.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const SITE = `- hosts: local
  gather_facts: false
  tasks:
    - shell: echo run >> "{{ out }}/runs"
      register: spent
      until: false
      retries: 2
      delay: 0
      ignore_errors: true
    - shell: echo zero >> "{{ out }}/runs"
      register: zero
      until: false
      retries: 0
      delay: 0
    - shell: echo negative >> "{{ out }}/runs"
      register: negative
      until: false
      retries: -1
      delay: 0
    - shell: "true"
      register: fw
      failed_when: true
      until: fw is successful
      retries: 3
      delay: 0
      ignore_errors: true
    - shell: "true"
      register: cw
      changed_when: false
      until: cw is changed
      retries: 2
      delay: 0
      ignore_errors: true
    - shell: echo ok
      register: first
      until: first.stdout == 'ok'
      retries: 5
      delay: 0
    - copy:
        dest: "{{ out }}/results.json"
        content: |
          {% for r in [spent, zero, negative, fw, cw, first] %}
          {{ [r.attempts | default('none'), r.failed, r.changed, r.msg | default('')] | to_json }}
          {% endfor %}
`

test('until/retries: the attempts, failures and registered attempts ansible-playbook gives', async (t) => {
  const out = await sameFilesAsAnsible(t, { 'site.yml': SITE, 'inv.yml': 'local:\n  hosts:\n    localhost:\n      ansible_connection: local\n' }, [
    'results.json',
    'runs',
  ])
  // what the comparison covered
  assert.equal(readFileSync(join(out, 'runs'), 'utf8'), 'run\nrun\nrun\nzero\nnegative\n')
  const rows = readFileSync(join(out, 'results.json'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(rows[0].slice(0, 2), [2, true]) // three attempts, `attempts` 2, failed
  assert.deepEqual(rows[1].slice(0, 2), [1, false]) // retries 0: one attempt, not failed
  assert.equal(rows[3][0], 3)
})
