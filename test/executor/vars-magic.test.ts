// Ansible's `vars` (every variable of the task as stored, not templated), a variable whose template
// reads an undefined variable (an Undefined that fails only when used, so `default` still works),
// and a variable templated once, not twice (`"{{ '{{' }} $labels.instance {{ '}}' }}"` is the text
// of a Prometheus rule, not a template to render again). Before: `vars` was undefined (validate let
// it through and the run failed), `{{ a | default('d') }}` of `a: "{{ nope }}"` failed, and the
// escaped braces were rendered a second time. Compared with ansible-playbook 2.14 (connection
// local) on the same project: the files each tool's tasks wrote are the same.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const FILES: Record<string, string> = {
  'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      iface: lo\n      ansible_lo_like: { device: lo }\n',
  'roles/r/defaults/main.yml': 'role_default: "{{ bar * 2 }}"\nmissing_based: "{{ nope_at_all }}"\n',
  'roles/r/tasks/main.yml':
    // a role reads its own defaults through vars, raw, and a name made up from parts
    "- copy: { dest: \"{{ out }}/role.json\", content: \"{{ [vars.role_default, vars['role_' ~ 'default'], role_default, missing_based | default('fallback')] | to_json }}\" }\n",
  'site.yml': `- hosts: localhost
  gather_facts: false
  vars:
    bar: 5
    foo: "{{ bar + 1 }}"
    nested: { a: "{{ bar }}", b: [1, "{{ foo }}"] }
    escaped: "{{ '{{' }} bar {{ '}}' }}"
    alert: "{{ '{{' }} $labels.instance {{ '}}' }} is down"
    escaped_list: ["{{ '{{' }} x {{ '}}' }}", "{{ bar }}"]
    undefined_based: "{{ nope }}"
  roles: [r]
  tasks:
    - copy:
        dest: "{{ out }}/vars.json"
        content: "{{ [vars['foo'], vars.nested, 'foo' in vars, 'nope' in vars, vars['inventory_hostname'], vars['nope'] | default('d'), vars.get('bar'), vars.get('nope', 'g'), vars['ansible_' ~ iface ~ '_like'].device, 'vars' in vars] | to_json }}"
    - copy:
        dest: "{{ out }}/once.json"
        content: "{{ [escaped, alert, escaped_list, undefined_based | default('d'), undefined_based is defined, lookup('vars', 'escaped')] | to_json }}"
    - copy: { dest: "{{ out }}/alert.rules", content: "expr: up == 0\\nsummary: {{ alert }}\\n" }
    - template: { src: rules.j2, dest: "{{ out }}/rules.txt" }
`,
  'templates/rules.j2': '{{ alert }}\n{{ vars.alert }}\n{% for k in vars.nested | dictsort %}{{ k }}\n{% endfor %}',
}

// a project of its own: after the project above, Ansible 2.14 leaves the set_fact value below as
// the text "{{ bar + 1 }}" when it is read (in any later play of that run too), though alone it is 6
const FACTS: Record<string, string> = {
  'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
  'site.yml': `- hosts: localhost
  gather_facts: false
  vars:
    bar: 5
    foo: "{{ bar + 1 }}"
  tasks:
    - set_fact: { later: 7, copied: "{{ vars['foo'] }}" }
    # a set_fact value is templated when read, as any variable: "{{ bar + 1 }}" is 6 here
    - copy:
        dest: "{{ out }}/facts.json"
        content: "{{ [vars.later, vars['hostvars']['localhost']['later'], copied, vars | length > 10] | to_json }}"
`,
}

test('vars holds every variable as stored; a variable is templated once; one whose template reads an undefined variable fails only when used (same as ansible-playbook)', async (t) => {
  const out = await sameFilesAsAnsible(t, FILES, ['vars.json', 'once.json', 'alert.rules', 'rules.txt', 'role.json'])
  const facts = await sameFilesAsAnsible(t, FACTS, ['facts.json'])
  // the values themselves, beyond being the same as Ansible's
  const vars = JSON.parse(readFileSync(join(out, 'vars.json'), 'utf8'))
  assert.deepEqual(vars, ['{{ bar + 1 }}', { a: '{{ bar }}', b: [1, '{{ foo }}'] }, true, false, 'localhost', 'd', 5, 'g', 'lo', false])
  assert.deepEqual(JSON.parse(readFileSync(join(facts, 'facts.json'), 'utf8')), [7, 7, '6', true])
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'once.json'), 'utf8')), [
    '{{ bar }}',
    '{{ $labels.instance }} is down',
    ['{{ x }}', 5],
    'd',
    false,
    '{{ bar }}',
  ])
  assert.equal(readFileSync(join(out, 'alert.rules'), 'utf8'), 'expr: up == 0\nsummary: {{ $labels.instance }} is down\n')
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'role.json'), 'utf8')), ['{{ bar * 2 }}', '{{ bar * 2 }}', '10', 'fallback'])
})
