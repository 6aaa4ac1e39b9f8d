// Unit tests for the template API: native values, errors with positions, static name analysis,
// sandboxing, !unsafe and omit, lookups, and a throughput measurement.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { TemplateError } from '../../src/errors.js'
import {
  analyzeTemplate,
  checkSyntax,
  evalCondition,
  evaluate,
  isTemplated,
  OMIT,
  render,
  stripOmitted,
  templateNames,
  templateValue,
} from '../../src/template/index.js'
import { UnsafeString } from '../../src/yamlfile.js'

const V = { a: 1, s: 'str', l: [1, 2], d: { k: 'v' }, t: true, n: null, api: '10.0.0.1', url: 'https://{{ api }}:6443' }

function err(fn: () => unknown): TemplateError {
  try {
    fn()
  } catch (e) {
    assert.ok(e instanceof TemplateError, `not a TemplateError: ${e}`)
    return e
  }
  assert.fail('did not throw')
}

describe('templateValue', () => {
  it('returns strings without markers untouched, and the same object', () => {
    const big = { x: 'plain', y: [1, 'two'] }
    assert.equal(templateValue('no markers here', V), 'no markers here')
    assert.deepEqual(templateValue(big, V), big)
  })
  it('keeps native types of a lone expression as Ansible does', () => {
    assert.equal(templateValue('{{ a }}', V), 1)
    assert.equal(templateValue('{{ a + 1 }}', V), '2')
    assert.deepEqual(templateValue('{{ l }}', V), [1, 2])
    assert.deepEqual(templateValue('{{ d }}', V), { k: 'v' })
    assert.equal(templateValue('{{ t }}', V), true)
    assert.equal(templateValue('{{ a > 0 }}', V), true)
    assert.equal(templateValue('{{ n }}', V), null)
  })
  it('templates recursively through lists and dicts', () => {
    assert.deepEqual(templateValue({ x: ['{{ s }}', { y: '{{ l | length }}' }], z: 3 }, V), { x: ['str', { y: '2' }], z: 3 })
  })
  it('templates variables that hold templates when they are read', () => {
    assert.equal(templateValue('{{ url }}/ping', V), 'https://10.0.0.1:6443/ping')
  })
  it('detects a variable that refers to itself', () => {
    assert.match(err(() => templateValue('{{ x }}', { x: '{{ y }}', y: '{{ x }}' })).message, /recursive loop/)
  })
  it('never templates !unsafe values', () => {
    const u = new UnsafeString('{{ a }}')
    assert.equal(templateValue(u, V), u)
    assert.equal(templateValue('{{ raw }}', { raw: u }), u)
    assert.equal(render('x {{ raw }}', { raw: u }), 'x {{ a }}')
  })
  it('omit is a placeholder that stripOmitted removes', () => {
    const args = templateValue({ mode: '{{ m | default(omit) }}', owner: 'root', nested: { x: '{{ omit }}', y: 1 } }, V) as Record<string, unknown>
    assert.equal(args.mode, OMIT)
    assert.deepEqual(stripOmitted(args), { owner: 'root', nested: { y: 1 } })
  })
})

describe('errors carry the template position', () => {
  it('names an undefined variable and points into the YAML value', () => {
    const e = err(() => templateValue('token={{ k3s_token }}', V, { file: 'roles/k3s/tasks/main.yml', line: 14, col: 12 }))
    assert.equal(e.message, "'k3s_token' is undefined")
    assert.deepEqual(e.pos, { file: 'roles/k3s/tasks/main.yml', line: 14, col: 12 + 9 })
  })
  it('positions on later lines of a template file', () => {
    const e = err(() => render('line one\n  {% if t %}\n    {{ d.missing }}\n  {% endif %}\n', V, { file: 'templates/config.j2' }))
    assert.equal(e.message, "'dict object' has no attribute 'missing'")
    // points at the missing attribute
    assert.deepEqual(e.pos, { file: 'templates/config.j2', line: 3, col: 10 })
  })
  it('counts the #jinja2 header line', () => {
    const e = err(() => render('#jinja2: lstrip_blocks: True\n{{ nope }}\n', V, { file: 't.j2' }))
    assert.deepEqual(e.pos, { file: 't.j2', line: 2, col: 4 })
  })
  it('reports syntax errors with position, also through checkSyntax', () => {
    const e = err(() => render('ok\n{% if a %}unclosed', V, { file: 't.j2' }))
    assert.match(e.message, /template syntax error: unexpected end of template/)
    const e2 = err(() => checkSyntax('{{ a + }}', { file: 'p.yml', line: 5, col: 3 }))
    assert.deepEqual(e2.pos, { file: 'p.yml', line: 5, col: 3 + 7 })
    const e3 = err(() => checkSyntax('a ==', { expression: true, file: 'p.yml', line: 2, col: 7 }))
    assert.match(e3.message, /unexpected end of template/)
  })
  it('unknown filters and tests fail before rendering', () => {
    assert.match(err(() => checkSyntax('{{ a | to_jsn }}')).message, /no filter named 'to_jsn'/)
    assert.match(err(() => checkSyntax('{{ a is definedd }}')).message, /no test named 'definedd'/)
  })
  it('default, is defined and omit accept undefined names', () => {
    assert.equal(render('{{ x | default("d") }} {{ x is defined }} {{ x.y.z | d(1) }}', V), 'd False 1')
    assert.equal(templateValue('{{ x | default(omit) }}', V), OMIT)
  })
  it('a variable whose template fails is undefined only when used', () => {
    const vars = { bad: '{{ missing }}' }
    assert.equal(render('{{ bad | default("fallback") }}', vars), 'fallback')
    assert.match(err(() => render('{{ bad }}', vars)).message, /'missing' is undefined/)
  })
})

describe('conditions', () => {
  it('evaluates bare expressions with Ansible truthiness', () => {
    assert.equal(evalCondition('a == 1 and s is string', V), true)
    assert.equal(evalCondition('l', V), true)
    assert.equal(evalCondition('[]', V), false)
    assert.equal(evalCondition(false, V), false)
    assert.equal(evalCondition('{{ t }}', V), true)
    assert.equal(evalCondition('x is not defined', V), true)
    assert.deepEqual(evaluate('l | map("string") | list', V), ['1', '2'])
  })
  it('fails on undefined names in a condition', () => {
    assert.match(err(() => evalCondition('nope == 1', V, { file: 'p.yml', line: 3, col: 11 })).message, /'nope' is undefined/)
  })
})

describe('templateNames: static analysis', () => {
  it('reports names read and not defined locally', () => {
    const names = templateNames('{% set z = 1 %}{{ a }} {{ b | default(1) }}{% for i in items %}{{ i }}{{ z }}{{ loop.index }}{% endfor %}{{ c.d }}')
    assert.deepEqual([...names].sort(), ['a', 'c', 'items'])
  })
  it('treats names under `is defined` guards and default as optional', () => {
    const a = analyzeTemplate('{% if x is defined %}{{ x.y }}{% endif %}{{ w if w is defined else 1 }}{{ q | default(omit) }}{{ r }}')
    assert.deepEqual([...a.required.keys()], ['r'])
    assert.deepEqual([...a.guarded].sort(), ['q', 'w', 'x'])
  })
  it('excludes macro parameters, with-assignments and globals', () => {
    const names = templateNames(
      "{% macro m(p, o=2) %}{{ p }}{{ o }}{{ outer }}{% endmacro %}{{ m(1) }}{% with k = 3 %}{{ k }}{% endwith %}{{ range(3) | list }}{{ lookup('env', 'HOME') }}",
    )
    assert.deepEqual([...names], ['outer'])
  })
  it('analyses when: expressions, with their positions', () => {
    const a = analyzeTemplate('inventory_hostname == groups.servers[0] and k3s_version is defined', { expression: true, file: 'p.yml', line: 9, col: 13 })
    assert.deepEqual([...a.required.keys()], ['inventory_hostname', 'groups'])
    assert.deepEqual(a.required.get('groups'), { file: 'p.yml', line: 9, col: 13 + 22 })
    assert.deepEqual([...templateNames('{{ a }} == 1', { expression: true })], ['a'])
  })
  it('a name used before its set is still required', () => {
    assert.deepEqual([...templateNames('{{ x }}{% set x = 1 %}{{ x }}')], ['x'])
  })
})

describe('sandbox: templates reach only their data', () => {
  const escapes = [
    '{{ range.constructor("return process")() }}',
    '{{ lookup.constructor("return process")() }}',
    "{{ ''.constructor.constructor('return process')() }}",
    '{{ s.__proto__ }}',
    '{{ d.__proto__.polluted }}',
    '{{ l.constructor }}',
    "{{ ''.__class__.__mro__ }}",
    '{{ d.toString() }}',
    "{{ d.hasOwnProperty('k') }}",
    "{{ (s.split)('t').constructor }}",
    '{{ process.env }}',
    "{{ require('fs') }}",
    '{{ global }}',
    "{{ lookup('pipe', 'id') }}",
    "{{ lookup('password', '/tmp/x') }}",
    '{{ x | nosuch_filter }}',
  ]
  for (const t of escapes) {
    it(t, () => {
      assert.throws(() => render(t, { s: 'str', d: { k: 1 }, l: [1], x: '~' }), TemplateError)
    })
  }
  it('a dict literal with __proto__ does not change prototypes', () => {
    const v = templateValue("{{ {'__proto__': {'polluted': 1}} }}", {}) as Record<string, unknown>
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal(Object.getPrototypeOf(v), Object.prototype)
  })
  it('refuses pipe lookups with a clear message', () => {
    assert.match(err(() => render("{{ lookup('pipe', 'id') }}", {})).message, /not supported.*running commands on the controller/)
  })
})

describe('lookups', () => {
  it('file and template lookups search the given folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-tpl-'))
    try {
      mkdirSync(join(dir, 'files'))
      mkdirSync(join(dir, 'templates'))
      writeFileSync(join(dir, 'files', 'key.pub'), 'ssh-ed25519 AAAA\n')
      writeFileSync(join(dir, 'templates', 'inner.j2'), 'api={{ api }}\n')
      const o = { searchPath: [dir] }
      assert.equal(render("{{ lookup('file', 'key.pub') }}", V, o), 'ssh-ed25519 AAAA')
      assert.equal(render("[{{ lookup('template', 'inner.j2') }}]", V, o), '[api=10.0.0.1\n]')
      // Jinja2's loader drops the included file's one trailing newline (keep_trailing_newline is
      // off in Ansible's environment; only the top template's newlines are preserved)
      assert.equal(render("{% include 'inner.j2' %}", V, o), 'api=10.0.0.1')
      assert.match(err(() => render("{{ lookup('file', 'nope') }}", V, o)).message, /could not find 'nope'/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('env and vars lookups', () => {
    process.env.K3SBOOK_TPL_TEST = 'yes'
    assert.equal(
      render("{{ lookup('env', 'K3SBOOK_TPL_TEST') }} {{ lookup('ansible.builtin.vars', 'url') }} {{ query('env', 'K3SBOOK_TPL_TEST') }}", V),
      "yes https://10.0.0.1:6443 ['yes']",
    )
  })
})

describe('Jinja2 details', () => {
  it('trailing newlines are kept as in the source', () => {
    assert.equal(render('{{ s }}\n', V), 'str\n')
    assert.equal(render('{{ s }}\n\n', V), 'str\n\n')
    assert.equal(render('{% if t %}\nx\n{% endif %}\n', V), 'x\n')
  })
  it('YAML string values keep backslashes in string literals, template files decode them', () => {
    assert.equal(render("{{ 'a\\nb' }}", V, { source: 'yaml' }), 'a\\nb')
    assert.equal(render("{{ 'a\\nb' }}", V, { source: 'file' }), 'a\nb')
    assert.equal(render("{{ 'a-b' | regex_replace('\\-', '_') }}", V, { source: 'yaml' }), 'a_b')
  })
  it('isTemplated', () => {
    assert.equal(isTemplated('plain'), false)
    assert.equal(isTemplated('a {{ b }}'), true)
    assert.equal(isTemplated('{% if x %}'), true)
  })
  it('python methods and slicing', () => {
    assert.equal(
      render("{{ 'a b  c'.split() | join('|') }} {{ s[1:] }} {{ l[::-1] }} {{ '{}:{}'.format(s, a) }} {{ d.get('z', 'none') }}", V),
      'a|b|c tr [2, 1] str:1 none',
    )
  })
})

describe('throughput', () => {
  it('measures renders per second (cached templates, fast path)', () => {
    const vars = { ...V, hosts: Array.from({ length: 50 }, (_, i) => `node${i}`) }
    const tpl = 'server {{ api }}:{{ a + 6442 }} {% for h in hosts %}{{ h }}{% if not loop.last %},{% endif %}{% endfor %}'
    const n = 20000
    // rates per second of this process's CPU time: a loaded machine stretches the wall clock, not the work
    const cpu = (c0: NodeJS.CpuUsage) => {
      const c = process.cpuUsage(c0)
      return (c.user + c.system) / 1e6
    }
    let t0 = process.cpuUsage()
    for (let i = 0; i < n; i++) render(tpl, vars)
    const tplRate = n / cpu(t0)
    t0 = process.cpuUsage()
    for (let i = 0; i < n; i++) templateValue({ name: 'install', args: { dest: '/etc/x', mode: '0644', when: '{{ a == 1 }}' } }, vars)
    const valueRate = n / cpu(t0)
    t0 = process.cpuUsage()
    for (let i = 0; i < n; i++) evalCondition('a == 1 and s is defined', vars)
    const condRate = n / cpu(t0)
    t0 = process.cpuUsage()
    for (let i = 0; i < n * 10; i++) templateValue('no template here at all', vars)
    const plainRate = (n * 10) / cpu(t0)
    console.log(
      `renders/s: loop template ${Math.round(tplRate)}, task args ${Math.round(valueRate)}, conditions ${Math.round(condRate)}, plain strings ${Math.round(plainRate)}`,
    )
    assert.ok(tplRate > 2000 && condRate > 10000 && plainRate > 1e6)
  })
})
