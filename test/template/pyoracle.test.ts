// to_yaml/to_nice_yaml/to_json against the Python Ansible runs (Debian's /usr/bin/python3 with
// AnsibleDumper, which is libyaml's CSafeDumper), and the ipaddr helpers against Python's ipaddress.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { render } from '../../src/template/index.js'

const PY = '/usr/bin/python3'

function python(script: string, input: unknown): unknown {
  const r = spawnSync(PY, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

const DATA: unknown[] = [
  { a: 1, b: 'two', c: [1, 2, 3], d: { e: null, f: true } },
  ['x', 'y', { z: [] }],
  { 'key with spaces': 'value: with colon', hash: 'a #b', q: "it's", dq: 'say "hi"', star: '*x', amp: '&y', bang: '!z', pct: '%p', at: '@a', tick: '`t' },
  { multi: 'line1\nline2\nline3', trail: 'end\n', lead: '\nstart', both: ' x ', tab: 'a\tb', cr: 'a\rb', nul: 'a\u0000b' },
  { nums: ['1', '1.5', '0x1F', '0o17', '017', '1e3', '1_000', '.inf', '-.inf', '.nan', '12:30', '1:20:30', '+1', '-2'] },
  { bools: ['yes', 'no', 'on', 'off', 'true', 'False', 'TRUE', 'y', 'n', 'Y', '~', 'null', 'Null', ''] },
  { dates: ['2024-01-02', '2024-1-2 10:20:30', '2024-01-02T10:20:30Z', '20240102'] },
  { long: 'lorem ipsum '.repeat(12).trim(), longword: 'x'.repeat(120), longquoted: "it's ".repeat(25).trim(), longdq: 'tab\there '.repeat(12) },
  { uni: 'héllo wörld ✓', emoji: 'smile 😀', nbsp: 'a\u00a0b', bom: '\ufeffx', ctrl: '\u0085x' },
  { nested: { deeper: { deepest: [{ a: 1, b: [{ c: 2 }] }, [1, [2, [3]]]] } }, empty_map: {}, empty_list: [] },
  { floats: [1.5, 0.1, 1e-7, 1.5e22, -2.5, 3.14159], ints: [0, -1, 123456789, 2 ** 40] },
  { '-dash': 1, '?q': 2, ':c': 3, 'x:': 4, '[b]': 5, '{c}': 6, 'a,b': 7, '#h': 8, '- x': 9, '---': 10, '...': 11 },
  'plain scalar',
  'needs: quotes',
  42,
  null,
  [[['deep']]],
  {
    k3s: {
      'write-kubeconfig-mode': '0644',
      'tls-san': ['k3s.example', '10.0.0.10'],
      'node-taint': ['CriticalAddonsOnly=true:NoExecute'],
      disable: ['traefik', 'servicelb'],
      token: 'K10abc::server:def',
      'cluster-init': true,
    },
  },
]

const DUMP = `
import json, sys, yaml
from ansible.parsing.yaml.dumper import AnsibleDumper
data = json.load(sys.stdin)
out = []
for d in data:
    out.append([
        yaml.dump(d, Dumper=AnsibleDumper, allow_unicode=True, default_flow_style=None),
        yaml.dump(d, Dumper=AnsibleDumper, indent=4, allow_unicode=True, default_flow_style=False),
        yaml.dump(d, Dumper=AnsibleDumper, indent=2, allow_unicode=True, default_flow_style=False),
        json.dumps(d),
        json.dumps(d, indent=4, sort_keys=True, separators=(',', ': ')),
    ])
print(json.dumps(out))
`

describe('to_yaml / to_nice_yaml / to_json match AnsibleDumper and json.dumps', () => {
  const want = python(DUMP, DATA) as string[][]
  DATA.forEach((d, i) => {
    it(JSON.stringify(d).slice(0, 70), () => {
      const vars = { d }
      assert.equal(render('{{ d | to_yaml }}', vars), want[i][0], 'to_yaml')
      assert.equal(render('{{ d | to_nice_yaml }}', vars), want[i][1], 'to_nice_yaml')
      assert.equal(render('{{ d | to_nice_yaml(indent=2) }}', vars), want[i][2], 'to_nice_yaml(indent=2)')
      assert.equal(render('{{ d | to_json }}', vars), want[i][3], 'to_json')
      assert.equal(render('{{ d | to_nice_json }}', vars), want[i][4], 'to_nice_json')
    })
  })
})

const NETS = [
  '192.168.1.5/24',
  '10.0.0.0/8',
  '10.1.2.3',
  '172.16.0.1/30',
  '192.168.32.0/24',
  '10.0.0.1/32',
  '10.0.0.0/31',
  'fe80::100/10',
  '2001:db8::1/64',
  '::1',
  '2001:db8:0:0:1:0:0:1/128',
  '::ffff:10.0.0.1',
  '192.168.1.5/255.255.255.0',
]

const IPADDRESS = `
import json, sys, ipaddress
out = []
for v in json.load(sys.stdin):
    i = ipaddress.ip_interface(v.replace('/255.255.255.0', '/24'))
    n = i.network
    out.append({
        'address': str(i.ip), 'network': str(n.network_address), 'netmask': str(n.netmask), 'prefix': n.prefixlen,
        'size': str(n.num_addresses), 'broadcast': str(n.broadcast_address), 'cidr': str(n), 'hostmask': str(n.hostmask),
        'version': i.version, 'plus5': str(i.ip + 5) if int(i.ip) + 5 < 2 ** i.max_prefixlen else None,
        'nth3': str(n[3]) if n.num_addresses > 3 else None, 'last': str(n[-1]),
    })
print(json.dumps(out))
`

describe('ipaddr helpers agree with Python ipaddress', () => {
  const want = python(IPADDRESS, NETS) as Record<string, unknown>[]
  NETS.forEach((v, i) => {
    it(v, () => {
      const w = want[i]
      const q = (expr: string) => render(`{{ v | ${expr} }}`, { v })
      const isNetworkAddr = v.includes('/') && w.address === w.network && w.prefix !== (w.version === 4 ? 32 : 128)
      assert.equal(q("ipaddr('address')"), isNetworkAddr ? 'False' : w.address)
      assert.equal(q("ipaddr('network')"), w.network)
      assert.equal(q("ipaddr('netmask')"), w.netmask)
      assert.equal(q("ipaddr('prefix')"), String(w.prefix))
      assert.equal(q("ipaddr('size')"), String(w.size))
      assert.equal(q("ipaddr('network/prefix')"), w.cidr)
      assert.equal(q("ipaddr('hostmask')"), w.hostmask)
      assert.equal(q("ipaddr('version')"), String(w.version))
      if (w.version === 4 && (w.prefix as number) < 31) assert.equal(q("ipaddr('broadcast')"), w.broadcast)
      if (w.plus5) assert.equal(q('ipmath(5)'), w.plus5)
      if (w.nth3) assert.equal(q('nthhost(3)'), w.nth3)
      assert.equal(q('nthhost(-1)'), w.last)
      assert.equal(q(w.version === 4 ? 'ipv4' : 'ipv6') !== 'False', true)
      assert.equal(q(w.version === 4 ? 'ipv6' : 'ipv4'), 'False')
      assert.equal(q("ipaddr('ipv6')") !== 'False', true)
    })
  })
  it('filters lists like the ansible.utils documentation shows', () => {
    const list = ['192.24.2.1', 'host.fqdn', '::1', '192.168.32.0/24', 'fe80::100/10', true, '']
    assert.deepEqual(JSON.parse(render('{{ l | ipaddr | to_json }}', { l: list })), ['192.24.2.1', '::1', '192.168.32.0/24', 'fe80::100/10'])
    assert.deepEqual(JSON.parse(render('{{ l | ipv4 | to_json }}', { l: list })), ['192.24.2.1', '192.168.32.0/24'])
    assert.deepEqual(JSON.parse(render("{{ l | ipaddr('address') | to_json }}", { l: list })), ['192.24.2.1', '::1', 'fe80::100'])
    assert.deepEqual(JSON.parse(render("{{ l | ipaddr('host') | to_json }}", { l: list })), ['192.24.2.1/32', '::1/128', 'fe80::100/10'])
    assert.deepEqual(JSON.parse(render("{{ l | ipaddr('net') | to_json }}", { l: list })), ['192.168.32.0/24'])
    assert.equal(render("{{ '192.168.0.0/24' | ipaddr(5) }}", {}), '192.168.0.5/24')
    assert.equal(render("{{ '10.0.0.5/24' | ansible.utils.ipaddr('address') }} {{ '10.0.0.5/24' | ansible.netcommon.ipaddr('prefix') }}", {}), '10.0.0.5 24')
    assert.equal(render("{{ '10.0.0.0/8' | nthhost(305) }}", {}), '10.0.1.49')
    assert.equal(render("{{ '10.0.0.0/24' | network_in_usable('10.0.0.5') }} {{ '10.0.0.0/24' | network_in_usable('10.0.0.255') }}", {}), 'True False')
    assert.equal(render("{{ '10.0.0.7' is ansible.utils.ipv4_address }} {{ 'x' is ip }} {{ '10.1.0.1' is in_network('10.0.0.0/8') }}", {}), 'True False True')
  })
})
