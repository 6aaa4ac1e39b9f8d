import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Ajv } from 'ajv'
import { provisionModules } from '../../../src/modules/provision.js'

function compile(schema: object) {
  const warnings: unknown[] = []
  const ajv = new Ajv({
    strict: true,
    allErrors: true,
    logger: { log: () => {}, warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => warnings.push(a) },
  })
  const v = ajv.compile(schema)
  return { v, warnings }
}

test('every provision schema compiles under ajv strict mode without warnings', () => {
  for (const m of provisionModules) {
    const { warnings } = compile(m.schema)
    assert.deepEqual(warnings, [], m.name)
    assert.ok(m.description.length > 10, m.name)
    for (const [k, p] of Object.entries((m.schema as any).properties)) assert.ok((p as any).description, `${m.name}.${k} has a description`)
  }
})

test('schemas accept Ansible-style arguments and reject unknown ones', () => {
  const byName = new Map(provisionModules.map((m) => [m.name, m]))
  const ok: Array<[string, object]> = [
    ['apt', { name: ['curl', 'jq'], state: 'present', update_cache: 'yes', cache_valid_time: 3600 }],
    ['apt', { pkg: 'curl,jq' }],
    ['service', { name: 'ssh', state: 'started', enabled: true }],
    ['systemd', { daemon_reload: true }],
    ['get_url', { url: 'https://x/y', dest: '/usr/local/bin/k3s', checksum: 'sha256:abc', mode: '0755' }],
    ['sysctl', { name: 'net.ipv4.ip_forward', value: 1, sysctl_set: true }],
    ['mount', { path: '/mnt', src: '/dev/sdb', fstype: 'ext4', state: 'mounted' }],
    ['wait_for', { port: 6443, timeout: '30' }],
    ['uri', { url: 'http://x', status_code: [200, 201], body_format: 'json', body: { a: 1 } }],
    ['kube_manifest', { chart: 'longhorn', repo: 'https://charts.longhorn.io', values: { a: 1 } }],
    ['service', { name: 'ssh', enabled: '{{ want_enabled }}' }],
  ]
  for (const [name, args] of ok) {
    const { v } = compile(byName.get(name)!.schema)
    assert.ok(v(args), `${name} ${JSON.stringify(args)}: ${JSON.stringify(v.errors)}`)
  }
  const bad: Array<[string, object]> = [
    ['apt', { nmae: 'curl' }],
    ['service', { state: 'started' }],
    ['get_url', { url: 'x' }],
    ['sysctl', { name: 'a', value: 1, reload: 'maybe' }],
    ['mount', { path: '/mnt' }],
    ['service', { name: 'x', state: 'running' }],
  ]
  for (const [name, args] of bad) {
    const { v } = compile(byName.get(name)!.schema)
    assert.equal(v(args), false, `${name} ${JSON.stringify(args)} must be rejected`)
  }
})
