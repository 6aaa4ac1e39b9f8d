// Faults: a dead sshd, a stalled connection, a server that never speaks, refused auth — each a
// ConnectionError carrying the host and the cause, within the configured timeout.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startSshd, isolated, keygen, freePort } from './sshd.js'
import { openConnection } from '../../src/connection/index.js'
import { ConnectionError } from '../../src/errors.js'

async function connected(extra: Record<string, unknown> = {}) {
  const d = await startSshd()
  const kh = join(d.dir, 'known_hosts')
  writeFileSync(kh, d.knownHostsLine)
  const c = openConnection('f1', { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh' }, isolated(kh, extra))
  await c.connect()
  return { d, c }
}

test('sshd killed mid-command: the command rejects with ConnectionError, later calls too', async () => {
  const { d, c } = await connected()
  try {
    const running = c.exec('sleep 20')
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    d.signalAll('SIGKILL')
    await assert.rejects(running, (e: unknown) => e instanceof ConnectionError && e.host === 'f1' && /connection to f1 lost/.test(e.message))
    // the alternative is the 20 s sleep
    assert.ok(Date.now() - t0 < 15_000)
    await assert.rejects(() => c.exec('true'), ConnectionError)
    await assert.rejects(() => c.download('/etc/hostname'), ConnectionError)
  } finally {
    await c.close()
    await d.stop()
  }
})

test('a stalled host (sshd stopped) becomes a ConnectionError by keepalive within the timeout', async () => {
  const { d, c } = await connected({ keepaliveIntervalMs: 300, keepaliveCountMax: 2 })
  try {
    d.signalAll('SIGSTOP')
    const t0 = Date.now()
    await assert.rejects(
      () => c.exec('echo hi'),
      (e: unknown) => e instanceof ConnectionError && /Keepalive timeout/i.test(e.message),
    )
    const took = Date.now() - t0
    assert.ok(took < 3000, `took ${took} ms`)
  } finally {
    d.signalAll('SIGCONT')
    await c.close()
    await d.stop()
  }
})

test('a server that accepts TCP but never speaks SSH fails within the connect timeout', async () => {
  const sockets: Socket[] = []
  const srv = createServer((s) => sockets.push(s))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  const port = (srv.address() as { port: number }).port
  try {
    const c = openConnection(
      'silent',
      { host: '127.0.0.1', port, user: 'root', connection: 'ssh', password: 'x' },
      isolated('/dev/null', { connectTimeoutMs: 700 }),
    )
    const t0 = Date.now()
    await assert.rejects(
      () => c.connect(),
      (e: unknown) => e instanceof ConnectionError && e.host === 'silent' && /timed out after 700 ms/.test(e.message),
    )
    // the alternative is no timeout at all (the server never answers)
    assert.ok(Date.now() - t0 < 15_000)
    await c.close()
  } finally {
    sockets.forEach((s) => s.destroy())
    srv.close()
  }
})

test('nothing listening: connection refused is reported with the address', async () => {
  const port = await freePort()
  const c = openConnection('down', { host: '127.0.0.1', port, user: 'root', connection: 'ssh', password: 'x' }, isolated('/dev/null'))
  await assert.rejects(
    () => c.connect(),
    (e: unknown) => e instanceof ConnectionError && /ECONNREFUSED/.test(e.message) && e.message.includes(`127.0.0.1:${port}`),
  )
})

test('a key the server does not accept: authentication failure names what was tried', async () => {
  const d = await startSshd()
  try {
    const wrong = join(d.dir, 'wrong_key')
    keygen(wrong)
    const kh = join(d.dir, 'known_hosts')
    writeFileSync(kh, d.knownHostsLine)
    const c = openConnection('auth', { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: wrong, connection: 'ssh' }, isolated(kh))
    await assert.rejects(
      () => c.connect(),
      (e: unknown) => e instanceof ConnectionError && /authentication failed \(tried key .*wrong_key\)/.test(e.message),
    )
    const none = openConnection(
      'auth',
      { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: join(d.dir, 'missing'), connection: 'ssh' },
      isolated(kh),
    )
    await assert.rejects(() => none.connect(), /no way to log in/)
  } finally {
    await d.stop()
  }
})

/**
 * Runs `body` in a child Node process with `c`, a connection to the test sshd using `key`, and
 * returns what it printed once it exited by itself: a handle left open would keep it alive.
 */
async function inChild(key: string, body: string): Promise<string> {
  const d = await startSshd()
  try {
    const kh = join(d.dir, 'known_hosts')
    writeFileSync(kh, d.knownHostsLine)
    const { spawnSync } = await import('node:child_process')
    const script = `
      import { openConnection } from ${JSON.stringify(new URL('../../src/connection/index.ts', import.meta.url).pathname)}
      const c = openConnection('x', { host: '127.0.0.1', port: ${d.port}, user: 'root', privateKeyFile: ${JSON.stringify(key || d.clientKey)}, connection: 'ssh' },
        { knownHostsFile: ${JSON.stringify(kh)}, sshConfigFile: false, systemSshConfigFile: false, home: ${JSON.stringify(d.dir)} })
      ${body}
    `
    const t0 = Date.now()
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 })
    assert.equal(r.status, 0, r.stderr)
    assert.ok(Date.now() - t0 < 10000, `the process took ${Date.now() - t0} ms to exit`)
    return r.stdout.trim()
  } finally {
    await d.stop()
  }
}

test('close() leaves no handle behind: a child node process that connects and closes exits by itself', async () => {
  const out = await inChild(
    '',
    `
      await c.connect()
      await c.exec('echo hi')
      await c.download('/etc/hostname')
      await c.close()
      console.log('closed')`,
  )
  assert.equal(out, 'closed')
})

test('a connection that fails before logging in leaves no socket behind: the process exits by itself', async () => {
  // No usable key: refused before the handshake, while the TCP connection is already open.
  const out = await inChild(
    '/nonexistent/k3sbook-missing-key',
    `
      await c.connect().catch((e) => console.log('refused:', e.message.includes('no way to log in')))`,
  )
  assert.equal(out, 'refused: true')
})
