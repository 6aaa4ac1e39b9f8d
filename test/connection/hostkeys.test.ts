// Host key checking against a real sshd: unknown keys refused with the SHA256 fingerprint, changed
// keys always refused, accept-new records the key, hashed and pattern entries match, @revoked refused.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { writeFileSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, isolated, keygen, type TestSshd } from './sshd.js'
import { openConnection } from '../../src/connection/index.js'
import { ConnectionError } from '../../src/errors.js'
import type { ConnectOptions } from '../../src/connection/index.js'

let d: TestSshd
let dir: string
let fp: string

before(async () => {
  d = await startSshd()
  dir = mkdtempSync(join(tmpdir(), 'k3sbook-kh-'))
  // The fingerprint as OpenSSH prints it, to compare with ours.
  fp = execFileSync('ssh-keygen', ['-lf', '-'], { input: d.hostKeyPub }).toString().split(' ')[1]
})
after(async () => {
  await d?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function conn(opts: ConnectOptions) {
  return openConnection('hk', { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh' }, opts)
}

async function tryConnect(opts: ConnectOptions): Promise<ConnectionError | undefined> {
  const c = conn(opts)
  try {
    await c.connect()
    const r = await c.exec('echo in')
    assert.equal(r.stdout.toString(), 'in\n')
    return undefined
  } catch (e) {
    assert.ok(e instanceof ConnectionError, String(e))
    return e
  } finally {
    await c.close()
  }
}

test('an unknown host key is refused with its SHA256 fingerprint and how to trust it', async () => {
  const kh = join(dir, 'empty_known_hosts')
  const e = await tryConnect(isolated(kh))
  assert.ok(e)
  assert.equal(e.host, 'hk')
  assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/)
  assert.ok(e.message.includes(fp), e.message)
  assert.match(e.message, /is not known \(ED25519 key SHA256:/)
  assert.match(e.hint ?? '', /--accept-new-host-keys/)
  assert.match(e.hint ?? '', /UserKnownHostsFile/)
  assert.equal(existsSync(kh), false, 'nothing written when refusing')
})

test('accept-new records the key, and the next connection checks against it', async () => {
  const kh = join(dir, 'sub', 'accept_known_hosts')
  assert.equal(await tryConnect(isolated(kh, { acceptNewHostKeys: true })), undefined)
  const text = readFileSync(kh, 'utf8')
  assert.equal(text, `[127.0.0.1]:${d.port} ${d.hostKeyPub}\n`)
  // Known now: connects under the default strict policy.
  assert.equal(await tryConnect(isolated(kh)), undefined)
  // ssh itself agrees with what we wrote.
  const found = execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${d.port}`, '-f', kh]).toString()
  assert.match(found, /ssh-ed25519/)
})

test('StrictHostKeyChecking from -o args: no and accept-new accept, yes refuses', async () => {
  const kh = join(dir, 'args_known_hosts')
  const mk = (args: string) =>
    openConnection(
      'hk',
      { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh', commonArgs: args },
      { sshConfigFile: false, systemSshConfigFile: false, home: dir },
    )
  const ok = mk(`-o StrictHostKeyChecking=no -o UserKnownHostsFile=${kh}`)
  await ok.connect()
  await ok.close()
  assert.match(readFileSync(kh, 'utf8'), /ssh-ed25519/)
  const refused = mk(`-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${join(dir, 'none')}`)
  await assert.rejects(() => refused.connect(), /is not known/)
  await refused.close()
})

test('a CHANGED key is refused even with accept-new or StrictHostKeyChecking=no, with both fingerprints', async () => {
  const other = join(dir, 'other_host_key')
  keygen(other)
  const oldPub = readFileSync(other + '.pub', 'utf8')
    .trim()
    .split(' ')
    .slice(0, 2)
    .join(' ')
  const oldFp = execFileSync('ssh-keygen', ['-lf', other + '.pub'])
    .toString()
    .split(' ')[1]
  const kh = join(dir, 'changed_known_hosts')
  writeFileSync(kh, `# a comment\n[127.0.0.1]:${d.port} ${oldPub}\n`)
  for (const extra of [{}, { acceptNewHostKeys: true }, { strictHostKeyChecking: 'no' as const }]) {
    const e = await tryConnect(isolated(kh, extra))
    assert.ok(e, 'must refuse')
    assert.match(e.message, /HOST KEY CHANGED/)
    assert.ok(e.message.includes(fp), 'new fingerprint')
    assert.ok(e.message.includes(oldFp), 'old fingerprint')
    assert.deepEqual(e.pos, { file: kh, line: 2, col: 1 })
    assert.match(e.hint ?? '', /ssh-keygen -R/)
  }
  assert.equal(readFileSync(kh, 'utf8').split('\n').length, 3, 'known_hosts untouched')
})

test('hashed entries, host lists and wildcard patterns match', async () => {
  const name = `[127.0.0.1]:${d.port}`
  const salt = randomBytes(20)
  const hash = createHmac('sha1', salt).update(name).digest()
  const hashed = join(dir, 'hashed_known_hosts')
  writeFileSync(hashed, `|1|${salt.toString('base64')}|${hash.toString('base64')} ${d.hostKeyPub}\n`)
  assert.equal(await tryConnect(isolated(hashed)), undefined)
  // ssh-keygen -H makes the same kind of entry; ours must read it.
  const byKeygen = join(dir, 'keygen_hashed')
  writeFileSync(byKeygen, d.knownHostsLine)
  execFileSync('ssh-keygen', ['-q', '-H', '-f', byKeygen], { stdio: 'pipe' })
  assert.match(readFileSync(byKeygen, 'utf8'), /^\|1\|/)
  assert.equal(await tryConnect(isolated(byKeygen)), undefined)
  const listed = join(dir, 'list_known_hosts')
  writeFileSync(listed, `otherhost,[127.0.0.?]:${d.port},!bad ${d.hostKeyPub}\n`)
  assert.equal(await tryConnect(isolated(listed)), undefined)
  const negated = join(dir, 'neg_known_hosts')
  writeFileSync(negated, `[127.0.0.*]:*,![127.0.0.1]:${d.port} ${d.hostKeyPub}\n`)
  assert.ok(await tryConnect(isolated(negated)))
})

test('a host known only by its RSA key, that also has an ed25519 key, is asked for the RSA one', async () => {
  const rsaKey = join(dir, 'second_host_rsa')
  keygen(rsaKey, 'rsa')
  const both = await startSshd({ extraConfig: `HostKey ${rsaKey}` })
  try {
    const rsaPub = readFileSync(rsaKey + '.pub', 'utf8')
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ')
    const kh = join(dir, 'rsa_known_hosts')
    writeFileSync(kh, `[127.0.0.1]:${both.port} ${rsaPub}\n`)
    const mk = (file: string) =>
      openConnection('both', { host: '127.0.0.1', port: both.port, user: 'root', privateKeyFile: both.clientKey, connection: 'ssh' }, isolated(file))
    const c = mk(kh)
    await c.connect()
    assert.equal((await c.exec('echo rsa')).stdout.toString(), 'rsa\n')
    await c.close()
    // Without any entry, the server's preferred ed25519 key is the one presented (and unknown).
    const u = mk(join(dir, 'nothing'))
    await assert.rejects(() => u.connect(), /ED25519 key/)
  } finally {
    await both.stop()
  }
})

test('@revoked keys are refused whatever the policy', async () => {
  const kh = join(dir, 'revoked_known_hosts')
  writeFileSync(kh, `@revoked * ${d.hostKeyPub}\n${d.knownHostsLine}`)
  const e = await tryConnect(isolated(kh, { strictHostKeyChecking: 'no' }))
  assert.ok(e)
  assert.match(e.message, /REVOKED/)
})
