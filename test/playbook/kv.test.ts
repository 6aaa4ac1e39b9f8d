import { describe, it, test } from 'node:test'
import assert from 'node:assert/strict'
import { COMMAND_OPTIONS as RAW_OPTION_KEYS } from '../../src/modules/command.js'
import { parseKv, splitArgs } from '../../src/kv.js'

test('splitArgs keeps quoted strings and jinja blocks whole', () => {
  assert.deepEqual(splitArgs('a=1 b="x y" c=\'p q\''), ['a=1', 'b="x y"', "c='p q'"])
  assert.deepEqual(splitArgs('msg={{ a | join(" ") }} x=1'), ['msg={{ a | join(" ") }}', 'x=1'])
  assert.deepEqual(splitArgs('  ls   -l  '), ['ls', '-l'])
})

test('parseKv: every k=v is an option for ordinary modules', () => {
  assert.deepEqual(parseKv('src=a.j2 dest=/etc/a mode=0644'), { src: 'a.j2', dest: '/etc/a', mode: '0644' })
  assert.deepEqual(parseKv('msg="hello world"'), { msg: 'hello world' })
  assert.deepEqual(parseKv('flush_handlers'), { _raw_params: 'flush_handlers' })
  assert.deepEqual(parseKv('a\\=b=c'), { _raw_params: 'a\\=b=c' })
})

test('parseKv: command/shell keep unknown k=v words in the command (Ansible check_raw)', () => {
  assert.deepEqual(parseKv('echo a=b chdir=/tmp creates=/x', RAW_OPTION_KEYS), { _raw_params: 'echo a=b', chdir: '/tmp', creates: '/x' })
  assert.deepEqual(parseKv('tincd -n {{ net }} -K4096', RAW_OPTION_KEYS), { _raw_params: 'tincd -n {{ net }} -K4096' })
  assert.deepEqual(parseKv('echo "{{ a == b }}"', RAW_OPTION_KEYS), { _raw_params: 'echo "{{ a == b }}"' })
})

describe("parse_kv decodes an option's escapes (replace target)", () => {
  it('\\b is a backspace in k=v, \\\\b a backslash-b; free-form words stay as written', () => {
    assert.deepEqual(parseKv(`path=/f regexp='\\b(.+)\\b' replace='"\\1"'`), { path: '/f', regexp: '\b(.+)\b', replace: '"\\1"' })
    assert.deepEqual(parseKv(`regexp='\\\\b(.+)\\\\b'`), { regexp: '\\b(.+)\\b' })
    assert.deepEqual(parseKv('msg="a\\nb\\x41\\u00e9"'), { msg: 'a\nbA\u00e9' })
    assert.deepEqual(parseKv('echo a\\tb chdir=/x', new Set(['chdir'])), { chdir: '/x', _raw_params: 'echo a\\tb' })
  })
})
