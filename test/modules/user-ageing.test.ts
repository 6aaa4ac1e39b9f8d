// The user module's password ageing (password_expire_min/max, ansible-core 2.14; password_expire_warn,
// 2.16), which dev-sec's os_hardening sets: one playbook run by Debian's ansible-playbook on one lab
// host and by k3sbook on an identical one — every task's status, the shadow entries' ageing fields
// and the home Ansible makes for an existing user without one must be the same, twice (the second
// run changes nothing); then the warning days, k3sbook only.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { run, sh, statuses } from '../executor/helpers.js'
import { sameAsAnsible } from './twin.js'
import { tree } from '../reliability/helpers.js'

const PLAYBOOK = join(import.meta.dirname, '../fixtures/modules-user/site.yml')
const SEED = 'userdel k3sbook-age1 2>/dev/null; userdel k3sbook-age2 2>/dev/null; useradd -M k3sbook-age2'
// name, min, max, warn: shadow's fields 1 and 4–6
const AGEING = 'getent shadow k3sbook-age1 k3sbook-age2 | cut -d: -f1,4,5,6'
// the first task makes no home; the third (create_home by default) finds it missing and makes it
const HOME = 'cd /home/k3sbook-age1 && stat -c "%a %U %G" . && ls -A | sort'

describe('user: password ageing against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'usrage' })
  })
  after(() => lab?.stop())

  test('same statuses and the same shadow ageing on two identical hosts, twice', async () => {
    const mine = lab.hosts[0]
    await sameAsAnsible(lab, PLAYBOOK, { seed: SEED, state: [AGEING, HOME] })
    assert.equal(await sh(lab, mine.index, AGEING), 'k3sbook-age1:5:60:7\nk3sbook-age2:0:30:7\n')
    // ansible-core 2.16's password_expire_warn (2.14 refuses the argument)
    const pb = join(
      tree({ 'warn.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - user: { name: k3sbook-age2, password_expire_warn: 3 }\n' }),
      'warn.yml',
    )
    const warn = await run(pb, [lab.inventoryPath], { limit: mine.name })
    assert.equal(statuses(warn, mine.name).get('user'), 'changed')
    assert.equal(await sh(lab, mine.index, AGEING), 'k3sbook-age1:5:60:7\nk3sbook-age2:0:30:3\n')
    const again = await run(pb, [lab.inventoryPath], { limit: mine.name })
    assert.equal(statuses(again, mine.name).get('user'), 'ok')
  })
})
