// A playbook run by k3sbook on one lab host and by Debian's ansible-playbook on its twin, seeded
// alike: the same per-task statuses and the same state (each command's output on both hosts), run
// after run. The module differential tests share it.
import assert from 'node:assert/strict'
import type { LabInfo } from '../helpers/lab.js'
import { run, sh, statuses } from '../executor/helpers.js'
import { ansibleStatuses } from '../helpers/ansible.js'

export async function sameAsAnsible(lab: LabInfo, playbook: string, o: { seed: string; state: string[]; passes?: number }): Promise<void> {
  const [mine, ref] = lab.hosts
  for (const h of [mine, ref]) await sh(lab, h.index, o.seed)
  for (let pass = 1; pass <= (o.passes ?? 2); pass++) {
    const ours = await run(playbook, [lab.inventoryPath], { limit: mine.name })
    const theirs = (await ansibleStatuses(lab.inventoryPath, playbook, ['--limit', ref.name])).get(ref.name)
    assert.deepEqual(Object.fromEntries(statuses(ours, mine.name)), Object.fromEntries(theirs ?? []), `run ${pass}: statuses`)
    for (const cmd of o.state) assert.equal(await sh(lab, mine.index, cmd), await sh(lab, ref.index, cmd), `run ${pass}: ${cmd}`)
  }
}
