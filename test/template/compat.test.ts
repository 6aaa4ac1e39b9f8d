// Template behaviours found by Ansible's own integration targets (test/compat), kept here so CI,
// which has no copy of Ansible's sources, holds them. Expected values are what ansible-core 2.14's
// plugins return (checked with Debian's ansible-core: lookup_loader.get(...).run(...)).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { templateValue } from '../../src/template/index.js'

const q = (expr: string, vars: Record<string, unknown> = {}) => templateValue(`{{ ${expr} }}`, vars)

describe('templates as the integration targets use them', () => {
  it('item.0.name: an index then an attribute (lookup_subelements)', () => {
    const vars = { item: [{ name: 'a', l: [[1, 2]] }, 'b'] }
    assert.equal(q('item.0.name', vars), 'a')
    assert.equal(q('item.0.l.0.1 + 1', vars), '3')
    assert.equal(q('item.1', vars), 'b')
  })

  it('the sequence lookup, shortcut and k=v forms (lookup_sequence)', () => {
    const cases: [string, string[]][] = [
      ['start=0 end=3', ['0', '1', '2', '3']],
      ['4', ['1', '2', '3', '4']],
      ['2-6/2', ['2', '4', '6']],
      ['7-8:host%02d', ['host07', 'host08']],
      ['start=3 end=0 stride=-1', ['3', '2', '1', '0']],
      ['count=0', []],
      ['start=0x0f00 count=4 format=%04x', ['0f00', '0f01', '0f02', '0f03']],
      ['start=1 count=5 stride=2', ['1', '3', '5', '7', '9']],
    ]
    for (const [term, want] of cases) assert.deepEqual(q(`query('sequence', '${term}')`), want, term)
    const errors: [string, string][] = [
      ['start=0 junk=3', "unrecognized arguments to with_sequence: ['junk']"],
      ['start=A end=3', "can't parse start=A as integer"],
      ['start=5 end=1', 'to count backwards make stride negative'],
      ['count=2 end=3', "can't specify both count and end in with_sequence"],
    ]
    for (const [term, msg] of errors)
      assert.throws(
        () => q(`query('sequence', '${term}')`),
        (e: Error) => e.message.includes(msg),
        term,
      )
  })

  it('subelements with skip_missing goes on to the next subkey and takes the list out (lookup_subelements)', () => {
    const data = [{ id: 'x', the: { sub: { key: { list: ['k', 'l'] } } } }, { id: 'y' }, { id: 'z', the: { sub: { key: null } } }]
    assert.deepEqual(q("query('subelements', data, 'the.sub.key.list', {'skip_missing': true})", { data }), [
      [{ id: 'x', the: { sub: { key: {} } } }, 'k'],
      [{ id: 'x', the: { sub: { key: {} } } }, 'l'],
    ])
    // the variable itself is left as it was
    assert.deepEqual(data[0].the!.sub.key, { list: ['k', 'l'] })
  })

  it('the dict lookup refuses a non-dict (lookup_dict)', () => {
    assert.throws(() => q("query('dict', ['a'])"), /with_dict expects a dict/)
    assert.deepEqual(q("query('dict', {'a': 1})"), [{ key: 'a', value: 1 }])
  })

  it('urldecode is unquote_plus; isnan (filter_urls, test_mathstuff)', () => {
    assert.equal(q("'a+b%zz%C3%A9' | urldecode"), 'a b%zzé')
    assert.equal(q("'key%3D%22%40' | urldecode"), 'key="@')
    assert.equal(q("'nan' | float is isnan"), true)
    assert.equal(q("'bad' is not nan"), true)
  })

  it("{% include %} drops the included file's trailing newline, as Jinja2 does (lookup_template)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-inc-'))
    mkdirSync(join(dir, 'templates'))
    writeFileSync(join(dir, 'templates', 'hello.txt'), "Hello {% include 'world.txt' %}!\n")
    writeFileSync(join(dir, 'templates', 'world.txt'), 'world\n')
    assert.equal(templateValue("{{ lookup('template', 'hello.txt') }}", {}, { searchPath: [dir] }), 'Hello world!\n')
  })
})
