// Vault-encrypted sources as the loader reads them: host_vars/group_vars files, inline values,
// password files (plain and executable, as Ansible reads them); decrypted values become secrets.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { hostInventoryVars, loadInventory } from '../../src/inventory/index.js'
import { encryptVault, readVaultPasswordFile, setVaultPassword, vaultSecrets } from '../../src/vault.js'
import { YamlFile } from '../../src/yamlfile.js'
import { tree } from './helpers.js'

test('an encrypted host_vars file is decrypted with the password and its values are secrets', () => {
  const dir = tree({
    'inv.yml': 'server:\n  hosts:\n    s1:\n',
    'host_vars/s1.yml': encryptVault('k3s_token: "tok-from-host-vars"\nport: 6443\n', 'pw'),
    'group_vars/server.yml': `k3s_datastore_endpoint: !vault |\n${encryptVault('postgres://u:p@db/k3s', 'pw')
      .trimEnd()
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n')}\n`,
  })
  setVaultPassword('pw')
  try {
    const diags = new Diagnostics()
    const inv = loadInventory([join(dir, 'inv.yml')], diags)
    assert.deepEqual(diags.items.map(formatDiagnostic), [])
    const vars = hostInventoryVars(inv, 's1', dir)
    assert.equal(vars.k3s_token, 'tok-from-host-vars')
    assert.equal(vars.port, 6443)
    assert.equal(vars.k3s_datastore_endpoint, 'postgres://u:p@db/k3s')
    assert.ok(vaultSecrets().has('tok-from-host-vars'))
    assert.ok(vaultSecrets().has('postgres://u:p@db/k3s'))
  } finally {
    setVaultPassword(undefined)
  }
})

test('a wrong password is an error at the file or the value, never a crash', () => {
  setVaultPassword('not-it')
  try {
    const whole = new YamlFile('/x/secrets.yml', encryptVault('a: 1\n', 'pw'))
    const d1 = new Diagnostics()
    assert.equal(whole.check(d1), false)
    assert.match(formatDiagnostic(d1.items[0]), /secrets\.yml:1:1: cannot decrypt this vault-encrypted file: vault password is wrong/)
    const inline = new YamlFile(
      '/x/vars.yml',
      `a: 1\nb: !vault |\n${encryptVault('s', 'pw')
        .trimEnd()
        .split('\n')
        .map((l) => '  ' + l)
        .join('\n')}\n`,
    )
    const d2 = new Diagnostics()
    inline.check(d2)
    assert.match(formatDiagnostic(d2.items[0]), /vars\.yml:2:4: cannot decrypt this !vault value: vault password is wrong/)
  } finally {
    setVaultPassword(undefined)
  }
})

test('password files: surrounding whitespace stripped; an executable file is run for the password', () => {
  const dir = tree({ plain: '  s3cret pass \n\n', script: '#!/bin/sh\necho "from-script"\n', empty: '\n' })
  chmodSync(join(dir, 'script'), 0o700)
  assert.equal(readVaultPasswordFile(join(dir, 'plain')), 's3cret pass')
  assert.equal(readVaultPasswordFile(join(dir, 'script')), 'from-script')
  assert.throws(() => readVaultPasswordFile(join(dir, 'empty')), /is empty/)
  assert.throws(() => readVaultPasswordFile(join(dir, 'missing')), /ENOENT/)
})
