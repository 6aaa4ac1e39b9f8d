// Ansible's magic variables about roles and the run (vars/manager.py, role_include.py): role names
// of the play (named, dependencies, both), ansible_role_name, ansible_parent_role_names/paths of a
// role included from inside another, ansible_collection_name, inventory sources, forks. validate
// treats them as defined; before, a task reading one failed at run time (dev-sec's ssh_hardening
// reads ansible_role_name in a template). Compared with ansible-playbook 2.14 (connection local),
// with the play's own role pulled in by import_role (listed) and by include_role (not listed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

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
    const out = await sameFilesAsAnsible(t, FILES(how), ['play.json', 'a.json', 'b.json', 'c.json'])
    const play = JSON.parse(readFileSync(join(out, 'play.json'), 'utf8'))
    assert.deepEqual(play[0], how === 'import_role' ? ['b', 'c'] : ['b'])
  })
}
