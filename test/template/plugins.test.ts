// Filters and lookups added for real content (src/template/plugins.ts), each against what Ansible
// 2.14 gives: password_hash against glibc's crypt(3) (what Ansible uses without passlib, as on
// Debian), the deterministic lookups against Ansible's documented item shapes.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { render, templateValue } from '../../src/template/index.js'
import { TemplateError } from '../../src/errors.js'

function glibcCrypt(pw: string, salt: string): string {
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))', pw, salt], {
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim()
}

describe('password_hash is crypt(3)', () => {
  for (const [expr, salt] of [
    ["'secret' | password_hash('sha512', 'saltsalt')", '$6$saltsalt'],
    ["'secret' | password_hash('sha256', 'abcdefgh')", '$5$abcdefgh'],
    ["'pässword' | password_hash('sha512', 'x./yz123', rounds=10000)", '$6$rounds=10000$x./yz123'],
  ]) {
    it(expr, () => assert.equal(templateValue(`{{ ${expr} }}`, {}), glibcCrypt(expr.startsWith("'p") ? 'pässword' : 'secret', salt)))
  }
  it('a random 16-character salt when none is given; md5 is crypt(3) too', () => {
    const h = String(templateValue("{{ 'x' | password_hash('sha512') }}", {}))
    assert.match(h, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/)
    assert.equal(glibcCrypt('x', h), h)
    assert.equal(templateValue("{{ 'x' | password_hash('md5', 'abcd') }}", {}), glibcCrypt('x', '$1$abcd'))
  })
})

describe('random and shuffle', () => {
  it('random picks from the list or the range; shuffle keeps the items', () => {
    for (let i = 0; i < 20; i++) {
      assert.ok([1, 2, 3].includes(Number(templateValue('{{ [1, 2, 3] | random }}', {}))))
      const n = Number(templateValue('{{ 10 | random(start=5, step=2) }}', {}))
      assert.ok([5, 7, 9].includes(n))
    }
    assert.deepEqual((templateValue('{{ [3, 1, 2] | shuffle }}', {}) as number[]).map(Number).sort(), [1, 2, 3])
  })
  it("a seed gives Python's sequence (random-hash.test.ts compares many); a fractional float seed is refused", () => {
    assert.deepEqual(templateValue("{{ [1, 2, 3, 4, 5] | shuffle(seed='x') }}", {}), [5, 2, 1, 4, 3])
    assert.throws(() => render('{{ [1, 2] | random(seed=1.5) }}', {}), TemplateError)
  })
})

describe('lookups', () => {
  const q = (t: string, vars = {}) => templateValue(`{{ ${t} }}`, vars)
  it('together, nested, flattened, subelements', () => {
    assert.deepEqual(q("query('together', [1, 2, 3], ['a', 'b'])"), [
      [1, 'a'],
      [2, 'b'],
      [3, null],
    ])
    assert.deepEqual(q("query('nested', ['a', 'b'], [1, 2])"), [
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['b', 2],
    ])
    assert.deepEqual(q("query('flattened', [1, [2, [3, 'None']]])"), [1, 2, 3])
    const users = [{ name: 'a', keys: ['k1', 'k2'] }, { name: 'b' }]
    // Ansible's subelements takes the list out of the element it pairs (ansible-core 2.14:
    // lookup_loader.get('subelements').run(...) gives ({'name': 'a'}, 'k1'), ({'name': 'a'}, 'k2'))
    assert.deepEqual(q("query('subelements', users, 'keys', {'skip_missing': True})", { users }), [
      [{ name: 'a' }, 'k1'],
      [{ name: 'a' }, 'k2'],
    ])
    assert.throws(() => render("{{ query('subelements', users, 'keys') }}", { users }), /could not find 'keys' key/)
  })
  it('first_found searches the search path, skip gives nothing; varnames matches names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-ff-'))
    mkdirSync(join(dir, 'files'))
    writeFileSync(join(dir, 'files', 'b.yml'), 'x')
    assert.equal(templateValue("{{ lookup('first_found', ['a.yml', 'b.yml']) }}", {}, { searchPath: [dir] }), join(dir, 'files', 'b.yml'))
    assert.deepEqual(templateValue("{{ query('first_found', {'files': ['nope'], 'skip': True}) }}", {}, { searchPath: [dir] }), [])
    assert.throws(() => render("{{ lookup('first_found', ['nope']) }}", {}, { searchPath: [dir] }), /No file was found/)
    assert.deepEqual(q("query('varnames', '^qq_')", { qq_a: 1, qq_b: 2, other: 3 }), ['qq_a', 'qq_b'])
  })
  it("pipe runs a playbook task's command on the controller; bare templates still may not", () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-pipe-'))
    assert.equal(templateValue("{{ lookup('pipe', 'echo hi; pwd') }}", {}, { searchPath: [dir] }), `hi\n${dir}`)
    assert.deepEqual(templateValue("{{ query('lines', 'printf \"a\\nb\\n\"') }}", {}, { searchPath: [dir] }), ['a', 'b'])
    assert.throws(() => render("{{ lookup('pipe', 'id') }}", {}), /running commands on the controller/)
  })
  it('inventory_hostnames resolves patterns over groups', () => {
    const groups = { all: ['a', 'b', 'c'], web: ['a', 'b'], db: ['b', 'c'] }
    assert.deepEqual(q("query('inventory_hostnames', 'web:&db')", { groups }), ['b'])
    assert.deepEqual(q("query('inventory_hostnames', 'all:!web')", { groups }), ['c'])
  })
})
