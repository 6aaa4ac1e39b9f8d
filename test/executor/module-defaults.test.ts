// module_defaults against ansible-playbook (connection local, each tool in its own folder): the
// play's, a block's and a task's defaults, by short and ansible.builtin names, as a mapping or a
// list of them, with templated values, merged outermost first (a later entry for a module replaces
// an earlier one whole), the task's own arguments winning; the files and results must be the same.
// validate counts the defaults as given: a required argument they give is no error, and with a
// template for defaults it can only warn. (An empty `name:` is no name, not an error.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { loadProject } from '../../src/playbook/project.js'

const SITE = `- hosts: local
  gather_facts: false
  vars:
    greeting: hello
  module_defaults:
    debug: { msg: "{{ greeting }} from the play" }
    ansible.builtin.copy: { mode: "0600", content: "play default\\n" }
  tasks:
    - debug:
      register: d1
    - debug: { msg: own }
      register: d2
    - copy: { dest: "{{ out }}/a" }
    - block:
        - debug:
          register: d3
        - copy: { dest: "{{ out }}/b", content: "own content\\n" }
        - file: { state: touch }
      module_defaults:
        - ansible.builtin.debug: { msg: "from the block" }
        - file: { path: "{{ out }}/touched", mode: "0640" }
    - debug:
      register: d4
      module_defaults:
        ansible.legacy.debug: { var: greeting }
    - stat: { path: "{{ out }}/{{ item }}" }
      loop: [a, b, touched]
      register: st
    - copy:
        dest: "{{ out }}/results.json"
        mode: "0644"
        content: "{{ {'msgs': [d1.msg, d2.msg, d3.msg, d4.greeting | default('none')], 'modes': st.results | map(attribute='stat.mode') | list} | to_json }}"
`

test('module_defaults: the arguments and files ansible-playbook gives', async (t) => {
  const out = await sameFilesAsAnsible(t, { 'site.yml': SITE, 'inv.yml': 'local:\n  hosts:\n    localhost:\n      ansible_connection: local\n' }, [
    'results.json',
    'a',
    'b',
  ])
  // what the comparison covered
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), {
    msgs: ['hello from the play', 'own', 'from the block', 'hello'],
    modes: ['0600', '0600', '0640'],
  })
  assert.equal(readFileSync(join(out, 'a'), 'utf8'), 'play default\n')
})

test('validate: a required argument module_defaults give is no error; defaults from a template only warn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-moddef-'))
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  gather_facts: false
  module_defaults:
    ansible.builtin.service: { name: from-play }
  tasks:
    - service: { state: started }
    - block:
        - sysctl: { value: "1" }
      module_defaults: "{{ d }}"
    - sysctl: { value: "1" }
    - name:
      debug: { msg: an empty name is no name, as in Ansible }
`,
  )
  const diags = new Diagnostics()
  loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [] }, diags)
  const out = diags.items.map((d) => `${d.severity}: ${formatDiagnostic(d)}`)
  const missing = out.filter((l) => l.includes('missing required'))
  assert.equal(missing.length, 2, out.join('\n'))
  assert.match(missing[0], /^warning: .*site\.yml:8:\d+: .*sysctl: missing required argument "name".*the task fails where it runs/)
  assert.match(missing[1], /^error: .*site\.yml:10:\d+: sysctl: missing required argument "name"/)
  assert.ok(!out.some((l) => l.includes('service') || l.includes('"name" must')), out.join('\n'))
})
