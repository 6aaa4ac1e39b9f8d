// ansible_loop as Ansible's TaskExecutor._run_loop builds it (found by the `loops` integration target).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loopVars } from '../../src/executor/loop.js'
import type { LoopSpec } from '../../src/model.js'

const spec = (over: Partial<LoopSpec> = {}): LoopSpec => ({ items: [], kind: 'loop', loopVar: 'item', extended: true, ...over })
const items = ['apple', 'orange', 'banana']

describe('loop_control.extended', () => {
  it('nextitem on all but the last item, previtem on all but the first', () => {
    const at = (i: number) => loopVars(spec(), items, i).ansible_loop as Record<string, unknown>
    assert.deepEqual(at(0), { index: 1, index0: 0, first: true, last: false, length: 3, revindex: 3, revindex0: 2, allitems: items, nextitem: 'orange' })
    assert.equal(at(1).nextitem, 'banana')
    assert.equal(at(1).previtem, 'apple')
    assert.ok(!('nextitem' in at(2)))
    assert.equal(at(2).previtem, 'orange')
    assert.ok(!('previtem' in at(0)))
  })
  it('extended_allitems: false leaves allitems out', () => {
    const l = loopVars(spec({ extendedAllitems: false }), items, 1).ansible_loop as Record<string, unknown>
    assert.ok(!('allitems' in l))
    assert.equal(l.nextitem, 'banana')
  })
  it('no ansible_loop without extended; index_var sets ansible_index_var', () => {
    const v = loopVars(spec({ extended: undefined, indexVar: 'idx' }), items, 2)
    assert.equal(v.ansible_loop, undefined)
    assert.equal(v.idx, 2)
    assert.equal(v.ansible_index_var, 'idx')
  })
})
