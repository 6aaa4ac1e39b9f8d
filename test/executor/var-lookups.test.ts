// Lookups inside variables (play vars, role defaults, inventory variables, hostvars) search where
// Ansible's do, and a with_first_found searches the folder the task's action names (vars/ for
// include_vars, templates/ for template): the templar of the task that reads the variable (its role's files/ and templates/,
// then the playbook's), and hostvars the playbook's folder. Before, such a variable failed as soon as
// a task read it ("no search path given"; a pipe "outside a playbook's tasks"), though validate let
// it through; a lookup in a task's `environment` likewise. Compared with ansible-playbook 2.14 (connection local) on the same project.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const FILES: Record<string, string> = {
  'inv.yml': "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      hv: \"{{ lookup('file', 'a.txt') }}\"\n",
  'files/a.txt': 'playfile\n',
  'roles/r/files/b.txt': 'rolefile\n',
  'roles/r/templates/t.j2': 'tpl {{ 6 * 7 }}\n',
  'roles/r/defaults/main.yml': "y: \"{{ lookup('file', 'b.txt') }}\"\nz: \"{{ lookup('template', 't.j2') }}\"\n",
  'roles/r/vars/os.yml': 'from_vars_dir: yes\n',
  'roles/r/tasks/extra.yml': '- copy: { dest: "{{ out }}/extra.txt", content: "from {{ item | basename }}" }\n',
  'roles/r/tasks/main.yml':
    '- copy: { dest: "{{ out }}/role.json", content: "{{ [y, z, x] | to_json }}" }\n' +
    // with_first_found looks in vars/ for include_vars and templates/ for template, as Ansible's task executor says
    '- include_vars: { file: "{{ item }}", name: osv }\n  with_first_found: [{ files: [os.yml], skip: true }]\n' +
    '- template: { src: "{{ item }}", dest: "{{ out }}/found.txt" }\n  with_first_found: [t.j2]\n' +
    '- copy: { dest: "{{ out }}/first-found.json", content: "{{ osv | default(\'none\') | to_json }}" }\n' +
    // include_tasks over with_first_found (files/ then the role's tasks/, as Ansible searches): it crashed
    '- include_tasks: "{{ item }}"\n  with_first_found: [{ files: [missing.yml, extra.yml], skip: true }]\n' +
    // a lookup in `environment` searches the task's folders too (before: "no search path given")
    '- shell: printenv FROM_ROLE_FILE > "{{ out }}/env.txt"\n  environment: { FROM_ROLE_FILE: "{{ lookup(\'file\', \'b.txt\') }}" }\n',
  'site.yml': `- hosts: localhost
  gather_facts: false
  vars:
    x: "{{ lookup('file', 'a.txt') }}"
    d: "{{ lookup('pipe', 'echo piped') }}"
    l: "{{ query('lines', 'printf one') }}"
  roles: [r]
  tasks:
    - copy: { dest: "{{ out }}/play.json", content: "{{ [x, d, l, hv, hostvars[inventory_hostname].hv] | to_json }}" }
`,
}

test('lookups in variables search the reading task’s folders, as in Ansible', async (t) => {
  const out = await sameFilesAsAnsible(t, FILES, ['play.json', 'role.json', 'first-found.json', 'found.txt', 'env.txt', 'extra.txt'])
  assert.equal(readFileSync(join(out, 'env.txt'), 'utf8'), 'rolefile\n')
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'role.json'), 'utf8')), ['rolefile', 'tpl 42\n', 'playfile'])
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'first-found.json'), 'utf8')), { from_vars_dir: true })
})
