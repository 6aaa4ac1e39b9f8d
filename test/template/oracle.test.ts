// Compares our templating with Debian's ansible-core 2.14 on a broad table: one playbook, one debug
// task per case, run once with the JSON callback; every case must give Ansible's exact value.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { evalCondition, OMIT, render, stripOmitted, templateValue } from '../../src/template/index.js'
import { TemplateError } from '../../src/errors.js'

const R = String.raw

export const VARS = {
  five: 5,
  pi: 3.14,
  lst: [3, 1, 2],
  words: ['b', 'A', 'c', 'a'],
  strs: 'a,b,,c',
  d: { b: 2, a: 1, nested: { x: [1, { y: 'z' }] } },
  users: [
    { name: 'bob', uid: 1001, admin: true },
    { name: 'alice', uid: 1000, admin: false },
    { name: 'carol', uid: 1002 },
  ],
  name: 'World',
  empty: '',
  nothing: null,
  t: true,
  f: false,
  yes_str: 'yes',
  f_str: 'False',
  url: 'https://{{ name }}:6443',
  nested_tpl: '{{ url }}/v1',
  bad_tpl: '{{ no_such_thing }}',
  multi: 'line1\nline2',
  spacey: '  padded  ',
  version: '1.28.3+k3s1',
  res_ok: { changed: false, rc: 0 },
  res_ch: { changed: true },
  res_fail: { failed: true, msg: 'x' },
  res_skip: { skipped: true, changed: false },
  loop_res: { results: [{ changed: false }, { changed: true }] },
  cfg: {
    'write-kubeconfig-mode': '0644',
    'tls-san': ['a.example', '10.0.0.1'],
    disable: ['traefik'],
    'node-label': ['k=v'],
    token: 'abc:def',
    flag: true,
    port: 6443,
    empty: '',
    yes: 'yes',
    num_str: '123',
    float: 1.5,
    nil: null,
    colon: 'a: b',
    hash: 'x #y',
    lead: '- x',
    star: '*x',
    multi: 'l1\nl2',
    trail: 'x ',
    tab: 'a\tb',
    uni: 'héllo',
    long: 'word '.repeat(25).trim(),
    date: '2024-01-02',
    octal: '0755',
    tilde: '~',
    nested: { list_of_maps: [{ a: 1, b: [1, 2] }, { c: {} }], empty_list: [] },
  },
  hosts: ['n1', 'n2', 'n3'],
  path: '/etc/rancher/k3s/config.yaml',
  mixed: [1, [2, [3, [4]]], null, 'None'],
  kv: [
    { key: 'a', value: 1 },
    { key: 'b', value: 2 },
  ],
  dup: [1, 2, 2, 3, 1],
}

/** Values of debug msg (templated like any task argument). */
const VALUE_CASES: string[] = [
  'Hello {{ name }}!',
  '{{ five }}',
  '{{ five + 1 }}',
  '{{ pi }}',
  '{{ lst }}',
  '{{ lst | sort }}',
  '{{ words | sort }}',
  '{{ words | sort(case_sensitive=true) }}',
  '{{ words | sort(reverse=true) | first }}',
  "{{ users | map(attribute='name') | list }}",
  "{{ users | selectattr('admin', 'defined') | map(attribute='name') | join(',') }}",
  "{{ users | rejectattr('uid', 'gt', 1000) | map(attribute='name') | list }}",
  "{{ users | sort(attribute='uid') | map(attribute='name') | first }}",
  "{{ lst | select('odd') | list }}",
  "{{ lst | reject('equalto', 1) | list }}",
  "{{ lst | map('string') | join('-') }}",
  "{{ hosts | map('regex_replace', '^', 'node-') | list }}",
  '{{ d | to_json }}',
  '{{ d | to_json | string }}',
  'x{{ d | to_json }}',
  '{{ d | to_nice_json }}',
  'x{{ cfg | to_nice_json(indent=2) }}',
  'x{{ cfg | to_json }}',
  'x{{ cfg | to_nice_yaml }}',
  'x{{ cfg | to_yaml }}',
  'x{{ users | to_nice_yaml(indent=2) }}',
  'x{{ users | to_yaml }}',
  'x{{ hosts | to_nice_yaml }}',
  'x{{ name | to_yaml }}',
  'x{{ five | to_nice_yaml }}',
  "x{{ {'a': 'b'} | to_yaml }}",
  '{{ d | dict2items }}',
  '{{ kv | items2dict }}',
  "{{ d | combine({'b': 3, 'nested': {'q': 1}}, recursive=true) }}",
  "{{ d | combine({'nested': {'q': 1}}) }}",
  '{{ mixed | flatten }}',
  '{{ mixed | flatten(levels=1) }}',
  '{{ dup | unique }}',
  '{{ [1,2,3] | union([3,4]) }}',
  '{{ [1,2,3] | intersect([2,3,4]) }}',
  '{{ [1,2,3] | difference([2]) }}',
  "{{ 'abc' | b64encode }}",
  "{{ 'YWJj' | b64decode }}",
  "{{ 'foo-bar_baz' | regex_replace('[-_]', '.') }}",
  R`{{ version | regex_replace('^(\d+)\.(\d+).*$', '\1-\2') }}`,
  R`{{ version | regex_replace('(?P<maj>\d+)\.', '\g<maj>_') }}`,
  R`{{ version | regex_search('\d+\.\d+') }}`,
  R`{{ 'a1b22c333' | regex_findall('\d+') }}`,
  R`{{ 'k=v;x=y' | regex_findall('(\w)=(\w)') }}`,
  R`{{ version | regex_search('(\d+)\.(\d+)', '\1', '\2') }}`,
  "{{ version | regex_search('nomatch') }}",
  "{{ 'a.b*c' | regex_escape }}",
  "{{ yes_str | bool }} {{ 'off' | bool }} {{ 1 | bool }} {{ 'y' | bool }}",
  "{{ '42' | int + 1 }} {{ '3.7' | int }} {{ 'x' | int }} {{ '0x1A' | int(base=16) }} {{ 'x' | int(7) }}",
  "{{ '2.5' | float * 2 }} {{ 3 | float }} {{ 'x' | float }}",
  '{{ five | string }}',
  '{{ lst | length }} {{ d | length }} {{ name | count }}',
  "{{ strs.split(',') }}",
  "{{ 'a  b c' | split }}",
  "{{ ' x y '.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }}",
  '{{ spacey | trim }}|{{ spacey.strip() }}|{{ spacey.lstrip() }}|',
  "{{ name | upper }} {{ name | lower }} {{ 'hello world-x' | title }} {{ 'hELLO' | capitalize }}",
  "{{ name | replace('o', '0') }} {{ name.replace('W', 'w') }} {{ name.startswith('Wo') }} {{ name.endswith(('x', 'd')) }}",
  '{{ path | basename }} {{ path | dirname }} {{ path | splitext }}',
  "{{ 'hello' | hash('sha1') }} {{ 'hello' | hash('md5') }} {{ 'hello' | checksum }} {{ 'hello' | hash('sha256') }}",
  `{{ "it's a $var" | quote }} {{ 'simple' | quote }} {{ '' | quote }}`,
  "{{ 'https://user:pw@host.example:8443/p?q=1#f' | urlsplit }}",
  "{{ 'https://host.example:8443/p' | urlsplit('hostname') }}",
  '{{ lst | type_debug }} {{ d | type_debug }} {{ name | type_debug }} {{ five | type_debug }} {{ pi | type_debug }} {{ nothing | type_debug }}',
  "{{ '1G' | human_to_bytes }} {{ '512 MB' | human_to_bytes }} {{ '10' | human_to_bytes }} {{ 2048 | human_readable }}",
  '{{ lst | min }} {{ lst | max }} {{ lst | sum }} {{ words | min }}',
  "{{ t | ternary('on', 'off') }} {{ nothing | ternary('a', 'b', 'n') }} {{ empty | ternary('a', 'b') }}",
  "{{ undefined_var | default('dflt') }}",
  "{{ empty | default('dflt', true) }}|{{ empty | d('dflt') }}|",
  "{{ nothing | default('x') }}",
  "{{ d.zz | default('ok') }} {{ undefined_var.x.y | default('deep') }}",
  '{{ nothing }}',
  "{{ d.a }} {{ d['b'] }} {{ d.nested.x[1].y }} {{ d.nested['x'][0] }}",
  '{{ lst[0] }} {{ lst[-1] }} {{ lst[1:] }} {{ name[::-1] }} {{ lst[:-1] }}',
  "{{ d.get('zz', 'def') }} {{ d.get('a') }} {{ d.keys() | list | sort }} {{ d.values() | list | length }}",
  '{% for k in d | sort %}{{ k }};{% endfor %}',
  '{% for k, v in d.items() %}{{ k }}{% endfor %}',
  '{% for h in hosts %}{{ h }}{% if not loop.last %},{% endif %}{% endfor %}',
  '{% for h in hosts %}{{ loop.index }}/{{ loop.length }}{{ loop.first }}{{ loop.revindex0 }} {% endfor %}',
  '{% for h in hosts if h != "n2" %}{{ h }}{{ loop.index }}{% else %}none{% endfor %}',
  '{% for h in [] %}{{ h }}{% else %}none{% endfor %}',
  '{% set x = 5 %}{{ x * 2 }}',
  '{% set a, b = 1, 2 %}{{ a + b }}',
  '{% set ns = namespace(total=0) %}{% for i in lst %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}',
  '{% set body %}inner {{ name }}{% endset %}{{ body | upper }}',
  '{{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 8 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 1.5 + 1.5 }} {{ 10 - 2.5 }}',
  "{{ 'a' ~ 1 ~ none ~ true ~ 2.0 }}",
  "{{ '%s:%05d' | format('x', 42) }} {{ '{}-{}'.format('a', 1) }} {{ '%.2f' % 3.14159 }} {{ '%s and %s' % (1, 'b') }}",
  "{{ 'x' if t else 'y' }} {{ 'x' if f else 'y' }} {{ 'z' if five > 3 }}",
  "{{ 3 in lst }} {{ 'a' in d }} {{ 'ell' in 'hello' }} {{ 9 not in lst }} {{ 'zz' not in d }}",
  '{{ five is number }} {{ name is string }} {{ lst is sequence }} {{ d is mapping }} {{ nothing is none }} {{ five is divisibleby 5 }} {{ 3 is odd }} {{ lst is iterable }} {{ t is boolean }} {{ five is integer }} {{ pi is float }}',
  "{{ version is version('1.27', '>=') }} {{ '1.2.10' is version('1.2.9', 'gt') }} {{ '2.0' is version_compare('2.0.0', '==') }} {{ '1.0.0-rc1' is version('1.0.0', '<', version_type='semver') }}",
  '{{ res_ch is changed }} {{ res_ok is changed }} {{ res_fail is failed }} {{ res_ok is success }} {{ res_skip is skipped }} {{ loop_res is changed }} {{ res_ok is succeeded }}',
  '{{ [1,2] is subset([1,2,3]) }} {{ [1,2,3] is superset([3]) }} {{ lst is contains(3) }} {{ 1 is in(lst) }}',
  "{{ 'abc' is match('a') }} {{ 'abc' is match('b') }} {{ 'abc' is search('b') }} {{ 'abc' is regex('^a.c$') }} {{ 'ABC' is match('a', ignorecase=true) }}",
  '{{ undefined_var is defined }} {{ undefined_var is undefined }} {{ d.zz is defined }} {{ d.a is defined }} {{ undefined_var is not defined }}',
  "{{ lst | zip(['a','b','c']) | list }}",
  '{{ d | dictsort }}',
  "{{ [3, 1] | max }} {{ 'abc' | list }} {{ 'abc' | reverse }} {{ lst | reverse | list }}",
  "{{ lookup('env', 'K3SBOOK_ORACLE_ENV') }}",
  "{{ lookup('vars', 'name') }}",
  "{{ lookup('file', 'data.txt') }}",
  "{{ query('items', [1, 2], [3]) }}",
  '{{ nested_tpl }}',
  '[{{ five }}, {{ five + 1 }}]',
  "{{ '[1, 2]' }}",
  "{{ 'True' }}",
  '{{ multi }}',
  '{{ multi | indent(2) }}',
  '{{ range(3) | list }} {{ range(1, 10, 3) | list }}',
  '{{ dict(a=1, b=2) }}',
  '{{ lst | batch(2) | list }}',
  "{{ ['a', 'b'] | product([1, 2]) | list }}",
  "{{ 'x' | mandatory }}",
  '{{ 1.5 | round }} {{ 2.5 | round }} {{ 2.567 | round(2) }} {{ 2.5 | int }} {{ 2.7 | round(method="floor") }} {{ -3 | abs }}',
  "{{ d.items() | list }} {{ (1, 2) }} {{ ('a',) }}",
  "x{{ d.items() | list }} {{ (1, 'b') }} {{ lst | zip(hosts) | list }}",
  "{{ 'a' * 3 }} {{ [1] * 2 }} {{ [1] + [2] }} {{ 'ab' + 'cd' }}",
  '{{ 1 < 2 < 3 }} {{ [1, 2] < [1, 3] }} {{ "a" < "b" }} {{ 1 == 1.0 }} {{ "1" == 1 }}',
  '{{ true }} {{ True }} {{ none }} {{ None }}',
  '{{ t }}',
  '{{ t and five }}',
  '{{ f or five }}',
  '{{ not five }}',
  "{{ {'b': 1, 'a': [1, 'x']} }}",
  "{{ {'b': 1, 'a': [1, 'x']} | string }}",
  "x{{ {'k': none, 'q': true, 's': \"it's\"} }}",
  "{{ 'a\\b' }}|{{ 'c\\nd' }}",
  '{{ hosts | join(", ") }} {{ users | join(",", attribute="name") }}',
  '{{ 10 | string }} {{ lst | ansible.builtin.to_json }}',
  "{{ cfg['tls-san'] | first }} {{ cfg['tls-san'] | last }}",
  '{{ "%-5s|" | format("ab") }} {{ "{:>6}".format("x") }} {{ "{0}{1}{0}".format("a", "b") }} {{ "{n}!".format(n=3) }}',
  '{{ 0.1 + 0.2 }} {{ 1e3 | int }} {{ 10 / 4 }} {{ 2 ** -1 }} {{ 1000000 * 1000000 }}',
  "{{ lst | map('int') | sum(start=10) }} {{ users | sum(attribute='uid') }}",
  "{{ '' | default('e') }} {{ omit_me | default(five) }}",
]

/** `when:` conditions: the task runs (true) or is skipped (false). */
const WHEN_CASES: string[] = [
  'five > 3',
  "name == 'World'",
  'lst | length == 3',
  'undefined_var is not defined',
  't',
  'f',
  'yes_str | bool',
  'yes_str',
  'f_str',
  'f_str | bool',
  'empty',
  'nothing',
  "'x' in lst",
  'd.a == 1 and d.b == 2',
  'not t or five',
  '"{{ t }}"',
  '"{{ five > 10 }}"',
  'five is defined and five > 10',
  'lst',
  '[]',
  'd.nested.x | length > 1',
  "version is version('1.28', '>=')",
  'res_ch is changed',
  'res_fail is not failed',
  'undefined_var is defined and undefined_var.x',
  "hosts | select('match', 'n[12]') | list | length == 2",
  'five in [1, 5]',
  "name is search('or')",
  '(five > 1) and (five < 10) or false',
  'nested_tpl is match("https://World")',
  '\n  five > 1\n',
]

/** Templates that Ansible refuses: our message must name the same cause. */
const ERROR_CASES: [string, string][] = [
  ['{{ k3s_token }}', "'k3s_token' is undefined"],
  ['{{ d.zz }}', "'dict object' has no attribute 'zz'"],
  ["{{ d['zz'] }}", "'dict object' has no attribute 'zz'"],
  ['{{ lst[10] }}', 'list object has no element 10'],
  ['{{ undefined_var.x }}', "'undefined_var' is undefined"],
  ['{{ undefined_var | upper }}', "'undefined_var' is undefined"],
  ['{{ lst | join(undefined_sep) }}', "'undefined_sep' is undefined"],
  ['{{ undefined_var + 1 }}', "'undefined_var' is undefined"],
  ['{% if undefined_var %}x{% endif %}', "'undefined_var' is undefined"],
  ['{% for x in undefined_list %}{{ x }}{% endfor %}', "'undefined_list' is undefined"],
  ['{{ mandatory_x | mandatory }}', "Mandatory variable 'mandatory_x'  not defined."],
  ['{{ bad_tpl }}', "'no_such_thing' is undefined"],
  ['{{ nothing.attr }}', "'None' has no attribute 'attr'"],
  ['{{ name.nope }}', "'str object' has no attribute 'nope'"],
  ["{{ users | selectattr('admin') | map(attribute='name') | list }}", "'dict object' has no attribute 'admin'"],
]
const WHEN_ERROR_CASES: [string, string][] = [
  ['undefined_var', "'undefined_var' is undefined"],
  ['undefined_var == 1', "'undefined_var' is undefined"],
  ['d.zz == 1', "'dict object' has no attribute 'zz'"],
]

/** Template files rendered by lookup('template'): whitespace control, trim_blocks, #jinja2 overrides. */
const FILE_CASES: string[] = [
  'line1\n{% if t %}\n  yes\n{% endif %}\nend\n',
  '{% for h in hosts %}\nserver {{ h }}\n{% endfor %}\n',
  '  {% if t %}indented{% endif %}\n  {%- if t %} stripped{% endif %}\n{# comment #}\nafter comment\n',
  '#jinja2: lstrip_blocks: True\n    {% for h in hosts %}\n    {{ h }}\n    {% endfor %}\n',
  '#jinja2: trim_blocks: False\n{% if t %}\nkept newline\n{% endif %}\n',
  '#jinja2: variable_start_string: "[%", variable_end_string: "%]"\n[% name %] {{ name }}\n',
  '{{ name }}\n\n\n',
  '{{ cfg | to_nice_yaml }}',
  '# config\n{{ cfg | to_nice_yaml(indent=2) }}\n',
  '{% for u in users %}{{ u.name }}:{{ u.uid }}\n{% endfor %}',
  R`{{ '\n' }}|{{ 'a\tb' }}|{{ 'x\\y' }}|{{ '\u00e9' }}` + '\n',
  "{% macro m(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(2, b='y') }}\n",
  '{%- for h in hosts -%}\n  {{ h }}\n{%- endfor %}\n',
  '{% for h in hosts %}\n{{ h }}{% if not loop.last %},\n{% endif %}\n{% endfor %}',
  '[{% for h in hosts %}"{{ h }}"{% if not loop.last %}, {% endif %}{% endfor %}]\n',
  '{{ name }}',
  '{% raw %}{{ not rendered }}{% endraw %} {{ name }}\n',
  '{% filter upper %}up {{ name }}{% endfilter %}\n',
  'a {# inline #} b\n{#- trimmed -#}\n  c\n',
  '{% with z = 3 %}{{ z }}{% endwith %}\n',
]

interface Outcome {
  ok: boolean
  value?: unknown
  skipped?: boolean
  msg?: string
}

function ansibleAvailable(): boolean {
  return spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).status === 0
}

let dir = ''
let results: Outcome[] = []
const ENV_VALUE = 'from the environment'

before(() => {
  assert.ok(ansibleAvailable(), 'ansible-playbook (Debian ansible-core) is needed for the oracle tests')
  dir = mkdtempSync(join(tmpdir(), 'k3sbook-oracle-'))
  writeFileSync(join(dir, 'vars.json'), JSON.stringify(VARS))
  writeFileSync(join(dir, 'data.txt'), 'file data\n\n')
  FILE_CASES.forEach((text, i) => writeFileSync(join(dir, `t${i}.j2`), text))
  // a list msg is templated element by element, exactly as separate values would be
  const tasks: unknown[] = [{ debug: { msg: VALUE_CASES }, ignore_errors: true }]
  for (const c of WHEN_CASES) tasks.push({ debug: { msg: 'ran' }, when: c, ignore_errors: true })
  for (const [c] of ERROR_CASES) tasks.push({ debug: { msg: c }, ignore_errors: true })
  for (const [c] of WHEN_ERROR_CASES) tasks.push({ debug: { msg: 'ran' }, when: c, ignore_errors: true })
  tasks.push({ debug: { msg: FILE_CASES.map((_, i) => `{{ lookup('template', 't${i}.j2') }}`) }, ignore_errors: true })
  // JSON is YAML: no quoting surprises in the playbook
  writeFileSync(join(dir, 'play.yml'), JSON.stringify([{ hosts: 'localhost', gather_facts: false, connection: 'local', tasks }]))
  const r = spawnSync('ansible-playbook', ['-i', 'localhost,', '-c', 'local', '-e', '@vars.json', 'play.yml'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      ANSIBLE_STDOUT_CALLBACK: 'json',
      ANSIBLE_LOCALHOST_WARNING: 'False',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_LOCAL_TEMP: join(dir, 'tmp'),
      ANSIBLE_REMOTE_TEMP: join(dir, 'tmp'),
      ANSIBLE_HOME: join(dir, 'home'),
      ANSIBLE_DEPRECATION_WARNINGS: 'False',
      K3SBOOK_ORACLE_ENV: ENV_VALUE,
    },
  })
  const out = JSON.parse(r.stdout)
  const perTask: Outcome[] = out.plays[0].tasks.map((t: { hosts: Record<string, Record<string, unknown>> }) => {
    const h = t.hosts.localhost
    if (h.failed) return { ok: false, msg: String(h.msg) }
    if (h.skipped) return { ok: true, skipped: true }
    return { ok: true, value: h.msg, skipped: false }
  })
  const spread = (o: Outcome, n: number): Outcome[] =>
    o.ok ? (o.value as unknown[]).map((value) => ({ ok: true, value })) : Array.from({ length: n }, () => o)
  results = [...spread(perTask[0], VALUE_CASES.length), ...perTask.slice(1, -1), ...spread(perTask[perTask.length - 1], FILE_CASES.length)]
  assert.equal(results.length, VALUE_CASES.length + WHEN_CASES.length + ERROR_CASES.length + WHEN_ERROR_CASES.length + FILE_CASES.length)
})

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const json = (v: unknown) => JSON.parse(JSON.stringify(v ?? null))

function ours(c: string): Outcome {
  process.env.K3SBOOK_ORACLE_ENV = ENV_VALUE
  try {
    let v = templateValue(c, VARS, { searchPath: [dir], file: 'play.yml', line: 1, col: 1 })
    if (v === OMIT) v = stripOmitted({ msg: v }).msg ?? 'Hello world!'
    return { ok: true, value: json(v) }
  } catch (e) {
    if (e instanceof TemplateError) return { ok: false, msg: e.message }
    throw e
  }
}

describe('oracle: values match ansible-core 2.14', () => {
  VALUE_CASES.forEach((c, i) => {
    it(c, () => {
      const want = results[i]
      assert.ok(want.ok, `ansible failed on this case: ${want.msg}`)
      assert.deepEqual(ours(c), { ok: true, value: json(want.value) })
    })
  })
})

describe('oracle: when conditions match ansible-core 2.14', () => {
  const base = VALUE_CASES.length
  WHEN_CASES.forEach((c, i) => {
    it(JSON.stringify(c), () => {
      const want = results[base + i]
      assert.ok(want.ok, `ansible failed on this case: ${want.msg}`)
      assert.equal(evalCondition(c, VARS), !want.skipped)
    })
  })
})

describe('oracle: undefined names fail as in ansible-core 2.14', () => {
  const base = VALUE_CASES.length + WHEN_CASES.length
  ERROR_CASES.forEach(([c, msg], i) => {
    it(c, () => {
      const want = results[base + i]
      assert.equal(want.ok, false, `ansible accepted it: ${JSON.stringify(want.value)}`)
      assert.ok(want.msg!.includes(msg), `ansible's message: ${want.msg}`)
      const got = ours(c)
      assert.equal(got.ok, false, `we accepted it: ${JSON.stringify(got.value)}`)
      assert.ok(got.msg!.includes(msg), `our message: ${got.msg}`)
    })
  })
  WHEN_ERROR_CASES.forEach(([c, msg], i) => {
    it(`when: ${c}`, () => {
      const want = results[base + ERROR_CASES.length + i]
      assert.equal(want.ok, false)
      assert.ok(want.msg!.includes(msg), `ansible's message: ${want.msg}`)
      assert.throws(
        () => evalCondition(c, VARS),
        (e: unknown) => e instanceof TemplateError && e.message.includes(msg),
      )
    })
  })
})

describe('oracle: template files render as with ansible-core 2.14', () => {
  const base = VALUE_CASES.length + WHEN_CASES.length + ERROR_CASES.length + WHEN_ERROR_CASES.length
  FILE_CASES.forEach((text, i) => {
    it(JSON.stringify(text), () => {
      const want = results[base + i]
      assert.ok(want.ok, `ansible failed on this case: ${want.msg}`)
      assert.deepEqual(ours(`{{ lookup('template', 't${i}.j2') }}`), { ok: true, value: json(want.value) })
      if (typeof want.value === 'string') assert.equal(render(text, VARS, { source: 'file' }), want.value)
    })
  })
})
