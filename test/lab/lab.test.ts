// The lab for real (root): hosts reached with the OpenSSH client and ansible-playbook, isolated
// filesystems, idempotent up, two labs side by side, clean down (snapshots), recovery after crashes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findRunningLab, labDown, labExec, labStatus, labUp, setHostLink, startSshd, stopSshd, type LabInfo } from '../../src/lab/index.js'
import { linkTag, readState } from '../../src/lab/state.js'
import { STOCK_BASHRC } from '../../src/lab/files.js'
import { LabError } from '../../src/errors.js'
import { ssh, startLab, uniqueLabName, useLab } from '../helpers/lab.js'

interface Snapshot {
  netns: string[]
  links: string[]
  mounts: string[]
  procs: Set<string>
}

/** Links are filtered to the lab's own names: other test files may run labs of their own meanwhile. */
function snapshot(labName: string): Snapshot {
  const tag = linkTag(labName)
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && (n === `k3sb-${tag}` || n.startsWith(`k3v${tag}-`)))
  const procs = new Set<string>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (f[0] !== 'Z') procs.add(`${d}:${f[19]}`)
    } catch {
      /* exited while listing */
    }
  }
  return {
    netns: spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort(),
    links: links.sort(),
    mounts: readFileSync('/proc/mounts', 'utf8').split('\n').filter(Boolean).sort(),
    procs,
  }
}

function netnsOf(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid.split(':')[0]}/ns/net`)
  } catch {
    return undefined
  }
}

function probe(host: string, timeoutMs = 5000): Promise<'open' | 'refused' | 'timeout' | string> {
  return new Promise((resolve) => {
    const s = connect({ host, port: 22, timeout: timeoutMs })
    s.once('connect', () => {
      s.destroy()
      resolve('open')
    })
    s.once('timeout', () => {
      s.destroy()
      resolve('timeout')
    })
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)))
  })
}

describe('a lab of 3 hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 3, tag: 'three' })
  })
  after(() => lab.stop())

  test('real ssh reaches each host by address with StrictHostKeyChecking=yes; hostname is its own', async () => {
    assert.equal(lab.hosts.length, 3)
    for (const h of lab.hosts) {
      const r = await ssh(lab, h, 'hostname; cat /etc/hostname; id -u')
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `${h.name}\n${h.name}\n0\n`)
    }
    // a known_hosts without the host is refused: the check is really on
    const empty = join(mkdtempSync(join(tmpdir(), 'k3sbook-kh-')), 'known_hosts')
    writeFileSync(empty, '')
    const r = spawnSync(
      'ssh',
      [
        '-i',
        lab.keyPath,
        '-o',
        `UserKnownHostsFile=${empty}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        `root@${lab.hosts[0].address}`,
        'true',
      ],
      { encoding: 'utf8' },
    )
    assert.equal(r.status, 255)
    assert.match(r.stderr, /host key verification failed/i)
    // and the lab's ssh_config works as printed by `lab up`
    const viaConfig = spawnSync('ssh', ['-F', lab.sshConfigPath, lab.hosts[2].name, 'hostname'], { encoding: 'utf8' })
    assert.equal(viaConfig.stdout, `${lab.hosts[2].name}\n`, viaConfig.stderr)
  })

  test('a file written on host 1 is absent on host 2 and on the machine; /tmp and /run are per host', async () => {
    const marker = `/root/k3sbook-lab-marker-${process.pid}`
    assert.equal((await ssh(lab, 1, `echo one > ${marker} && echo t > /tmp/m-${process.pid} && echo r > /run/m-${process.pid}`)).code, 0)
    assert.equal((await ssh(lab, 1, `cat ${marker} /tmp/m-${process.pid} /run/m-${process.pid}`)).stdout, 'one\nt\nr\n')
    const other = await ssh(lab, 2, `ls ${marker} /tmp/m-${process.pid} /run/m-${process.pid} 2>&1; echo rc=$?`)
    assert.match(other.stdout, /No such file.*\n.*No such file.*\n.*No such file.*\nrc=2/)
    assert.equal(existsSync(marker), false)
    assert.equal(existsSync(`/tmp/m-${process.pid}`), false)
    assert.equal(existsSync(`/run/m-${process.pid}`), false)
    // /var/run is Debian's symlink to the host's own /run
    assert.equal((await ssh(lab, 1, `readlink /var/run; cat /var/run/m-${process.pid}`)).stdout, '/run\nr\n')
  })

  test('ansible-playbook runs ping, raw and command against the lab inventory unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-ansible-'))
    const pb = join(dir, 'ping.yml')
    writeFileSync(
      pb,
      `- hosts: lab
  gather_facts: false
  tasks:
    - ping:
    - raw: hostname
      register: r
    - command: cat /etc/hostname
      register: c
    - assert:
        that:
          - r.stdout | trim == inventory_hostname
          - c.stdout == inventory_hostname
`,
    )
    const r = spawnSync('ansible-playbook', ['-i', lab.inventoryPath, pb], {
      encoding: 'utf8',
      // no ControlPersist master left running after the playbook
      env: { ...process.env, ANSIBLE_SSH_ARGS: '-o ControlMaster=no', ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: dir, ANSIBLE_HOME: dir },
      timeout: 120_000,
    })
    rmSync(dir, { recursive: true, force: true })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    for (const h of lab.hosts) assert.match(r.stdout, new RegExp(`${h.name}\\s+: ok=4 .*unreachable=0\\s+failed=0`))
  })

  test('hosts have /dev/net/tun and /dev/fuse, a stock root profile, and no route beyond the bridge', async () => {
    const r = await ssh(
      lab,
      1,
      'ip tuntap add mode tun dev k3tun0 && ip -o link show k3tun0 >/dev/null && echo tun-ok; ' +
        'exec 3<>/dev/fuse && echo fuse-ok; ' +
        'ping -c1 -W1 192.0.2.123 >/dev/null 2>&1 || echo no-route; ' +
        `ping -c1 -W2 ${lab.hosts[1].name} >/dev/null && echo peer-ok; ` +
        'ls -1 /var/lib/k3sbook/labs 2>/dev/null | wc -l; cat /root/.bashrc',
    )
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `tun-ok\nfuse-ok\nno-route\npeer-ok\n0\n${STOCK_BASHRC}`)
    // the tun device exists only in host 1's network namespace
    assert.match((await ssh(lab, 2, 'ip -o link show k3tun0 2>&1; true')).stdout, /does not exist/)
  })

  test('labExec runs inside a host without ssh; ps there sees only the host', async () => {
    const r = await labExec(lab, lab.hosts[1], ['sh', '-c', 'hostname; ps -e -o comm= | sort -u'])
    assert.equal(r.code, 0, r.stderr)
    const [name, ...procs] = r.stdout.trim().split('\n')
    assert.equal(name, lab.hosts[1].name)
    assert.deepEqual(procs.filter((p) => !['ps', 'sh', 'sort'].includes(p)).sort(), ['k3sbook-lab-ini', 'sshd'])
  })

  test('fault helpers: link down, silent drop, sshd stopped, each restored', async () => {
    const a = lab.hosts[2].address
    assert.equal(await probe(a), 'open')
    await setHostLink(lab, 3, 'drop')
    assert.equal(await probe(a, 1500), 'timeout')
    await setHostLink(lab, 3, 'up')
    assert.equal(await probe(a), 'open')
    await setHostLink(lab, 3, 'down')
    assert.notEqual(await probe(a, 1500), 'open')
    await setHostLink(lab, 3, 'up')
    assert.equal(await probe(a), 'open')
    await stopSshd(lab, 3)
    assert.equal(await probe(a), 'refused')
    await startSshd(lab, 3)
    assert.equal((await ssh(lab, 3, 'hostname')).stdout, `${lab.hosts[2].name}\n`)
  })

  test('findRunningLab and labStatus see the lab', async () => {
    assert.equal(findRunningLab(lab.name)?.inventoryPath, lab.inventoryPath)
    const [st] = await labStatus(lab.name)
    assert.equal(st.bridgeUp, true)
    assert.deepEqual(
      st.hosts.map((h) => [h.name, h.running, h.sshd]),
      lab.hosts.map((h) => [h.name, true, true]),
    )
  })
})

test('lab down leaves ip netns list, ip link, /proc/mounts and the process list as before', async () => {
  const name = uniqueLabName('snap')
  const before = snapshot(name)
  const lab = await labUp({ name, hosts: 3 })
  try {
    const during = snapshot(name)
    const st = readState(name)!
    const nsLinks = new Set(st.hosts.map((h) => `net:[${h.netns}]`))
    const labProcs = [...during.procs].filter((p) => !before.procs.has(p) && nsLinks.has(netnsOf(p) ?? ''))
    // the snapshot sees the lab while it is up (so an empty diff afterwards means something)
    assert.equal(during.links.length, 4)
    assert.ok(labProcs.length >= 3 * 3, `unshare + init + sshd per host, got ${labProcs.length}`)
    // hosts' mounts are private to their namespaces: the machine's mount table never changes
    assert.deepEqual(during.mounts, before.mounts)
    assert.equal((await ssh(lab, 1, 'true')).code, 0)
    // clock ticks since boot (the unit of a process's start time in /proc/PID/stat), rounded up
    const downTicks = Math.ceil(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100) + 1
    await labDown(name)
    const afterDown = snapshot(name)
    assert.deepEqual(afterDown.netns, before.netns)
    assert.deepEqual(afterDown.links, before.links)
    assert.deepEqual(afterDown.mounts, before.mounts)
    // A network namespace's inode number is reused as soon as it is freed, so a process of another
    // lab started meanwhile (tests run side by side) can sit in a namespace with one of these
    // numbers: a leftover is a process seen in the lab, or one in such a namespace that started
    // before `lab down` did (a reused namespace is only made after this lab's is gone).
    const left = [...afterDown.procs].filter(
      (p) => !before.procs.has(p) && (labProcs.includes(p) || (nsLinks.has(netnsOf(p) ?? '') && Number(p.split(':')[1]) <= downTicks)),
    )
    assert.deepEqual(left, [])
    assert.equal(existsSync(lab.dir), false)
  } finally {
    await labDown(name)
  }
})

test('lab up is idempotent and grows the lab; it remakes a host that died', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'idem' })
  const again = await labUp({ name: lab.name, hosts: 2 })
  assert.deepEqual(again.hosts, lab.hosts, 'same hosts, same pids')
  assert.equal(readFileSync(again.inventoryPath, 'utf8'), readFileSync(lab.inventoryPath, 'utf8'))

  const grown = await labUp({ name: lab.name, hosts: 4 })
  assert.deepEqual(grown.hosts.slice(0, 2), lab.hosts)
  assert.equal(grown.hosts.length, 4)
  for (const h of grown.hosts) assert.equal((await ssh(grown, h, 'hostname')).stdout, `${h.name}\n`)
  // the first hosts learn the new names
  assert.match((await ssh(grown, 1, 'getent hosts ' + grown.hosts[3].name)).stdout, new RegExp(grown.hosts[3].address.replace(/\./g, '\\.')))
  // asking for fewer keeps what is there
  assert.equal((await labUp({ name: lab.name, hosts: 1 })).hosts.length, 4)

  process.kill(grown.hosts[1].pid, 'SIGKILL')
  const healed = await labUp({ name: lab.name, hosts: 4 })
  assert.notEqual(healed.hosts[1].pid, grown.hosts[1].pid)
  assert.equal(healed.hosts[0].pid, grown.hosts[0].pid)
  assert.equal((await ssh(healed, 2, 'hostname')).stdout, `${healed.hosts[1].name}\n`)
})

test('a lab whose processes all died is still removed completely', async () => {
  const name = uniqueLabName('dead')
  const before = snapshot(name)
  const lab = await labUp({ name, hosts: 2 })
  for (const h of lab.hosts) process.kill(h.pid, 'SIGKILL')
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(findRunningLab(name), undefined)
  assert.equal(await labDown(name), true)
  assert.deepEqual(snapshot(name).links, before.links)
  assert.equal(existsSync(lab.dir), false)
  assert.equal(await labDown(name), false, 'nothing left to remove')
})

test('two labs run side by side on their own ranges and bridges', async (t) => {
  const [a, b] = await Promise.all([useLab(t, { hosts: 2, tag: 'left' }), useLab(t, { hosts: 2, tag: 'right' })])
  assert.notEqual(a.subnet, b.subnet)
  assert.notEqual(a.bridge, b.bridge)
  assert.equal((await ssh(a, 1, 'hostname')).stdout, `${a.hosts[0].name}\n`)
  assert.equal((await ssh(b, 2, 'hostname')).stdout, `${b.hosts[1].name}\n`)
  // b's key is not authorized on a's hosts
  const cross = spawnSync(
    'ssh',
    [
      '-i',
      b.keyPath,
      '-o',
      `UserKnownHostsFile=${a.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      `root@${a.hosts[0].address}`,
      'true',
    ],
    { encoding: 'utf8' },
  )
  assert.equal(cross.status, 255)
  await labDown(a.name)
  assert.equal((await ssh(b, 1, 'hostname')).stdout, `${b.hosts[0].name}\n`)
})

test('an address range in use is refused with a clear error, and nothing is left half-made', async (t) => {
  const name = uniqueLabName('clash')
  const before = snapshot(name)
  await assert.rejects(labUp({ name, hosts: 2, subnet: '127.0.0.0/24' }), (e: LabError) => {
    assert.ok(e instanceof LabError)
    assert.match(e.message, /address range 127\.0\.0\.0\/24 is already in use on this machine: address 127\.0\.0\.1\/8 on lo/)
    assert.match(e.hint!, /--subnet/)
    return true
  })
  const other = await useLab(t, { hosts: 1, tag: 'held' })
  await assert.rejects(labUp({ name, hosts: 1, subnet: other.subnet }), new RegExp(`${other.subnet.replace(/\./g, '\\.')} is already in use.*${other.bridge}`))
  assert.deepEqual(snapshot(name).links, before.links)
  assert.equal(existsSync(join(other.dir, '..', name)), false)
  assert.equal(readState(name), undefined)
})
