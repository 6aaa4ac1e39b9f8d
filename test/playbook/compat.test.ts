// Valid Ansible that validate used to refuse, each found by the compatibility runner (test/compat)
// or by k3s-io/k3s-ansible: strict means certainly wrong, everything else is a warning with its
// position, and nothing cascades. Also the reverse gap: a refused filter or an unknown lookup is
// reported before any host, not mid-run.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { Task } from '../../src/model.js'
import { loadProject } from '../../src/playbook/project.js'

const INV = 'all:\n  hosts:\n    h1:\n      ansible_host: 127.0.0.1\n'

function validate(play: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
  for (const [f, text] of Object.entries({ 'site.yml': play, 'inv.yml': INV, ...files })) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    writeFileSync(join(dir, f), text)
  }
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [], cwd: dir }, diags)
  const fmt = (sev: 'error' | 'warning') =>
    diags
      .sorted()
      .filter((d) => d.severity === sev)
      .map(formatDiagnostic)
      .join('\n')
  return { project, errors: fmt('error'), warnings: fmt('warning') }
}

const play = (tasks: string, head = '') => `- hosts: all\n  gather_facts: false\n${head}  tasks:\n${tasks}`

describe('validate refuses only what is certainly wrong', () => {
  it('a module Ansible has and k3sbook lacks is a warning at its position; the task is kept', () => {
    const r = validate(
      play(
        '    - name: fw\n      community.general.ufw: { rule: allow, port: "22" }\n      when: ansible_os_family == "Ubuntu"\n    - ansible.builtin.dnf: name=x\n',
      ),
    )
    assert.equal(r.errors, '')
    assert.match(r.warnings, /site\.yml:5:7: warning: module "community\.general\.ufw" is not implemented by k3sbook/)
    assert.match(r.warnings, /site\.yml:7:7: warning: module "ansible\.builtin\.dnf" is not implemented by k3sbook/)
    const t = r.project!.playbook.plays[0].tasks[0] as Task
    assert.equal(t.unsupported, true)
    assert.deepEqual(t.args, { rule: 'allow', port: '22' })
  })
  it('a module that exists nowhere (not in k3sbook, ansible-core or an installed collection) is an error', () => {
    const r = validate(play('    - copyy: { src: a, dest: b }\n    - ansible.builtin.nosuchmodule: {}\n'))
    assert.match(r.errors, /site\.yml:4:7: unknown module "copyy" \(did you mean "copy"\?\)/)
    assert.match(r.errors, /site\.yml:5:7: unknown module "ansible\.builtin\.nosuchmodule"/)
  })
  it("a role's library/ module is Ansible's: a warning", () => {
    const r = validate('- hosts: all\n  gather_facts: false\n  roles: [r]\n', {
      'roles/r/tasks/main.yml': '- my_mod: { a: 1 }\n',
      'roles/r/library/my_mod.py': '#!/usr/bin/python\n',
    })
    assert.equal(r.errors, '')
    assert.match(r.warnings, /module "my_mod" is not implemented by k3sbook/)
  })
  it('a handler refused for its own error is not also "no handler named" at each notify', () => {
    const r = validate(play('    - command: "true"\n      notify: restart\n') + '  handlers:\n    - name: restart\n      nosuchmodule_xyz: {}\n')
    assert.match(r.errors, /unknown module "nosuchmodule_xyz"/)
    assert.doesNotMatch(r.errors, /no handler named/)
  })
  it('set_fact with a templated name is valid; the names it sets make undefined names warnings', () => {
    const r = validate(play('    - set_fact:\n        "v_{{ 1 }}": 1\n    - debug: { msg: "{{ v_1 }}" }\n'))
    assert.equal(r.errors, '')
    assert.match(r.warnings, /undefined variable "v_1" \(unless a task defines it at run time\)/)
  })
  it('a template syntax error under ignore_errors is a warning: the task fails where it runs (lookup_csvfile)', () => {
    const r = validate(play("    - set_fact:\n        x: \"{{ lookup('env', 'HOME', a=',' b=1) }}\"\n      ignore_errors: yes\n"))
    assert.equal(r.errors, '')
    assert.match(r.warnings, /template syntax error: .*\(the task fails where it is evaluated\)/)
    const bad = validate(play("    - set_fact:\n        x: \"{{ lookup('env', 'HOME', a=',' b=1) }}\"\n"))
    assert.match(bad.errors, /template syntax error/)
  })
  it('include_tasks and blocks in handlers are valid (setup_remote_tmp_dir): the include is loaded, block tasks are handlers', () => {
    const r = validate(
      play('    - command: "true"\n      notify: [cleanup, b1]\n') +
        '  handlers:\n    - name: cleanup\n      include_tasks: x.yml\n    - block:\n        - name: b1\n          debug: { msg: hi }\n      when: false\n',
      { 'x.yml': '- debug: { msg: hi }\n' },
    )
    assert.equal(r.errors, '')
    assert.equal(r.warnings, '')
    const hs = r.project!.playbook.plays[0].handlers
    assert.equal(hs[0].kind, 'include')
    assert.equal(hs[1].name, 'b1')
    assert.deepEqual(hs[1].when, ['False'])
  })
  it('templated strategy, serial, loop_var, gather_facts and action module; vars as a list of mappings', () => {
    const r = validate(
      '- hosts: all\n  strategy: "{{ strat }}"\n  serial: "{{ batch }}"\n  gather_facts: "{{ gf }}"\n  vars:\n    - strat: free\n    - batch: 1\n    - gf: false\n    - m: debug\n  tasks:\n' +
        '    - debug: { msg: "{{ x }}" }\n      loop: [1, 2]\n      loop_control: { loop_var: "{{ \'x\' }}" }\n    - action: { module: "{{ m }}", msg: hi }\n',
    )
    assert.equal(r.errors, '')
    const p = r.project!.playbook.plays[0]
    assert.equal(p.strategy, 'free')
    assert.deepEqual(p.serial, ['1'])
    assert.equal(p.gatherFacts, false)
    assert.equal((p.tasks[0] as Task).loop!.loopVar, 'x')
    assert.equal((p.tasks[1] as Task).module, 'debug')
  })
  it('creates: yes is the path "True" and assert that: [true, null] is valid, as in Ansible', () => {
    const r = validate(play('    - command: echo hi\n      args: { creates: yes }\n    - assert: { that: [true, null] }\n'))
    assert.equal(r.errors, '')
    const [cmd, as] = r.project!.playbook.plays[0].tasks as Task[]
    assert.equal(cmd.args.creates, 'True')
    assert.deepEqual(as.args.that, ['True', 'True'])
  })
  it('an undefined variable is an error only where it is always evaluated; guarded uses are warnings', () => {
    const r = validate(
      play(
        '    - debug: { msg: "{{ nope_a }}" }\n      when: other is defined\n    - debug: { msg: "{{ nope_b }}" }\n      ignore_errors: true\n' +
          '    - block:\n        - debug: { msg: "{{ nope_c }}" }\n      rescue:\n        - debug: { msg: "{{ nope_d }}" }\n    - debug: { msg: "{{ nope_e }}" }\n',
      ),
    )
    assert.deepEqual(
      r.errors.split('\n').map((l) => l.replace(/^.*?: /, '')),
      ['undefined variable "nope_e" (no inventory, group_vars, role defaults, play vars, register or -e defines "nope_e")'],
    )
    for (const n of ['a', 'b', 'c', 'd']) assert.match(r.warnings, new RegExp(`undefined variable "nope_${n}"`))
  })
  it('a missing copy src under ignore_errors is a warning (the task may be there to fail)', () => {
    const r = validate(play('    - copy: { src: no_such_file, dest: /tmp/x }\n      ignore_errors: true\n    - copy: { src: no_such_file2, dest: /tmp/x }\n'))
    assert.match(r.warnings, /copy: src "no_such_file" not found \(where it runs\)/)
    assert.match(r.errors, /copy: src "no_such_file2" not found/)
  })
  it('a task that defines names at run time (include_vars, *_facts) makes undefined names warnings', () => {
    const r = validate(play('    - include_vars: { file: x.yml }\n    - debug: { msg: "{{ from_file }}" }\n'), { 'x.yml': 'from_file: 1\n' })
    assert.equal(r.errors, '')
    assert.match(r.warnings, /undefined variable "from_file" \(unless a task defines it at run time\)/)
  })
  it('with_first_found and any with_<lookup> k3sbook has are loops; an unknown lookup is refused up front', () => {
    const ok = validate(
      play('    - debug: { msg: "{{ item }}" }\n      with_first_found: [a.yml, b.yml]\n    - debug: { msg: "{{ item }}" }\n      with_together: [[1], [2]]\n'),
    )
    assert.equal(ok.errors, '')
    const bad = validate(
      play(
        '    - debug: { msg: "{{ item }}" }\n      with_nosuch: [1]\n    - debug: { msg: "{{ lookup(\'nosuch2\', \'x\') }}" }\n    - debug: { msg: "{{ x | nosuch_filter }}" }\n      vars: { x: "~" }\n',
      ),
    )
    assert.match(bad.errors, /site\.yml:5:7: unknown loop "with_nosuch"/)
    assert.match(bad.errors, /lookup "nosuch2" is not supported by k3sbook/)
    assert.match(bad.errors, /no filter named 'nosuch_filter'/)
  })
  it("with_first_found's candidates may use undefined variables (first_found passes over them): a warning; a whole templated list is not a candidate", () => {
    const r = validate(play('    - debug: { msg: "{{ item }}" }\n      with_first_found:\n        - "{{ distro_file }}.yml"\n        - default.yml\n'))
    assert.equal(r.errors, '')
    assert.match(r.warnings, /site\.yml:6:11: warning: undefined variable "distro_file" \(where it is evaluated\)/)
    const whole = validate(play('    - debug: { msg: "{{ item }}" }\n      with_first_found: "{{ candidates }}"\n'))
    assert.match(whole.errors, /site\.yml:5:25: undefined variable "candidates"/)
  })
})
