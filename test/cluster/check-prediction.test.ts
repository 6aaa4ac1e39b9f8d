// Issue 16: check mode predicts the whole cluster. On a fresh 4-host lab with the demo's inventory,
// site.yml with --check, then the real run, compared per host × task × loop item (see
// check-prediction.ts): check predicts ≥95% of the run's changes, with no predicted change the run
// does not make, no failure, and the hosts unchanged by the check. On systemd hosts (as the demo)
// and on init-less ones.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { measure, report } from './check-prediction.js'

for (const init of ['systemd', 'none'] as const) {
  test(`check predicts the real run of site.yml on 4 fresh ${init === 'none' ? 'init-less' : 'systemd'} hosts`, async () => {
    const m = await measure(init)
    const text = report(m)
    assert.equal(m.realExit, 0, text)
    assert.equal(m.unchanged, true, `check mode changed a host\n${text}`)
    assert.deepEqual(m.failures, [], text)
    assert.deepEqual(m.falseAlarms, [], text)
    assert.deepEqual(m.missed, [], text)
    assert.ok(m.actual > 50, `the run changed too little to measure: ${m.actual}`)
    assert.ok(m.predicted.length >= 0.95 * m.actual, text)
  })
}
