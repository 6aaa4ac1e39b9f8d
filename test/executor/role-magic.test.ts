// Ansible's magic variables about roles and the run (vars/manager.py, role_include.py): role names
// of the play (named, dependencies, both), ansible_role_name, ansible_parent_role_names/paths of a
// role included from inside another, ansible_collection_name, inventory sources, forks. validate
// treats them as defined; before, a task reading one failed at run time (dev-sec's ssh_hardening
// reads ansible_role_name in a template). Compared with ansible-playbook 2.14 (connection local),
// with the play's own role pulled in by import_role (listed) and by include_role (not listed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { ansibleEnv } from '../helpers/ansible.js'
import { run } from './helpers.js'

const write = (what: string) => `- copy: { dest: "{{ out }}/${what}.json", content: "{{ ${what}_seen | to_json }}" }\n`

const FILES = (how: string): Record<string, string> => ({
  'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
  'roles/a/tasks/main.yml':
    `- set_fact: { a_seen: ["{{ ansible_role_name }}", "{{ role_name }}", "{{ ansible_parent_role_names | default('none') }}", "{{ ansible_collection_name }}"] }\n` +
    write('a') +
    '- include_role: { name: c }\n',
  'roles/b/meta/main.yml': 'dependencies: [a]\n',
  'roles/b/tasks/main.yml': `- set_fact: { b_seen: ["{{ ansible_role_name }}", "{{ ansible_parent_role_names is defined }}"] }\n` + write('b'),
  'roles/c/tasks/main.yml':
    `- set_fact: { c_seen: ["{{ ansible_role_name }}", "{{ ansible_parent_role_names | default('none') }}", "{{ ansible_parent_role_paths | default([]) | map('basename') | list }}"] }\n` +
    write('c'),
  'site.yml': `- hosts: localhost
  gather_facts: false
  roles: [b]
  tasks:
    - set_fact:
        play_seen: ["{{ ansible_play_role_names }}", "{{ ansible_role_names | sort }}", "{{ ansible_dependent_role_names }}", "{{ role_names }}", "{{ ansible_forks }}", "{{ ansible_inventory_sources | map('basename') | list }}", "{{ inventory_file | basename }}"]
    - copy: { dest: "{{ out }}/play.json", content: "{{ play_seen | to_json }}" }
    - ${how}: { name: c }
`,
})

for (const how of ['import_role', 'include_role']) {
  test(`role and run magic variables are Ansible's (the play's own role by ${how})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-magic-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    for (const [p, text] of Object.entries(FILES(how))) {
      mkdirSync(dirname(join(dir, p)), { recursive: true })
      writeFileSync(join(dir, p), text)
    }
    for (const tool of ['k3sbook', 'ansible']) mkdirSync(join(dir, tool))
    const ours = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')], { extraVars: [`out=${join(dir, 'k3sbook')}`] })
    assert.equal(ours.summary.exitCode, 0, JSON.stringify(ours.results.filter((r) => r.status === 'failed')))
    await promisify(execFile)('ansible-playbook', ['-i', join(dir, 'inv.yml'), join(dir, 'site.yml'), '-e', `out=${join(dir, 'ansible')}`], {
      env: ansibleEnv(),
      cwd: dir,
    })
    for (const f of ['play', 'a', 'b', 'c']) {
      const theirs = readFileSync(join(dir, 'ansible', `${f}.json`), 'utf8')
      assert.equal(readFileSync(join(dir, 'k3sbook', `${f}.json`), 'utf8'), theirs, `${f}.json`)
    }
    const play = JSON.parse(readFileSync(join(dir, 'k3sbook', 'play.json'), 'utf8'))
    assert.deepEqual(play[0], how === 'import_role' ? ['b', 'c'] : ['b'])
  })
}
