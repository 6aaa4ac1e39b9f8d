// Ansible's lazy evaluation, on a real lab host: a task's `when` is decided before its loop over
// an undefined variable is evaluated (any other error of the loop fails the task whatever `when`
// says); first_found passes over candidates with undefined variables; a templated gather_facts that renders false gathers nothing;
// a templated loop_var; a module Ansible has and k3sbook lacks fails only the task that runs it.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { run, statuses } from './helpers.js'
import { loadTasksAtRuntime } from '../../src/playbook/project.js'

describe('lazy evaluation as Ansible does it', () => {
  it('when before loop, templated gather_facts false, templated loop_var, unsupported module only where it runs', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'lazy' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-lazy-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(
      pb,
      `- hosts: all
  gather_facts: "{{ do_gather }}"
  vars:
    do_gather: "{{ 1 == 2 }}"
    lv: thing
    # used by no task: Ansible never renders it (k3s-ansible's prereq role vars)
    cluster_cidr: "{{ (server_config_yaml | from_yaml)['cluster-cidr'] | default('10.42.0.0/16') }}"
  tasks:
    - name: guarded loop
      debug: { msg: "{{ item }}" }
      loop: "{{ missing_list }}"
      when: missing_list is defined
    - name: facts not gathered
      assert: { that: ["ansible_facts.hostname is not defined"] }
    - name: templated loop_var
      debug: { msg: "{{ thing }}" }
      loop: [1, 2]
      loop_control: { loop_var: "{{ lv }}" }
    - name: skipped unsupported
      community.general.ufw: { rule: allow }
      when: false
    - name: unguarded loop
      debug: { msg: "{{ item }}" }
      loop: "{{ missing_list }}"
      ignore_errors: true
    - name: unsupported that runs
      ansible.builtin.dnf: { name: curl }
      ignore_errors: true
    - name: set_fact with a templated k=v name
      set_fact: "{{ item }}=moo"
      with_items: [foo, bar]
    - name: a loop whose lookup fails fails under a false when
      debug: { msg: "{{ item }}" }
      loop: "{{ lookup('file', '/nonexistent/k3sbook-lazy', wantlist=True) }}"
      when: false
      ignore_errors: true
    - name: first_found passes over an undefined candidate
      debug: { msg: "{{ item | basename }}" }
      with_first_found:
        - "{{ no_such_dir }}/inc.yml"
        - inc.yml
    - name: changed_when and failed_when read only what they use
      command: "true"
      changed_when: false
      failed_when: false
    - name: include found by first_found
      include_tasks: "{{ lookup('first_found', names) }}"
      vars:
        names: [nope.yml, inc.yml]
`,
    )
    writeFileSync(join(dir, 'inc.yml'), '- name: included\n  debug: { msg: found }\n')
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const host = lab.hosts[0].name
    const st = statuses(r, host)
    assert.equal(st.get('guarded loop'), 'skipped')
    assert.equal(st.get('facts not gathered'), 'ok')
    assert.equal(st.get('templated loop_var'), 'ok')
    assert.equal(st.get('skipped unsupported'), 'skipped')
    assert.equal(st.get('unguarded loop'), 'failed')
    assert.equal(st.get('unsupported that runs'), 'failed')
    // dnf runs through the bridge (Ansible's own module code) and fails on Debian with the message
    // `ansible localhost -c local -m ansible.builtin.dnf -a name=curl` gives here (no python3-dnf)
    assert.match(r.results.find((e) => e.task === 'unsupported that runs')!.msg ?? '', /^Could not import the dnf python module using \/usr\/bin\/python3/)
    assert.equal(st.get('set_fact with a templated k=v name'), 'ok', JSON.stringify(r.results.filter((e) => e.status === 'failed')))
    assert.equal(st.get('included'), 'ok')
    // Ansible evaluates the loop before `when` and defers only an undefined variable's error
    assert.equal(st.get('a loop whose lookup fails fails under a false when'), 'failed')
    assert.match(
      r.results.find((e) => e.task === 'a loop whose lookup fails fails under a false when')!.msg ?? '',
      /could not find '\/nonexistent\/k3sbook-lazy'/,
    )
    assert.equal(st.get('first_found passes over an undefined candidate'), 'ok')
    assert.equal(st.get('changed_when and failed_when read only what they use'), 'ok')
    assert.ok(!r.events.some((e) => e.type === 'host:result' && e.task === 'Gathering Facts'))
  })
})
