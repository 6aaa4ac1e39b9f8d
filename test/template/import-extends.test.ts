// {% import %}, {% from … import %}, {% extends %} / {% block %} against the real Jinja2 (Debian's
// python3-jinja2) set up as Ansible's template module sets it up: trim_blocks on, the template's
// folder as the loader's search path, the top template's trailing newlines kept, an undefined
// variable an error. Each case is a folder of template files, a main template and variables;
// both engines render it and must agree on the text, or both fail.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { TemplateError } from '../../src/errors.js'
import { analyzeTemplate, render } from '../../src/template/index.js'

const PY = '/usr/bin/python3'

const ORACLE = `
import json, sys, jinja2
cases = json.load(sys.stdin)
out = []
for c in cases:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(c['dir']), trim_blocks=True, undefined=jinja2.StrictUndefined)
    data = c['files'][c['main']]
    try:
        res = env.get_template(c['main']).render(c['vars'])
        # Ansible keeps the top template's trailing newlines (Jinja2 drops one)
        want = len(data) - len(data.rstrip('\\n'))
        have = len(res) - len(res.rstrip('\\n'))
        if want > have:
            res += '\\n' * (want - have)
        out.append({'ok': res})
    except Exception as e:
        out.append({'err': type(e).__name__ + ': ' + str(e)})
print(json.dumps(out))
`

interface Case {
  name: string
  files: Record<string, string>
  main: string
  vars?: Record<string, unknown>
}

const MACROS = `{% macro hi(n) %}hi {{ n }} {{ myvar | default('NOVAR') }} {{ caller() if caller is defined else 'nocaller' }}{% endmacro %}
{% macro _hidden() %}h{% endmacro %}
{% set top = 'TOP' %}
{% set _private = 'P' %}
module body text is dropped
`

const CASES: Case[] = [
  {
    name: 'import without context does not see the variables',
    files: { 'm.j2': MACROS, 'main.j2': "{% import 'm.j2' as m %}\nA {{ m.hi(1) }} {{ m.top }}\n" },
    main: 'main.j2',
    vars: { myvar: 'MYVAR' },
  },
  {
    name: 'import with context sees them',
    files: { 'm.j2': MACROS, 'main.j2': "{% import 'm.j2' as m with context %}\nA {{ m.hi(1) }}\n" },
    main: 'main.j2',
    vars: { myvar: 'MYVAR' },
  },
  {
    name: 'from import, aliases, caller',
    files: {
      'm.j2': MACROS,
      'main.j2': "{% from 'm.j2' import hi as greet, top %}\n{{ greet(2) }} {{ top }}\n{% call greet(3) %}body {{ myvar }}{% endcall %}\n",
    },
    main: 'main.j2',
    vars: { myvar: 'MYVAR' },
  },
  {
    name: 'a trailing comma in from import is an error',
    files: { 'm.j2': MACROS, 'main.j2': "{% from 'm.j2' import hi, %}x" },
    main: 'main.j2',
  },
  {
    name: 'from import with context',
    files: { 'm.j2': MACROS, 'main.j2': "{% from 'm.j2' import hi with context %}{{ hi(4) }}" },
    main: 'main.j2',
    vars: { myvar: 'MYVAR' },
  },
  {
    name: 'with context sees loop variables',
    files: {
      'm.j2': '{% macro show() %}[{{ item }}]{% endmacro %}',
      'main.j2': "{% for item in [1, 2] %}{% import 'm.j2' as m with context %}{{ m.show() }}{% endfor %}",
    },
    main: 'main.j2',
  },
  {
    name: 'a name not exported is undefined when used',
    files: { 'm.j2': MACROS, 'main.j2': "{% from 'm.j2' import nope %}{{ nope is defined }}" },
    main: 'main.j2',
  },
  {
    name: 'a private name cannot be imported',
    files: { 'm.j2': MACROS, 'main.j2': "{% from 'm.j2' import _hidden %}x" },
    main: 'main.j2',
  },
  {
    name: 'a module does not export its own imports',
    files: {
      'm.j2': MACROS,
      'n.j2': "{% import 'm.j2' as inner %}{% set mine = 1 %}",
      'main.j2': "{% import 'n.j2' as n %}{{ n.inner is defined }} {{ n.mine }}",
    },
    main: 'main.j2',
  },
  {
    name: 'imported macros call each other and use globals and filters',
    files: {
      'm.j2': "{% macro a(x) %}<{{ b(x) | upper }}>{% endmacro %}{% macro b(x) %}{{ range(x) | list | join(',') }}b{% endmacro %}",
      'main.j2': "{% import 'm.j2' as m %}{{ m.a(3) }}",
    },
    main: 'main.j2',
  },
  {
    name: 'extends with blocks and super()',
    files: {
      'base.j2': '# header\n{% block body %}base body {{ v }}\n{% endblock %}\n{% block foot %}base foot{% endblock %}\n',
      'main.j2': "{% extends 'base.j2' %}\n{% block body %}child body {{ v }} / {{ super() }}{% endblock %}\n",
    },
    main: 'main.j2',
    vars: { v: 'V' },
  },
  {
    name: 'three levels, super() through each, self.block()',
    files: {
      'a.j2': '{% block x %}A{% endblock %}|{% block y %}Y{% endblock %}|{{ self.x() }}',
      'b.j2': "{% extends 'a.j2' %}{% block x %}B({{ super() }}){% endblock %}",
      'c.j2': "{% extends 'b.j2' %}{% block x %}C({{ super() }}){% endblock %}{% block y %}{{ self.x() }}{% endblock %}",
    },
    main: 'c.j2',
  },
  {
    name: 'child output outside blocks is dropped, top-level set and import reach the blocks',
    files: {
      'm.j2': '{% macro shout(s) %}{{ s | upper }}!{% endmacro %}',
      'base.j2': 'start {% block b %}{% endblock %} end',
      'main.j2':
        "before\n{% extends 'base.j2' %}\nignored {{ 1 }}\n{% set who = 'world' %}\n{% import 'm.j2' as m %}\n{% block b %}{{ m.shout(who) }}{% endblock %}\nalso ignored\n",
    },
    main: 'main.j2',
  },
  {
    name: 'blocks do not see loop variables unless scoped',
    files: {
      'base.j2': "{% for item in ['a', 'b'] %}{% block one %}{{ item | default('-') }}{% endblock %}{% block two scoped %}{{ item }}{% endblock %}{% endfor %}",
      'main.j2': "{% extends 'base.j2' %}{% block two scoped %}<{{ item }}>{% endblock %}",
    },
    main: 'main.j2',
  },
  {
    name: 'conditional extends and a variable parent name',
    files: {
      'p1.j2': 'P1 {% block b %}{% endblock %}',
      'p2.j2': 'P2 {% block b %}{% endblock %}',
      'main.j2': '{% if which == 1 %}{% extends "p1.j2" %}{% else %}{% extends "p" ~ which ~ ".j2" %}{% endif %}{% block b %}{{ which }}{% endblock %}',
    },
    main: 'main.j2',
    vars: { which: 2 },
  },
  {
    name: 'a block of the child that the parent lacks is not rendered',
    files: { 'base.j2': 'base', 'main.j2': "{% extends 'base.j2' %}{% block extra %}EXTRA{% endblock %}" },
    main: 'main.j2',
  },
  {
    name: 'super() without a parent block fails when printed',
    files: { 'main.j2': '{% block b %}x{{ super() }}{% endblock %}' },
    main: 'main.j2',
  },
  {
    name: 'a required block must be overridden',
    files: { 'base.j2': '{% block b required %}{% endblock %}', 'main.j2': "{% extends 'base.j2' %}" },
    main: 'main.j2',
  },
  {
    name: 'endblock with its name',
    files: { 'main.j2': '{% block inner %}I{% endblock inner %}.' },
    main: 'main.j2',
  },
  {
    name: 'a macro imported from a template in a subfolder',
    files: {
      'lib/m.j2': '{% macro kv(d) %}{% for k, v in d | dictsort %}{{ k }}={{ v }}\n{% endfor %}{% endmacro %}',
      'main.j2': "{% import 'lib/m.j2' as m %}\n{{ m.kv(conf) }}",
    },
    main: 'main.j2',
    vars: { conf: { b: 2, a: 1 } },
  },
]

const root = mkdtempSync(join(tmpdir(), 'k3sbook-jimport-'))
after(() => rmSync(root, { recursive: true, force: true }))

const dirs = CASES.map((c, i) => {
  const dir = join(root, String(i))
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
})

function oracle(): ({ ok: string } | { err: string })[] {
  const input = CASES.map((c, i) => ({ dir: dirs[i], files: c.files, main: c.main, vars: c.vars ?? {} }))
  const r = spawnSync(PY, ['-c', ORACLE], { input: JSON.stringify(input), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

describe('import and extends match Jinja2', () => {
  const want = oracle()
  if (process.env.SHOW_ORACLE) console.log(JSON.stringify(want, null, 1))
  CASES.forEach((c, i) => {
    it(c.name, () => {
      const file = join(dirs[i], c.main)
      let got: { ok: string } | { err: string }
      try {
        got = { ok: render(c.files[c.main], c.vars ?? {}, { source: 'file', file, searchPath: [dirs[i]] }) }
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e
        got = { err: e.format() }
      }
      const w = want[i]
      if ('ok' in w) assert.deepEqual(got, w, `Jinja2 renders ${JSON.stringify(w.ok)}`)
      else assert.ok('err' in got, `Jinja2 fails (${w.err}); we rendered ${JSON.stringify((got as { ok: string }).ok)}`)
    })
  })
})

describe('import and extends errors point at the statement or the file', () => {
  const dir = mkdtempSync(join(root, 'err-'))
  writeFileSync(join(dir, 'bad.j2'), 'line one\n{% macro m() %}{{ 1 + }}{% endmacro %}\n')
  writeFileSync(join(dir, 'undef.j2'), '{% macro m() %}\n  {{ missing_var }}\n{% endmacro %}\n')
  writeFileSync(join(dir, 'base.j2'), 'x\n{% block b %}{{ nope.attr }}{% endblock %}\n')
  const fail = (text: string): TemplateError => {
    try {
      render(text, {}, { source: 'file', file: join(dir, 'main.j2'), searchPath: [dir] })
    } catch (e) {
      assert.ok(e instanceof TemplateError, String(e))
      return e
    }
    assert.fail('rendered')
  }
  it('a missing template names itself, at the import line', () => {
    const e = fail("one\n{% import 'nope.j2' as n %}")
    assert.match(e.message, /could not find 'nope\.j2'/)
    assert.equal(e.pos?.file, join(dir, 'main.j2'))
    assert.equal(e.pos?.line, 2)
    const x = fail("{% extends 'gone.j2' %}")
    assert.match(x.message, /could not find 'gone\.j2'/)
    const y = fail("{% from 'gone.j2' import a %}")
    assert.match(y.message, /could not find 'gone\.j2'/)
  })
  it('a syntax error in an imported template points into that file', () => {
    const e = fail("{% import 'bad.j2' as b %}")
    assert.match(e.message, /syntax error/)
    assert.equal(e.pos?.file, join(dir, 'bad.j2'))
    assert.equal(e.pos?.line, 2)
  })
  it('an undefined variable in an imported macro points into the macro', () => {
    const e = fail("{% import 'undef.j2' as u %}\n{{ u.m() }}")
    assert.match(e.message, /missing_var/)
    assert.equal(e.pos?.file, join(dir, 'undef.j2'))
    assert.equal(e.pos?.line, 2)
  })
  it("an error in the parent's block points into the parent", () => {
    const e = fail("{% extends 'base.j2' %}")
    assert.match(e.message, /nope/)
    assert.equal(e.pos?.file, join(dir, 'base.j2'))
    assert.equal(e.pos?.line, 2)
  })
  it('".." cannot climb out of the search path', () => {
    assert.match(fail("{% import '../x.j2' as x %}").message, /refused/)
  })
  it('a block defined twice is a syntax error', () => {
    assert.match(fail('{% block a %}{% endblock %}{% block a %}{% endblock %}').message, /block 'a' defined twice/)
  })
})

describe("lookup('template') of a template that imports and extends", () => {
  it("finds a sibling of the looked-up template (Ansible puts the template's folder first)", () => {
    const dir = mkdtempSync(join(root, 'lookup-'))
    mkdirSync(join(dir, 'templates', 'sub'), { recursive: true })
    writeFileSync(join(dir, 'templates', 'sub', 'page.j2'), "{% extends 'layout.j2' %}{% import 'm.j2' as m %}{% block b %}{{ m.x(v) }}{% endblock %}\n")
    writeFileSync(join(dir, 'templates', 'sub', 'layout.j2'), '<{% block b %}{% endblock %}>\n')
    writeFileSync(join(dir, 'templates', 'sub', 'm.j2'), '{% macro x(a) %}x={{ a }}{% endmacro %}')
    assert.equal(render("{{ lookup('template', 'sub/page.j2') }}", { v: 7 }, { searchPath: [dir] }), '<x=7>\n')
  })
})

describe('static analysis of import and extends', () => {
  it('names bound by import and from-import, self and super are not variables the template needs', () => {
    const a = analyzeTemplate(
      "{% import 'm.j2' as m %}{% from 'm.j2' import x as y %}{{ m.f(v) }}{{ y }}{% block b %}{{ super() }}{% endblock %}{{ self.b() }}",
    )
    assert.deepEqual([...a.required.keys()].sort(), ['v'])
  })
})
