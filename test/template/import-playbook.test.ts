// {% import %} and {% extends %} through the template module in a role, run by the executor on a
// local connection into a temp folder: the role's templates folder and the template's own folder
// are searched (as Ansible's template action searches them), host variables reach the child and its
// blocks, not a macro imported without context; check mode writes nothing; a missing parent fails
// the task with the statement's position.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { run, statuses } from '../executor/helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'k3sbook-jimport-pb-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const FILES: Record<string, string> = {
  'inventory.yml': `all:\n  hosts:\n    one: { out: ${dir}/out, ansible_connection: local }\n`,
  'roles/web/templates/macros.j2': "{% macro kv(k, v) %}{{ k }} = {{ v }}{% endmacro %}{% macro who() %}{{ user | default('nobody') }}{% endmacro %}",
  'roles/web/templates/conf/layout.j2': '# managed\n[{% block section %}main{% endblock %}]\n{% block body %}{% endblock %}\n',
  'roles/web/templates/conf/site.conf.j2':
    "{% extends 'layout.j2' %}\n{% import 'macros.j2' as m %}\n{% block body %}{{ m.kv('port', port) }}\n{{ m.who() }}\n{% endblock %}\n",
  'roles/web/templates/broken.j2': "line one\n{% extends 'gone.j2' %}\n",
  'roles/web/tasks/main.yml': `- name: Render the child
  template: { src: conf/site.conf.j2, dest: "{{ out }}/site.conf" }
- name: Missing parent
  template: { src: broken.j2, dest: "{{ out }}/broken" }
  ignore_errors: true
`,
  'site.yml': '- hosts: all\n  gather_facts: false\n  vars: { port: 8080, user: admin }\n  roles: [web]\n',
}
for (const [name, text] of Object.entries(FILES)) {
  mkdirSync(join(dir, name, '..'), { recursive: true })
  writeFileSync(join(dir, name), text)
}
mkdirSync(join(dir, 'out'))

test('a role template that extends a sibling and imports from the role folder', async () => {
  const pb = join(dir, 'site.yml')
  const inv = [join(dir, 'inventory.yml')]
  const checked = await run(pb, inv, { check: true })
  assert.equal(statuses(checked, 'one').get('Render the child'), 'changed')
  assert.equal(existsSync(join(dir, 'out', 'site.conf')), false, 'check mode wrote nothing')

  const r = await run(pb, inv, {})
  assert.equal(statuses(r, 'one').get('Render the child'), 'changed')
  assert.equal(readFileSync(join(dir, 'out', 'site.conf'), 'utf8'), '# managed\n[main]\nport = 8080\nnobody\n')
  const broken = r.results.find((e) => e.task === 'Missing parent')!
  assert.equal(broken.status, 'failed')
  assert.match(String(broken.msg), /could not find 'gone\.j2'/)
  assert.match(String(broken.msg), /broken\.j2:2/)

  const again = await run(pb, inv, {})
  assert.equal(statuses(again, 'one').get('Render the child'), 'ok')
})
