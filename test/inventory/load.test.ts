import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { groupsMap } from '../../src/inventory/index.js'
import { loadIn, tree } from './helpers.js'

describe('YAML inventory', () => {
  it('loads groups, children, vars, null hosts and ranges', () => {
    const dir = tree({
      'inv.yml': `all:
  vars: {a: 1}
  children:
    k3s_cluster:
      children:
        server:
          hosts:
            node[01:03]:
        agent:
          hosts:
            db-[a:c]:
            "w[01:50:2]":
      vars:
        k3s_version: v1.30.2+k3s1
loose:
  hosts: single
`,
    })
    const { inv, messages } = loadIn(dir, ['inv.yml'])
    assert.deepEqual(messages, [])
    assert.deepEqual(inv.groups.get('server')!.hosts, ['node01', 'node02', 'node03'])
    const agent = inv.groups.get('agent')!.hosts
    assert.deepEqual(agent.slice(0, 5), ['db-a', 'db-b', 'db-c', 'w01', 'w03'])
    assert.equal(agent.length, 3 + 25)
    assert.equal(agent[agent.length - 1], 'w49')
    assert.deepEqual(inv.groups.get('k3s_cluster')!.children, ['server', 'agent'])
    assert.deepEqual(inv.groups.get('all')!.children, ['ungrouped', 'k3s_cluster', 'loose'])
    assert.deepEqual(inv.groups.get('loose')!.hosts, ['single'])
    assert.equal(inv.groups.get('k3s_cluster')!.vars.k3s_version, 'v1.30.2+k3s1')
    assert.deepEqual(groupsMap(inv).ungrouped, [])
  })

  it('reports an unknown key in a group with its position and a suggestion', () => {
    const dir = tree({ 'inv.yml': 'all:\n  children:\n    web:\n      host:\n        web1:\n      varz: {a: 1}\n      web2:\n' })
    const { messages } = loadIn(dir, ['inv.yml'])
    assert.deepEqual(messages, [
      'inv.yml:4:7: unknown key "host" in group "web" (did you mean "hosts"?)',
      'inv.yml:6:7: unknown key "varz" in group "web" (did you mean "vars"?)',
      'inv.yml:7:7: unknown key "web2" in group "web" (a group holds only "hosts", "vars" and "children"; put a host under "hosts:")',
    ])
  })

  it('rejects hosts written as a list, and non-mapping host vars', () => {
    const dir = tree({ 'inv.yml': 'web:\n  hosts:\n    - web1\n    - web2\ndb:\n  hosts:\n    db1: oops\n' })
    const { messages } = loadIn(dir, ['inv.yml'])
    assert.deepEqual(messages, [
      'inv.yml:3:5: "hosts" of group "web" must be a mapping, found a list (write one entry per line: "hosts:\\n  name1:\\n  name2:")',
      'inv.yml:7:10: variables of host "db1" must be a mapping, found a string (write "host:" alone, or "host: {var: value}")',
    ])
  })

  it('reports a cycle in children at the edge that closes it', () => {
    const dir = tree({ 'inv.yml': 'a:\n  children:\n    b:\n      children:\n        c:\n          children:\n            a:\n' })
    const { messages, inv } = loadIn(dir, ['inv.yml'])
    assert.deepEqual(messages, [
      'inv.yml:3:5: adding group "b" as a child of "a" creates a cycle: b → c → a → b (groups in children: must form a tree (a group may not contain its own ancestor))',
    ])
    assert.deepEqual(inv.groups.get('a')!.children, [])
  })

  it('reports a group that is its own child', () => {
    const dir = tree({ 'inv.yml': 'a:\n  children:\n    a:\n' })
    assert.deepEqual(loadIn(dir, ['inv.yml']).messages, ['inv.yml:3:5: group "a" cannot be a child of itself (remove it from its own children)'])
  })

  it('reports bad ranges, numeric host keys and YAML syntax errors with positions', () => {
    const dir = tree({
      'inv.yml': 'web:\n  hosts:\n    node[01:5]:\n    node[3:1]:\n    1:\n',
      'broken.yml': 'web:\n  hosts:\n    a: [1\n',
    })
    assert.deepEqual(loadIn(dir, ['inv.yml']).messages, [
      'inv.yml:3:5: bad host range "node[01:5]": host range must specify equal-length begin and end formats (ranges look like node[01:10], node[1:9:2] or db-[a:f])',
      'inv.yml:4:5: warning: host range "node[3:1]" is empty (the end is smaller than the begin)',
      'inv.yml:5:5: host name 1 must be a string (enclose numbers in quotes)',
    ])
    const m = loadIn(dir, ['broken.yml']).messages
    assert.equal(m.length >= 1, true)
    assert.match(m[0], /^broken\.yml:\d+:\d+: YAML syntax error/)
  })

  it('warns about group names Ansible warns about, and a host that is also a group', () => {
    const dir = tree({ 'inv.yml': 'k3s-cluster:\n  hosts:\n    web:\nweb:\n  hosts:\n    x:\n' })
    assert.deepEqual(loadIn(dir, ['inv.yml']).messages, [
      'inv.yml:1:1: warning: group name "k3s-cluster" contains characters that are not valid in variable names (Ansible warns about this too; use letters, digits and "_" (e.g. "k3s_cluster"))',
      'inv.yml:4:1: warning: "web" is both a host and a group (a pattern naming it selects the host only; rename one of them)',
    ])
  })

  it('refuses inventory plugin configs and non-mapping files, warns on an empty one', () => {
    const dir = tree({ 'p.yml': 'plugin: aws_ec2\n', 'l.yml': '- a\n- b\n', 'e.yml': '# nothing\n' })
    assert.deepEqual(loadIn(dir, ['p.yml']).messages, ['p.yml:1:1: inventory plugin configuration files are not supported (list hosts and groups in the YAML inventory format)'])
    assert.deepEqual(loadIn(dir, ['l.yml']).messages, ['l.yml:1:1: YAML inventory must be a mapping of group names, found a list (e.g. "all: {hosts: {web1: }}")'])
    assert.deepEqual(loadIn(dir, ['e.yml']).messages, ['e.yml:1:1: warning: inventory file is empty'])
  })

  it('moves hosts out of ungrouped once they are in a group, and puts hosts of all into ungrouped', () => {
    const dir = tree({ 'inv.yml': 'all:\n  hosts:\n    b1:\nungrouped:\n  hosts:\n    u1:\n    u2:\nweb:\n  hosts:\n    u1:\n' })
    const { inv, messages } = loadIn(dir, ['inv.yml'])
    assert.deepEqual(messages, [])
    assert.deepEqual(inv.groups.get('ungrouped')!.hosts, ['u2', 'b1'])
    assert.deepEqual(inv.hostOrder, ['b1', 'u2', 'u1'])
  })

  it('reads host:port keys as ansible_port', () => {
    const dir = tree({ 'inv.yml': 'web:\n  hosts:\n    "web1:2222":\n    "[::1]:2200":\n    10.0.0.5:\n' })
    const { inv } = loadIn(dir, ['inv.yml'])
    assert.deepEqual([...inv.hosts.keys()], ['web1', '::1', '10.0.0.5'])
    assert.equal(inv.hosts.get('web1')!.vars.ansible_port, 2222)
    assert.equal(inv.hosts.get('::1')!.vars.ansible_port, 2200)
  })
})

describe('INI inventory', () => {
  it('loads sections, children declared before their group, inline and group vars', () => {
    const dir = tree({
      hosts: 'top1 a=1\n[web]\nweb[1:2] port=22 name="x y"\n[all:children]\nweb\n[k3s:children]\nweb\nlater\n[later]\nl1\n[web:vars]\nv = [1, 2]\n',
    })
    const { inv, messages } = loadIn(dir, ['hosts'])
    assert.deepEqual(messages, [])
    assert.deepEqual(inv.groups.get('k3s')!.children, ['web', 'later'])
    assert.deepEqual(inv.hosts.get('web1')!.vars.port, 22)
    assert.deepEqual(inv.hosts.get('web2')!.vars.name, 'x y')
    assert.deepEqual(inv.groups.get('web')!.vars.v, [1, 2])
    assert.deepEqual(inv.groups.get('ungrouped')!.hosts, ['top1'])
  })

  it('reports every problem with its line and a hint', () => {
    const dir = tree({
      'bad.ini': '[web]\nweb1 novalue\n[web:var]\nx=1\n[db:vars]\nx=1\n[prod:children]\nwebb\n[web:children]\nweb\n[bad section]\nhost: \n',
    })
    assert.deepEqual(loadIn(dir, ['bad.ini']).messages, [
      'bad.ini:2:6: expected key=value after the host name, got "novalue" (host variables are written key=value; quote values with spaces)',
      'bad.ini:3:6: section [web:var] has unknown type "var" (did you mean "vars"?)',
      'bad.ini:5:1: section [db:vars] is for a group that is not defined (add a [db] section)',
      'bad.ini:8:1: [prod:children] names group "webb", which is not defined (did you mean "web"?)',
      'bad.ini:10:1: group "web" cannot be a child of itself (remove it from its own children)',
      'bad.ini:11:1: invalid section header "[bad section]" (a section looks like [group], [group:vars] or [group:children], without spaces)',
    ])
  })

  it('refuses a host ending in ":" and a YAML file read as INI', () => {
    const dir = tree({ 'a.ini': 'web1:\n', 'b.cfg': '---\n' })
    assert.deepEqual(loadIn(dir, ['a.ini']).messages, ['a.ini:1:1: host "web1:" ends in ":" (":" is reserved for a port number, as in host:2222)'])
    assert.deepEqual(loadIn(dir, ['b.cfg']).messages, ['b.cfg:1:1: "---" is not a host name (this looks like a YAML file: give it a .yml extension)'])
  })
})

describe('sources', () => {
  it('reports a missing source and merges several sources in order', () => {
    const dir = tree({ 'a.yml': 'web:\n  hosts:\n    w1: {v: a}\n', 'b.ini': '[web]\nw1 v=b\nw2\n' })
    const { inv, messages } = loadIn(dir, ['a.yml', 'b.ini', 'nope.yml'])
    assert.equal(messages.length, 1)
    assert.match(messages[0], /^inventory source not found: .*nope\.yml \(give a file, a folder/)
    assert.deepEqual(inv.groups.get('web')!.hosts, ['w1', 'w2'])
    assert.equal(inv.hosts.get('w1')!.vars.v, 'b')
    assert.equal(inv.hosts.get('w1')!.vars.inventory_file, `${dir}/a.yml`)
    assert.equal(inv.sources.length, 3)
  })

  it('accepts a comma-separated host list with ports', () => {
    const { inv, messages } = loadIn('/', ['h1, h2:2200,[::1]:23,'])
    assert.deepEqual(messages, [])
    assert.deepEqual([...inv.hosts.keys()], ['h1', 'h2', '::1'])
    assert.equal(inv.hosts.get('h2')!.vars.ansible_port, 2200)
    assert.deepEqual(inv.groups.get('ungrouped')!.hosts, ['h1', 'h2', '::1'])
  })

  it('checks the group_vars and host_vars files of the inventory while loading', () => {
    const dir = tree({
      'inv.yml': 'server:\n  hosts:\n    s1:\n',
      'group_vars/server.yml': '- not\n- a mapping\n',
      'group_vars/sever.yml': 'a: 1\n',
      'group_vars/unrelated.yml': 'a: 1\n',
      'host_vars/s1.yml': '$ANSIBLE_VAULT;1.1;AES256\n6162\n',
      'group_vars/all/main.yml': 'x: [1\n',
    })
    const messages = loadIn(dir, ['inv.yml']).messages
    assert.equal(messages.length, 4)
    assert.match(messages[0], /^group_vars\/all\/main\.yml:\d+:\d+: YAML syntax error/)
    assert.deepEqual(messages.slice(1), [
      'group_vars/server.yml:1:1: a vars file must be a mapping of variable names, found a list (e.g. "k3s_version: v1.30.2+k3s1")',
      'group_vars/sever.yml:1:1: warning: group_vars/sever.yml matches no group in the inventory (did you mean "server"?)',
      'host_vars/s1.yml:1:1: this file is vault-encrypted and no vault password was given (give the password with --vault-password-file FILE, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE)',
    ])
  })
})
