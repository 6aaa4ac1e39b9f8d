// Template behaviours found by Ansible's own integration targets (test/compat), kept here so the
// normal suite holds them without a copy of Ansible's sources. Each expected value is what
// Debian's ansible-core 2.14 gives.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { evalCondition, render } from '../../src/template/index.js'
import { pyNow } from '../../src/template/filters.js'
import { parseFacts } from '../../src/modules/lib/facts.js'
import { YamlFile } from '../../src/yamlfile.js'
import { assert as assertModule } from '../../src/modules/assert.js'
import { loopItems } from '../../src/executor/loop.js'
import { runCli } from '../playbook/cli.js'
import { containsUnsafe, unwrapUnsafe } from '../../src/template/taint.js'

describe('template behaviours the integration targets check', () => {
  it('*args and **kwargs in calls, also after keyword arguments (loops)', () => {
    const V = { phrases: ['a', 'b'], kw: { wantlist: true } }
    assert.equal(render('{{ lookup("list", wantlist=True, *phrases) }}', V), "['a', 'b']")
    assert.equal(render('{{ q("list", *phrases) | length }}', V), '2')
    assert.equal(render('{{ lookup("list", *phrases, **kw) }}', V), "['a', 'b']")
    assert.equal(render('{{ [1, 2, 3] | join(*["-"]) }}', V), '1-2-3')
    assert.throws(() => render('{{ q("list", *nope) }}', V), /'nope' is undefined/)
  })
  it('!unsafe on a list or a mapping keeps every string in it unrendered (yaml_parsing)', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'k3sbook-compat-')), 'v.yml')
    writeFileSync(f, "ulist: !unsafe [ 'b{{nottemplate}}', 'c']\nudict: !unsafe\n  a: b{{nottemplate}}\n  c: d\n")
    const yf = YamlFile.read(f)
    assert.deepEqual(yf.doc.warnings, [])
    const V = { ...(yf.value as object), nottemplate: 'FAIL', resolved: 'b{{nottemplate}}' }
    for (const c of ['ulist[0] != resolved', "'{' in ulist[0]", "'Fail' not in udict['a']", "'}' in udict['a']", "udict.c == 'd'"])
      assert.equal(evalCondition(c, V), true, c)
  })
  it('now(): fmt with %s.%f, str() of the datetime without fmt (loops)', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))
    assert.equal(pyNow(true, '%s.%f', d), '1704164645.678000')
    assert.equal(pyNow(true, null, d), '2024-01-02 03:04:05.678000')
    assert.equal(pyNow(true, '%Y-%m-%d %H:%M:%S %%', d), '2024-01-02 03:04:05 %')
    assert.match(render("{{ now(fmt='%s') | int > 0 }}", {}), /^True$/)
  })
  it('facts: ansible_python and virtualization_type/role (until, hostname)', () => {
    const f = parseFacts('python=/usr/bin/python3 3 11 2 final 0\nvirt=docker\n')
    assert.deepEqual(f.python, {
      executable: '/usr/bin/python3',
      has_sslcontext: true,
      type: 'cpython',
      version: { major: 3, minor: 11, micro: 2, releaselevel: 'final', serial: 0 },
      version_info: [3, 11, 2, 'final', 0],
    })
    assert.equal(f.python_version, '3.11.2')
    assert.deepEqual([f.virtualization_type, f.virtualization_role], ['docker', 'guest'])
    assert.deepEqual([parseFacts('').virtualization_type, parseFacts('').virtualization_role], ['NA', 'NA'])
  })
  it("varnames: a bad pattern's error has Python's wording (lookup_varnames)", () => {
    assert.throws(() => render("{{ lookup('varnames', '*') }}", { a: 1 }), /Unable to use "\*" as a search parameter: nothing to repeat/)
  })
  it('a test name Ansible cannot parse: "Could not load", a TemplateSyntaxError (templating)', () => {
    assert.throws(
      () => render('{{ [{"failed": false}] | selectattr("failed", "asdf ", true) | list }}', {}),
      (e: Error) =>
        /Could not load "asdf ": 'invalid plugin name: ansible.builtin.asdf '/.test(e.message) &&
        (e.cause as { pyType?: string }).pyType === 'TemplateSyntaxError',
    )
  })
  it("lookup('template') takes variable_start_string and comment_start_string (lookup_template)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    writeFileSync(join(dir, 's.txt'), 'Hello [% my_var %]! {{ x }}\n')
    writeFileSync(join(dir, 'c.txt'), '[# Comment #]\nHello {{ my_var }}!\n')
    const V = { my_var: 'world' }
    const o = { searchPath: [dir] }
    assert.equal(render("{{ lookup('template', 's.txt', variable_start_string='[%', variable_end_string='%]') }}", V, o), 'Hello world! {{ x }}\n')
    assert.equal(render("{{ lookup('template', 'c.txt', comment_start_string='[#', comment_end_string='#]') | trim }}", V, o), 'Hello world!')
  })
  it('vars and varnames refuse a term that is not a string, as Ansible words it (lookup_vars)', () => {
    assert.throws(() => render("{{ lookup('vars', 42) }}", {}), /Invalid setting identifier, "42" is not a string, its a <class 'int'>/)
    assert.throws(() => render("{{ lookup('varnames', True) }}", {}), /Invalid setting identifier, "True" is not a string, it is a <class 'bool'>/)
  })
  it("assert's conditions search the task's folders for lookup('template') (lookup_template)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    writeFileSync(join(dir, 'dict.j2'), '{"foo": "{{ \'bar\' }}"}\n')
    const ctx = {
      host: 'h',
      vars: {},
      diff: false,
      task: {},
      controller: { searchPath: [dir], find: () => Promise.reject(new Error('x')), render: (t: string) => t },
    }
    const plan = await assertModule.plan(
      { that: ["lookup('template', 'dict.j2') is mapping", "lookup('template', 'dict.j2', convert_data=False) is not mapping"] },
      ctx as never,
    )
    assert.equal(plan.status, 'ok', JSON.stringify(plan))
  })
  it('subelements: a scalar first term is a list of one, so the error is about its item (lookup_subelements)', () => {
    assert.throws(() => render("{{ lookup('subelements', 9001, 'groups', wantlist=true) }}", {}), /subelements lookup expects a dictionary, got '9001'/)
  })
  it("with_list of a mapping fails with the list lookup's message (loops)", () => {
    const task = { src: { yf: { pos: () => ({ file: 'site.yml', line: 1, col: 1 }) }, path: [] } } as never
    assert.throws(() => loopItems('with_list', { key: 'value' }, task, {}), /with_list expects a list/)
    // with_* items are wrapped unsafe, as Ansible's wrap_var does (loops)
    assert.deepEqual(unwrapUnsafe(loopItems('with_list', ['a', ['b']], task, {})), ['a', ['b']])
    assert.ok(containsUnsafe(loopItems('with_list', ['a'], task, {})))
    assert.ok(!containsUnsafe(loopItems('loop', ['a'], task, {})))
  })
  it('ansible_search_path is a task variable: the playbook folder among others (loops)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
    const play = '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - loop: ["{{ ansible_search_path }}"]\n      debug: var=item\n      register: r\n'
    writeFileSync(join(dir, 'site.yml'), play + '    - assert:\n        that: [ansible_search_path == r.results.0.item, playbook_dir in ansible_search_path]\n')
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'k3sbook.js')
    execFileSync('node', [bin, 'run', '-i', join(dir, 'inv.yml'), join(dir, 'site.yml')], { cwd: dir, stdio: 'pipe' })
  })
  it('"%r"|format(undefined) is AnsibleUndefined\'s repr; "%s" still fails (undefined)', () => {
    assert.equal(render('{{ "%r"|format(undefined_variable) }}', {}), "AnsibleUndefined(hint=None, obj=missing, name='undefined_variable')")
    assert.equal(render('{{ "%r"|format(foo.bar) }}', { foo: { a: 1 } }), "AnsibleUndefined(hint=None, obj={'a': 1}, name='bar')")
    assert.equal(render('{{ "%a"|format(foo[3]) }}', { foo: { a: 1 } }), "AnsibleUndefined(hint=None, obj={'a': 1}, name=3)")
    assert.throws(() => render('{{ "%s"|format(undefined_variable) }}', {}), /'undefined_variable' is undefined/)
  })
  it("an undefined variable in a task's arguments: Ansible's post_validate message (undefined)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-compat-'))
    writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: localhost
  gather_facts: false
  tasks:
    - set_fact:
        names: '{{ things|map(attribute="name") }}'
      vars:
        things: [{name: one}, {notname: two}]
      ignore_errors: true
      register: r
    - assert:
        that:
          - r is failed
          - r.msg is search("^The task includes an option with an undefined variable. The error was. 'dict object' has no attribute 'name'. 'dict object' has no attribute 'name'")
`,
    )
    const r = await runCli(['run', '-i', 'inv.yml', 'site.yml'], dir)
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })
})
