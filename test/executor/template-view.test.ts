// A template task reads only the variables its template names (issue 18: it copied the host's whole
// variable view for every host and loop item, templating every variable the host has — at 150
// hosts the tinc mesh task's 22,500 items made most of a site.yml check run's 2.2 GB of garbage).
// Checked with ansible-playbook 2.14 (-c local) on the first playbook: ok=2, no counter file, the
// unused broken variable fails nothing. Runs on the controller only (ansible_connection: local).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from './helpers.js'

function project(playbook: string, template: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-tplview-'))
  mkdirSync(join(dir, 'templates'))
  mkdirSync(join(dir, 'out'))
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n')
  writeFileSync(join(dir, 'templates', 't.j2'), template)
  writeFileSync(join(dir, 'site.yml'), playbook)
  return dir
}

describe('template: the host variables as a view', () => {
  it('variables the template does not read are never templated, item after item', async () => {
    const dir = project(
      `- hosts: localhost
  gather_facts: false
  vars:
    names: "{{ range(20) | map('string') | list }}"
    broken: "{{ nowhere_defined.attr }}"
    counted: "{{ lookup('pipe', 'echo x >> ' ~ playbook_dir ~ '/counter') }}"
  tasks:
    - template:
        src: t.j2
        dest: "{{ playbook_dir }}/out/{{ item }}.txt"
      loop: "{{ names }}"
    - assert:
        that: lookup('file', playbook_dir ~ '/out/19.txt') == '19 of 20'
`,
      '{{ item }} of {{ names | length }}\n',
    )
    const r = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')])
    assert.equal(r.summary.exitCode, 0, JSON.stringify(r.results.filter((e) => e.status === 'failed')))
    assert.equal(existsSync(join(dir, 'counter')), false, 'a variable the template does not name was templated')
    assert.equal(readFileSync(join(dir, 'out', '7.txt'), 'utf8'), '7 of 20\n')
  })

  it('template_* names sit above the host variables, ansible_managed below them', async () => {
    const dir = project(
      `- hosts: localhost
  gather_facts: false
  tasks:
    - template:
        src: t.j2
        dest: "{{ playbook_dir }}/out/default.txt"
    - template:
        src: t.j2
        dest: "{{ playbook_dir }}/out/own.txt"
      vars:
        ansible_managed: mine
        template_destpath: not this
`,
      '{{ ansible_managed }} {{ template_destpath | basename }} {{ template_path | basename }}\n',
    )
    const r = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')])
    assert.equal(r.summary.exitCode, 0)
    assert.equal(readFileSync(join(dir, 'out', 'default.txt'), 'utf8'), 'Ansible managed default.txt t.j2\n')
    assert.equal(readFileSync(join(dir, 'out', 'own.txt'), 'utf8'), 'mine own.txt t.j2\n')
  })
})
