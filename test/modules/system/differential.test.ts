// The system modules in one playbook written for Ansible, run by Debian's ansible-playbook on one
// systemd lab host and by k3sbook on another, identical one: every task's status and what the
// tasks registered (written to a file on each host by the playbook itself) must be the same. Then
// k3sbook's four ways on its host: check mode (predicts, changes nothing), the real run, a re-run
// (no change), and the diff of what would change.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-system/site.yml')

/** Statuses by task name, for one host. */
async function ansible(inventory: string, limit: string): Promise<Map<string, string>> {
  return (await ansibleStatuses(inventory, PLAYBOOK, ['--limit', limit])).get(limit) ?? new Map()
}

describe('system modules against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'sysmods', init: 'systemd' })
  })
  after(() => lab?.stop())

  test('same statuses and the same registered values on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    const theirs = await ansible(lab.inventoryPath, ref.name)
    assert.ok(theirs.size > 5, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, 'test -e /opt/k3sbook-system && echo yes || echo no'), 'no\n', 'check mode changed nothing')
    const checkStatus = statuses(checked, mine.name)

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const ours = statuses(r, mine.name)
    assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs))
    const learnedMine = JSON.parse(await sh(lab, mine.index, 'cat /opt/k3sbook-system/learned.json'))
    const learnedRef = JSON.parse(await sh(lab, ref.index, 'cat /opt/k3sbook-system/learned.json'))
    assert.deepEqual(learnedMine, learnedRef)

    // check mode: the read-only modules ran (ok), the writers were predicted; wait_for_connection
    // is skipped in check mode, as Ansible's action plugin does
    for (const [task, status] of ours) {
      if (status === 'ok') assert.equal(checkStatus.get(task), task === 'Wait for the connection' ? 'skipped' : 'ok', `${task} in check mode`)
      if (status === 'changed') assert.equal(checkStatus.get(task), 'changed', `${task} in check mode`)
    }

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
  })
})
