// Required secrets (a role's meta/argument_specs.yml options with required + no_log): validate
// refuses one that is certainly empty on a host the role runs on (an unset environment variable
// behind lookup('env'), or "" with nothing else setting it), naming the variable and how to set it;
// it only warns where a task or a role condition may change that; other options are not its business.
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { loadProject } from '../../src/playbook/project.js'
import { certainlyEmpty, requiredSecrets } from '../../src/playbook/required.js'
import { ROOT } from './cli.js'

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-req-'))
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    writeFileSync(join(dir, f), text)
  }
  return dir
}

function validate(playbook: string, inventories: string[], extraVars: string[] = [], cwd = ROOT) {
  const diags = new Diagnostics()
  loadProject({ playbook, inventories, extraVars, cwd }, diags)
  const lines = diags.sorted().map(formatDiagnostic)
  return { diags, errors: lines.filter((l) => l.includes('error') || !l.includes('warning')), text: lines.join('\n') }
}

const SPECS = `argument_specs:
  main:
    options:
      db_password: { type: str, required: true, no_log: true }
      db_name: { type: str, required: true }
`
const ENV = 'K3SBOOK_TEST_REQUIRED_SECRET'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
})

describe('required secrets in the project playbook', () => {
  const site = join(ROOT, 'playbooks/site.yml')
  const inv = join(ROOT, 'inventory/cluster.yml')

  it('refuses site.yml when the environment variables behind k3s_token and k3s_datastore_endpoint are not set', () => {
    delete process.env.K3SBOOK_K3S_TOKEN
    delete process.env.K3SBOOK_DATASTORE_ENDPOINT
    const r = validate(site, [inv])
    assert.ok(r.diags.hasErrors, r.text)
    assert.match(r.text, /required secret "k3s_token" \(role k3s-server\) is empty on aliyun-1, aliyun-2: K3SBOOK_K3S_TOKEN is not set in the environment/)
    assert.match(r.text, /required secret "k3s_datastore_endpoint" \(role k3s-server\) is empty on aliyun-1, aliyun-2: K3SBOOK_DATASTORE_ENDPOINT is not set/)
    assert.match(r.text, /export K3SBOOK_K3S_TOKEN=… before the run, or pass k3s_token in a vault file: -e @secrets\.yml/)
  })

  it('one missing is one error; both set (or given with -e) is none', () => {
    process.env.K3SBOOK_K3S_TOKEN = 'tok'
    delete process.env.K3SBOOK_DATASTORE_ENDPOINT
    const one = validate(site, [inv])
    assert.equal(one.diags.errors.length, 1, one.text)
    assert.match(one.text, /k3s_datastore_endpoint/)
    const extra = validate(site, [inv], [JSON.stringify({ k3s_datastore_endpoint: 'postgres://k3s:pw@10.10.0.1:5432/k3s' })])
    assert.equal(extra.diags.hasErrors, false, extra.text)
    process.env.K3SBOOK_DATASTORE_ENDPOINT = 'postgres://k3s:pw@10.10.0.1:5432/k3s'
    const both = validate(site, [inv])
    assert.equal(both.diags.hasErrors, false, both.text)
  })
})

describe('required secrets: the rule', () => {
  const inventory = "all:\n  hosts:\n    h1:\n    h2:\n  vars:\n    db_password: \"{{ lookup('env', '" + ENV + '\') }}"\n'

  it("an unset env lookup on the role's hosts is an error at the roles: entry; a non-secret required option is not checked", () => {
    delete process.env[ENV]
    const dir = project({
      'site.yml': '- hosts: all\n  roles:\n    - db\n',
      'inv.yml': inventory,
      'roles/db/meta/argument_specs.yml': SPECS,
      'roles/db/tasks/main.yml': '- debug: msg=hi\n',
      'roles/db/defaults/main.yml': 'db_name: ""\n',
    })
    const r = validate(join(dir, 'site.yml'), [join(dir, 'inv.yml')], [], dir)
    assert.equal(r.diags.errors.length, 1, r.text)
    assert.match(r.text, /site\.yml:3:7: required secret "db_password" \(role db\) is empty on h1, h2: K3SBOOK_TEST_REQUIRED_SECRET is not set/)
    assert.doesNotMatch(r.text, /db_name/)
    process.env[ENV] = 'set'
    assert.equal(validate(join(dir, 'site.yml'), [join(dir, 'inv.yml')], [], dir).diags.hasErrors, false)
  })

  it('an empty role default with nothing overriding it is an error; a host var that sets it clears that host', () => {
    const dir = project({
      'site.yml': '- hosts: all\n  roles:\n    - db\n',
      'inv.yml': 'all:\n  hosts:\n    h1:\n    h2:\n      db_password: s3cret\n',
      'roles/db/meta/argument_specs.yml': SPECS,
      'roles/db/tasks/main.yml': '- debug: msg=hi\n',
      'roles/db/defaults/main.yml': 'db_password: ""\n',
    })
    const r = validate(join(dir, 'site.yml'), [join(dir, 'inv.yml')], [], dir)
    assert.match(r.text, /required secret "db_password" \(role db\) is empty on h1: it is set to an empty value/)
  })

  it('only a warning where a task may set it at run time or the role runs under a condition', () => {
    delete process.env[ENV]
    const base = { 'inv.yml': inventory, 'roles/db/meta/argument_specs.yml': SPECS, 'roles/db/tasks/main.yml': '- debug: msg=hi\n' }
    const setFact = project({ ...base, 'site.yml': '- hosts: all\n  tasks:\n    - set_fact:\n        db_password: x\n  roles:\n    - db\n' })
    const a = validate(join(setFact, 'site.yml'), [join(setFact, 'inv.yml')], [], setFact)
    assert.equal(a.diags.hasErrors, false, a.text)
    assert.match(a.text, /warning: required secret "db_password" .* \(unless a task sets it at run time\)/)
    const guarded = project({ ...base, 'site.yml': '- hosts: all\n  roles:\n    - role: db\n      when: use_db | default(false)\n' })
    const b = validate(join(guarded, 'site.yml'), [join(guarded, 'inv.yml')], [], guarded)
    assert.equal(b.diags.hasErrors, false, b.text)
    assert.match(b.text, /warning: .*unless the role's condition skips it/)
  })

  it('certainlyEmpty: literals and exactly one env lookup; anything else may be set', () => {
    assert.deepEqual(certainlyEmpty(''), {})
    assert.deepEqual(certainlyEmpty(null), {})
    assert.deepEqual(certainlyEmpty("{{ lookup('env', 'NOPE_X') }}", {}), { envVar: 'NOPE_X' })
    assert.deepEqual(certainlyEmpty('{{ lookup("ansible.builtin.env", "NOPE_X") }}', {}), { envVar: 'NOPE_X' })
    assert.equal(certainlyEmpty("{{ lookup('env', 'SET_X') }}", { SET_X: 'v' }), undefined)
    assert.equal(certainlyEmpty("{{ lookup('env', 'NOPE_X') | default('x', true) }}", {}), undefined)
    assert.equal(certainlyEmpty('{{ other_var }}', {}), undefined)
    assert.equal(certainlyEmpty('literal', {}), undefined)
  })

  it("reads the project's roles: k3s-server and postgres declare their secrets", () => {
    assert.deepEqual(
      requiredSecrets(join(ROOT, 'roles/k3s-server')).map((s) => s.name),
      ['k3s_token', 'k3s_datastore_endpoint'],
    )
    assert.deepEqual(
      requiredSecrets(join(ROOT, 'roles/postgres')).map((s) => s.name),
      ['k3s_datastore_endpoint'],
    )
  })
})
