// LocalConnection keeps the SshConnection contract: timeouts kill the whole command and throw
// ExecTimeoutError, uploads are atomic and keep the mode, become works through su as root.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, readFileSync, statSync, readdirSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalConnection } from '../../src/connection/local.js'
import { ExecTimeoutError } from '../../src/connection/types.js'

const c = new LocalConnection('lh')

test('local: rc, binary stdout, stdin, env, cwd', async () => {
  const r = await c.exec(`printf 'a\\000b'; pwd; echo "$K"; cat >&2; exit 3`, { cwd: '/tmp', env: { K: 'v' }, stdin: Buffer.from([1, 2]) })
  assert.equal(r.rc, 3)
  assert.ok(r.stdout.equals(Buffer.from('a\0b/tmp\nv\n')))
  assert.deepEqual([...r.stderr], [1, 2])
})

test('local: a timeout kills the command and its children, fast', async () => {
  const t0 = Date.now()
  await assert.rejects(() => c.exec('sleep 33 & sleep 33; wait', { timeoutMs: 300 }), ExecTimeoutError)
  // the alternative is the 33 s sleeps
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`)
})

test('local: upload is atomic, applies or keeps the mode, leaves no temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-local-'))
  try {
    const src = join(dir, 'src')
    writeFileSync(src, 'one')
    const dest = join(dir, 'dest')
    await c.upload(src, dest, { mode: '0600' })
    assert.equal(readFileSync(dest, 'utf8'), 'one')
    assert.equal(statSync(dest).mode & 0o777, 0o600)
    chmodSync(dest, 0o640)
    writeFileSync(src, 'two')
    await c.upload(src, dest)
    assert.equal(statSync(dest).mode & 0o777, 0o640)
    assert.deepEqual(readdirSync(dir).sort(), ['dest', 'src'])
    await assert.rejects(() => c.upload(join(dir, 'missing'), dest), /ENOENT/)
    assert.equal(readFileSync(dest, 'utf8'), 'two')
    assert.deepEqual(readdirSync(dir).sort(), ['dest', 'src'])
    assert.ok((await c.download(dest)).equals(Buffer.from('two')))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('local: become with su as root', async () => {
  const r = await c.exec('id -un', { become: { user: 'nobody', method: 'su' } })
  assert.equal(r.stdout.toString(), 'nobody\n')
})
