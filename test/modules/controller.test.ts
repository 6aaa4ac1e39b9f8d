// Controller-only modules: debug, set_fact, assert, fail, meta. They never touch a host, so the
// four ways reduce to: plan is 'ok' (or 'fail'), never a change, with Ansible's registered shape.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { getModule } from '../../src/modules/registry.js'
import { runAssert } from '../../src/modules/assert.js'
import { planOnly, run, loadTemplateEngine } from './harness.js'

before(loadTemplateEngine)

test('all five are controller-only', () => {
  for (const n of ['debug', 'set_fact', 'assert', 'fail', 'meta']) assert.equal(getModule(n)?.controllerOnly, true, n)
})

test('debug: msg, var as an expression, undefined var, verbosity', async () => {
  assert.deepEqual((await run('debug', {})).result, { changed: false, failed: false, msg: 'Hello world!' })
  assert.deepEqual((await run('debug', { msg: ['a', 1] })).result.msg, ['a', 1])
  const vars = { r: { stdout_lines: ['x', 'y'], rc: 0 } }
  assert.deepEqual((await run('debug', { var: 'r.stdout_lines' }, { vars })).result['r.stdout_lines'], ['x', 'y'])
  assert.equal((await run('debug', { var: 'r.rc + 1' }, { vars })).result['r.rc + 1'], 1)
  assert.equal((await run('debug', { var: 'nope' }, { vars })).result.nope, 'VARIABLE IS NOT DEFINED!')
  assert.equal((await planOnly('debug', { msg: 'x', verbosity: 2 })).status, 'skip')
  assert.equal((await planOnly('debug', { msg: 'x', verbosity: 2 }, { vars: { ansible_verbosity: 2 } })).status, 'ok')
})

test('set_fact: ansible_facts from the arguments, names checked', async () => {
  const r = await run('set_fact', { a: 1, b: { c: [2] }, cacheable: 'yes' })
  assert.deepEqual(r.result.ansible_facts, { a: 1, b: { c: [2] } })
  assert.equal(r.result.changed, false)
  assert.equal((await planOnly('set_fact', {})).status, 'fail')
  assert.equal((await planOnly('set_fact', { 'not-valid': 1 })).status, 'fail')
})

test('assert: first false condition is reported as Ansible does', async () => {
  const vars = { x: 3, items: ['a'] }
  const ok = await run('assert', { that: ['x > 2', 'items | length == 1'] }, { vars })
  assert.equal(ok.plan.status, 'ok')
  assert.equal(ok.result.msg, 'All assertions passed')
  const bad = await run('assert', { that: ['x > 2', 'x == 4', 'x == 5'], fail_msg: 'x must be 4' }, { vars })
  assert.equal(bad.plan.status, 'fail')
  assert.equal(bad.result.failed, true)
  assert.equal(bad.result.assertion, 'x == 4')
  assert.equal(bad.result.evaluated_to, false)
  assert.equal(bad.result.msg, 'x must be 4')
  assert.equal((await run('assert', { that: 'x == 1' }, { vars })).result.msg, 'Assertion failed')
  assert.equal((await run('assert', { that: 'y == 1' }, { vars })).plan.status, 'fail')
  // the pure function with any evaluator
  assert.equal(runAssert({ that: [true, 'a'] }, (c) => c !== 'a').status, 'fail')
})

test('fail and meta', async () => {
  const f = await run('fail', {})
  assert.deepEqual(f.result, { changed: false, failed: true, msg: 'Failed as requested from task' })
  assert.equal((await run('fail', { msg: 'boom' })).result.msg, 'boom')
  for (const a of ['flush_handlers', 'end_play', 'end_host', 'noop', 'clear_facts', 'refresh_inventory', 'reset_connection']) {
    const m = await run('meta', { _raw_params: a })
    assert.equal(m.plan.status, 'ok')
    assert.equal(m.result._meta, a)
  }
  assert.equal((await planOnly('meta', { _raw_params: 'explode' })).status, 'fail')
})
