// The system modules' pure parts, root-free: strings in, values out. Expected values come from
// ansible-core 2.14 run on this machine (`ansible localhost -m setup -a gather_subset=…`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectorsFor, fnmatch, setupFacts } from '../../../src/modules/lib/facts.js'

const FACTS = {
  distribution: 'Debian',
  os_family: 'Debian',
  hostname: 'h',
  kernel: '6',
  env: { HOME: '/root' },
  memtotal_mb: 1,
  eth0: { device: 'eth0' },
  user_id: 'root',
}

test("collectorsFor: Ansible's get_collector_names (min always, exclusions, explicit additions, required collectors)", () => {
  assert.deepEqual([...collectorsFor(['!all', '!min'])], [])
  assert.deepEqual([...collectorsFor(['!all', '!min', 'distribution'])], ['distribution'])
  assert.deepEqual([...collectorsFor(['!all', '!min', 'network'])].sort(), ['distribution', 'network', 'platform'])
  assert.deepEqual([...collectorsFor(['!all', '!min', 'hardware'])].sort(), ['hardware', 'platform'])
  assert.ok(collectorsFor(['!all']).has('env') && !collectorsFor(['!all']).has('network'))
  assert.ok(collectorsFor([]).has('network'), 'no subset: all')
  assert.ok(collectorsFor(['!all', '!min', 'kernel']).has('platform'), 'a fact id selects its collector')
  assert.throws(() => collectorsFor(['bogus']), /^Error: Bad subset 'bogus' given to Ansible\. gather_subset options allowed: all, all_ipv4_addresses, /)
})

test('setupFacts: prefixed names, gather_subset and module_setup, filter by fnmatch over every key', () => {
  assert.deepEqual(setupFacts(FACTS, ['!all', '!min'], []), { gather_subset: ['!all', '!min'], module_setup: true })
  assert.deepEqual(setupFacts(FACTS, ['!all', '!min', 'distribution'], []), {
    ansible_distribution: 'Debian',
    ansible_os_family: 'Debian',
    gather_subset: ['!all', '!min', 'distribution'],
    module_setup: true,
  })
  assert.deepEqual(setupFacts(FACTS, [], ['ansible_os_fam*', 'ansible_distribution']), { ansible_distribution: 'Debian', ansible_os_family: 'Debian' })
  assert.deepEqual(Object.keys(setupFacts(FACTS, ['!all', '!min', 'network'], ['ansible_eth?'])), ['ansible_eth0'])
  assert.deepEqual(setupFacts(FACTS, [], []).gather_subset, ['all'])
})

test('fnmatch is Python fnmatch.fnmatchcase', () => {
  assert.equal(fnmatch('ansible_eth0', 'ansible_eth[0-9]'), true)
  assert.equal(fnmatch('ansible_eth0', 'ansible_eth[!0]'), false)
  assert.equal(fnmatch('a.b', 'a?b'), true)
  assert.equal(fnmatch('a+b', 'a+b'), true)
  assert.equal(fnmatch('A', 'a'), false)
})
