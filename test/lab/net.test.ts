// Pure parts of the lab: address ranges, conflict detection, generated files, preflight messages.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  candidateSubnets,
  capacity,
  conflictFor,
  formatCidr,
  hostAddress,
  overlaps,
  parseCidr,
  parseUsedRanges,
  requireSubnet,
  bridgeAddress,
} from '../../src/lab/net.js'
import { inventoryYaml, knownHosts, sshConfig, STOCK_BASHRC, STOCK_PROFILE } from '../../src/lab/files.js'
import { preflight } from '../../src/lab/index.js'
import { diskSubmounts } from '../../src/lab/host.js'
import { checkInotifyBudget, inotifyInstancesInUse, inotifyWatchLists } from '../../src/lab/limits.js'
import { bridgeName, checkName, vethName } from '../../src/lab/state.js'
import { LabError } from '../../src/errors.js'
import { checkNeighbourTable } from '../../scripts/lab-cluster.js'

test('CIDR parsing refuses host bits and bad prefixes', () => {
  assert.equal(formatCidr(parseCidr('172.31.5.0/24')!), '172.31.5.0/24')
  assert.equal(parseCidr('172.31.5.1/24'), undefined)
  assert.equal(parseCidr('172.31.5.0/33'), undefined)
  assert.equal(parseCidr('300.1.1.0/24'), undefined)
  assert.equal(formatCidr(parseCidr('10.0.0.7')!), '10.0.0.7/32')
  assert.throws(() => requireSubnet('10.1.2.3/24'), LabError)
  assert.throws(() => requireSubnet('10.1.2.0/30'), /too small/)
})

test('overlap and address plan', () => {
  const c = parseCidr('172.31.7.0/24')!
  assert.ok(overlaps(c, parseCidr('172.31.0.0/16')!))
  assert.ok(overlaps(c, parseCidr('172.31.7.200')!))
  assert.ok(!overlaps(c, parseCidr('172.31.8.0/24')!))
  assert.equal(bridgeAddress(c), '172.31.7.1')
  assert.equal(hostAddress(c, 1), '172.31.7.11')
  assert.equal(hostAddress(c, 20), '172.31.7.30')
  assert.equal(capacity(c), 244)
  assert.equal(capacity(parseCidr('10.9.0.0/16')!), 65524)
})

test('default subnets: a /24 in 172.31.0.0/16 per name, never 10.10.0.0/16, all 256 tried', () => {
  const a = candidateSubnets('lab')
  assert.equal(a.length, 256)
  assert.equal(new Set(a.map(formatCidr)).size, 256)
  for (const c of a) {
    assert.ok(overlaps(c, parseCidr('172.31.0.0/16')!))
    assert.ok(!overlaps(c, parseCidr('10.10.0.0/16')!))
  }
  assert.deepEqual(candidateSubnets('lab'), a, 'stable for a name')
})

test('conflicts come from interface addresses and routes, not default routes, and skip the own bridge', () => {
  const addrs = JSON.stringify([
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifname: 'k3sb-abc', addr_info: [{ family: 'inet', local: '172.31.9.1', prefixlen: 24 }] },
  ])
  const routes = JSON.stringify([
    { dst: 'default', dev: 'eth0' },
    { dst: '172.31.64.0/18', dev: 'wg0' },
    { dst: '192.0.2.0/24', dev: 'eth0' },
  ])
  const used = parseUsedRanges(addrs, routes)
  assert.match(conflictFor(parseCidr('127.0.5.0/24')!, used)!.what, /address 127\.0\.0\.1\/8 on lo/)
  assert.match(conflictFor(parseCidr('172.31.70.0/24')!, used)!.what, /route 172\.31\.64\.0\/18 dev wg0/)
  assert.equal(conflictFor(parseCidr('172.31.8.0/24')!, used), undefined)
  assert.ok(conflictFor(parseCidr('172.31.9.0/24')!, used))
  assert.equal(conflictFor(parseCidr('172.31.9.0/24')!, used, 'k3sb-abc'), undefined)
})

test('names: lab names are checked, interface names fit in 15 bytes', () => {
  assert.throws(() => checkName('Bad_Name'), /invalid lab name/)
  assert.throws(() => checkName('x'.repeat(25)), /invalid lab name/)
  const long = 'a'.repeat(24)
  assert.equal(checkName(long), long)
  assert.ok(bridgeName(long).length <= 15)
  assert.ok(vethName(long, 9999).length <= 15)
  assert.notEqual(bridgeName('one'), bridgeName('two'))
})

test('inventory is Ansible YAML with the lab group, key and strict host key checking', () => {
  const lab = { name: 'lab', keyPath: '/l/id_ed25519', knownHostsPath: '/l/known_hosts' }
  const hosts = [
    { name: 'lab-1', address: '172.31.1.11' },
    { name: 'lab-2', address: '172.31.1.12' },
  ]
  const inv = parse(inventoryYaml(lab, hosts))
  const g = inv.all.children.lab
  assert.deepEqual(g.hosts, { 'lab-1': { ansible_host: '172.31.1.11' }, 'lab-2': { ansible_host: '172.31.1.12' } })
  assert.equal(g.vars.ansible_user, 'root')
  assert.equal(g.vars.ansible_ssh_private_key_file, '/l/id_ed25519')
  assert.match(g.vars.ansible_ssh_common_args, /-o UserKnownHostsFile=\/l\/known_hosts -o StrictHostKeyChecking=yes/)
  assert.equal(knownHosts(hosts, 'ssh-ed25519 AAAAkey comment\n'), '172.31.1.11,lab-1 ssh-ed25519 AAAAkey\n172.31.1.12,lab-2 ssh-ed25519 AAAAkey\n')
  const cfg = sshConfig(lab, hosts)
  assert.match(cfg, /Host lab-1\n {2}HostName 172\.31\.1\.11\n/)
  assert.match(cfg, /StrictHostKeyChecking yes/)
})

test("the hosts' root profile is Debian's stock one", () => {
  assert.equal(STOCK_BASHRC, readFileSync('/usr/share/base-files/dot.bashrc', 'utf8'))
  assert.equal(STOCK_PROFILE, readFileSync('/usr/share/base-files/dot.profile', 'utf8'))
})

test('preflight: clear errors for not root, missing tools, no overlayfs', () => {
  assert.throws(
    () => preflight({ uid: 1000 }),
    (e: LabError) => e instanceof LabError && /must run as root/.test(e.message) && /sudo/.test(e.hint!),
  )
  assert.throws(
    () => preflight({ uid: 0, path: '/nonexistent' }),
    (e: LabError) => /`unshare`/.test(e.message) && /util-linux/.test(e.hint!),
  )
  assert.throws(() => preflight({ uid: 0, filesystems: 'nodev\ttmpfs\n' }), /no overlay filesystem/)
  preflight({ uid: 0 })
})

test('disk filesystems mounted below / get their own overlay in hosts; virtual trees do not', () => {
  const mi = [
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '22 27 0:21 / /proc rw - proc proc rw',
    '30 27 254:1 / /var rw - xfs /dev/vdb rw',
    '31 30 254:2 / /var/lib/docker rw - btrfs /dev/vdc rw',
    '32 27 0:30 / /run rw - tmpfs tmpfs rw',
    '33 32 254:3 / /run/media/x rw - ext4 /dev/sdz rw',
    '34 27 0:40 / /mnt/tools ro - tmpfs none ro',
    '35 27 8:1 / /boot/efi rw - vfat /dev/sda1 rw',
    '36 27 254:4 / /home rw - ext4 /dev/vdd rw',
  ].join('\n')
  assert.deepEqual(diskSubmounts(mi), ['/home', '/var', '/var/lib/docker'])
})

test('inotify budget for systemd hosts: refused only when the new hosts cannot all get their share, saying what to raise', () => {
  checkInotifyBudget({ limit: 128, inUse: 20, newHosts: 20 })
  checkInotifyBudget({ limit: 128, inUse: 28, newHosts: 20 })
  assert.throws(
    () => checkInotifyBudget({ limit: 128, inUse: 29, newHosts: 20 }),
    (e: LabError) => {
      assert.equal(
        e.message,
        "20 systemd hosts need at least 100 inotify instances (5 for each host's systemd), and root already holds 29 of the 128 that fs.inotify.max_user_instances allows: systemd would fail to start on the hosts past the limit",
      )
      assert.equal(e.hint, 'raise it machine-wide with `sysctl -w fs.inotify.max_user_instances=384`, or start fewer systemd hosts')
      return true
    },
  )
  assert.throws(
    () => checkInotifyBudget({ limit: 128, inUse: 0, newHosts: 150 }),
    (e: LabError) => /^150 systemd hosts need at least 750 .*\), more than the 128 that /.test(e.message) && /max_user_instances=1408`/.test(e.hint ?? ''),
  )
})

test('inotify instances in use: each distinct watch list once, descriptors that are not inotify ignored', async () => {
  const proc = mkdtempSync(join(tmpdir(), 'k3sbook-proc-'))
  try {
    const fd = (pid: string, n: number, link: string, info: string) => {
      mkdirSync(join(proc, pid, 'fd'), { recursive: true })
      mkdirSync(join(proc, pid, 'fdinfo'), { recursive: true })
      symlinkSync(link, join(proc, pid, 'fd', String(n)))
      writeFileSync(join(proc, pid, 'fdinfo', String(n)), info)
    }
    const w = (ino: string) => `pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\ninotify wd:1 ino:${ino} sdev:2a mask:fc6 ignored_mask:0\n`
    fd('1', 3, 'anon_inode:inotify', w('a1') + 'inotify wd:2 ino:a2 sdev:2a mask:fc6 ignored_mask:0\n')
    fd('1', 4, 'anon_inode:inotify', w('b1'))
    fd('1', 5, 'pipe:[123]', w('c1'))
    fd('2', 3, 'anon_inode:inotify', w('b1')) // inherited from pid 1: the same instance
    fd('2', 4, 'anon_inode:inotify', 'pos:\t0\nflags:\t02004000\n') // watches nothing
    fd('3', 7, 'anon_inode:inotify', 'pos:\t0\nflags:\t02000000\n')
    mkdirSync(join(proc, 'self'))
    mkdirSync(join(proc, '4')) // a kernel thread: no fd folder to read
    assert.equal(await inotifyInstancesInUse(proc), 3)
  } finally {
    rmSync(proc, { recursive: true, force: true })
  }
})

test("inotify instances in use on this machine: a child's three instances are among them", async () => {
  const dirs = [1, 2, 3].map(() => mkdtempSync(join(tmpdir(), 'k3sbook-watched-')))
  const py = `import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
for d in sys.argv[1:]:
    fd = libc.inotify_init()
    assert fd >= 0 and libc.inotify_add_watch(fd, d.encode(), 0x100) >= 0
print('ready', flush=True)
sys.stdin.read()
`
  const child = spawn('python3', ['-c', py, ...dirs], { stdio: ['pipe', 'pipe', 'inherit'] })
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve())
      child.once('exit', (c) => reject(new Error(`python3 exited ${c}`)))
    })
    const lists = [...(await inotifyWatchLists())]
    for (const d of dirs) {
      const ino = statSync(d).ino.toString(16)
      assert.ok(
        lists.some((l) => l.includes(` ino:${ino} `)),
        `a watch on ${d} (inode ${ino}) among ${lists.length} lists`,
      )
    }
  } finally {
    child.stdin.end()
    child.kill()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
})

test("a lab cluster's tinc mesh must fit the kernel's ARP table: refused past gc_thresh3, saying what to raise", () => {
  checkNeighbourTable(4, 1024)
  checkNeighbourTable(22, 1024) // 968 entries
  assert.throws(
    () => checkNeighbourTable(23, 1024),
    (e: LabError) => {
      assert.equal(
        e.message,
        'a tinc mesh of 23 nodes needs about 1058 ARP entries (two per pair of nodes: over tinc and on the lab link), more than the 1024 that net.ipv4.neigh.default.gc_thresh3 allows all network namespaces together: the mesh could not be complete',
      )
      assert.equal(
        e.hint,
        'raise it machine-wide with `sysctl -w net.ipv4.neigh.default.gc_thresh3=2048 net.ipv4.neigh.default.gc_thresh2=1024`, or use fewer hosts',
      )
      return true
    },
  )
  // 30 hosts failed with the default table (1,027 entries held when "No buffer space available")
  assert.throws(() => checkNeighbourTable(30, 1024))
  assert.throws(
    () => checkNeighbourTable(150, 1024),
    (e: LabError) => /gc_thresh3=67584 /.test(e.hint ?? ''),
  )
  checkNeighbourTable(150, 45000)
})
