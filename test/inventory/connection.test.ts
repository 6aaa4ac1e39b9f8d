import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { userInfo } from 'node:os'
import { ValidationError } from '../../src/errors.js'
import { connectionSpec, hostInventoryVars } from '../../src/inventory/index.js'
import { loadIn } from './helpers.js'

describe('connectionSpec', () => {
  it('defaults to ssh on port 22 as the local user, to the inventory name', () => {
    assert.deepEqual(connectionSpec({ inventory_hostname: 'web1' }), { host: 'web1', port: 22, user: userInfo().username, connection: 'ssh' })
  })

  it('reads Ansible names and their older ansible_ssh_* aliases', () => {
    const spec = connectionSpec({
      inventory_hostname: 'web1',
      ansible_ssh_host: '10.0.0.2',
      ansible_port: '2222',
      ansible_ssh_user: 'debian',
      ansible_ssh_private_key_file: '~/.ssh/id',
      ansible_ssh_pass: 'pw',
      ansible_ssh_common_args: '-o ProxyJump=bastion',
      ansible_ssh_extra_args: '-o Foo=bar',
      ansible_become: 'yes',
      ansible_become_user: 'root',
      ansible_become_method: 'sudo',
      ansible_become_pass: 'bpw',
      ansible_python_interpreter: '/usr/bin/python3',
    })
    assert.deepEqual(spec, {
      host: '10.0.0.2',
      port: 2222,
      user: 'debian',
      connection: 'ssh',
      privateKeyFile: '~/.ssh/id',
      password: 'pw',
      commonArgs: '-o ProxyJump=bastion',
      extraArgs: '-o Foo=bar',
      become: true,
      becomeUser: 'root',
      becomeMethod: 'sudo',
      becomePassword: 'bpw',
    })
    assert.equal(connectionSpec({ inventory_hostname: 'a', ansible_host: 'h', ansible_ssh_host: 'old' }).host, 'h')
  })

  it('refuses bad ports, unsupported connections and non-boolean become', () => {
    assert.throws(() => connectionSpec({ inventory_hostname: 'a', ansible_port: 'ssh' }), ValidationError)
    assert.throws(() => connectionSpec({ inventory_hostname: 'a', ansible_port: 70000 }), ValidationError)
    assert.throws(() => connectionSpec({ inventory_hostname: 'a', ansible_connection: 'winrm' }), /ansible_connection "winrm" is not supported \(host a\)/)
    assert.throws(() => connectionSpec({ inventory_hostname: 'a', ansible_become: 'maybe' }), /ansible_become must be a boolean/)
    assert.equal(connectionSpec({ inventory_hostname: 'a', ansible_become: 'False' }).become, false)
  })

  it('connects locally to the implicit localhost, by ssh to an inventory localhost (as Ansible)', () => {
    const { inv } = loadIn('/', ['web1,'])
    assert.equal(connectionSpec(hostInventoryVars(inv, 'localhost')).connection, 'local')
    const { inv: inv2 } = loadIn('/', ['localhost,'])
    assert.equal(connectionSpec(hostInventoryVars(inv2, 'localhost')).connection, 'ssh')
  })
})
