// ansible_loop as Ansible's TaskExecutor._run_loop builds it (found by the `loops` integration target).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loopVars } from '../../src/executor/loop.js'
import type { LoopSpec } from '../../src/model.js'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../playbook/cli.js'

const spec = (over: Partial<LoopSpec> = {}): LoopSpec => ({ items: [], kind: 'loop', loopVar: 'item', extended: true, ...over })
const items = ['apple', 'orange', 'banana']

describe('loop_control.extended', () => {
  it('nextitem on all but the last item, previtem on all but the first', () => {
    const at = (i: number) => loopVars(spec(), items, i).ansible_loop as Record<string, unknown>
    assert.deepEqual(at(0), { index: 1, index0: 0, first: true, last: false, length: 3, revindex: 3, revindex0: 2, allitems: items, nextitem: 'orange' })
    assert.equal(at(1).nextitem, 'banana')
    assert.equal(at(1).previtem, 'apple')
    assert.ok(!('nextitem' in at(2)))
    assert.equal(at(2).previtem, 'orange')
    assert.ok(!('previtem' in at(0)))
  })
  it('extended_allitems: false leaves allitems out', () => {
    const l = loopVars(spec({ extendedAllitems: false }), items, 1).ansible_loop as Record<string, unknown>
    assert.ok(!('allitems' in l))
    assert.equal(l.nextitem, 'banana')
  })
  it('no ansible_loop without extended; index_var sets ansible_index_var', () => {
    const v = loopVars(spec({ extended: undefined, indexVar: 'idx' }), items, 2)
    assert.equal(v.ansible_loop, undefined)
    assert.equal(v.idx, 2)
    assert.equal(v.ansible_index_var, 'idx')
  })
})

describe('with_* items are unsafe, hostvars templates leniently (loops, ansible issue 64169)', () => {
  it('a fact made from with_dict items is never templated again; from loop it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-loopvars-'))
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
    writeFileSync(join(dir, 'v.yml'), '__foo:\n  - "foo{{ version_64169 }}"\n')
    // checked with ansible-playbook 2.14: every assertion passes
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: localhost
  gather_facts: false
  vars:
    version_64169: '1.0'
  tasks:
    - include_vars: v.yml
    - set_fact: "{{ item.key }}={{ hostvars[inventory_hostname][item.value] }}"
      with_dict:
        foo: __foo
    - assert:
        that:
          - foo[0] != 'foo1.0'
          - foo[0] == unsafe_value
      vars:
        unsafe_value: !unsafe 'foo{{ version_64169 }}'
    - set_fact: "{{ item.key }}={{ hostvars[inventory_hostname][item.value] }}"
      loop: "{{ dicty_dict|dict2items }}"
      vars:
        dicty_dict:
          foo: __foo
    - assert:
        that:
          - foo[0] == 'foo1.0'
`,
    )
    const r = await runCli(['run', '-i', 'inv.yml', 'site.yml'], dir)
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })
})

describe('include_vars of an unsafe with_first_found item (lookup_first_found)', () => {
  it('a path with spaces from the item is the file name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-loopvars-'))
    mkdirSync(join(dir, 'files'))
    writeFileSync(join(dir, 'files', 'vars file spaces.yml'), 'foo: 1\n')
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
    // passes under ansible-playbook 2.14 (ok=2)
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: localhost
  gather_facts: false
  tasks:
    - include_vars: "{{ item }}"
      with_first_found:
        - files:
          - "{{ playbook_dir + '/files/vars file spaces.yml' }}"
    - assert:
        that: foo is defined
`,
    )
    const r = await runCli(['run', '-i', 'inv.yml', 'site.yml'], dir)
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })
})
