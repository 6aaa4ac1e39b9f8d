// The known_hosts module in one playbook written for Ansible, run by Debian's ansible-playbook on
// one lab host and by k3sbook on another, identical one (seeded alike): every task's status and the
// known_hosts files must be the same afterwards (hashed host fields, random by design, compared
// as "|1|…"). On k3sbook's host first a check run (changes predicted, nothing changed), then the
// real run, then a re-run (no change).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-known-hosts/site.yml')

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEyMSYt0Zhxm1Xi8BzBTKAEIpWjB6wJnj25jHl83d0mZ'
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtR7jaQdLSjlNEtBQiIm8lzLSHVnwaYl3NeP7KrmMX9'
const K3 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICBU4RKcUq5JLWptENzSI5rsEn4nECQ0sdbfAnhd6T8q'
const KE =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEaI4OeN5YlA9wsrXrOx+7jAu/uSKfnnWhuKLQ8Tnd/c99oUE2qmFi6sK+7LFZJyD0LWL1qL89z4uqRjpjoGgy4='

const SEED = [
  'rm -rf /root/.ssh/known_hosts /root/.ssh/known_hosts.old /root/kh',
  'mkdir -p -m 700 /root/.ssh /root/kh',
  `printf '%s\\n' 'seeded.example ${K2}' 'gone.example ${K1}' '# a comment' 'other.host ${K3}' 'gone.example ${KE}' > /root/.ssh/known_hosts`,
  'chmod 600 /root/.ssh/known_hosts',
].join('; ')

const STATE =
  'for f in /root/.ssh/known_hosts /root/.ssh/known_hosts.old /root/kh/*; do [ -e "$f" ] || continue; echo "== $f $(stat -c %a "$f")"; sed -E "s/^\\|1\\|[^ ]+/|1|…/" "$f"; done'

describe('known_hosts against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'knownhosts' })
  })
  after(() => lab?.stop())

  test('same statuses and the same known_hosts files on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    await sh(lab, mine.index, SEED)
    await sh(lab, ref.index, SEED)
    const seeded = await sh(lab, mine.index, STATE)

    const theirs = (await ansibleStatuses(lab.inventoryPath, PLAYBOOK, ['--limit', ref.name])).get(ref.name) ?? new Map()
    assert.ok(theirs.size > 10, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, STATE), seeded, 'check mode changed nothing')
    const checkStatus = statuses(checked, mine.name)

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const ours = statuses(r, mine.name)
    assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs))
    assert.deepEqual(Object.fromEntries(checkStatus), Object.fromEntries(theirs), 'check mode predicted the same statuses')
    const state = await sh(lab, mine.index, STATE)
    assert.equal(state, await sh(lab, ref.index, STATE))
    assert.ok(state.includes(`new.example ${K1}\nseeded.example ${K3}\nseeded.example ${KE}\n[port.example]:2222 ${K2}\n`), state)
    assert.doesNotMatch(state.split('known_hosts.old')[0], /gone\.example|other\.host/)

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
    assert.equal(await sh(lab, mine.index, STATE), state)
  })
})
