// include_role with a templated tasks_from/vars_from (`tasks_from: "{{ __sr_tasks_from |
// default('main') }}"`, as willshersystems.sshd's tests run the role) is loaded when it runs, with the
// option rendered per host and per loop item; and `meta: clear_facts` clears the fact cache only —
// registered results and set_fact variables stay, `ansible_facts` is an empty mapping. Before, the
// template text was taken as a file name and the role ran no task at all (reported ok), and
// clear_facts also dropped registered results ("'__register_dev_log' is undefined" in the same
// test). Its handlers join the play that included it and run at that play's end (before, they were
// lost to that play). Compared with ansible-playbook 2.14 (connection local) on the same project.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const FILES: Record<string, string> = {
  'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
  'roles/r/tasks/main.yml': '- copy: { dest: "{{ out }}/main-{{ tag }}.txt", content: "main {{ from_vars | default(\'none\') }}\\n" }\n',
  'roles/r/tasks/other.yml':
    '- copy: { dest: "{{ out }}/other-{{ tag }}.txt", content: "other {{ from_vars | default(\'none\') }}\\n" }\n  notify: r handler\n  when: tag == \'chosen\'\n' +
    '- copy: { dest: "{{ out }}/other-{{ tag }}.txt", content: "other {{ from_vars | default(\'none\') }}\\n" }\n  when: tag != \'chosen\'\n',
  // a role loaded when it runs brings its handlers into the play that included it: they run at its end
  // (notified from one include only: Ansible keeps a copy of them per include, k3sbook one per play)
  'roles/r/handlers/main.yml': '- name: r handler\n  shell: echo "{{ ansible_play_name }}" >> "{{ out }}/handler.txt"\n',
  'roles/r/vars/extra.yml': 'from_vars: extra-vars\n',
  // public: true exports the role's variables to the rest of the play
  'roles/r/vars/main.yml': 'r_exported: yes-public\n',
  // lookup('template') gives the template ansible_managed and template_path, as the template module does
  'templates/managed.j2': '{{ ansible_managed }} {{ template_path | basename }}\n',
  'tasks/run_role.yml':
    '- name: Clear facts\n  meta: clear_facts\n' +
    '- name: Run the role normally\n  include_role:\n    name: r\n    tasks_from: "{{ __tasks_from | default(\'main\') }}"\n    public: "{{ __public | default(false) }}"\n  when: __failed_when | d(true)\n',
  'site.yml': `- hosts: localhost
  gather_facts: true
  tasks:
    - stat: { path: /etc/hostname }
      register: before_clear
    - set_fact: { kept: yes-kept, cached: yes-cached, cacheable: true }
    - include_tasks: tasks/run_role.yml
      vars: { tag: default, __public: true }
    - include_tasks: tasks/run_role.yml
      vars: { tag: chosen, __tasks_from: other }
    - include_role: { name: r, tasks_from: "{{ item }}", vars_from: "{{ 'extra' if item == 'other' else omit }}" }
      vars: { tag: "loop-{{ item }}" }
      loop: [main, other]
    - copy:
        dest: "{{ out }}/after-clear.json"
        content: "{{ [before_clear.stat.exists, kept, cached, ansible_facts is mapping, ansible_facts.distribution is defined, ansible_hostname is defined] | to_json }}"
    - copy: { dest: "{{ out }}/public.txt", content: "{{ r_exported | default('none') }} {{ lookup('template', 'managed.j2') }}" }
- hosts: localhost
  gather_facts: false
  name: second play
  tasks:
    - shell: echo "second play" >> "{{ out }}/handler.txt"
`,
}

test('include_role with templated tasks_from/vars_from runs the rendered file, per item; clear_facts keeps registered results and set_fact variables (same as ansible-playbook)', async (t) => {
  const out = await sameFilesAsAnsible(t, FILES, [
    'main-default.txt',
    'other-chosen.txt',
    'main-loop-main.txt',
    'other-loop-other.txt',
    'after-clear.json',
    'handler.txt',
    'public.txt',
  ])
  assert.equal(readFileSync(join(out, 'public.txt'), 'utf8'), 'yes-public Ansible managed managed.j2\n')
  assert.equal(readFileSync(join(out, 'handler.txt'), 'utf8'), 'localhost\nsecond play\n')
  assert.equal(readFileSync(join(out, 'other-chosen.txt'), 'utf8'), 'other none\n')
  assert.equal(readFileSync(join(out, 'other-loop-other.txt'), 'utf8'), 'other extra-vars\n')
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'after-clear.json'), 'utf8')), [true, 'yes-kept', 'yes-cached', true, false, false])
})
