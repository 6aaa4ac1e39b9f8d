// file's modification_time/access_time read as Python's time.strptime reads them (find target:
// `modification_time: "202001011200.0"` with the default format '%Y%m%d%H%M.%S').
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { strptime, touchStamp } from '../../src/modules/lib/strptime.js'

const F = '%Y%m%d%H%M.%S'

describe('strptime (file module times)', () => {
  it('one-digit fields as CPython takes them', () => {
    assert.equal(touchStamp(strptime('202001011200.0', F)), '202001011200.00')
    assert.equal(touchStamp(strptime('202001011200.05', F)), '202001011200.05')
    assert.equal(touchStamp(strptime('2020-1-2 3:4', '%Y-%m-%d %H:%M')), '202001020304.00')
    assert.equal(touchStamp(strptime('99/12/31', '%y/%m/%d')), '199912310000.00')
  })
  it("Python's ValueError wording for what does not fit", () => {
    assert.throws(() => strptime('2020', F), /^Error: time data '2020' does not match format '%Y%m%d%H%M.%S'$/)
    assert.throws(() => strptime('202001011200.0512', F), /unconverted data remains: 12/)
    assert.throws(() => strptime('202002301200.00', F), /day is out of range for month/)
    assert.throws(() => strptime('x', '%j'), /%j is not supported by k3sbook/)
  })
})
