// Which variable names mark their value secret: words of the name (split at _, -, . and camelCase),
// not substrings. Real secrets' names still do (k3s_token, db_password, ansible_become_pass,
// dbPassword, api_key); the names system roles give to other things no longer do: dev-sec's
// os_hardening registered `minimize_access_passwd_files` and mounts' `*_passno`, and every later
// output showed "/etc/passwd", user names and mount options as ********.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isSecretName } from '../../src/secrets.js'
import { cli, tree } from './helpers.js'

test('secret names are words of the name, not substrings', () => {
  for (const n of [
    'k3s_token',
    'vault_k3s_token',
    'db_password',
    'ansible_become_pass',
    'ansible_ssh_pass',
    'extra_secret',
    'k3s_datastore_endpoint',
    'ssh_private_key',
    'dbPassword',
    'apiKey',
    'API_KEY',
    'my-pass',
    'gpg.passphrase',
  ])
    assert.equal(isSecretName(n), true, n)
  for (const n of [
    'os_mnt_var_passno',
    'getent_passwd',
    'minimize_access_passwd_files',
    'bypass_proxy',
    'compass_dir',
    'tokenizer',
    'secretary',
    'os_passwd_perms',
    'vault_addr',
    'passenger',
  ])
    assert.equal(isSecretName(n), false, n)
})

test("a role's passwd-file variables and the getent fact are shown; a password is masked", async () => {
  const secret = 'hunter2-very-secret'
  const dir = tree({
    'inv.yml': 'all:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
    'site.yml': `- hosts: localhost
  gather_facts: false
  vars:
    db_password: "${secret}"
  tasks:
    - stat: { path: /etc/passwd }
      register: minimize_access_passwd_files
    - getent: { database: passwd, key: root }
    - debug: { msg: "{{ minimize_access_passwd_files.stat.path }} {{ getent_passwd['root'][4] }} {{ db_password }}" }
`,
  })
  const r = await cli(['run', 'site.yml', '-i', 'inv.yml', '-o', 'plain'], { cwd: dir })
  assert.equal(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /debug +localhost +\/etc\/passwd \/root \*{8}/)
  assert.ok(!r.stdout.includes(secret))
})
