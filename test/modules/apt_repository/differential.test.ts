// The apt_repository module in one playbook written for Ansible, run by Debian's ansible-playbook
// (its python3-apt on the host) on one lab host and by k3sbook on another, identical one (seeded
// alike): every task's status and every sources file (text, mode) must be the same afterwards. On
// k3sbook's host first a check run (changes predicted, nothing changed), then the real run, then a
// re-run (no change).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-apt-repository/site.yml')

const SEED = [
  'rm -f /etc/apt/sources.list.d/*.list',
  "printf '%s\\n' 'deb http://deb.example/debian bookworm main' '#deb http://disabled.example/debian bookworm main' '' '# plain comment' 'deb  http://spaced.example/debian   bookworm main # note' > /etc/apt/sources.list",
  "printf 'deb http://only.example/x stable main\\n' > /etc/apt/sources.list.d/only.list",
].join('; ')

const STATE = 'for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -e "$f" ] || continue; echo "== $f $(stat -c %a "$f")"; cat "$f"; done'

describe('apt_repository against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'aptrepo' })
  })
  after(() => lab?.stop())

  test('same statuses and the same sources files on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    await sh(lab, mine.index, SEED)
    await sh(lab, ref.index, SEED)
    const seeded = await sh(lab, mine.index, STATE)

    const theirs = (await ansibleStatuses(lab.inventoryPath, PLAYBOOK, ['--limit', ref.name])).get(ref.name) ?? new Map()
    assert.equal(theirs.size, 9, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, STATE), seeded, 'check mode changed nothing')
    const checkStatus = Object.fromEntries(statuses(checked, mine.name))
    // a check run does not update the cache, so the last task is a predicted change there
    assert.deepEqual(
      checkStatus,
      { ...Object.fromEntries(theirs), 'A failed cache update puts the files back': 'changed' },
      'check mode predicted the same statuses',
    )

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    assert.deepEqual(Object.fromEntries(statuses(r, mine.name)), Object.fromEntries(theirs))
    const state = await sh(lab, mine.index, STATE)
    assert.equal(state, await sh(lab, ref.index, STATE))
    assert.match(state, /== \/etc\/apt\/sources.list.d\/repo_example_org_debian.list 644\ndeb http:\/\/repo.example.org\/debian bookworm main\ndeb-src /)
    assert.doesNotMatch(state, /offline\.example|only\.list/)

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
    assert.equal(await sh(lab, mine.index, STATE), state)
  })
})
