// ProxyJump (ssh2 forwardOut through a second real sshd) and ProxyCommand (a spawned bridge whose
// stdio carries the connection), configured the ways users write them: ~/.ssh/config and -o/-J args.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync, mkdirSync, copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, type TestSshd } from './sshd.js'
import { openConnection, type ConnectOptions } from '../../src/connection/index.js'
import { ConnectionError } from '../../src/errors.js'

let jump: TestSshd
let target: TestSshd
let home: string
let kh: string

before(async () => {
  target = await startSshd()
  jump = await startSshd({ clientKey: target.clientKey })
  home = mkdtempSync(join(tmpdir(), 'k3sbook-home-'))
  mkdirSync(join(home, '.ssh'), { mode: 0o700 })
  // The default identity, so hops without an IdentityFile log in the way ssh would.
  copyFileSync(target.clientKey, join(home, '.ssh', 'id_ed25519'))
  kh = join(home, '.ssh', 'known_hosts')
  writeFileSync(kh, target.knownHostsLine + jump.knownHostsLine)
})
after(async () => {
  await target?.stop()
  await jump?.stop()
  rmSync(home, { recursive: true, force: true })
})

const base = (): ConnectOptions => ({ home, env: { USER: 'root' }, systemSshConfigFile: false })

test('ProxyJump from ~/.ssh/config: Host aliases, HostName, Port, User, IdentityFile', async () => {
  const cfg = join(home, '.ssh', 'config')
  writeFileSync(
    cfg,
    [
      'Host bastion',
      '  HostName 127.0.0.1',
      `  Port ${jump.port}`,
      '  User root',
      'Host web?',
      '  HostName 127.0.0.1',
      `  Port ${target.port}`,
      '  ProxyJump bastion',
      'Host *',
      '  User nobody-should-not-win',
      `  IdentityFile ${target.clientKey}`,
      '',
    ].join('\n'),
  )
  const c = openConnection('web1', { host: 'web1', user: 'root', connection: 'ssh' }, { ...base(), sshConfigFile: cfg })
  await c.connect()
  const r = await c.exec('echo "$SSH_CONNECTION"')
  assert.equal(r.rc, 0)
  assert.match(r.stdout.toString(), new RegExp(` ${target.port}\\n$`))
  // Proof that the path runs through the jump host: kill it and the target connection dies.
  jump.signalAll('SIGKILL')
  await assert.rejects(() => c.exec('true'), ConnectionError)
  await c.close()
  await jump.stop()
  jump = await startSshd({ clientKey: target.clientKey })
  writeFileSync(kh, target.knownHostsLine + jump.knownHostsLine)
})

test('ProxyJump from -J in ansible_ssh_common_args, jump host known_hosts checked too', async () => {
  const spec = {
    host: '127.0.0.1',
    port: target.port,
    user: 'root',
    connection: 'ssh' as const,
    privateKeyFile: target.clientKey,
    commonArgs: `-J root@127.0.0.1:${jump.port}`,
  }
  const c = openConnection('t', spec, { ...base(), sshConfigFile: false })
  await c.connect()
  assert.equal((await c.exec('echo via jump')).stdout.toString(), 'via jump\n')
  await c.close()
  // An unknown jump host key is refused, and the message names the jump host.
  writeFileSync(kh, target.knownHostsLine)
  const d = openConnection('t', spec, { ...base(), sshConfigFile: false })
  await assert.rejects(
    () => d.connect(),
    (e: unknown) => e instanceof ConnectionError && /jump host root@127\.0\.0\.1:\d+: host key .* is not known/.test(e.message),
  )
  writeFileSync(kh, target.knownHostsLine + jump.knownHostsLine)
})

test('ProxyCommand from -o: the command is spawned with %h %p expanded and carries the session', async () => {
  const bridge = join(home, 'bridge.mjs')
  const seen = join(home, 'bridge-called')
  writeFileSync(
    bridge,
    `import { connect } from 'node:net'
import { writeFileSync } from 'node:fs'
const [host, port] = process.argv.slice(2)
writeFileSync(${JSON.stringify(seen)}, host + ' ' + port)
const s = connect(Number(port), host)
process.stdin.pipe(s)
s.pipe(process.stdout)
s.on('close', () => process.exit(0))
`,
  )
  const spec = {
    host: '127.0.0.1',
    port: target.port,
    user: 'root',
    connection: 'ssh' as const,
    privateKeyFile: target.clientKey,
    commonArgs: `-o ProxyCommand="${process.execPath} ${bridge} %h %p"`,
  }
  const c = openConnection('pc', spec, { ...base(), sshConfigFile: false })
  await c.connect()
  assert.equal(readFileSync(seen, 'utf8'), `127.0.0.1 ${target.port}`)
  const r = await c.exec('head -c 100000 /dev/zero | wc -c')
  assert.equal(r.stdout.toString().trim(), '100000')
  await c.close()
  assert.ok(existsSync(seen))
})

test('a failing ProxyCommand is a ConnectionError with its stderr', async () => {
  const spec = {
    host: '127.0.0.1',
    port: target.port,
    user: 'root',
    connection: 'ssh' as const,
    privateKeyFile: target.clientKey,
    commonArgs: `-o 'ProxyCommand=echo no route to %h >&2; exit 3'`,
  }
  const c = openConnection('pc', spec, { ...base(), sshConfigFile: false, connectTimeoutMs: 3000 })
  await assert.rejects(
    () => c.connect(),
    (e: unknown) => e instanceof ConnectionError && /ProxyCommand exited with 3: no route to 127\.0\.0\.1/.test(e.message),
  )
})
