// systemd lab hosts (`lab up --init systemd`): systemd 252 is each host's pid 1, sshd is its
// ssh.service, each host's systemd owns a cgroup tree of its own (a service stopped in one host
// leaves the others alone), and `lab down` leaves no link, mount, process or cgroup behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'
import { labDown, labExec, labStatus, labUp } from '../../src/lab/index.js'
import { labCgroups, machineHierarchies } from '../../src/lab/cgroup.js'
import { linkTag } from '../../src/lab/state.js'
import { ssh, uniqueLabName } from '../helpers/lab.js'
import { BIN, ROOT } from '../helpers/bin.js'

function links(name: string): string[] {
  const tag = linkTag(name)
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && (n === `k3sb-${tag}` || n.startsWith(`k3v${tag}-`)))
}

function procs(): Set<string> {
  const out = new Set<string>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (f[0] !== 'Z') out.add(`${d}:${f[19]}`)
    } catch {
      /* exited while listing */
    }
  }
  return out
}

const sshdPid = async (lab: Parameters<typeof labExec>[0], i: number) =>
  (await labExec(lab, i, ['systemctl', 'show', '-p', 'MainPID', '--value', 'ssh.service'])).stdout.trim()

test('systemd hosts: systemd is pid 1, sshd is ssh.service and is restarted by systemd, cgroups are per host, down leaves nothing', async () => {
  const name = uniqueLabName('sysd')
  const mounts = readFileSync('/proc/mounts', 'utf8')
  const before = procs()
  try {
    const lab = await labUp({ name, hosts: 2, init: 'systemd', owner: process.pid })
    assert.equal(lab.init, 'systemd')
    for (const h of lab.hosts) {
      assert.equal((await ssh(lab, h, 'cat /proc/1/comm; systemctl is-active ssh.service; hostname')).stdout, `systemd\nactive\n${h.name}\n`)
      // only what a fresh machine enables: services of packages installed on this machine stay off
      assert.equal((await labExec(lab, h, ['systemctl', 'is-enabled', 'postgresql.service'])).stdout.trim(), 'disabled')
    }
    const [status] = await labStatus(name)
    assert.equal(status.init, 'systemd')
    for (const h of status.hosts) {
      assert.equal(h.sshd, true)
      assert.ok(['running', 'degraded'].includes(h.system ?? ''), `${h.name}: systemctl is-system-running said ${h.system}`)
      assert.equal(h.system, 'running', `${h.name}: no unit failed at boot`)
    }

    // each systemd manages its own cgroup tree: restarting ssh.service on host 1 leaves host 2's sshd alone
    const other = await sshdPid(lab, 2)
    const old = await sshdPid(lab, 1)
    assert.equal((await labExec(lab, 1, ['systemctl', 'restart', 'ssh.service'])).code, 0)
    assert.notEqual(await sshdPid(lab, 1), old)
    assert.equal(await sshdPid(lab, 2), other, "host 2's sshd survived host 1's restart")
    assert.ok(labCgroups(name).length > 0, 'the hosts have cgroups of their own')

    // a killed sshd is started again by systemd (Restart=on-failure), and `lab up` keeps the host
    const pid1 = await sshdPid(lab, 1)
    await labExec(lab, 1, ['kill', '-KILL', pid1])
    let now = pid1
    for (let i = 0; i < 100 && (now === pid1 || now === '0'); i++) {
      await new Promise((r) => setTimeout(r, 100))
      now = await sshdPid(lab, 1)
    }
    assert.notEqual(now, pid1)
    assert.notEqual(now, '0')
    assert.equal((await ssh(lab, 1, 'true')).code, 0)
    const again = await labUp({ name, hosts: 2, init: 'systemd' })
    assert.deepEqual(
      again.hosts.map((h) => h.pid),
      lab.hosts.map((h) => h.pid),
      'same hosts: a restarted sshd is not a dead host',
    )
    await assert.rejects(labUp({ name, hosts: 2, init: 'none' }), /runs hosts with init systemd/)

    assert.equal(links(name).length, 3)
    await labDown(name)
    assert.deepEqual(links(name), [])
    assert.deepEqual(labCgroups(name), [], 'no cgroup of the lab is left')
    assert.equal(readFileSync('/proc/mounts', 'utf8'), mounts)
    const left = [...procs()].filter((p) => !before.has(p))
    // processes started meanwhile by other test files are not the lab's: none of them may be a systemd of ours
    for (const p of left) {
      const pid = p.split(':')[0]
      let cg = ''
      try {
        cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      } catch {
        continue
      }
      assert.ok(!cg.includes(`/k3sbook-lab/${name}/`), `process ${pid} of the lab survived`)
    }
    assert.equal(existsSync(lab.dir), false)
  } finally {
    await labDown(name)
  }
})

test("`lab down` run from another cgroup than `lab up` removes the hosts' cgroups where they were made", async () => {
  // the hosts' cgroups are made under the cgroup of the process that ran `lab up`; an operator's
  // `lab down` often runs from another one (another shell, a service, a test runner's group) and
  // once left them all behind, empty, under the first
  const name = uniqueLabName('sdcg')
  const h = machineHierarchies().find((x) => x.type === 'cgroup' && !x.options.split(',').includes('cpuset'))
  assert.ok(h, 'a cgroup v1 hierarchy without cpuset to start `lab down` in another cgroup')
  const other = join(h.mountPoint, h.own, `k3sbook-test-down-${process.pid}`)
  mkdirSync(other)
  try {
    await labUp({ name, hosts: 1, init: 'systemd', owner: process.pid })
    assert.ok(labCgroups(name).length > 0, 'the host has cgroups of its own')
    // the CLI enters the other cgroup first, then runs `lab down`
    const r = spawnSync('/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', other, process.execPath, BIN, 'lab', 'down', '--name', name], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.deepEqual(labCgroups(name), [], 'no cgroup of the lab is left where `lab up` made them')
    assert.deepEqual(
      readdirSync(other).filter((f) => f === 'k3sbook-lab'),
      [],
      'nothing made under the other cgroup',
    )
  } finally {
    await labDown(name)
    rmdirSync(other)
  }
})
