// Secrets through a full lab run: a K3S token and a datastore URL kept in Ansible Vault (a whole
// encrypted vars file, an inline `!vault` value and an encrypted `-e @file`) reach the host in a
// 0600 env file, and never appear in any output mode (plain, JSON, a terminal), with --diff and
// -vvv, in error messages, nor in any file k3sbook writes on the controller.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { encryptVault } from '../../src/vault.js'
import { sh } from '../executor/helpers.js'
import { cli, filesUnder, tree, ttyRun } from './helpers.js'

const PASSWORD = 'correct horse battery staple'
const TOKEN = `K10${randomBytes(12).toString('hex')}::server:${randomBytes(8).toString('hex')}`
const DB_PASSWORD = `pw-${randomBytes(10).toString('hex')}`
const DATASTORE = `postgres://k3s:${DB_PASSWORD}@db.internal:5432/k3s`
const EXTRA = `extra-${randomBytes(10).toString('hex')}`
/** Marked secret only by the task's no_log. */
const NOLOG = `nolog-${randomBytes(10).toString('hex')}`

function indent(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n')
}

const PLAYBOOK = `- name: Secrets reach the host and nowhere else
  hosts: all
  gather_facts: false
  vars_files:
    - secrets.yml
  vars:
    k3s_token: "{{ vault_k3s_token }}"
    datastore_endpoint: !vault |
${indent(encryptVault(DATASTORE, PASSWORD), 6)}
    plain_phrase: "${NOLOG}"
  tasks:
    - name: K3S env file
      template:
        src: k3s.env.j2
        dest: /etc/k3sbook-secrets/k3s.env
        mode: "0600"
    - name: The token in a line
      lineinfile:
        path: /etc/k3sbook-secrets/lines
        line: "token={{ k3s_token }} extra={{ extra_secret }}"
        create: true
        mode: "0600"
    - name: The token through a command
      command:
        argv: [printf, "%s", "{{ k3s_token }}"]
      register: echoed
      changed_when: false
    - name: Show what the command printed
      debug:
        var: echoed.stdout
    - name: A failing command that names the datastore
      command:
        argv: [sh, -c, 'echo "cannot reach $0" >&2; exit 3', "{{ datastore_endpoint }}"]
      ignore_errors: true
    - name: Hidden by no_log
      debug:
        msg: "{{ plain_phrase }}"
      no_log: true
    - name: Fetch the env file
      fetch:
        src: /etc/k3sbook-secrets/k3s.env
        dest: fetched/
    - name: Fail with the token in the message
      fail:
        msg: "giving up with {{ k3s_token }} and {{ datastore_endpoint }}"
      when: inventory_hostname == ansible_play_hosts_all[0]
`

const TEMPLATE = `# managed by k3sbook
K3S_TOKEN={{ k3s_token }}
K3S_DATASTORE_ENDPOINT={{ datastore_endpoint }}
`

describe('vaulted secrets in a full lab run', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  const outputs: Array<{ label: string; text: string }> = []
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'secrets' })
    dir = tree({
      'site.yml': PLAYBOOK,
      'templates/k3s.env.j2': TEMPLATE,
      'secrets.yml': encryptVault(`vault_k3s_token: "${TOKEN}"\nunused_db_password: "${DB_PASSWORD}"\n`, PASSWORD),
      'extra.yml': encryptVault(`extra_secret: "${EXTRA}"\n`, PASSWORD),
      'vault-pass': PASSWORD + '\n',
    })
  })
  after(() => lab?.stop())

  const common = () => ['site.yml', '-i', lab.inventoryPath, '-e', '@extra.yml', '--diff', '-vvv', '--vault-password-file', 'vault-pass']

  function assertClean(label: string, text: string): void {
    outputs.push({ label, text })
    for (const [name, secret] of Object.entries({ TOKEN, DATASTORE, DB_PASSWORD, EXTRA, NOLOG })) {
      assert.ok(!text.includes(secret), `${label}: ${name} leaked:\n${text}`)
    }
  }

  /** Makes the files differ from what the play writes, so every run has a diff to show. */
  async function disturb(): Promise<void> {
    for (const h of lab.hosts)
      await sh(lab, h.index, 'mkdir -p /etc/k3sbook-secrets; printf "old\\n" > /etc/k3sbook-secrets/k3s.env; printf "old\\n" > /etc/k3sbook-secrets/lines')
  }

  test('without a password: a positioned error for each encrypted source, and no host contacted', async () => {
    const r = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-e', '@extra.yml'], { cwd: dir, env: { ANSIBLE_VAULT_PASSWORD_FILE: '' } })
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /secrets\.yml:1:1: this file is vault-encrypted and no vault password was given \(give the password with --vault-password-file/)
    assert.match(r.stderr, /extra\.yml:1:1: this file is vault-encrypted/)
    assert.match(r.stderr, /site\.yml:8:25: this value is vault-encrypted \(!vault\) and no vault password was given/)
    assert.match(r.stderr, /no host was contacted/)
    const wrong = tree({ pw: 'not it\n' })
    const w = await cli(['validate', 'site.yml', '-i', lab.inventoryPath, '--vault-password-file', join(wrong, 'pw')], { cwd: dir })
    assert.equal(w.code, 5)
    assert.match(w.stdout, /secrets\.yml:1:1: cannot decrypt this vault-encrypted file: vault password is wrong/)
    assert.ok(!(await sh(lab, 1, 'ls /etc')).includes('k3sbook-secrets'), 'a host was changed')
  })

  test('plain, JSON and terminal output, diffs, -vvv and errors never show a secret', async () => {
    await disturb()
    const plain = await cli(['run', ...common(), '-o', 'plain'], { cwd: dir })
    assert.equal(plain.code, 2, plain.stdout + plain.stderr)
    assertClean('plain stdout', plain.stdout)
    assertClean('plain stderr', plain.stderr)
    // the run did what it should: diffs shown (masked), the failing command reported, the fail message masked
    assert.match(plain.stdout, /\+K3S_TOKEN=\*{8}/)
    assert.match(plain.stdout, /giving up with \*{8} and \*{8}/)
    assert.match(plain.stdout, /cannot reach \*{8}/)
    assert.match(plain.stdout, /the output has been hidden due to the no_log/)

    // the host got the real values, in a 0600 file
    for (const h of lab.hosts) {
      const env = await sh(lab, h.index, 'stat -c %a /etc/k3sbook-secrets/k3s.env /etc/k3sbook-secrets/lines; cat /etc/k3sbook-secrets/k3s.env')
      assert.equal(env, `600\n600\n# managed by k3sbook\nK3S_TOKEN=${TOKEN}\nK3S_DATASTORE_ENDPOINT=${DATASTORE}\n`)
    }

    await disturb()
    const json = await cli(['run', ...common(), '-o', 'json'], { cwd: dir })
    assert.equal(json.code, 2)
    assertClean('json stdout', json.stdout)
    assertClean('json stderr', json.stderr)
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; diff?: Array<{ after: string }> })
    assert.ok(events.some((e) => e.type === 'host:result' && e.diff?.some((d) => d.after.includes('K3S_TOKEN=********'))))

    await disturb()
    const tty = await ttyRun(['run', ...common(), '-o', 'tty'], dir, 160)
    assertClean('tty', tty)
    assert.match(tty, /PLAY RECAP|RECAP/)

    const check = await cli(['check', ...common(), '-o', 'plain'], { cwd: dir })
    assertClean('check stdout', check.stdout)
    assertClean('check stderr', check.stderr)
  })

  test('files k3sbook wrote on the controller hold no secret and are private', async () => {
    const retry = join(dir, '.k3sbook/retry/site.retry')
    assert.equal(readFileSync(retry, 'utf8'), `${lab.hosts[0].name}\n`, 'the host that failed is listed')
    const written = filesUnder(join(dir, '.k3sbook'))
    assert.ok(written.length >= 1)
    for (const f of [...written, ...filesUnder(lab.dir).filter((f) => !f.path.endsWith('.pid'))]) {
      for (const secret of [TOKEN, DATASTORE, DB_PASSWORD, EXTRA, NOLOG]) assert.ok(!f.bytes.includes(secret), `${f.path} holds a secret`)
    }
    for (const f of written) assert.equal(f.mode, 0o600, `${f.path} mode`)
    // a file the host keeps private (0600) is private on the controller too
    const fetched = filesUnder(join(dir, 'fetched'))
    assert.equal(fetched.length, lab.hosts.length)
    for (const f of fetched) {
      assert.equal(f.mode, 0o600, `${f.path} mode`)
      assert.ok(f.bytes.includes(TOKEN), 'the fetched env file is the real one')
    }
  })
})
