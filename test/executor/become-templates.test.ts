// become, become_user, become_method and the become password are templates like any keyword, rendered
// with the host's variables (`become_user: "{{ postgresql_user }}"`, geerlingguy.postgresql): before,
// they were taken as written and `su` was asked for a user named "{{ postgresql_user }}". And a module
// that dies before it answers (the bridge's MODULE FAILURE) shows what it printed, as Ansible's
// module_stderr: before, a failed item showed only "See stdout/stderr for the exact error".
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { tree } from '../reliability/helpers.js'
import { run, sh } from './helpers.js'

test('become keywords are rendered per host; a module that dies shows its stderr', async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'becometpl' })
  const dir = tree({})
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  gather_facts: false
  vars:
    app_user: k3sbook-become
    how: su
    wanted: "{{ 1 == 1 }}"
    nobody_here: k3sbook-no-such-user
  tasks:
    - user: { name: "{{ app_user }}", shell: /bin/sh }
    - name: as the templated user
      command: id -un
      become: "{{ wanted }}"
      become_method: "{{ how }}"
      become_user: "{{ app_user }}"
      register: who
    - name: not when the template says no
      command: id -un
      become: "{{ not wanted }}"
      become_method: su
      become_user: "{{ app_user }}"
      register: plain
    - copy: { dest: /tmp/k3sbook-become-who, content: "{{ who.stdout }} {{ plain.stdout }}" }
    - name: a module that cannot start
      debconf: { name: tzdata }
      become: true
      become_method: su
      become_user: "{{ nobody_here }}"
      loop: [1]
      ignore_errors: true
`,
  )
  const r = await run(join(dir, 'site.yml'), [lab.inventoryPath])
  const host = lab.hosts[0].name
  const byTask = new Map(r.results.filter((e) => e.host === host).map((e) => [e.task, e]))
  assert.equal(byTask.get('as the templated user')?.status, 'changed', JSON.stringify(byTask.get('as the templated user')))
  assert.equal(await sh(lab, 1, 'cat /tmp/k3sbook-become-who'), 'k3sbook-become root')
  const dead = byTask.get('a module that cannot start')
  assert.equal(dead?.status, 'failed')
  assert.match(dead?.stderr ?? '', /k3sbook-no-such-user/, JSON.stringify(dead))
})
