// The output tail shown for a failed command (src/errors.ts): linear in the text, bounded in size.
// It used /\s+$/, which is quadratic on a long run of white space that does not end the text.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tail } from '../../src/errors.js'

test('tail: the last lines, trailing white space dropped; linear and bounded on hostile output', () => {
  assert.equal(tail('a\nb\nc\n\n', 2), 'b\nc')
  assert.equal(tail('one line  \n', 20), 'one line')
  assert.equal(tail('', 3), '')
  const t0 = performance.now()
  assert.equal(tail(' '.repeat(1_000_000) + 'x', 20).endsWith('x'), true)
  assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`)
  const long = tail('y'.repeat(100_000), 5)
  assert.match(long, /^\[… 83616 characters cut\]y+$/)
  assert.equal(long.length, '[… 83616 characters cut]'.length + 16384)
})
