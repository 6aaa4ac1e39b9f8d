// SshConnection against a real sshd on 127.0.0.1: framing over one long-lived shell, stdin, env/cwd
// isolation, become, timeouts, file transfer, and the per-command latency against one exec per command.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { startSshd, isolated, type TestSshd } from './sshd.js'
import { openConnection, ExecTimeoutError, type Connection } from '../../src/connection/index.js'
import { RemoteError } from '../../src/errors.js'

let d: TestSshd
let c: Connection
let work: string

before(async () => {
  d = await startSshd()
  writeFileSync(join(d.dir, 'known_hosts'), d.knownHostsLine)
  work = mkdtempSync(join(tmpdir(), 'k3sbook-sshwork-'))
  c = openConnection(
    'h1',
    { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh' },
    isolated(join(d.dir, 'known_hosts')),
  )
  await c.connect()
})

after(async () => {
  await c?.close()
  await d?.stop()
  rmSync(work, { recursive: true, force: true })
})

test('exit codes and separate stdout/stderr', async () => {
  const r = await c.exec('echo out; echo err >&2; exit 7')
  assert.equal(r.rc, 7)
  assert.equal(r.stdout.toString(), 'out\n')
  assert.equal(r.stderr.toString(), 'err\n')
  const ok = await c.exec('true')
  assert.deepEqual([ok.rc, ok.stdout.length, ok.stderr.length], [0, 0, 0])
})

test('binary output with NUL bytes and no trailing newline comes back byte for byte', async () => {
  const r = await c.exec(`printf 'a\\000b\\377\\001'`)
  assert.deepEqual([...r.stdout], [0x61, 0, 0x62, 0xff, 1])
  const e = await c.exec(`printf 'no newline' >&2`)
  assert.equal(e.stderr.toString(), 'no newline')
})

test('output that looks like the framing markers does not end a command early', async () => {
  const r = await c.exec(`printf 'K3SB:0\\nK3SBdeadbeef:0\\n'; printf 'K3SB%s:1\\n' 000000000000000000000000; echo tail; printf 'K3SB:\\n' >&2; echo more >&2`)
  assert.equal(r.rc, 0)
  assert.equal(r.stdout.toString(), 'K3SB:0\nK3SBdeadbeef:0\nK3SB000000000000000000000000:1\ntail\n')
  assert.equal(r.stderr.toString(), 'K3SB:\nmore\n')
})

test('large output (8 MB) arrives whole', async () => {
  const r = await c.exec('head -c 8388608 /dev/zero | tr "\\000" "x"; printf end')
  assert.equal(r.stdout.length, 8388608 + 3)
  assert.equal(r.stdout.subarray(-4).toString(), 'xend')
})

test('a script with a syntax error or exit does not break the shell', async () => {
  const bad = await c.exec('if then fi (')
  assert.equal(bad.rc, 2)
  assert.match(bad.stderr.toString(), /syntax error/i)
  const ex = await c.exec('exit 42')
  assert.equal(ex.rc, 42)
  const ex2 = await c.exec('exec /bin/false')
  assert.equal(ex2.rc, 1)
  assert.equal((await c.exec('echo alive')).stdout.toString(), 'alive\n')
})

test('stdin: binary bytes reach the command exactly; without stdin it sees EOF, not the protocol stream', async () => {
  const bytes = Buffer.concat([randomBytes(5000), Buffer.from('\nK3SBxx:0\n\0EOF\n')])
  const r = await c.exec('cat', { stdin: bytes })
  assert.ok(r.stdout.equals(bytes))
  const none = await c.exec('cat; echo done')
  assert.equal(none.stdout.toString(), 'done\n')
  const str = await c.exec('wc -c', { stdin: 'héllo' })
  assert.equal(str.stdout.toString().trim(), String(Buffer.byteLength('héllo')))
})

test('stdin above the heredoc limit goes over its own channel, byte for byte', async () => {
  const big = randomBytes(1024 * 1024 + 17)
  const r = await c.exec('sha256sum', { stdin: big, env: { X: 'y' } })
  assert.equal(r.stdout.toString().split(' ')[0], createHash('sha256').update(big).digest('hex'))
})

test('env and cwd apply to one command only', async () => {
  const r = await c.exec('pwd; echo "$FOO|$BAR"', { cwd: '/tmp', env: { FOO: "it's $(x) `y`", BAR: 'a\nb' } })
  assert.equal(r.stdout.toString(), "/tmp\nit's $(x) `y`|a\nb\n")
  const later = await c.exec('pwd; echo "[$FOO]"; cd /usr; X=1; export Y=2')
  assert.notEqual(later.stdout.toString().split('\n')[0], '/tmp')
  assert.match(later.stdout.toString(), /\[\]\n$/)
  const after = await c.exec('pwd; echo "[$X$Y]"')
  assert.notEqual(after.stdout.toString().split('\n')[0], '/usr')
  assert.match(after.stdout.toString(), /\[\]\n$/)
  const missing = await c.exec('echo no', { cwd: '/nonexistent/dir' })
  assert.equal(missing.rc, 1)
  assert.equal(missing.stdout.length, 0)
  await assert.rejects(() => c.exec('true', { env: { 'BAD-NAME': 'x' } }), /invalid environment variable name/)
})

test('become: to root while root needs no sudo; to another user with sudo absent fails clearly', async () => {
  const r = await c.exec('id -u', { become: { user: 'root' } })
  assert.equal(r.stdout.toString(), '0\n')
  const hasSudo = (await c.exec('command -v sudo')).rc === 0
  assert.equal(hasSudo, false, 'this test expects a machine without sudo')
  const n = await c.exec('id -un', { become: { user: 'nobody' } })
  assert.equal(n.rc, 127)
  assert.match(n.stderr.toString(), /become needs sudo on h1, and sudo is not installed/)
})

test('become with method su (root may switch without a password)', async () => {
  const r = await c.exec('id -un; pwd; echo "$V"; cat', { become: { user: 'nobody', method: 'su' }, cwd: '/', env: { V: 'v v' }, stdin: 'in' })
  assert.equal(r.rc, 0, r.stderr.toString())
  assert.equal(r.stdout.toString(), 'nobody\n/\nv v\nin')
})

test('inline: the script with its content inside runs only where no process gets it as an argument', async () => {
  const opts = { stdin: 'from stdin\n', inline: 'echo inline; cat' }
  const plain = await c.exec('cat', opts)
  assert.equal(plain.stdout.toString(), 'inline\n', 'the long-lived shell evaluates it: the content inside the script')
  // become (su here, sudo alike) runs `sh -c SCRIPT`: the script and stdin are kept apart
  const su = await c.exec('cat', { ...opts, become: { user: 'nobody', method: 'su' } })
  assert.equal(su.stdout.toString(), 'from stdin\n')
  // a timeout runs `timeout … sh -c SCRIPT`
  const timed = await c.exec('cat', { ...opts, timeoutMs: 5000 })
  assert.equal(timed.stdout.toString(), 'from stdin\n')
  // become to the login user needs no switch: still the shell's own
  const self = await c.exec('cat', { ...opts, become: { user: 'root' } })
  assert.equal(self.stdout.toString(), 'inline\n')
})

test('a command that outlives timeoutMs is killed on the host and the next command works', async () => {
  const t0 = Date.now()
  await assert.rejects(
    () => c.exec('sleep 31; echo never', { timeoutMs: 500 }),
    (e: unknown) => e instanceof ExecTimeoutError && e instanceof RemoteError && /timed out after 500 ms/.test(e.message),
  )
  // the alternative is the 31 s sleep (each file of test/connection sleeps its own length: their ps checks look machine-wide)
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`)
  const ps = await c.exec("ps -eo args | grep -c '^sleep 31$' || true")
  assert.equal(ps.stdout.toString().trim(), '0', 'the sleep was killed on the host')
  assert.equal((await c.exec('echo ok')).stdout.toString(), 'ok\n')
  const fast = await c.exec('echo quick', { timeoutMs: 5000 })
  assert.deepEqual([fast.rc, fast.stdout.toString()], [0, 'quick\n'])
})

test('upload and download a 20 MB file: sha256 equal, atomic rename, mode applied', async () => {
  const local = join(work, 'big.bin')
  const data = randomBytes(20 * 1024 * 1024)
  writeFileSync(local, data)
  const remote = join(work, 'remote dir')
  await c.exec(`mkdir -p '${remote}'`)
  const dest = join(remote, 'big $(x).bin')
  await c.upload(local, dest, { mode: '0640' })
  const sum = await c.exec(`sha256sum < "$P"`, { env: { P: dest } })
  assert.equal(sum.stdout.toString().split(' ')[0], createHash('sha256').update(data).digest('hex'))
  assert.equal((statSync(dest).mode & 0o777).toString(8), '640')
  const back = await c.download(dest)
  assert.ok(back.equals(data))
  const leftovers = await c.exec(`ls -A "$P" | grep -c k3sbook || true`, { env: { P: remote } })
  assert.equal(leftovers.stdout.toString().trim(), '0', 'no temp file left beside the target')
  // Existing file: mode kept when none given.
  writeFileSync(local, 'small')
  await c.upload(local, dest)
  assert.equal(readFileSync(dest, 'utf8'), 'small')
  assert.equal((statSync(dest).mode & 0o777).toString(8), '640')
})

test('failed upload leaves the target as it was; download of a missing file fails clearly', async () => {
  const local = join(work, 'x')
  writeFileSync(local, 'new')
  await assert.rejects(
    () => c.upload(local, '/nonexistent-dir/file'),
    (e: unknown) => e instanceof RemoteError && /upload to \/nonexistent-dir\/file failed/.test(e.message),
  )
  await assert.rejects(() => c.download('/nonexistent-file'), /cannot read \/nonexistent-file/)
  await assert.rejects(() => c.upload(join(work, 'no-such-local'), join(work, 'y')), /ENOENT/)
  assert.equal((await c.exec(`test -e '${join(work, 'y')}'`)).rc, 1)
})

test('concurrent callers are serialized on the shell and each gets its own output', async () => {
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => c.exec(`echo ${i}; echo e${i} >&2`)))
  rs.forEach((r, i) => {
    assert.equal(r.stdout.toString(), `${i}\n`)
    assert.equal(r.stderr.toString(), `e${i}\n`)
  })
})

test('latency: 200 sequential commands on the shell vs a new exec per command (printed)', async () => {
  const n = 200
  let t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    const r = await c.exec(`echo ${i}`)
    assert.equal(r.stdout.toString(), `${i}\n`)
  }
  const shellMs = Number(process.hrtime.bigint() - t) / 1e6 / n
  // Baseline: a bare ssh2 client (with TCP_NODELAY too) that opens one exec session per command.
  const client = new ssh2.Client()
  await new Promise<void>((resolve, reject) => {
    client.on('ready', () => resolve()).on('error', reject)
    client.connect({ host: '127.0.0.1', port: d.port, username: 'root', privateKey: readFileSync(d.clientKey) })
  })
  client.setNoDelay(true)
  const execOnce = (cmd: string) =>
    new Promise<string>((resolve, reject) =>
      client.exec(cmd, (err, ch) => {
        if (err) return reject(err)
        let out = ''
        ch.on('data', (b: Buffer) => (out += b))
        ch.stderr.on('data', () => {})
        ch.on('close', () => resolve(out))
      }),
    )
  t = process.hrtime.bigint()
  for (let i = 0; i < n; i++) assert.equal(await execOnce(`echo ${i}`), `${i}\n`)
  const execMs = Number(process.hrtime.bigint() - t) / 1e6 / n
  client.end()
  console.log(
    `# latency over ${n} sequential commands: shell ${shellMs.toFixed(2)} ms/command, new exec per command ${execMs.toFixed(2)} ms/command (${(execMs / shellMs).toFixed(1)}x)`,
  )
  assert.ok(c.stats.roundTrips >= n)
})
