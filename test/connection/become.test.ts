// become through sudo. This machine has no sudo, so the sshd's PATH starts with a stand-in `sudo`
// (a script that checks the flags k3sbook passes and the password its SUDO_ASKPASS helper gives,
// then switches user with su as root can). What is tested is k3sbook's side of the exchange.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync, mkdirSync, mkdtempSync, existsSync, statSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, isolated, type TestSshd } from './sshd.js'
import { openConnection, ExecTimeoutError, type Connection } from '../../src/connection/index.js'

let d: TestSshd
let bin: string
let c: Connection

const FAKE_SUDO = `#!/bin/sh
here=$(dirname "$0")
user=root; mode=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) mode="\${mode}n" ;;
    -A) mode="\${mode}A" ;;
    -u) shift; user=$1 ;;
    --) shift; break ;;
    *) echo "sudo: unexpected option $1" >&2; exit 1 ;;
  esac
  shift
done
[ "$1" = /bin/sh ] && [ "$2" = -c ] && [ $# -eq 3 ] || { echo "sudo: unexpected command: $*" >&2; exit 1; }
want=$(cat "$here/password" 2>/dev/null)
if [ -n "$want" ]; then
  case "$mode" in
    *A*) got=$("$SUDO_ASKPASS" "[sudo] password:") ;;
    *) echo "sudo: a password is required" >&2; exit 1 ;;
  esac
  [ "$got" = "$want" ] || { echo "sudo: incorrect password" >&2; exit 1; }
fi
echo "$mode $user \${SUDO_ASKPASS:-}" >> "$here/sudo.log"
unset K3SBOOK_BECOME_PASS SUDO_ASKPASS
exec su -s /bin/sh -c "$3" "$user"
`

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-become-'))
  bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'sudo'), FAKE_SUDO)
  chmodSync(join(bin, 'sudo'), 0o755)
  d = await startSshd({ dir, env: { PATH: `${bin}:/usr/bin:/bin` } })
  writeFileSync(join(d.dir, 'known_hosts'), d.knownHostsLine)
  c = openConnection(
    'b1',
    { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh' },
    isolated(join(d.dir, 'known_hosts')),
  )
  await c.connect()
})
after(async () => {
  await c?.close()
  await d?.stop()
  if (d) rmSync(d.dir, { recursive: true, force: true })
})

function log(): string[] {
  return existsSync(join(bin, 'sudo.log')) ? readFileSync(join(bin, 'sudo.log'), 'utf8').trim().split('\n') : []
}

test('sudo -n to another user, with cwd and env applied as that user', async () => {
  const r = await c.exec('id -un; pwd; echo "$V"', { become: { user: 'nobody' }, cwd: '/', env: { V: "a'b" } })
  assert.equal(r.rc, 0, r.stderr.toString())
  assert.equal(r.stdout.toString(), "nobody\n/\na'b\n")
  assert.equal(log().at(-1), 'n nobody')
})

test('a password is given through SUDO_ASKPASS, never through the command stdin', async () => {
  writeFileSync(join(bin, 'password'), "s3cr'et $x")
  try {
    const need = await c.exec('id -un', { become: { user: 'nobody' } })
    assert.equal(need.rc, 1)
    assert.match(need.stderr.toString(), /a password is required/)
    const r = await c.exec('id -un; cat', { become: { user: 'nobody', password: "s3cr'et $x" }, stdin: 'payload\n' })
    assert.equal(r.rc, 0, r.stderr.toString())
    assert.equal(r.stdout.toString(), 'nobody\npayload\n')
    const askpass = log().at(-1)!.split(' ')[2]
    assert.match(askpass, /\/askpass$/)
    assert.equal(statSync(askpass).mode & 0o777, 0o700)
    assert.equal(readFileSync(askpass, 'utf8').includes('s3cr'), false, 'the helper file holds no password')
    const wrong = await c.exec('true', { become: { user: 'nobody', password: 'nope' } })
    assert.equal(wrong.rc, 1)
    assert.match(wrong.stderr.toString(), /incorrect password/)
    // Transfers under become use the same helper.
    const local = join(d.dir, 'up.txt')
    writeFileSync(local, 'up')
    await c.upload(local, '/tmp/k3sbook-become-upload-test', { become: { user: 'nobody', password: "s3cr'et $x" }, mode: '0600' })
    assert.equal(statSync('/tmp/k3sbook-become-upload-test').uid, Number((await c.exec('id -u nobody')).stdout.toString()))
    const back = await c.download('/tmp/k3sbook-become-upload-test', { become: { user: 'nobody', password: "s3cr'et $x" } })
    assert.equal(back.toString(), 'up')
    rmSync('/tmp/k3sbook-become-upload-test', { force: true })
    // A separate connection cleans its helper up on close.
    const other = openConnection(
      'b2',
      { host: '127.0.0.1', port: d.port, user: 'root', privateKeyFile: d.clientKey, connection: 'ssh' },
      isolated(join(d.dir, 'known_hosts')),
    )
    await other.connect()
    await other.exec('true', { become: { user: 'nobody', password: "s3cr'et $x" } })
    const helper = log().at(-1)!.split(' ')[2]
    assert.ok(existsSync(helper))
    await other.close()
    assert.equal(existsSync(helper), false, 'askpass helper removed on close')
  } finally {
    rmSync(join(bin, 'password'), { force: true })
  }
})

test('timeout under become kills the command and the shell goes on', async () => {
  await assert.rejects(() => c.exec('sleep 32', { become: { user: 'nobody' }, timeoutMs: 500 }), ExecTimeoutError)
  const ps = await c.exec("ps -eo args | grep -c '^sleep 32$' || true")
  assert.equal(ps.stdout.toString().trim(), '0')
  assert.equal((await c.exec('id -un', { become: { user: 'nobody' } })).stdout.toString(), 'nobody\n')
})
