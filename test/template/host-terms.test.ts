// Host data may choose among the playbook's own files, never a file outside them nor a variable of
// the control machine's environment: a lookup whose terms were made from host data (a registered
// result, a fact) is refused when they name an absolute path, climb out with "..", or name an
// environment variable — whichever way the template carried them (a variable, a {% set %}, a loop
// variable, a macro's parameter, a namespace, a `with_*` loop's terms). The lab test
// (test/reliability/host-data.test.ts) runs the same shapes through real tasks.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { templateValue } from '../../src/template/index.js'
import { wrapHostData } from '../../src/template/taint.js'
import { loopItems } from '../../src/executor/loop.js'
import { markSecret } from '../../src/secrets.js'
import { lazyLayers, lazyVars, rawVarsView, hostvarsProxy } from '../../src/executor/vars.js'
import { NAME_VIEWS } from '../../src/secrets.js'
import type { Task } from '../../src/model.js'

const dir = mkdtempSync(join(tmpdir(), 'k3sbook-host-terms-'))
writeFileSync(join(dir, 'Debian.yml'), 'own: file\n')
// outside the playbook's folders (the search path below)
const elsewhere = mkdtempSync(join(tmpdir(), 'k3sbook-host-terms-elsewhere-'))
writeFileSync(join(elsewhere, 'secret.txt'), 'controller secret\n')
const secret = join(elsewhere, 'secret.txt')
after(() => [dir, elsewhere].forEach((d) => rmSync(d, { recursive: true, force: true })))
const vars = {
  r: wrapHostData({ stdout: secret, rc: 0, name: 'Debian', up: 'sub/../../' }),
  ansible_os_family: wrapHostData('Debian'),
  playbook_path: secret,
}
const render = (t: string) => String(templateValue(t, vars, { searchPath: [join(dir, 'sub'), dir] }))
const REFUSED = /its terms are made from host data .*(outside the playbook's folders|never lets host data choose what the control machine reveals)/

describe('lookups whose terms came from a host', () => {
  const refused: Array<[string, string]> = [
    ['a variable', "{{ lookup('file', r.stdout) }}"],
    ['an attribute of a fact chain', "{{ lookup('file', r.stdout | trim) }}"],
    ['concatenation', "{{ lookup('file', '/' ~ r.stdout[1:]) }}"],
    ['climbing out', "{{ lookup('file', r.up ~ 'secret.txt') }}"],
    ['{% set %}', "{% set p = r.stdout %}{{ lookup('file', p) }}"],
    ['{% set %} block', "{% set p %}{{ r.stdout }}{% endset %}{{ lookup('file', p) }}"],
    ['{% for %}', "{% for p in [r.stdout] %}{{ lookup('file', p) }}{% endfor %}"],
    ['a macro parameter', "{% macro rd(p) %}{{ lookup('file', p) }}{% endmacro %}{{ rd(r.stdout) }}"],
    ['a macro keyword parameter', "{% macro rd(p='') %}{{ lookup('file', p) }}{% endmacro %}{{ rd(p=r.stdout) }}"],
    ['a namespace', "{% set ns = namespace(p='') %}{% set ns.p = r.stdout %}{{ lookup('file', ns.p) }}"],
    ['{% with %}', "{% with p = r.stdout %}{{ lookup('file', p) }}{% endwith %}"],
    ['template', "{{ lookup('template', r.stdout) }}"],
    ['fileglob', "{{ lookup('fileglob', r.stdout) }}"],
    ['first_found', "{{ lookup('first_found', [r.stdout]) }}"],
    ['first_found paths', "{{ lookup('first_found', files=['secret.txt'], paths=[r.stdout | dirname]) }}"],
    ['ini file option', "{{ lookup('ini', 'x', file=r.stdout) }}"],
    ['env', "{{ lookup('env', r.name ~ 'HOME') }}"],
  ]
  for (const [name, t] of refused) test(`refused: ${name}`, () => assert.throws(() => render(t), REFUSED))

  test('allowed: a relative name from a fact, among the playbook files', () => {
    assert.equal(render("{{ lookup('file', ansible_os_family ~ '.yml') }}"), 'own: file')
    assert.equal(render("{% set p = ansible_os_family ~ '.yml' %}{{ lookup('file', p) }}"), 'own: file')
  })
  test("allowed: an absolute path inside the task's folders, as `{{ role_path }}/vars` (geerlingguy's roles)", () => {
    const t = (paths: string) => `{{ lookup('first_found', files=[ansible_os_family ~ '.yml'], paths=[${paths}]) }}`
    assert.equal(render(t(`'${dir}'`)), join(dir, 'Debian.yml'))
    assert.throws(() => render(t("'/etc'")), REFUSED)
    assert.throws(() => render(t('playbook_path | dirname')), REFUSED)
    assert.throws(() => render(t(`'${dir}/..'`)), REFUSED)
  })
  test('allowed: the playbook names the file; host data elsewhere in the template', () => {
    assert.equal(render("{{ r.stdout | length }} {{ lookup('file', playbook_path) }}"), `${secret.length} controller secret`)
    assert.equal(render("{% set n = r.rc %}{{ lookup('file', playbook_path) }}"), 'controller secret')
    // a local overwritten with the playbook's own value is no longer host data
    assert.equal(render("{% set p = r.stdout %}{% set p = playbook_path %}{{ lookup('file', p) }}"), 'controller secret')
  })
  test("a with_* loop: its terms made from host data are refused, the playbook's own run", () => {
    const task = { module: 'debug', args: {}, src: { yf: { pos: () => ({}) }, path: [] } } as unknown as Task
    const opts = [join(dir, 'sub'), dir]
    assert.throws(() => loopItems('with_file', [templateValue('{{ r.stdout }}', vars)], task, vars, opts), REFUSED)
    assert.throws(() => loopItems('with_pipe', [templateValue('{{ r.stdout }}', vars)], task, vars, opts), /host data/)
    assert.throws(() => loopItems('with_env', [templateValue('{{ r.name }}', vars)], task, vars, opts), REFUSED)
    assert.deepEqual(loopItems('with_file', [secret], task, vars, opts).map(String), ['controller secret'])
    assert.deepEqual(loopItems('with_file', [templateValue('{{ ansible_os_family }}.yml', vars)], task, vars, opts).map(String), ['own: file'])
  })
})

describe('filters and tests that read the control machine, given host data', () => {
  const CTL_REFUSED =
    /its argument is made from host data .*(names a path on the control machine outside the playbook's folders|never lets host data choose what the control machine reveals)/
  const refused: Array<[string, string]> = [
    ['fileglob', '{{ r.stdout | fileglob }}'],
    ['fileglob of a folder made from a fact', "{{ ('/' ~ r.name | lower) | fileglob }}"],
    ['realpath', '{{ r.stdout | realpath }}'],
    ['realpath climbing out of the playbook', `{{ ('${dir}/' ~ r.up) | realpath }}`],
    ['expanduser of ~', "{{ ('~' ~ r.name) | expanduser }}"],
    ['expandvars of $', "{{ ('$' ~ r.name) | expandvars }}"],
    ['is directory', '{{ r.stdout | dirname is directory }}'],
    ['is exists', '{{ r.stdout is exists }}'],
    ['is is_file', '{{ r.stdout is is_file }}'],
    ['is link', '{{ r.stdout is link }}'],
    ['is link_exists', '{{ r.stdout is link_exists }}'],
    ['is mount', "{{ '/' ~ r.name is mount }}"],
    ['is same_file', '{{ playbook_path is same_file(r.stdout) }}'],
    ['map(realpath)', "{{ [r.stdout] | map('realpath') | list }}"],
    ['select(exists)', "{{ [r.stdout] | select('exists') | list }}"],
    ['a {% set %} block through a filter', '{% set p | realpath %}{{ r.stdout }}{% endset %}{{ p }}'],
    ['a {% filter %} block', '{% filter fileglob %}{{ r.stdout }}{% endfilter %}'],
  ]
  for (const [name, t] of refused) test(`refused: ${name}`, () => assert.throws(() => render(t), CTL_REFUSED))

  test("allowed: the playbook's own paths, host data that reveals nothing of the control machine, and no host data at all", () => {
    assert.equal(render(`{{ ('${dir}/' ~ ansible_os_family ~ '.yml') is file }}`), 'true')
    assert.equal(render(`{{ ('${dir}/' ~ ansible_os_family ~ '.*') | fileglob }}`), join(dir, 'Debian.yml'))
    assert.equal(render('{{ r.stdout | expanduser }}'), secret) // no ~: nothing of the control machine goes in
    assert.equal(render('{{ r.stdout is abs }}'), 'true') // text only
    assert.equal(render('{{ playbook_path is file }}'), 'true') // the playbook's own value
    assert.equal(render('{{ playbook_path | dirname | fileglob | length }}'), '0') // a folder: no regular file matches it
  })
})

describe("lookup('vars') named by a host", () => {
  // a value the run knows is secret (a vault value, or one read under a secret name, is marked)
  const vaulted = 'v4ult-' + Math.random().toString(36).slice(2)
  markSecret(vaulted)
  const v = {
    h: wrapHostData({ stdout: 'db_password', other: 'app_port', hidden: 'cluster_join', list: ['app_port', 'db_password'] }),
    db_password: 'hunter2-' + Math.random().toString(36).slice(2),
    cluster_join: vaulted,
    app_port: 8080,
  }
  const r = (t: string) => templateValue(t, v)
  const SECRET_REFUSED = /lookup\('vars'\): its terms are made from host data .* name a secret \("(db_password|cluster_join)"\)/
  test('refused: a secret name, a secret value under a plain name, one secret among several names, whichever way carried', () => {
    assert.throws(() => r("{{ lookup('vars', h.stdout) }}"), SECRET_REFUSED)
    assert.throws(() => r("{{ lookup('vars', h.hidden) }}"), SECRET_REFUSED)
    assert.throws(() => r("{{ lookup('vars', *h.list) }}"), SECRET_REFUSED)
    assert.throws(() => r("{% set n = h.stdout | trim %}{{ query('vars', n) }}"), SECRET_REFUSED)
    assert.throws(() => r("{{ lookup('vars', 'db_' ~ (h.stdout | replace('db_', ''))) }}"), SECRET_REFUSED)
  })
  test('allowed: a host naming a plain variable; the playbook naming a secret', () => {
    assert.equal(String(r("{{ lookup('vars', h.other) }}")), '8080') // host data now: the render read some
    assert.equal(String(r("{{ lookup('vars', 'db_password') }}")), v.db_password)
    assert.equal(String(r("{{ lookup('vars', 'cluster_join') }}")), vaulted)
  })
})

describe('vars[…] and hostvars[host][…] keyed by a host', () => {
  // the task's `vars` (every variable as stored) and another host's variables, as the executor makes them
  const vaulted = 'v4ult-' + Math.random().toString(36).slice(2)
  markSecret(vaulted)
  const plain = {
    h: wrapHostData({ stdout: 'db_password', other: 'app_port', hidden: 'cluster_join', peer: 'web1' }),
    db_password: 'hunter2-' + Math.random().toString(36).slice(2),
    cluster_join: vaulted,
    app_port: 8080,
  }
  const web1 = lazyLayers([{ ansible_become_password: 'b3come-' + Math.random().toString(36).slice(2), app_port: 9090 }])
  NAME_VIEWS.add(web1)
  let view: Record<string, unknown>
  const layers = [plain, { hostvars: hostvarsProxy(['web1'], () => web1), vars: rawVarsView(() => view) }]
  view = lazyLayers(layers)
  const r = (t: string) => templateValue(t, view)
  const REFUSED_KEY =
    /a variable name is made from host data .* it names a secret \("(db_password|cluster_join|ansible_become_password)"\): k3sbook never lets host data choose/
  test("refused: a secret name or a secret value, by subscript or get(), through vars or another host's variables", () => {
    assert.throws(() => r('{{ vars[h.stdout] }}'), REFUSED_KEY)
    assert.throws(() => r('{{ vars[h.hidden] }}'), REFUSED_KEY)
    assert.throws(() => r('{{ vars.get(h.stdout) }}'), REFUSED_KEY)
    assert.throws(() => r('{% set n = h.stdout | trim %}{{ vars[n] }}'), REFUSED_KEY)
    assert.throws(() => r("{{ hostvars[h.peer]['ansible_become_' ~ (h.stdout | replace('db_', ''))] }}"), REFUSED_KEY)
  })
  test('allowed: a host naming a plain variable or a host; the playbook naming a secret; a host-keyed plain mapping', () => {
    assert.equal(String(r('{{ vars[h.other] }}')), '8080')
    assert.equal(String(r('{{ vars.get(h.other) }}')), '8080')
    assert.equal(String(r("{{ hostvars[h.peer]['app_port'] }}")), '9090')
    assert.equal(String(r("{{ vars['db_password'] }}")), plain.db_password)
    assert.equal(String(r('{{ hostvars[h.peer].ansible_become_password }}')), String(web1.ansible_become_password))
    // not a view of variable names: a mapping keyed by host data is the playbook's own choice
    assert.equal(String(templateValue('{{ m[h.other] }}', lazyVars({ ...plain, m: { app_port: 'x' } }))), 'x')
  })
})
