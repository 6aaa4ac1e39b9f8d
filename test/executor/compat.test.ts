// Executor behaviours found by Ansible's own integration targets (test/compat), on a real lab host,
// kept here so CI (no copy of Ansible's sources) holds them. The playbook below was run with
// Debian's ansible-playbook 2.14 (-c local): every assertion in it passes there, the statuses are
// the ones checked here, and its recap says changed=1 failed=0 skipped=1 rescued=1.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { run, statuses } from './helpers.js'
import { loadTasksAtRuntime } from '../../src/playbook/project.js'

const PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: set_fact per item
      set_fact: "{{ item }}=moo"
      with_items: [foo, bar]
    - name: set_fact booleans
      set_fact: flag=false
    - name: set_fact yes string
      set_fact:
        yesish: "yes"
    - name: facts accumulated
      assert:
        that:
          - foo == 'moo' and bar == 'moo'
          - flag is sameas false
          - yesish is sameas true
    - name: failed_when list is an AND
      command: /bin/false
      failed_when: [true, false]
      register: fw
    - name: failed_when_result
      assert:
        that: ["fw.failed_when_result is sameas false", "fw is changed", "fw is not failed"]
    - name: a rescued block
      block:
        - name: boom
          fail: { msg: kaboom }
      rescue:
        - name: rescue sees the failure
          assert:
            that:
              - ansible_failed_task.name == 'boom'
              - ansible_failed_result.msg == 'kaboom'
    - name: looped include
      include_tasks: inc.yml
      loop: [1, 2]
    - name: both items included
      assert:
        that: ["seen_1 is sameas true", "seen_2 is sameas true"]
    - name: quiet debug
      debug: { msg: hidden, verbosity: 1 }
    - name: k=v value keeps its type
      set_fact: "{{ item if (item is string)|bool else item[0] }}={{ item }}"
      with_list: [a, [b, c]]
    - name: list value
      assert:
        that: ["b == ['b', 'c']", "a == 'a'"]
`

describe('semantics the integration targets check', () => {
  it('set_fact per item and booleans, failed_when, rescue variables and count, looped include, debug verbosity', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, PLAYBOOK)
    writeFileSync(join(dir, 'inc.yml'), '- name: included\n  set_fact: "seen_{{ item }}=yes"\n')
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const host = lab.hosts[0].name
    const st = statuses(r, host)
    const why = JSON.stringify(r.results.filter((e) => e.status === 'failed').map((e) => [e.task, e.msg]))
    assert.equal(st.get('facts accumulated'), 'ok', why)
    assert.equal(st.get('failed_when list is an AND'), 'changed', why)
    assert.equal(st.get('failed_when_result'), 'ok', why)
    assert.equal(st.get('boom'), 'failed')
    assert.equal(st.get('rescue sees the failure'), 'ok', why)
    assert.equal(st.get('looped include'), 'ok')
    assert.equal(r.results.filter((e) => e.task === 'included' && e.status === 'ok').length, 2)
    assert.equal(st.get('both items included'), 'ok', why)
    assert.equal(st.get('quiet debug'), 'skipped')
    assert.equal(st.get('list value'), 'ok', why)
    const recap = r.summary.recap[host]
    assert.deepEqual([recap.changed, recap.failed, recap.skipped, recap.rescued], [1, 0, 1, 1])
  })
})

// Handlers as ansible-playbook 2.14 runs them (same statuses; over ssh, where ansible_connection is "ssh"): a `listen` topic wakes every
// handler listening to it; a handler may be a dynamic include (setup_remote_tmp_dir's cleanup) or
// a block whose tasks are handlers.
const HANDLERS = `- hosts: all
  gather_facts: false
  tasks:
    - name: the connection is a variable
      assert:
        that: ansible_connection == 'ssh'
    - name: group_by with changed_when false
      group_by: { key: cw_test }
      changed_when: false
    - name: group_by in a loop, changed_when per item
      group_by: { key: "t_{{ item }}" }
      loop: [1, 2]
      changed_when: item == 2
      register: gb
    - name: per-item changed kept
      assert:
        that: ["gb.results[0] is not changed", "gb.results[1] is changed", "gb is changed"]
    - name: templated set_fact name
      set_fact:
        "path_{{ idx }}": "{{ item }}"
      loop: [a, b]
      loop_control: { index_var: idx }
    - name: both names set
      assert:
        that: ["path_0 == 'a'", "path_1 == 'b'"]
    - name: attempts in failed_when of an until loop
      command: "true"
      register: att
      until: 1 == 0
      retries: 2
      delay: 0
      failed_when: att.attempts > 6
    - when: false
      block:
        - name: include in a false block
          include_tasks: cleanup.yml
    - name: notify a topic
      command: "true"
      notify: [topic, cleanup, in block]
  handlers:
    - name: first listener
      set_fact: { l1: true }
      listen: topic
    - name: second listener
      set_fact: { l2: true }
      listen: topic
    - name: cleanup
      include_tasks: cleanup.yml
      when: not skip_cleanup | default(false) | bool
    - block:
        - name: in block
          set_fact: { b1: true }
    - name: all ran
      assert:
        that: [l1, l2, c1, b1]
      listen: topic
`

describe('handlers the integration targets use', () => {
  it('every listener of a topic runs; an include_tasks handler runs its tasks; a block in handlers holds handlers', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, HANDLERS)
    writeFileSync(join(dir, 'cleanup.yml'), '- name: cleaned\n  set_fact: { c1: true }\n')
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const why = JSON.stringify(r.results.filter((e) => e.status === 'failed').map((e) => [e.task, e.msg]))
    assert.deepEqual(
      r.results.map((e) => [e.task, e.status]),
      [
        ['the connection is a variable', 'ok'],
        ['group_by with changed_when false', 'ok'],
        ['group_by in a loop, changed_when per item', 'changed'],
        ['per-item changed kept', 'ok'],
        ['templated set_fact name', 'ok'],
        ['both names set', 'ok'],
        ['attempts in failed_when of an until loop', 'changed'],
        ['include in a false block', 'skipped'],
        ['notify a topic', 'changed'],
        ['first listener', 'ok'],
        ['second listener', 'ok'],
        ['cleanup', 'ok'],
        ['cleaned', 'ok'],
        ['in block', 'ok'],
        ['all ran', 'ok'],
      ],
      why,
    )
  })
})

// add_host/group_by under changed_when reading their own registered result, as ansible-playbook 2.14
// runs it (-c local; statuses from its json callback: changed, ok, ok, changed [items ok, changed],
// ok, changed [both items], changed, ok, ok, ok): its strategy applies the inventory change, sets
// `changed` to whether the inventory changed and judges changed_when again over that result (per
// item, with the item's loop and index variables); a loop's task only ever turns changed.
const INVENTORY_CHANGED_WHEN = `- hosts: all
  gather_facts: false
  tasks:
    - name: new host, changed_when reads its own result
      add_host: { name: h_new }
      changed_when: r is changed
      register: r
    - name: known host, changed_when reads its own result
      add_host: { name: h_new }
      changed_when: r is changed
      register: r
    - name: new host, negated
      add_host: { name: h_new2 }
      changed_when: r is not changed
      register: r
    - name: loop, per item
      add_host: { name: "{{ item }}" }
      loop: [h_new, h_new3]
      changed_when: r is changed
      register: r
    - name: loop items
      assert:
        that: ["r.results[0] is not changed", "r.results[1] is changed", "r is changed"]
    - name: loop of known hosts negated
      add_host: { name: "{{ item }}" }
      loop: [h_new, h_new3]
      changed_when: r is not changed
      register: r
    - name: group_by new group
      group_by: { key: g_new }
      changed_when: r is changed
      register: r
    - name: group_by known group
      group_by: { key: g_new }
      changed_when: r is changed
      register: r
    - name: index variable
      add_host: { name: "{{ item }}" }
      loop: [h_a, h_b]
      loop_control: { index_var: idx }
      changed_when: idx == 1
      register: r
    - name: items name their index
      assert:
        that: ["r.results[1].idx == 1", "r.results[0].ansible_index_var == 'idx'", "r.results[0] is not changed", "r.results[1] is changed"]
`

describe('changed_when over add_host and group_by (the changed_when target)', () => {
  it('is judged again after the inventory change, over the result that says whether it changed', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, INVENTORY_CHANGED_WHEN)
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const why = JSON.stringify(r.results.filter((e) => e.status === 'failed').map((e) => [e.task, e.msg]))
    assert.deepEqual(
      r.results.filter((e) => e.task !== 'Gathering Facts').map((e) => [e.task, e.status]),
      [
        ['new host, changed_when reads its own result', 'changed'],
        ['known host, changed_when reads its own result', 'ok'],
        ['new host, negated', 'ok'],
        ['loop, per item', 'changed'],
        ['loop items', 'ok'],
        ['loop of known hosts negated', 'changed'],
        ['group_by new group', 'changed'],
        ['group_by known group', 'ok'],
        ['index variable', 'changed'],
        ['items name their index', 'ok'],
      ],
      why,
    )
  })
})

// A command with `check_mode: true` of its own registers Ansible's check-mode result, in a normal
// run as under ansible-playbook 2.14 (-c local; json callback: skipped, ok, changed, ok): skipped
// with "Command would have run if not in check mode" unless creates/removes guard it (changed).
const CHECKED_COMMAND = `- hosts: all
  gather_facts: false
  tasks:
    - name: checked command
      command: "true"
      check_mode: yes
      register: result
    - name: checked result
      assert:
        that: ["'Command would have run if not in check mode' in result.msg", "result.skipped", "not result.changed", "result.rc == 0", "result.stdout == ''"]
    - name: checked guarded shell
      shell: "touch /tmp/k3sbook-never"
      args: { creates: /tmp/k3sbook-never }
      check_mode: yes
      register: result
    - name: guarded result
      assert:
        that: ["'Command would have run if not in check mode' in result.msg", "result is changed", "result is not skipped"]
`

describe('command with check_mode: true (the command_shell target)', () => {
  it('registers the check-mode result, skipped unless guarded', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, CHECKED_COMMAND)
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const why = JSON.stringify(r.results.filter((e) => e.status === 'failed').map((e) => [e.task, e.msg]))
    assert.deepEqual(
      r.results.filter((e) => e.task !== 'Gathering Facts').map((e) => [e.task, e.status]),
      [
        ['checked command', 'skipped'],
        ['checked result', 'ok'],
        ['checked guarded shell', 'changed'],
        ['guarded result', 'ok'],
      ],
      why,
    )
  })
})

// ping's `data: crash` is a module failure as ansible-playbook 2.14 reports it (its ping raises
// Exception("boom")): failed, not changed, "MODULE FAILURE…", the traceback in module_stderr, empty
// module_stdout, rc 1 (ping target).
const PING_CRASH = `- hosts: all
  gather_facts: false
  tasks:
    - name: ping with data
      ping: { data: testing }
      register: result
    - name: data returned
      assert:
        that: ["result is not changed", "result.ping == 'testing'"]
    - name: ping crash
      ping: { data: crash }
      register: result
      ignore_errors: true
    - name: crash reported as a module failure
      assert:
        that:
          - result is failed
          - result is not changed
          - "'Exception: boom' in result.module_stdout + result.module_stderr"
          - result.msg.startswith('MODULE FAILURE')
          - result.rc == 1
`

describe('ping data=crash (the ping target)', () => {
  it('is a module failure with the traceback in module_stderr', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, PING_CRASH)
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const st = statuses(r, lab.hosts[0].name)
    const why = JSON.stringify(r.results.filter((e) => e.status === 'failed').map((e) => [e.task, e.msg]))
    assert.equal(st.get('data returned'), 'ok', why)
    assert.equal(st.get('ping crash'), 'failed')
    assert.equal(st.get('crash reported as a module failure'), 'ok', why)
  })
})

// A role's meta/argument_specs.yml, validated as ansible-playbook 2.14 does (-c local; json
// callback, same task statuses: ok, ok, ok, ok, failed, ok, ok, failed, ok; rescued=2): a first task
// "Validating arguments against arg spec 'main' - …" checks the spec's options among the variables
// (required, type, choices) and fails with Ansible's messages; defaults are not set as variables
// (the role's task, an assert here, was a debug printing count=undefined under ansible-playbook).
const ARG_SPECS_PLAYBOOK = `- hosts: all
  gather_facts: false
  tasks:
    - name: valid
      include_role: { name: r }
      vars: { name: x }
    - block:
        - name: wrong type and choice
          include_role: { name: r }
          vars: { name: x, count: "notanint", mode: c }
      rescue:
        - name: type and choice errors
          assert:
            that:
              - ansible_failed_result.argument_errors | length == 2
              - "'value of mode must be one of: a, b, got: c' in ansible_failed_result.argument_errors"
              - ansible_failed_result.msg.startswith('Validation of arguments failed:')
    - block:
        - name: missing
          include_role: { name: r2 }
      rescue:
        - name: missing error
          assert:
            that: ["ansible_failed_result.argument_errors == ['missing required arguments: name']"]
`
const ARG_SPECS = `argument_specs:
  main:
    short_description: demo
    options:
      name: { type: str, required: true }
      count: { type: int, default: 3 }
      mode: { type: str, choices: [a, b] }
`

describe('role argument_specs (item 4 of issue 14)', () => {
  it('a first task validates the entry point spec as Ansible does', async (t) => {
    const lab = await useLab(t, { hosts: 1, tag: 'compat' })
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    for (const r of ['r', 'r2']) {
      mkdirSync(join(dir, 'roles', r, 'meta'), { recursive: true })
      mkdirSync(join(dir, 'roles', r, 'tasks'), { recursive: true })
      writeFileSync(join(dir, 'roles', r, 'meta', 'argument_specs.yml'), ARG_SPECS)
      writeFileSync(
        join(dir, 'roles', r, 'tasks', 'main.yml'),
        '- name: defaults are not variables\n  assert: { that: [count is not defined, name is defined] }\n',
      )
    }
    const pb = join(dir, 'site.yml')
    writeFileSync(pb, ARG_SPECS_PLAYBOOK)
    const r = await run(pb, [lab.inventoryPath], { loadTasks: loadTasksAtRuntime })
    const v = "Validating arguments against arg spec 'main' - demo"
    assert.deepEqual(
      r.results.map((e) => [e.task, e.status]),
      [
        ['valid', 'ok'],
        [v, 'ok'],
        ['defaults are not variables', 'ok'],
        ['wrong type and choice', 'ok'],
        [v, 'failed'],
        ['type and choice errors', 'ok'],
        ['missing', 'ok'],
        [v, 'failed'],
        ['missing error', 'ok'],
      ],
      JSON.stringify(r.results.map((e) => [e.task, e.status, e.msg])),
    )
    assert.equal(r.summary.recap[lab.hosts[0].name].rescued, 2)
  })
})
