// sysctl as ansible.posix.sysctl decides (dev-sec's os_hardening sets ~40 keys with ignoreerrors,
// some of which the kernel lacks): the running value read with `sysctl -e` (a missing key reads
// empty), ignoreerrors passed to -w and -p, and with reload a kernel that differs from the file is a
// change. One playbook run by Debian's ansible-playbook on one lab host and by k3sbook on an
// identical one: every task's status, the file and the kernel's value the same, twice.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { sameAsAnsible } from './twin.js'

const PLAYBOOK = join(import.meta.dirname, '../fixtures/modules-sysctl/site.yml')
const SEED = 'rm -f /etc/sysctl.d/90-k3sbook.conf; sysctl -qw net.ipv4.ip_forward=0'
const STATE = 'cat /etc/sysctl.d/90-k3sbook.conf; sysctl -n net.ipv4.ip_forward'

describe('sysctl against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'sysctl' })
  })
  after(() => lab?.stop())

  test('same statuses, file and kernel value on two identical hosts, twice', async () => {
    await sameAsAnsible(lab, PLAYBOOK, { seed: SEED, state: [STATE] })
    assert.equal(await sh(lab, lab.hosts[0].index, STATE), 'kernel.k3sbook_no_such_key=1\nnet.ipv4.ip_forward=1\n1\n')
  })
})
