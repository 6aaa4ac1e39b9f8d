// distribution*, os_family and pkg_mgr from release files, as Ansible's distribution.py and
// pkg_mgr.py name them. The texts below were written for this test after each distro's files (no
// copy of Ansible's fixtures: test/compat/distribution.ts cross-checks against those at dev time).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { distributionFacts, pkgMgrFact } from '../../src/modules/lib/facts.js'

function facts(osRelease: string, other: Record<string, string> = {}) {
  const files = new Map<string, string[]>()
  const all: Record<string, string> = { ...(osRelease ? { '/etc/os-release': osRelease } : {}), ...other }
  for (const [p, t] of Object.entries(all)) files.set(p, t.replace(/\n$/, '').split('\n'))
  const f = distributionFacts(files, new Set(Object.keys(all)))
  return [f.distribution, f.distribution_version, f.distribution_major_version, f.distribution_release, f.os_family]
}

test('the RedHat family: the name from redhat-release, the version from os-release, the codename', () => {
  const rocky = 'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'
  assert.deepEqual(facts(rocky, { '/etc/redhat-release': 'Rocky Linux release 9.3 (Blue Onyx)\n' }), ['Rocky', '9.3', '9', 'Blue Onyx', 'RedHat'])
  const alma = 'NAME="AlmaLinux"\nVERSION="9.3 (Shamrock Pampas Cat)"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'
  assert.deepEqual(facts(alma, { '/etc/redhat-release': 'AlmaLinux release 9.3 (Shamrock Pampas Cat)\n' }), [
    'AlmaLinux',
    '9.3',
    '9',
    'Shamrock Pampas Cat',
    'RedHat',
  ])
  const rhel = 'NAME="Red Hat Enterprise Linux"\nVERSION="9.2 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.2"\n'
  assert.deepEqual(facts(rhel, { '/etc/redhat-release': 'Red Hat Enterprise Linux release 9.2 (Plow)\n' }), ['RedHat', '9.2', '9', 'Plow', 'RedHat'])
  const stream = 'NAME="CentOS Stream"\nVERSION="9"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"\n'
  assert.deepEqual(facts(stream, { '/etc/redhat-release': 'CentOS Stream release 9\n' }), ['CentOS', '9', '9', 'Stream', 'RedHat'])
  // CentOS: the file's fuller version, cut to two parts (distro's best version)
  const centos8 = 'NAME="CentOS Linux"\nVERSION="8 (Core)"\nID="centos"\nVERSION_ID="8"\n'
  assert.deepEqual(facts(centos8, { '/etc/redhat-release': 'CentOS Linux release 8.1.1911 (Core)\n' }).slice(0, 3), ['CentOS', '8.1', '8'])
  // no os-release (EL6): the file alone
  assert.deepEqual(facts('', { '/etc/redhat-release': 'CentOS release 6.7 (Final)\n' }), ['CentOS', '6.7', '6', 'Final', 'RedHat'])
  const fedora = 'NAME="Fedora Linux"\nVERSION="39 (Container Image)"\nID=fedora\nVERSION_ID=39\n'
  assert.deepEqual(facts(fedora, { '/etc/redhat-release': 'Fedora release 39 (Thirty Nine)\n' }).slice(0, 3), ['Fedora', '39', '39'])
  assert.equal(facts(fedora)[4], 'RedHat')
})

test('Debian and Ubuntu: os-release, debian_version, the codename from UBUNTU_CODENAME or VERSION', () => {
  const debian =
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
  assert.deepEqual(facts(debian, { '/etc/debian_version': '12.5\n' }), ['Debian', '12.5', '12', 'bookworm', 'Debian'])
  const wheezy = 'NAME="Debian GNU/Linux"\nVERSION_ID="7"\nVERSION="7 (wheezy)"\nID=debian\n'
  assert.equal(facts(wheezy)[3], 'wheezy')
  const ubuntu = 'NAME="Ubuntu"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nUBUNTU_CODENAME=jammy\n'
  assert.deepEqual(facts(ubuntu, { '/etc/debian_version': 'bookworm/sid\n' }), ['Ubuntu', '22.04', '22', 'jammy', 'Debian'])
})

test('pkg_mgr: yum before EL8, dnf from EL8 (Fedora from 23), apt for the Debian family', () => {
  const both = new Set(['/usr/bin/dnf', '/usr/bin/yum'])
  assert.equal(pkgMgrFact('Rocky', '9', 'RedHat', both), 'dnf')
  assert.equal(pkgMgrFact('CentOS', '7', 'RedHat', new Set(['/usr/bin/yum'])), 'yum')
  assert.equal(pkgMgrFact('RedHat', '8', 'RedHat', new Set(['/usr/bin/yum'])), 'dnf')
  assert.equal(pkgMgrFact('Fedora', '39', 'RedHat', both), 'dnf')
  assert.equal(pkgMgrFact('Fedora', '22', 'RedHat', both), 'yum')
  assert.equal(pkgMgrFact('Debian', '12', 'Debian', new Set(['/usr/bin/apt-get', '/usr/bin/yum'])), 'apt')
})
