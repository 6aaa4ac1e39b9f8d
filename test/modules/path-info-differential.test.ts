// The path attributes Ansible's add_path_info puts in a file/copy result (state, mode, owner, size),
// against ansible-playbook (connection local, each tool in its own folder): a symlink made and then
// unchanged (the link itself: state link, mode 0777, its own size), a dangling one, a hard link
// (state hard), a copied file and a directory.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from '../executor/local-differential.js'

const SITE = `- hosts: local
  gather_facts: false
  tasks:
    - copy: { content: "x\\n", dest: "{{ out }}/f", mode: "0640" }
      register: copied
    - file: { src: f, path: "{{ out }}/link", state: link }
      register: made
    - file: { src: f, path: "{{ out }}/link", state: link }
      register: again
    - file: { src: nowhere, path: "{{ out }}/dangling", state: link, force: true }
      register: dangling
    - file: { src: "{{ out }}/f", path: "{{ out }}/hard", state: hard }
      register: hard
    - file: { path: "{{ out }}/d", state: directory, mode: "0750" }
      register: dir
    - copy:
        dest: "{{ out }}/results.json"
        content: |
          {% for r in [copied, made, again, dangling, hard, dir] %}
          {{ r | dict2items | rejectattr('key', 'in', ['invocation', 'diff', 'ansible_facts', 'checksum', 'md5sum', 'src', 'backup_file']) | items2dict | to_json(sort_keys=true) | replace(out, 'OUT') }}
          {% endfor %}
`

test('file and copy results carry the path attributes ansible-playbook gives', async (t) => {
  const out = await sameFilesAsAnsible(t, { 'site.yml': SITE, 'inv.yml': 'local:\n  hosts:\n    localhost:\n      ansible_connection: local\n' }, [
    'results.json',
  ])
  const rows = readFileSync(join(out, 'results.json'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  // what the comparison covered
  assert.match(rows[3].warnings[0], /^Cannot set fs attributes on a non-existent symlink target/)
  assert.deepEqual(
    rows.map((r) => [r.state, r.mode]),
    [
      ['file', '0640'],
      ['link', '0777'],
      ['link', '0777'],
      [undefined, undefined], // a dangling link: no attributes (os.path.exists follows it), a warning
      ['hard', '0640'],
      ['directory', '0750'],
    ],
  )
})
