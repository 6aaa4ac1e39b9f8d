import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { expandHostRange, parseAddress } from '../../src/inventory/address.js'
import { iniValue, shlexSplit } from '../../src/inventory/pyliteral.js'

describe('host ranges', () => {
  it('expands numeric, padded, stepped, alphabetic and several ranges', () => {
    assert.deepEqual(expandHostRange('node[01:03]'), ['node01', 'node02', 'node03'])
    assert.deepEqual(expandHostRange('n[1:10:4]'), ['n1', 'n5', 'n9'])
    assert.deepEqual(expandHostRange('db-[a:c]'), ['db-a', 'db-b', 'db-c'])
    assert.deepEqual(expandHostRange('r[1:2]-[x:y].lan'), ['r1-x.lan', 'r1-y.lan', 'r2-x.lan', 'r2-y.lan'])
    assert.deepEqual(expandHostRange('h[:2]'), ['h0', 'h1', 'h2'])
    assert.equal(expandHostRange('w[01:50:2]').length, 25)
  })
  it('refuses malformed ranges with Ansible\'s reasons', () => {
    assert.throws(() => expandHostRange('n[1]'), /begin:end or begin:end:step/)
    assert.throws(() => expandHostRange('n[1:]'), /must specify end value/)
    assert.throws(() => expandHostRange('n[01:100]'), /equal-length/)
    assert.throws(() => expandHostRange('n[c:a]'), /begin <= end/)
    assert.throws(() => expandHostRange('n[1:3:0]'), /positive/)
  })
  it('parses host:port, [v6]:port and rejects non-addresses', () => {
    assert.deepEqual(parseAddress('web1:2222', false), { host: 'web1', port: 2222 })
    assert.deepEqual(parseAddress('[fe80::1]:22', false), { host: 'fe80::1', port: 22 })
    assert.deepEqual(parseAddress('fe80::1', false), { host: 'fe80::1', port: undefined })
    assert.deepEqual(parseAddress('web[1:3]', true), { host: 'web[1:3]', port: undefined })
    assert.equal(parseAddress('web[1:3]', false), undefined)
    assert.equal(parseAddress('a:b', true), undefined)
    assert.equal(parseAddress('bad_', true), undefined)
  })
})

describe('INI values', () => {
  it('splits host lines like shlex (quotes, escapes, # comments even inside a word)', () => {
    assert.deepEqual(shlexSplit(`h a="x y" b='q "z"' c=d\\ e f=ab#c g=1`), ['h', 'a=x y', 'b=q "z"', 'c=d e', 'f=ab'])
    assert.deepEqual(shlexSplit(`h a="1\\"2\\n"`), ['h', 'a=1"2\\n'])
    assert.throws(() => shlexSplit('h a="x'), /No closing quotation/)
  })
  it('reads Python literals and keeps anything else as text', () => {
    const cases: [string, unknown][] = [
      ['22', 22], ['-3', -3], ['1.5', 1.5], ['0x1f', 31], ['1_000', 1000], ['022', '022'], ['True', true], ['None', null],
      ["'a b'", 'a b'], ['"a" \'b\'', 'ab'], ["[1, 'x', (2, 3)]", [1, 'x', [2, 3]]], ["{'a': {'b': [True]}, 1: 2}", { a: { b: [true] }, 1: 2 }],
      ['yes', 'yes'], ['1 + 1', '1 + 1'], ['a=b', 'a=b'], ['42 # note', 42], ["u'\\u00e9'", 'é'], ['(1,)', [1]], ['{1, 2}', [1, 2]],
      ["f'x'", "f'x'"], ['', ''],
    ]
    for (const [src, want] of cases) assert.deepEqual(iniValue(src), want, src)
  })
})
