// random(seed=inventory_hostname), shuffle(seed=...) and password_hash into the `user` module on
// real lab hosts: k3sbook writes what Python's random.Random(hostname) and crypt(3) give, a second
// run changes nothing (a fixed salt makes the hash idempotent), and ansible-playbook run on the
// same hosts afterwards changes nothing either, i.e. it computes the very same values.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { k3 } from '../helpers/bin.js'
import { ansibleStatuses } from '../helpers/ansible.js'
import { sh } from '../executor/helpers.js'

const PLAY = `- name: Seeded filters
  hosts: all
  gather_facts: false
  vars:
    user_password: hunter2-is-secret
  tasks:
    - name: A port and an order per host
      set_fact:
        port: "{{ 60000 | random(start=1024, seed=inventory_hostname) }}"
        order: "{{ ['a', 'b', 'c', 'd', 'e', 'f'] | shuffle(seed=inventory_hostname) }}"
        pick: "{{ ['red', 'green', 'blue'] | random(seed=inventory_hostname ~ '-color') }}"
    - name: Written down
      copy:
        content: "{{ port }} {{ order | join(',') }} {{ pick }}\\n"
        dest: /etc/k3sbook-seeded
        mode: "0644"
    - name: A user with a hashed password
      user:
        name: seeduser
        password: "{{ user_password | password_hash('sha512', 'fixedsalt1234567') }}"
`

/** What Python gives for one host (the oracle). */
function pythonValues(host: string): string {
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `import random, sys
h = sys.argv[1]
port = random.Random(h).randrange(1024, 60000, 1)
order = ['a', 'b', 'c', 'd', 'e', 'f']; random.Random(h).shuffle(order)
pick = random.Random(h + '-color').choice(['red', 'green', 'blue'])
print(port, ','.join(order), pick)`,
      host,
    ],
    { encoding: 'utf8' },
  )
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

function crypt(pw: string, salt: string): string {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))', pw, salt], {
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim()
}

describe('seeded random/shuffle and password_hash on lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let pb: string
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'seeded' })
    pb = join(mkdtempSync(join(tmpdir(), 'k3sbook-seeded-')), 'site.yml')
    writeFileSync(pb, PLAY)
  })
  after(() => lab?.stop())

  test("first run writes Python's values and crypt(3)'s hash; the second changes nothing; ansible-playbook agrees", async () => {
    const inv = ['-i', lab.inventoryPath, '--output', 'plain']
    const first = await k3(['run', pb, ...inv])
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.match(first.stdout, /changed=2/)
    const hash = crypt('hunter2-is-secret', '$6$fixedsalt1234567')
    for (const h of lab.hosts) {
      assert.equal(await sh(lab, h.index, 'cat /etc/k3sbook-seeded'), pythonValues(h.name), h.name)
      assert.equal((await sh(lab, h.index, 'getent shadow seeduser')).split(':')[1], hash)
    }
    // two hosts, two different seeds: different values (the seed is really used)
    assert.notEqual(pythonValues(lab.hosts[0].name), pythonValues(lab.hosts[1].name))
    // the password never shows in the output, nor its hash's salt-free parts
    assert.doesNotMatch(first.stdout + first.stderr, /hunter2-is-secret/)

    const second = await k3(['run', pb, ...inv])
    assert.equal(second.code, 0, second.stdout + second.stderr)
    assert.doesNotMatch(second.stdout, /changed=[1-9]/)

    const byAnsible = await ansibleStatuses(lab.inventoryPath, pb)
    for (const h of lab.hosts) {
      const st = byAnsible.get(h.name)
      assert.ok(st, `ansible-playbook ran on ${h.name}`)
      assert.equal(st.get('Written down'), 'ok', `ansible-playbook computes the same values on ${h.name}`)
      assert.equal(st.get('A user with a hashed password'), 'ok')
    }
  })
})
