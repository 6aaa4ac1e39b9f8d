// The cron module in one playbook written for Ansible, run by Debian's ansible-playbook on one lab
// host and by k3sbook on another, identical one (seeded alike): every task's status, root's and
// nobody's crontabs and the cron.d files must be the same afterwards. On k3sbook's host first a
// check run (changes predicted, nothing changed), then the real run, then a re-run (no change).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-cron/site.yml')

const SEED = [
  `printf '%s\\n' '#Ansible: seeded' '0 * * * * /usr/bin/true seeded' '* * * * * /usr/bin/true unmarked' '#Ansible: gone' '1 1 * * * /usr/bin/true gone' | crontab -`,
  'crontab -u nobody -r 2>/dev/null || true',
  'rm -f /etc/cron.d/k3sbook-*',
  `printf '%s\\n' '#Ansible: old' '0 0 * * * root /usr/bin/true old' > /etc/cron.d/k3sbook-old`,
].join('; ')

const STATE =
  'echo "== root"; crontab -l; echo "== nobody"; crontab -u nobody -l 2>&1; for f in /etc/cron.d/k3sbook-*; do echo "== $f $(stat -c %a "$f")"; cat "$f"; done'

/** Statuses by task name, for one host. */
async function ansible(inventory: string, limit: string): Promise<Map<string, string>> {
  return (await ansibleStatuses(inventory, PLAYBOOK, ['--limit', limit])).get(limit) ?? new Map()
}

describe('cron against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'cron' })
  })
  after(() => lab?.stop())

  test('same statuses and the same crontabs and cron.d files on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    await sh(lab, mine.index, SEED)
    await sh(lab, ref.index, SEED)
    const seeded = await sh(lab, mine.index, STATE)

    const theirs = await ansible(lab.inventoryPath, ref.name)
    assert.ok(theirs.size > 10, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, STATE), seeded, 'check mode changed nothing')
    const checkStatus = statuses(checked, mine.name)

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const ours = statuses(r, mine.name)
    assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs))
    assert.deepEqual(Object.fromEntries(checkStatus), Object.fromEntries(theirs), 'check mode predicted the same statuses')
    const after = await sh(lab, mine.index, STATE)
    assert.equal(after, await sh(lab, ref.index, STATE))
    assert.match(after, /#Ansible: nightly\n5 2 \* \* \* \/usr\/bin\/true nightly\n/)

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
    assert.equal(await sh(lab, mine.index, STATE), after)
  })
})
