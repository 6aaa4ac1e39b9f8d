// `k3sbook lab …` as a user runs it: node bin/k3sbook.js (dist/ when built, else tsx).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { labDown, labsBase } from '../../src/lab/index.js'
import { linkTag } from '../../src/lab/state.js'
import { uniqueLabName } from '../helpers/lab.js'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'k3sbook.js')

function k3sbook(args: string[], opts: { env?: NodeJS.ProcessEnv; prefix?: string[]; bin?: string } = {}) {
  const argv = [...(opts.prefix ?? []), process.execPath, opts.bin ?? BIN, ...args]
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, timeout: 120_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function labLinks(name: string): string[] {
  const tag = linkTag(name)
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && (n === `k3sb-${tag}` || n.startsWith(`k3v${tag}-`)))
}

/** Live processes whose command line names the lab's directory (every host's unshare does). */
function labProcesses(name: string): number[] {
  const needle = `${join(labsBase(), name)}/`
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d))
    } catch {
      /* gone */
    }
  }
  return out
}

test('lab up / status / ssh / exec / down from the command line', async (t) => {
  const name = uniqueLabName('cli')
  t.after(() => labDown(name))
  const up = k3sbook(['lab', 'up', '2', '--name', name, '--json'])
  assert.equal(up.code, 0, up.stderr)
  const info = JSON.parse(up.stdout)
  assert.deepEqual(
    info.hosts.map((h: { name: string }) => h.name),
    [`${name}-1`, `${name}-2`],
  )
  assert.ok(existsSync(info.inventoryPath))

  const again = k3sbook(['lab', 'up', '2', '--name', name])
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout, new RegExp(`^lab ${name}: 2 hosts on ${info.bridge} ${info.subnet.replace(/\./g, '\\.')}`))
  assert.match(again.stdout, new RegExp(`inventory\\s+${info.inventoryPath}`))

  const st = k3sbook(['lab', 'status', '--name', name])
  assert.equal(st.code, 0, st.stderr)
  assert.match(st.stdout, new RegExp(`lab ${name}: 2/2 hosts up`))
  assert.match(st.stdout, new RegExp(`${name}-2  ${info.hosts[1].address.replace(/\./g, '\\.')}  pid \\d+  sshd up`))

  const sshr = k3sbook(['lab', 'ssh', '--name', name, `${name}-2`, 'hostname'])
  assert.equal(sshr.code, 0, sshr.stderr)
  assert.equal(sshr.stdout, `${name}-2\n`)

  const ex = k3sbook(['lab', 'exec', '--name', name, '1', 'cat', '/etc/hostname'])
  assert.equal(ex.stdout, `${name}-1\n`, ex.stderr)

  const down = k3sbook(['lab', 'down', '--name', name])
  assert.equal(down.code, 0, down.stderr)
  assert.match(down.stdout, new RegExp(`lab ${name}: removed`))
  assert.deepEqual(labLinks(name), [])
  assert.equal(existsSync(info.dir), false)
  assert.match(k3sbook(['lab', 'status', '--name', name]).stdout, /no lab named/)
})

test('lab errors are clear and exit 5: not root, no unshare, range in use, bad count, past the inotify limit', () => {
  const name = uniqueLabName('err')
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
  // a checkout under a 0700 folder (/root/k3sbook, a mktemp -d) is unreadable to nobody: run a copy
  // of the CLI (bin/ and the built dist/) from a folder nobody can read instead
  let bin = BIN
  let copy: string | undefined
  if (spawnSync(asNobody[0], [...asNobody.slice(1), 'test', '-r', BIN]).status !== 0) {
    copy = mkdtempSync(join(tmpdir(), 'k3sbook-cli-'))
    chmodSync(copy, 0o755)
    for (const d of ['bin', 'dist']) cpSync(join(ROOT, d), join(copy, d), { recursive: true })
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'))
    bin = join(copy, 'bin', 'k3sbook.js')
  }
  const notRoot = k3sbook(['lab', 'up', '1', '--name', name], { prefix: asNobody, bin })
  if (copy) rmSync(copy, { recursive: true, force: true })
  assert.equal(notRoot.code, 5, notRoot.stderr)
  assert.match(notRoot.stderr, /^error: the lab must run as root .*sudo/m)

  const noTools = k3sbook(['lab', 'up', '1', '--name', name], { env: { ...process.env, PATH: '/nonexistent' } })
  assert.equal(noTools.code, 5)
  assert.match(noTools.stderr, /^error: the lab needs `unshare`.*not found in PATH \(install util-linux/m)

  const inUse = k3sbook(['lab', 'up', '1', '--name', name, '--subnet', '127.0.0.0/24'])
  assert.equal(inUse.code, 5)
  assert.match(
    inUse.stderr,
    /^error: address range 127\.0\.0\.0\/24 is already in use on this machine: address 127\.0\.0\.1\/8 on lo \(choose another range with --subnet\)/m,
  )

  const zero = k3sbook(['lab', 'up', '0', '--name', name])
  assert.equal(zero.code, 5)
  assert.match(zero.stderr, /host count must be a whole number/)

  // more systemd hosts than root's inotify instances allow (the kernel's per-user limit, 128 by
  // default): refused before anything is made, saying what to raise
  const limit = Number(readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8'))
  const many = Math.floor(limit / 5) + 1
  const tooMany = k3sbook(['lab', 'up', String(many), '--name', name, '--init', 'systemd'])
  assert.equal(tooMany.code, 5, tooMany.stderr)
  assert.match(
    tooMany.stderr,
    new RegExp(
      `^error: ${many} systemd hosts need at least ${many * 5} inotify instances .*the ${limit} that fs\\.inotify\\.max_user_instances allows: .*\\(raise it machine-wide with \`sysctl -w fs\\.inotify\\.max_user_instances=\\d+\``,
      'm',
    ),
  )

  assert.deepEqual(labLinks(name), [])
  assert.equal(existsSync(join(labsBase(), name)), false)
})

test('a `lab up` killed half-way is cleaned up by `lab down`', async (t) => {
  const name = uniqueLabName('crash')
  t.after(() => labDown(name))
  const child = spawn(process.execPath, [BIN, 'lab', 'up', '12', '--name', name], { stdio: 'ignore' })
  // kill it once some hosts exist but (most likely) not all: whatever the moment, down must clean up
  const until = Date.now() + 30_000
  while (labProcesses(name).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5))
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
  assert.ok(labLinks(name).length > 0, 'the killed run had made links')

  const down = k3sbook(['lab', 'down', '--name', name])
  assert.equal(down.code, 0, down.stderr)
  assert.deepEqual(labLinks(name), [])
  assert.deepEqual(labProcesses(name), [])
  assert.equal(existsSync(join(labsBase(), name)), false)
})
