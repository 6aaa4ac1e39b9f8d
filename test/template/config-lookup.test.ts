// lookup('config') (src/template/configlookup.ts) against Ansible 2.14's lookup_config integration
// target (test/integration/targets/lookup_config/tasks/main.yml) and what ansible-playbook 2.14
// answered on localhost for the same calls. Global settings need the controller's ansible-core
// (its config/base.yml); where it is not installed those cases are replaced by a small definition.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parse } from 'yaml'
import { render, templateValue } from '../../src/template/index.js'
import { setConfigDefinitions } from '../../src/template/configlookup.js'
import { ansiblePackage } from '../../src/playbook/ansiblemods.js'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { loadProject } from '../../src/playbook/project.js'

const hasAnsible = (() => {
  const pkg = ansiblePackage()
  return pkg !== undefined && existsSync(join(pkg, 'config/base.yml'))
})()

const COW = ['bud-frogs', 'meow', 'www']
const SMALL = {
  ANSIBLE_COW_ACCEPTLIST: { default: COW, type: 'list', env: [{ name: 'ANSIBLE_COW_WHITELIST' }, { name: 'ANSIBLE_COW_ACCEPTLIST' }] },
  DEFAULT_FORKS: { default: 5, type: 'integer', env: [{ name: 'ANSIBLE_FORKS' }] },
  HOST_KEY_CHECKING: { default: true, type: 'boolean', env: [{ name: 'ANSIBLE_HOST_KEY_CHECKING' }] },
  ANSIBLE_HOME: { default: '~/.ansible', type: 'path', env: [{ name: 'ANSIBLE_HOME' }] },
  DEFAULT_ROLES_PATH: { default: '{{ ANSIBLE_HOME ~ "/roles:/usr/share/ansible/roles:/etc/ansible/roles" }}', type: 'pathspec' },
}

const errorOf = (text: string, vars: Record<string, unknown> = {}): string => {
  try {
    render(text, vars)
  } catch (e) {
    return (e as Error).message
  }
  assert.fail(`no error from ${text}`)
}

describe("lookup('config') as Ansible's lookup_config target", () => {
  const saved = { ...process.env }
  before(() => {
    // settings come from the environment first: a clean one, as the target runs with
    for (const k of Object.keys(process.env)) if (k.startsWith('ANSIBLE_')) delete process.env[k]
    if (!hasAnsible) setConfigDefinitions(SMALL)
  })
  after(() => {
    Object.assign(process.env, saved)
    setConfigDefinitions(undefined)
  })

  it('a missing setting fails (on_missing error, the default) with Ansible 2.14’s message', () => {
    const msg =
      "Unable to find setting THIS_DOES_NOT_EXIST. module 'ansible.constants' has no attribute 'THIS_DOES_NOT_EXIST'. module 'ansible.constants' has no attribute 'THIS_DOES_NOT_EXIST'"
    assert.match(errorOf('{{lookup("config", "THIS_DOES_NOT_EXIST")}}'), new RegExp(msg.replace(/[.()]/g, '\\$&')))
    assert.match(errorOf('{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="error")}}'), /Unable to find setting THIS_DOES_NOT_EXIST/)
  })
  it('on_missing skip and warn give nothing', () => {
    assert.deepEqual(templateValue('{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="skip")}}', {}), [])
    assert.equal(templateValue('{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="skip")|length}}', {}), '0')
    assert.equal(templateValue('{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="warn")|length}}', {}), '0')
  })
  it('an invalid on_missing, a non-string name, a callable are refused with Ansible’s messages', () => {
    assert.match(
      errorOf('{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="boo")}}'),
      /Invalid value "boo" for configuration option "plugin_type: lookup plugin: config setting: on_missing ", valid values are: error, skip, warn/,
    )
    assert.match(errorOf('{{lookup("config", 1337)}}'), /Invalid setting identifier, "1337" is not a string, its a <class 'int'>/)
    assert.match(errorOf('{{lookup("config", "ConfigManager")}}'), /Invalid setting "ConfigManager" attempted/)
    assert.match(errorOf('{{lookup("config", "port", plugin_type="connection")}}'), /Both plugin_type and plugin_name are required/)
  })
  it('"meow" is in ANSIBLE_COW_ACCEPTLIST; the environment variable wins, split on commas', () => {
    assert.equal(templateValue('{{ "meow" in lookup("config", "ANSIBLE_COW_ACCEPTLIST") }}', {}), true)
    process.env.ANSIBLE_COW_ACCEPTLIST = 'cow, bunny'
    try {
      assert.deepEqual(templateValue('{{ lookup("config", "ANSIBLE_COW_ACCEPTLIST") }}', {}), ['cow', 'bunny'])
    } finally {
      delete process.env.ANSIBLE_COW_ACCEPTLIST
    }
  })
  it('typed defaults as ansible-playbook 2.14 gives them (integer, boolean, path, templated pathspec)', () => {
    const home = process.env.HOME!
    assert.deepEqual(templateValue('{{ q("config", "DEFAULT_FORKS", "HOST_KEY_CHECKING", "ANSIBLE_HOME", "DEFAULT_ROLES_PATH") }}', {}), [
      5,
      true,
      `${home}/.ansible`,
      [`${home}/.ansible/roles`, '/usr/share/ansible/roles', '/etc/ansible/roles'],
    ])
    process.env.ANSIBLE_FORKS = '12'
    process.env.ANSIBLE_HOST_KEY_CHECKING = 'no'
    try {
      assert.deepEqual(templateValue('{{ q("config", "DEFAULT_FORKS", "HOST_KEY_CHECKING") }}', {}), [12, false])
    } finally {
      delete process.env.ANSIBLE_FORKS
      delete process.env.ANSIBLE_HOST_KEY_CHECKING
    }
  })
  it('ssh remote_user and port from the task’s variables (port an integer); sh remote_tmp', () => {
    assert.deepEqual(
      templateValue('{{q("config", "remote_user", "port", plugin_type="connection", plugin_name="ssh")}}', {
        ansible_ssh_user: 'lola',
        ansible_ssh_port: 2022,
      }),
      ['lola', 2022],
    )
    // the ssh plugin's names: ansible_ssh_* after ansible_* (the later one wins)
    assert.deepEqual(
      templateValue('{{q("config", "remote_user", "port", plugin_type="connection", plugin_name="ssh")}}', {
        ansible_user: 'a',
        ansible_ssh_user: 'b',
        ansible_port: '22',
      }),
      ['b', 22],
    )
    assert.deepEqual(templateValue('{{q("config", "remote_user", "port", plugin_type="connection", plugin_name="ssh")}}', {}), [null, null])
    assert.deepEqual(templateValue('{{q("config", "remote_tmp", plugin_type="shell", plugin_name="sh")}}', { ansible_remote_tmp: 'yolo' }), ['yolo'])
    assert.deepEqual(templateValue('{{q("config", "remote_tmp", plugin_type="shell", plugin_name="sh")}}', {}), ['~/.ansible/tmp'])
    assert.match(errorOf('{{q("config", "timeout", plugin_type="connection", plugin_name="paramiko")}}'), /not supported by k3sbook/)
  })
  it('without ansible-core on the controller a global setting says it needs it', () => {
    setConfigDefinitions(null)
    try {
      assert.match(errorOf('{{lookup("config", "DEFAULT_FORKS")}}'), /needs ansible-core on the controller/)
      // the checks that need no definitions still answer as Ansible
      assert.match(errorOf('{{lookup("config", "ConfigManager")}}'), /Invalid setting "ConfigManager" attempted/)
    } finally {
      setConfigDefinitions(hasAnsible ? undefined : SMALL)
    }
  })
})

describe('every global setting as ansible-playbook 2.14 resolves it (when it is installed)', () => {
  const playbook = '/usr/bin/ansible-playbook'
  it(
    'the same value for each base.yml setting (except temporary folders and the REJECT_EXTS-templated ones)',
    { skip: !hasAnsible || !existsSync(playbook) },
    () => {
      const defs = parse(readFileSync(join(ansiblePackage()!, 'config/base.yml'), 'utf8'), { uniqueKeys: false }) as Record<
        string,
        { type?: string; default?: unknown }
      >
      const names = Object.entries(defs)
        .filter(([, d]) => d.type !== 'tmppath' && !String(d.default ?? '').startsWith('{{('))
        .map(([n]) => n)
      const dir = mkdtempSync(join(tmpdir(), 'k3sbook-cfglookup-'))
      const out = join(dir, 'out.json')
      writeFileSync(
        join(dir, 'pb.yml'),
        `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: ${out}\n        content: "{{ dict(names | zip(query('config', *names))) | to_json }}"\n      vars:\n        names: ${JSON.stringify(names)}\n`,
      )
      const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin', HOME: process.env.HOME, LANG: 'C.UTF-8' }
      const r = spawnSync(playbook, ['-i', 'localhost,', '-c', 'local', 'pb.yml'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
      assert.equal(r.status, 0, r.stdout + r.stderr)
      const saved = { ...process.env }
      for (const k of Object.keys(process.env)) if (k.startsWith('ANSIBLE_')) delete process.env[k]
      try {
        const mine = JSON.parse(String(templateValue("{{ dict(names | zip(query('config', *names))) | to_json }}", { names })))
        assert.deepEqual(mine, JSON.parse(readFileSync(out, 'utf8')))
      } finally {
        Object.assign(process.env, saved)
      }
    },
  )
})

describe("validate accepts lookup('config')", () => {
  it('the lookup_config target’s tasks are not refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-cfglookup-'))
    const files: Record<string, string> = {
      'site.yml':
        '- hosts: all\n  gather_facts: false\n  tasks:\n' +
        '    - set_fact:\n        lookup3: \'{{lookup("config", "THIS_DOES_NOT_EXIST", on_missing="skip")}}\'\n' +
        '    - set_fact:\n        ssh: \'{{q("ansible.builtin.config", "remote_user", "port", plugin_type="connection", plugin_name="ssh")}}\'\n' +
        '    - assert:\n        that: [\'"meow" in lookup("config", "ANSIBLE_COW_ACCEPTLIST")\']\n',
      'inv.yml': 'all:\n  hosts:\n    h1:\n      ansible_host: 127.0.0.1\n',
    }
    for (const [f, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, f)), { recursive: true })
      writeFileSync(join(dir, f), text)
    }
    const diags = new Diagnostics()
    loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [], cwd: dir }, diags)
    const errors = diags
      .sorted()
      .filter((d) => d.severity === 'error')
      .map(formatDiagnostic)
      .join('\n')
    assert.equal(errors, '')
    assert.doesNotMatch(diags.sorted().map(formatDiagnostic).join('\n'), /config/)
  })
})
