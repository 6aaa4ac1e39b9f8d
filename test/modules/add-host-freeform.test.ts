// add_host is one of Ansible's RAW_PARAM_MODULES: free-form text is accepted by validate and judged
// by the action at run time (add_host target: `add_host: "{{ inventory_data }}"`, and a bad string
// under ignore_errors). The playbook below passes under ansible-playbook 2.14 (ok=4 changed=1 ignored=1).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../playbook/cli.js'
import { addHostResult } from '../../src/modules/add_host.js'

describe('add_host free-form', () => {
  it('a rendered mapping is merged under the other arguments; anything else fails as Ansible words it', () => {
    assert.deepEqual(addHostResult({ _raw_params: { hostname: 'h1', x: 1 }, x: 2 }), {
      status: 'ok',
      result: { add_host: { host_name: 'h1', groups: [], host_vars: { x: 2 } } },
    })
    assert.deepEqual(addHostResult({ _raw_params: 'name x' }), {
      status: 'fail',
      msg: "Invalid raw parameters passed, requires a dictonary/mapping got a  <class 'str'>",
    })
  })
  it('validate accepts it; the run adds the host and fails the bad text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-addhost-'))
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: localhost
  gather_facts: false
  tasks:
    - add_host: "{{ inventory_data }}"
      vars:
        inventory_data:
          ansible_host: 127.0.0.9
          hostname: newdynamichost2
    - assert:
        that:
          - hostvars['newdynamichost2'].ansible_host == '127.0.0.9'
    - add_host: namenewdynamichost groupsnewdynamicgroup a_varfromadd_host
      ignore_errors: true
      register: badinput
    - assert:
        that:
          - badinput is failed
          - badinput.msg == "Invalid raw parameters passed, requires a dictonary/mapping got a  <class 'str'>"
`,
    )
    const r = await runCli(['run', '-i', 'inv.yml', 'site.yml'], dir)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /ignored=1/)
  })
})
