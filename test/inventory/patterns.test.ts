import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ValidationError } from '../../src/errors.js'
import { limitHosts, resolvePattern, splitHostPattern } from '../../src/inventory/index.js'
import { fnmatchTranslate } from '../../src/inventory/patterns.js'
import { loadIn, tree } from './helpers.js'

const dir = tree({
  'inv.yml': `web:
  hosts:
    web[1:4]:
db:
  hosts:
    db1:
    db2:
prod:
  children:
    web:
  hosts:
    db1:
`,
  'retry.txt': 'web2\ndb2\n\n',
})
const { inv } = loadIn(dir, ['inv.yml'])
const r = (p: string | string[]) => resolvePattern(inv, p)

describe('host patterns', () => {
  it('splits like Ansible: commas, colons outside brackets, whole addresses', () => {
    assert.deepEqual(splitHostPattern('a:b'), ['a', 'b'])
    assert.deepEqual(splitHostPattern(' a , b ,'), ['a', 'b'])
    assert.deepEqual(splitHostPattern('host:22'), ['host:22'])
    assert.deepEqual(splitHostPattern('fe80::1'), ['fe80::1'])
    assert.deepEqual(splitHostPattern('web[0:2]:db'), ['web[0:2]', 'db'])
    assert.deepEqual(splitHostPattern('web[1:]:&prod'), ['web[1:]', '&prod'])
    assert.deepEqual(splitHostPattern(['a:b', 'c']), ['a', 'b', 'c'])
  })

  it('applies unions, then intersections, then exclusions, whatever the written order', () => {
    assert.deepEqual(r('!web:all'), ['db1', 'db2'])
    assert.deepEqual(r('&prod:db'), ['db1'])
    assert.deepEqual(r('web:!web2:db'), ['web1', 'web3', 'web4', 'db1', 'db2'])
    assert.deepEqual(r('!db'), ['web1', 'web2', 'web3', 'web4'])
  })

  it('supports subscripts, including negative, open-ended and Ansible\'s [x:0]', () => {
    assert.deepEqual(r('web[0]'), ['web1'])
    assert.deepEqual(r('web[-1]'), ['web4'])
    assert.deepEqual(r('web[1:2]'), ['web2', 'web3'])
    assert.deepEqual(r('web[2:]'), ['web3', 'web4'])
    assert.deepEqual(r('web[2:0]'), ['web3'])
    assert.deepEqual(r('web[7:9]'), [])
    assert.throws(() => r('web[4]'), (e) => e instanceof ValidationError && e.message === "No hosts matched the subscripted pattern 'web[4]'")
  })

  it('matches globs and regexes against groups and hosts', () => {
    assert.deepEqual(r('we[b]1'), ['web1'], 'not a subscript: a glob character class')
    assert.deepEqual(r('web[!1]*'), ['web2', 'web3', 'web4'])
    assert.deepEqual(r('d*'), ['db1', 'db2'])
    assert.deepEqual(r('~web[34]'), ['web3', 'web4'])
    assert.deepEqual(r('~eb'), [], 'Python re.match anchors at the start')
    assert.deepEqual(r('~(?P<x>db)(?P=x)?1'), ['db1'])
  })

  it('refuses malformed patterns with a clear error', () => {
    for (const [p, msg] of [
      ['web[0', /unterminated "\["/],
      ['web]', /"\]" without "\["/],
      ['~web(', /not a valid regular expression/],
      ['web:&', /"&" or "!" with nothing after it/],
    ] as const)
      assert.throws(() => r(p), (e) => e instanceof ValidationError && msg.test(e.message), p)
  })

  it('warns for a pattern that matches nothing, and for the implicit localhost', () => {
    const warnings: string[] = []
    assert.deepEqual(resolvePattern(inv, 'nosuch:web1', { warn: (m) => warnings.push(m) }), ['web1'])
    assert.deepEqual(resolvePattern(inv, 'localhost', { warn: (m) => warnings.push(m) }), ['localhost'])
    assert.deepEqual(resolvePattern(inv, 'all', { warn: (m) => warnings.push(m) }).includes('localhost'), false)
    assert.deepEqual(warnings, [
      'Could not match supplied host pattern, ignoring: nosuch',
      'localhost is not in the inventory: using the implicit localhost (connection: local)',
    ])
  })

  it('reads @file host lists relative to baseDir, for patterns and --limit', () => {
    assert.deepEqual(resolvePattern(inv, '@retry.txt', { baseDir: dir }), ['web2', 'db2'])
    // `all` lists db before web: web sits one level deeper, under prod
    assert.deepEqual(r('all'), ['db1', 'db2', 'web1', 'web2', 'web3', 'web4'])
    assert.deepEqual(limitHosts(inv, r('all'), '@retry.txt', { baseDir: dir }), ['db2', 'web2'])
    assert.throws(() => limitHosts(inv, r('all'), '@missing.txt', { baseDir: dir }), /cannot read host list file missing\.txt: ENOENT/)
  })

  it('limits as an intersection that keeps the play order', () => {
    assert.deepEqual(limitHosts(inv, r('db:web'), 'web4:db1'), ['db1', 'web4'])
    assert.deepEqual(limitHosts(inv, r('web'), '!web1'), ['web2', 'web3', 'web4'])
    assert.deepEqual(limitHosts(inv, r('web'), undefined), ['web1', 'web2', 'web3', 'web4'])
  })
})

describe('fnmatchTranslate (Python 3.11 fnmatch)', () => {
  const m = (p: string, s: string) => new RegExp(`^(?:${fnmatchTranslate(p)})$`, 's').test(s)
  it('handles sets, negation, ranges, empty ranges and literals', () => {
    assert.equal(m('a[bc]d', 'acd'), true)
    assert.equal(m('a[!bc]d', 'acd'), false)
    assert.equal(m('a[a-c]', 'ab'), true)
    assert.equal(m('a[z-a]', 'ab'), false)
    assert.equal(m('a[', 'a['), true)
    assert.equal(m('a.b', 'axb'), false)
    assert.equal(m('[]]', ']'), true)
    assert.equal(m('a**b', 'aXYb'), true)
    assert.equal(m('a?c', 'a\nc'), true)
  })
})
