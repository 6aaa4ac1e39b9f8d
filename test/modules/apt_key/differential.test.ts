// The apt_key module in one playbook written for Ansible, run by Debian's ansible-playbook on one
// lab host and by k3sbook on another, identical one (seeded alike): every task's status and the
// keys apt-key lists in each keyring must be the same afterwards. On k3sbook's host first a check
// run (nothing changed), then the real run, then a re-run (no change).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const DIR = join(import.meta.dirname, '../../fixtures/modules-apt-key')
const PLAYBOOK = join(DIR, 'site.yml')
const KEYS = parse(readFileSync(join(DIR, 'keys.yml'), 'utf8')) as { key_two: string }

// apt-key merges every fragment in /etc/apt/trusted.gpg.d into each listing of its default keyring
// (a process storm per fragment: 2.6 s CPU per listing with Debian's nine, 1.2 s with three), and the
// module lists it on every task. Both hosts keep the fragments of their own release (Debian 12:
// bookworm's three, one with a subkey) and drop those of bullseye and trixie: the default keyring is
// still a merge of trusted.gpg and real fragments, identical on both hosts.
const SEED = [
  'rm -f /etc/apt/trusted.gpg /root/seed.gpg /root/test-keyring.gpg /etc/apt/trusted.gpg.d/debian-archive-bullseye-* /etc/apt/trusted.gpg.d/debian-archive-trixie-*',
  `printf %s '${KEYS.key_two}' > /root/two.asc`,
  'apt-key --keyring /root/seed.gpg add /root/two.asc >/dev/null 2>&1',
].join('; ')

const list = (keyring: string) =>
  `echo "== ${keyring || 'default'}"; apt-key ${keyring ? `--keyring ${keyring} ` : ''}adv --list-public-keys --keyid-format=long 2>/dev/null | grep -E '^(pub|uid)' || true`
const STATE = [list(''), list('/root/seed.gpg'), list('/root/test-keyring.gpg')].join('; ')

describe('apt_key against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'aptkey' })
  })
  after(() => lab?.stop())

  test('same statuses and the same keys on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    await sh(lab, mine.index, SEED)
    await sh(lab, ref.index, SEED)
    const seeded = await sh(lab, mine.index, STATE)
    assert.match(seeded, /01E4494E430A1734/, 'the seed keyring holds key two')
    assert.match(seeded, /== default\n(.*\n)*uid .*Debian Stable Release Key \(12\/bookworm\)/, 'the default keyring merges the release fragments')

    const theirs = (await ansibleStatuses(lab.inventoryPath, PLAYBOOK, ['--limit', ref.name])).get(ref.name) ?? new Map()
    assert.equal(theirs.size, 10, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, STATE), seeded, 'check mode changed nothing')
    // the key at a url is downloaded when the task runs: a check run predicts a change there
    assert.deepEqual(
      Object.fromEntries(statuses(checked, mine.name)),
      { ...Object.fromEntries(theirs), 'A url with an id fails offline': 'changed' },
      'check mode predicted the same statuses',
    )

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    assert.deepEqual(Object.fromEntries(statuses(r, mine.name)), Object.fromEntries(theirs))
    const state = await sh(lab, mine.index, STATE)
    assert.equal(state, await sh(lab, ref.index, STATE))
    assert.match(state, /== default\npub +ed25519\/38CB5DEB0D1D81CB/)

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
    assert.equal(await sh(lab, mine.index, STATE), state)
  })
})
