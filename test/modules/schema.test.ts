// Every core module's argument schema compiles with the project's ajv settings, rejects unknown
// arguments, documents each argument, and accepts the Ansible spellings playbooks use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Ajv } from 'ajv'
import { coreModules } from '../../src/modules/core.js'
import { getModule } from '../../src/modules/registry.js'

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true })
const strictAjv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })

test('all core modules are registered under their YAML key', () => {
  const names = ['command', 'shell', 'copy', 'template', 'file', 'lineinfile', 'blockinfile', 'stat', 'debug', 'set_fact', 'assert', 'fail', 'meta']
  for (const n of names) {
    assert.equal(getModule(n)?.name, n)
    assert.equal(getModule(`ansible.builtin.${n}`)?.name, n)
  }
})

test('schemas compile (also in ajv strict mode) and every property has a description', () => {
  for (const m of coreModules) {
    ajv.compile(m.schema)
    strictAjv.compile(m.schema)
    assert.ok(m.description.length > 10, m.name)
    for (const [k, p] of Object.entries((m.schema.properties ?? {}) as Record<string, { description?: string }>))
      assert.ok(p.description, `${m.name}.${k} has no description`)
  }
})

const valid: [string, Record<string, unknown>][] = [
  ['command', { _raw_params: 'ls -l', chdir: '/tmp', creates: '/x' }],
  ['command', { argv: ['echo', 1, true], stdin: 'x', stdin_add_newline: 'no' }],
  ['shell', { cmd: 'echo $HOME | wc -c', executable: '/bin/bash', removes: '/y' }],
  ['copy', { content: 'x', dest: '/tmp/x', mode: 0o644, owner: 'root', group: 0, backup: 'yes', force: false, validate: 'true %s' }],
  ['copy', { src: 'files/', dest: '/tmp/', remote_src: true, directory_mode: '0755', mode: 'u=rw,g=r,o=r' }],
  ['copy', { content: { a: 1 }, dest: '/tmp/x.json' }],
  ['template', { src: 'a.j2', dest: '/x', trim_blocks: false, lstrip_blocks: 'yes', newline_sequence: '\\r\\n' }],
  ['file', { path: '/x', state: 'directory', recurse: true, mode: '{{ m }}' }],
  ['file', { dest: '/x', state: '{{ st }}', src: '/y', force: 'yes', follow: false }],
  ['lineinfile', { dest: '/x', regexp: '^a', line: 'a=1', insertafter: 'EOF', create: true, backrefs: 'no', firstmatch: true, search_string: 'a' }],
  ['blockinfile', { path: '/x', block: 'a\nb', marker: '# {mark} X', marker_begin: 'B', marker_end: 'E', insertbefore: 'BOF' }],
  ['stat', { path: '/x', get_checksum: false, checksum_algorithm: 'sha256', get_mime: false, follow: true }],
  ['debug', { msg: ['a', 1] }],
  ['debug', { var: 'x.y', verbosity: 2 }],
  ['set_fact', { a: 1, b_c: [1], cacheable: true }],
  ['assert', { that: ['a == 1', 'b'], fail_msg: 'no', success_msg: 'yes', quiet: true }],
  ['fail', { msg: 'boom' }],
  ['meta', { _raw_params: 'flush_handlers' }],
]

test('Ansible-style arguments validate', () => {
  for (const [name, args] of valid) {
    const v = ajv.compile(getModule(name)!.schema)
    assert.ok(v(args), `${name} ${JSON.stringify(args)}: ${JSON.stringify(v.errors)}`)
  }
})

const invalid: [string, Record<string, unknown>][] = [
  ['copy', { content: 'x', dst: '/tmp/x' }],
  ['file', { path: '/x', state: 'dir' }],
  ['lineinfile', { path: '/x', line: 'a', create: 'maybe' }],
  ['command', { _raw_params: 'ls', executable: 1, foo: 1 }],
  ['meta', { _raw_params: 'flush' }],
  ['set_fact', { 'bad-name': 1 }],
  ['stat', { path: '/x', checksum_algorithm: 'crc32' }],
]

test('unknown arguments and bad choices are rejected', () => {
  for (const [name, args] of invalid) {
    const v = ajv.compile(getModule(name)!.schema)
    assert.equal(v(args), false, `${name} ${JSON.stringify(args)} should be invalid`)
  }
})
