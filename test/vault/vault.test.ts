import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decryptVault, encryptVault, isVaulted, VaultError } from '../../src/vault.js'

const dir = mkdtempSync(join(tmpdir(), 'k3sbook-vault-'))
const passFile = join(dir, 'pass')
writeFileSync(passFile, 'correct horse battery staple\n')
const env = { ...process.env, ANSIBLE_NOCOLOR: '1' }

test('decrypts what ansible-vault encrypted', () => {
  const plain = 'k3s_token: "s3cr3t-t0ken"\nk3s_datastore_endpoint: "postgres://k3s:pw@db:5432/k3s"\nünïcode: ✓\n'
  const f = join(dir, 'secrets.yml')
  writeFileSync(f, plain)
  execFileSync('ansible-vault', ['encrypt', '--vault-password-file', passFile, f], { env })
  const text = readFileSync(f, 'utf8')
  assert.ok(isVaulted(text))
  assert.equal(decryptVault(text, 'correct horse battery staple'), plain)
})

test('ansible-vault decrypts what k3sbook encrypted', () => {
  const plain = 'a: 1\nb: "two"\n'
  const f = join(dir, 'mine.yml')
  writeFileSync(f, encryptVault(plain, 'correct horse battery staple'))
  const out = execFileSync('ansible-vault', ['view', '--vault-password-file', passFile, f], { env }).toString()
  assert.equal(out, plain)
})

test('a wrong password is refused before decrypting', () => {
  const text = encryptVault('x: 1\n', 'right')
  assert.throws(
    () => decryptVault(text, 'wrong'),
    (e: unknown) => e instanceof VaultError && /HMAC/.test(e.message),
  )
})

test('a damaged or foreign text is refused', () => {
  assert.throws(() => decryptVault('$ANSIBLE_VAULT;1.1;AES256\n6162\n', 'p'), VaultError)
  assert.throws(() => decryptVault('hello', 'p'), VaultError)
})
