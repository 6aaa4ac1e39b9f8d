// The system modules' pure parts, root-free: strings in, values out. Expected values come from
// ansible-core 2.14 run on this machine (`ansible localhost -m setup -a gather_subset=…`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectorsFor, fnmatch, setupFacts } from '../../../src/modules/lib/facts.js'
import { parseServiceFacts } from '../../../src/modules/service_facts.js'
import { parsePackageFacts } from '../../../src/modules/package_facts.js'

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

test("parseServiceFacts: Ansible's sysv and systemd parses (bad states keep their status, unit files fill in the rest)", () => {
  const out = [
    '@@sysv',
    'rc=0',
    'initd=1',
    ' [ + ]  dbus',
    ' [ - ]  kmod',
    ' [ ? ]  odd',
    '@@units',
    '  UNIT                LOAD      ACTIVE   SUB     DESCRIPTION',
    '● auditd.service      not-found inactive dead    auditd.service',
    '  ssh.service         loaded    active   running OpenBSD Secure Shell server',
    '  emergency.service   loaded    inactive dead    Emergency Shell',
    '@@unitfiles',
    'UNIT FILE                STATE    PRESET',
    'ssh.service              enabled  enabled',
    'auditd.service           enabled  enabled',
    'getty@.service           enabled  enabled',
    'apt-daily.service        static   -',
    '3 unit files listed.',
    '@@active',
    'active',
    'active',
    'inactive',
    '',
  ].join('\n')
  assert.deepEqual(parseServiceFacts(out), {
    dbus: { name: 'dbus', state: 'running', source: 'sysv' },
    kmod: { name: 'kmod', state: 'stopped', source: 'sysv' },
    'auditd.service': { name: 'auditd.service', state: 'stopped', status: 'not-found', source: 'systemd' },
    'ssh.service': { name: 'ssh.service', state: 'running', status: 'enabled', source: 'systemd' },
    'emergency.service': { name: 'emergency.service', state: 'stopped', status: 'inactive', source: 'systemd' },
    'getty@.service': { name: 'getty@.service', state: 'unknown', status: 'enabled', source: 'systemd' },
    'apt-daily.service': { name: 'apt-daily.service', state: 'inactive', status: 'static', source: 'systemd' },
  })
  assert.deepEqual(parseServiceFacts('@@sysv\nrc=4\n [ + ]  x\n'), {}, 'rc 4 without /etc/init.d: no SysV services')
})

test('parsePackageFacts: installed only, native and all without :arch, origin and section from the lists', () => {
  const out = [
    '@@dpkg',
    'amd64',
    'ii \tlibc6:amd64\t2.36\tamd64\tlibs',
    'ii \tlibc6:i386\t2.36\ti386\tlibs',
    'rc \told\t1.0\tamd64\tutils',
    'ii \tlocal-only\t0.1\tall\tmisc',
    '@@origins',
    'libc6\t2.36\tamd64\tDebian\tlibs',
    'libc6\t2.36\ti386\tDebian\tlibs',
    '',
  ].join('\n')
  assert.deepEqual(parsePackageFacts(out), {
    libc6: [{ name: 'libc6', version: '2.36', arch: 'amd64', category: 'libs', origin: 'Debian', source: 'apt' }],
    'libc6:i386': [{ name: 'libc6:i386', version: '2.36', arch: 'i386', category: 'libs', origin: 'Debian', source: 'apt' }],
    'local-only': [{ name: 'local-only', version: '0.1', arch: 'all', category: 'misc', origin: '', source: 'apt' }],
  })
})
