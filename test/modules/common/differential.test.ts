// The common modules (include_vars, replace, find, getent, raw, script, tempfile, pause) in one
// playbook written for Ansible, run by Debian's ansible-playbook on one lab host and by k3sbook on
// another, identical one: every task's status and what the tasks registered (written to a file on
// each host by the playbook itself) must be the same.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-common/site.yml')
const INVENTORY_PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-inventory/site.yml')

/** Statuses by task name ("task [host]" for every host when no limit is given). */
async function ansible(inventory: string, limit: string | undefined, playbook = PLAYBOOK): Promise<Map<string, string>> {
  const byHost = await ansibleStatuses(inventory, playbook, limit ? ['--limit', limit] : [])
  if (limit) return byHost.get(limit) ?? new Map()
  const m = new Map<string, string>()
  for (const [host, tasks] of byHost) for (const [name, status] of tasks) m.set(`${name} [${host}]`, status)
  return m
}

describe('common modules against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'mods' })
  })
  after(() => lab?.stop())

  test('same statuses and the same registered values on two identical hosts', async () => {
    const [mine, ref] = lab.hosts
    const theirs = await ansible(lab.inventoryPath, ref.name)
    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const ours = statuses(r, mine.name)
    assert.ok(theirs.size > 20, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)
    assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs))
    const learnedMine = JSON.parse(await sh(lab, mine.index, 'cat /opt/k3sbook-common/learned.json'))
    const learnedRef = JSON.parse(await sh(lab, ref.index, 'cat /opt/k3sbook-common/learned.json'))
    assert.deepEqual(learnedMine, learnedRef)
    // the file edits themselves
    assert.equal(await sh(lab, mine.index, 'cat /opt/k3sbook-common/app.conf'), await sh(lab, ref.index, 'cat /opt/k3sbook-common/app.conf'))
  })

  test('add_host and group_by: the same statuses and the same inventory afterwards (later plays run on the new host and group)', async (t) => {
    const [mine, ref] = lab.hosts
    const dir = await mkdtemp(join(tmpdir(), 'k3sbook-inv-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    // one inventory per tool, each with its own host only (--limit would also hide the added hosts)
    const full = parse(await readFile(lab.inventoryPath, 'utf8'))
    const only = async (keep: string) => {
      const inv = structuredClone(full)
      for (const h of Object.keys(inv.all.children.lab.hosts)) if (h !== keep) delete inv.all.children.lab.hosts[h]
      const p = join(dir, `${keep}.yml`)
      await writeFile(p, stringify(inv))
      return p
    }
    const theirs = await ansible(await only(ref.name), undefined, INVENTORY_PLAYBOOK)
    const r = await run(INVENTORY_PLAYBOOK, [await only(mine.name)])
    const ours = new Map(r.results.map((e) => [`${e.task} [${e.host}]`, e.status]))
    const norm = (m: Map<string, string>, host: string) => Object.fromEntries([...m].map(([k, v]) => [k.replaceAll(host, 'HOST'), v]))
    assert.ok(theirs.size >= 9, [...theirs.keys()].join(', '))
    assert.deepEqual(norm(ours, mine.name), norm(theirs, ref.name))
    const seen = (i: number) => sh(lab, i, 'cat /opt/k3sbook-inventory.json; echo; cat /opt/k3sbook-alias.txt')
    assert.equal(await seen(mine.index), await seen(ref.index))
    assert.match(await seen(mine.index), /"extras": \["extra-1", "extra-2"\]/)
  })
})
