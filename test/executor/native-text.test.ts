// Text a string-type filter made (`to_json`, Ansible's NativeJinjaText) stays text through a
// variable and a set_fact, where a plain string that looks like a list is read back as a list.
// willshersystems.sshd compares `__sshd_ports_from_config != "[22]"` after such a set_fact; k3sbook
// read "[22]" back as a list, the comparison was true, and a handler ran that Ansible skips.
// Compared with ansible-playbook 2.14 (connection local) on the same project.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const FILES: Record<string, string> = {
  'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
  'site.yml': `- hosts: localhost
  gather_facts: false
  vars:
    ports: [22]
    plain_list_text: "[7, 8]"
  tasks:
    - name: as the role finds its ports
      vars:
        tmp: >-
          {%- if nope is defined -%}{{- nope | to_json -}}{%- else -%}{{- ports | to_json -}}{%- endif -%}
      set_fact:
        from_config: >-
          {%- if tmp | type_debug == "list" -%}{{- tmp | to_json -}}
          {%- elif tmp | from_json is string or tmp | from_json is number -%}{{- [tmp | from_json] | to_json -}}
          {%- else -%}{{- tmp -}}{%- endif -%}
        direct: "{{ ports | to_json }}"
    - set_fact:
        again: "{{ direct }}"
        listed: "{{ plain_list_text }}"
    - copy:
        dest: "{{ out }}/native.json"
        content: "{{ [from_config != '[22]', from_config is string, direct is string, again is string, again == '[22]', listed is string, listed | length] | to_json }}"
`,
}

test('text made by to_json stays text through variables and set_fact; a plain list-like string is read back as a list (same as ansible-playbook)', async (t) => {
  const out = await sameFilesAsAnsible(t, FILES, ['native.json'])
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'native.json'), 'utf8')), [false, true, true, true, true, false, 2])
})
