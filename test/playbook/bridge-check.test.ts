// Validate for modules run through the bridge (src/playbook/bridge-check.ts): the controller's
// Ansible resolves them and their real argument_spec checks the task's literal arguments (errors at
// the argument's position; warnings under a guard); without ansible-core on the controller such a
// task is a clear error. Needs Debian's ansible-core (/usr/bin/python3) with the `ansible` collections.
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { resetAnsibleHelper } from '../../src/modules/bridge/controller.js'
import { checkBridged } from '../../src/playbook/bridge-check.js'
import { loadProject } from '../../src/playbook/project.js'

const INV = 'all:\n  hosts:\n    h1:\n      ansible_host: 127.0.0.1\n'

async function validate(play: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-bridge-'))
  for (const [f, text] of Object.entries({ 'site.yml': play, 'inv.yml': INV, ...files })) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    writeFileSync(join(dir, f), text)
  }
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [], cwd: dir }, diags)
  assert.ok(project)
  await checkBridged(project.playbook, diags)
  const fmt = (sev: 'error' | 'warning') =>
    diags
      .sorted()
      .filter((d) => d.severity === sev)
      .map(formatDiagnostic)
      .join('\n')
  return { errors: fmt('error'), warnings: fmt('warning'), dir }
}

const play = (tasks: string) => `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`

afterEach(() => {
  delete process.env.K3SBOOK_ANSIBLE_PYTHON
  resetAnsibleHelper()
})

describe('bridged modules at validate', () => {
  it('valid arguments (FQCN, short name redirected by ansible-core, aliases, templated choices) pass', async () => {
    const r = await validate(
      play(
        [
          '    - community.general.alternatives: { name: x, path: /bin/true, link: /usr/local/bin/x, state: "{{ st }}" }',
          '      vars: { st: selected }',
          '    - alternatives: name=x path=/bin/true',
          '    - ansible.posix.authorized_key: { user: root, key: "ssh-ed25519 AAAA k", state: absent }',
          '',
        ].join('\n'),
      ),
    )
    assert.equal(r.errors, '')
    assert.match(r.warnings, /module "community\.general\.alternatives" is not implemented by k3sbook: it runs through Ansible's own module code/)
  })

  it('unknown and missing arguments and a literal value outside choices are errors at their position', async () => {
    const r = await validate(
      play(
        [
          '    - name: bad',
          '      community.general.alternatives:',
          '        name: x',
          '        pth: /bin/true',
          '        state: chosen',
          '    - ansible.posix.authorized_key: user=root key_option=x',
          '',
        ].join('\n'),
      ),
    )
    assert.match(r.errors, /site\.yml:7:9: community\.general\.alternatives: unsupported parameter "pth" \(did you mean "path"\?\)/)
    assert.match(r.errors, /site\.yml:8:16: community\.general\.alternatives: "state" must be one of "present", "selected", "absent", .*got "chosen"/)
    assert.match(r.errors, /site\.yml:5:7: community\.general\.alternatives: missing required argument "path"/)
    assert.match(r.errors, /site\.yml:9:7: ansible\.posix\.authorized_key: missing required argument "key"/)
    assert.match(r.errors, /ansible\.posix\.authorized_key: unsupported parameter "key_option" \(did you mean "key_options"\?\)/)
  })

  it('under a guard the same mistakes are warnings; args from a template are not checked', async () => {
    const r = await validate(
      play(
        [
          '    - community.general.alternatives: { name: x, pth: /bin/true }',
          '      when: false',
          '    - community.general.alternatives: { name: x }',
          '      ignore_errors: true',
          '    - community.general.alternatives: {}',
          '      args: "{{ alt_args }}"',
          '      vars: { alt_args: { name: x, path: /bin/true } }',
          '',
        ].join('\n'),
      ),
    )
    assert.equal(r.errors, '')
    assert.match(
      r.warnings,
      /site\.yml:4:50: warning: community\.general\.alternatives: unsupported parameter "pth" \(where it runs\) \(did you mean "path"\?\)/,
    )
    assert.match(r.warnings, /site\.yml:6:7: warning: community\.general\.alternatives: missing required argument "path" \(where it runs\)/)
  })

  it('an action plugin with no module code (set_stats) is a warning: k3sbook cannot run it', async () => {
    const r = await validate(play('    - set_stats: { data: { x: 1 } }\n'))
    assert.equal(r.errors, '')
    assert.match(
      r.warnings,
      /site\.yml:4:7: warning: module "set_stats" is an Ansible action plugin \(controller code, no module to run on the host\): k3sbook cannot run it/,
    )
  })

  it("a role's library/ module is resolved and its own argument_spec checked", async () => {
    const r = await validate('- hosts: all\n  gather_facts: false\n  roles: [r]\n', {
      'roles/r/tasks/main.yml': '- my_mod: { path: /x, colour: red }\n',
      'roles/r/library/my_mod.py':
        'from ansible.module_utils.basic import AnsibleModule\nAnsibleModule(argument_spec=dict(path=dict(type="path", required=True), color=dict(choices=["red"])))\n',
    })
    assert.match(r.errors, /main\.yml:1:23: my_mod: unsupported parameter "colour" \(did you mean "color"\?\)/)
  })

  it('without ansible-core on the controller the task is an error (a warning under a guard)', async () => {
    // a Python without Debian's dist-packages (-S: no site module), as on a controller without ansible-core
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-nopy-'))
    const py = join(dir, 'python3')
    writeFileSync(py, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n')
    chmodSync(py, 0o755)
    for (const bin of [py, join(dir, 'no-such-python')]) {
      process.env.K3SBOOK_ANSIBLE_PYTHON = bin
      resetAnsibleHelper()
      const r = await validate(play('    - community.general.alternatives: { name: x, path: /bin/true }\n    - dnf: { name: curl }\n      when: false\n'))
      assert.match(r.errors, /site\.yml:4:7: module "community\.general\.alternatives" needs ansible-core on the controller/, bin)
      assert.match(
        r.warnings,
        /site\.yml:5:7: warning: module "dnf" needs ansible-core on the controller: k3sbook does not implement it \(where it runs\)/,
        bin,
      )
      assert.doesNotMatch(r.errors, /dnf/)
    }
  })
})
