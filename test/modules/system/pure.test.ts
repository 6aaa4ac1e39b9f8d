// The system modules' pure parts, root-free: strings in, values out. Expected values come from
// ansible-core 2.14 run on this machine (`ansible localhost -m setup -a gather_subset=…`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { collectorsFor, fnmatch, parseFacts, setupFacts } from '../../../src/modules/lib/facts.js'
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

/** A facts probe's output as a host would give it: `key=value` lines, then the files section. */
function probeOut(lines: string[], files: Record<string, string[]>, extra: string[] = []): string {
  const f = Object.entries(files).flatMap(([p, ls]) => ls.map((l) => `${p}:${l}`))
  return [...lines, '@@files', ...f, '', ...extra, '@@env', 'HOME=/root\x01PATH=/bin\x01'].join('\n')
}

test('parseFacts: distribution facts as Ansible 2.14 names them (RedHat family from redhat-release, Ubuntu, Alpine)', () => {
  const rocky = parseFacts(
    probeOut(['uname=x86_64', 'exists=/usr/bin/dnf', 'exists=/usr/bin/yum', 'exists=/usr/bin/rpm'], {
      '/etc/os-release': ['NAME="Rocky Linux"', 'ID="rocky"', 'VERSION_ID="9.3"', 'ID_LIKE="rhel centos fedora"'],
      '/etc/redhat-release': ['Rocky Linux release 9.3 (Blue Onyx)'],
    }),
  )
  assert.deepEqual(
    [
      rocky.distribution,
      rocky.os_family,
      rocky.distribution_version,
      rocky.distribution_major_version,
      rocky.distribution_minor_version,
      rocky.distribution_release,
      rocky.distribution_file_path,
      rocky.distribution_file_variety,
      rocky.pkg_mgr,
    ],
    ['Rocky', 'RedHat', '9.3', '9', '3', 'Blue Onyx', '/etc/redhat-release', 'RedHat', 'dnf'],
  )
  for (const [id, name] of [
    ['almalinux', 'AlmaLinux'],
    ['rhel', 'RedHat'],
    ['centos', 'CentOS'],
    ['fedora', 'Fedora'],
    ['ol', 'OracleLinux'],
  ]) {
    const f = parseFacts(probeOut([], { '/etc/os-release': [`ID=${id}`, 'VERSION_ID=9'] }))
    assert.deepEqual([f.distribution, f.os_family], [name, 'RedHat'], id)
  }
  const ubuntu = parseFacts(
    probeOut(['exists=/usr/bin/apt-get', 'lsb_bin=1'], {
      '/etc/os-release': ['NAME="Ubuntu"', 'ID=ubuntu', 'VERSION_ID="22.04"', 'VERSION_CODENAME=jammy', 'PRETTY_NAME="Ubuntu 22.04.3 LTS"'],
      '/etc/lsb-release': ['DISTRIB_ID=Ubuntu', 'DISTRIB_RELEASE=22.04', 'DISTRIB_CODENAME=jammy', 'DISTRIB_DESCRIPTION="Ubuntu 22.04.3 LTS"'],
    }),
  )
  assert.deepEqual(
    [
      ubuntu.distribution,
      ubuntu.os_family,
      ubuntu.distribution_version,
      ubuntu.distribution_major_version,
      ubuntu.distribution_release,
      ubuntu.distribution_file_variety,
      ubuntu.pkg_mgr,
    ],
    ['Ubuntu', 'Debian', '22.04', '22', 'jammy', 'Debian', 'apt'],
  )
  assert.deepEqual(ubuntu.lsb, { id: 'Ubuntu', description: 'Ubuntu 22.04.3 LTS', release: '22.04', codename: 'jammy', major_release: '22' })
  const alpine = parseFacts(probeOut(['exists=/sbin/apk'], { '/etc/os-release': ['ID=alpine', 'VERSION_ID=3.19.1'], '/etc/alpine-release': ['3.19.1'] }))
  assert.deepEqual([alpine.distribution, alpine.os_family, alpine.distribution_version, alpine.pkg_mgr, alpine.lsb], ['Alpine', 'Alpine', '3.19.1', 'apk', {}])
  const arch = parseFacts(probeOut(['exists=/usr/bin/pacman', 'exists=/etc/arch-release'], { '/etc/os-release': ['ID=arch'] }))
  assert.deepEqual([arch.distribution, arch.os_family, arch.pkg_mgr], ['Archlinux', 'Archlinux', 'pacman'])
})

test("parseFacts: nothing known still gives Ansible's empty shapes; the environment is taken whole", () => {
  const f = parseFacts(probeOut([], {}))
  assert.deepEqual([f.all_ipv6_addresses, f.all_ipv4_addresses, f.default_ipv4, f.default_ipv6, f.mounts, f.dns], [[], [], {}, {}, [], {}])
  assert.deepEqual(f.env, { HOME: '/root', PATH: '/bin' })
  assert.equal(f.product_uuid, 'NA')
  const g = parseFacts(
    probeOut([], {}, [
      '@@addr',
      '2: eth0    inet6 2001:db8::5/64 scope global \\       valid_lft forever',
      '@@route6',
      'default via fe80::1 dev eth0 metric 1024 pref medium',
    ]),
  )
  assert.deepEqual(g.all_ipv6_addresses, ['2001:db8::5'])
  assert.deepEqual(g.default_ipv6, {
    address: '2001:db8::5',
    prefix: '64',
    scope: 'global',
    interface: 'eth0',
    gateway: 'fe80::1',
    macaddress: 'unknown',
    mtu: undefined,
    type: 'unknown',
  })
})
