// The timezone module (community.general) in one playbook written for Ansible, run by Debian's
// ansible-playbook on one lab host and by k3sbook on another, identical one: every task's status,
// /etc/timezone and where /etc/localtime points must be the same afterwards. Lab hosts without
// systemd have no working timedatectl, so both take the module's Debian way (/etc/timezone,
// /etc/localtime, dpkg-reconfigure tzdata). On k3sbook's host first a check run (changes
// predicted, nothing changed), then the real run, then a re-run of its last task (no change).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-timezone/site.yml')

const SEED = "printf 'America/New_York\\n' > /etc/timezone; ln -sf /usr/share/zoneinfo/America/New_York /etc/localtime"
const STATE = 'echo "== /etc/timezone"; cat /etc/timezone; echo "== /etc/localtime"; readlink /etc/localtime'

describe('timezone against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'timezone' })
  })
  after(() => lab?.stop())

  test('same statuses, /etc/timezone and /etc/localtime on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    await sh(lab, mine.index, SEED)
    await sh(lab, ref.index, SEED)
    const seeded = await sh(lab, mine.index, STATE)

    const theirs = (await ansibleStatuses(lab.inventoryPath, PLAYBOOK, ['--limit', ref.name])).get(ref.name) ?? new Map()
    assert.equal(theirs.size, 5, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, STATE), seeded, 'check mode changed nothing')
    assert.deepEqual(Object.fromEntries(statuses(checked, mine.name)), Object.fromEntries(theirs), 'check mode predicted the same statuses')

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    assert.deepEqual(Object.fromEntries(statuses(r, mine.name)), Object.fromEntries(theirs))
    const state = await sh(lab, mine.index, STATE)
    assert.equal(state, await sh(lab, ref.index, STATE))
    assert.match(state, /zoneinfo\/Etc\/UTC\n/)

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, ['Set a zone', 'Another zone, short name', 'Back to UTC'], 'the re-run changes what the playbook moves away from')
  })
})
