// Load, CI size: 20 lab hosts in one run, all converge (the second run changes nothing), open
// file descriptors stay within a few per host and come back after the run, memory stays bounded.
// The 50-host figures come from `node --import tsx test/bench/load.ts --hosts 50`.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { loadRun } from './loadrun.js'

const HOSTS = Number(process.env.LOAD_HOSTS ?? 20)
let lab: LabInfo & { stop(): Promise<void> }
before(async () => {
  lab = await startLab({ hosts: HOSTS, tag: 'load' })
})
after(() => lab?.stop())

test(`${HOSTS} hosts converge in one run; descriptors and memory stay bounded`, async () => {
  const f = await loadRun(lab)
  console.log(JSON.stringify({ ...f, first: undefined, second: undefined }))
  assert.equal(f.first.exitCode, 0, JSON.stringify(f.first.recap))
  for (const h of lab.hosts) {
    assert.equal(f.first.recap[h.name].changed, 5, `${h.name} first run`)
    assert.equal(f.second.recap[h.name].changed, 0, `${h.name} did not converge`)
    assert.equal(f.second.recap[h.name].failed + f.second.recap[h.name].unreachable, 0)
  }
  // one socket per host connection plus a few pipes; nothing grows with the number of tasks
  assert.ok(f.fdPeak - f.fdBaseline <= 3 * HOSTS + 10, `fds ${f.fdBaseline} → ${f.fdPeak}`)
  assert.ok(f.fdAfter - f.fdBaseline <= 3, `descriptors leaked: ${f.fdBaseline} → ${f.fdAfter}`)
  assert.ok(f.rssPeakMb - f.rssBaselineMb < 200, `memory grew ${f.rssBaselineMb} → ${f.rssPeakMb} MB`)
})
