// The provisioning modules on real lab hosts over SSH (root; each host has its own network, mount,
// UTS and pid namespaces and an overlay root, so packages, users, mounts and host names change only
// inside the host). Per module the four tests: fresh → change; applied → ok; plan changes
// nothing; check changes nothing. Kernel modules are never loaded: lab hosts share this
// machine's kernel, so modprobe is planned, and applied only where no modprobe runs.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openConnection, type Connection } from '../../../src/connection/index.js'
import { Overlay } from '../../../src/executor/reader.js'
import type { ControllerFiles, Module } from '../../../src/modules/types.js'
import type { Vars } from '../../../src/model.js'
import { aptModule } from '../../../src/modules/apt.js'
import { serviceModule } from '../../../src/modules/service.js'
import { getUrlModule, resetControllerDownloads } from '../../../src/modules/get_url.js'
import { hostnameModule } from '../../../src/modules/hostname.js'
import { userModule } from '../../../src/modules/user.js'
import { groupModule } from '../../../src/modules/group.js'
import { modprobeModule } from '../../../src/modules/modprobe.js'
import { mountModule } from '../../../src/modules/mount.js'
import { sysctlModule } from '../../../src/modules/sysctl.js'
import { waitForModule } from '../../../src/modules/wait_for.js'
import { uriModule } from '../../../src/modules/uri.js'
import { unarchiveModule } from '../../../src/modules/unarchive.js'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { runModule, type RunOpts } from './harness.js'

let lab: (LabInfo & { stop(): Promise<void> }) | undefined
const conns: Connection[] = []
let scratch: string

async function sh(c: Connection, script: string): Promise<string> {
  const r = await c.exec(script)
  if (r.rc !== 0) throw new Error(`${script}: exit ${r.rc}: ${r.stderr.toString()}`)
  return r.stdout.toString()
}

/** fresh → change (plan and check change nothing, one round trip where asked); applied → ok. */
async function fourWay(c: Connection, mod: Module<any>, args: Vars, fingerprint: () => Promise<string>, o: RunOpts & { trips?: number } = {}) {
  const fresh = await fingerprint()
  const t0 = c.stats.roundTrips
  const check = await runModule(mod, args, c, { ...o, check: true })
  assert.equal(check.plan.status, 'change', JSON.stringify(check.plan))
  if (o.trips !== undefined) assert.equal(c.stats.roundTrips - t0, o.trips, 'plan round trips')
  assert.equal(await fingerprint(), fresh, 'plan (check mode) changed nothing')
  const run = await runModule(mod, args, c, o)
  assert.equal(run.failed, undefined, JSON.stringify(run.failed))
  assert.notEqual(await fingerprint(), fresh, 'apply changed the host')
  const again = await runModule(mod, args, c, { ...o, check: true })
  assert.equal(again.plan.status, 'ok', JSON.stringify(again.plan))
  return { check, run, again }
}

function serve(host: string, files: Record<string, Buffer | string>): Promise<{ server: Server; base: string; hits: Record<string, number> }> {
  const hits: Record<string, number> = {}
  const server = createServer((req, res) => {
    hits[req.url!] = (hits[req.url!] ?? 0) + 1
    const body = files[req.url!]
    if (body === undefined) return res.writeHead(404).end('not found')
    res.writeHead(200, { 'content-type': req.url!.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(body)
  })
  return new Promise((resolve) => server.listen(0, host, () => resolve({ server, base: `http://${host}:${(server.address() as any).port}`, hits })))
}

describe('provisioning modules on lab hosts', () => {
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'prov' })
    for (const h of lab.hosts) {
      const c = openConnection(
        h.name,
        { host: h.address, user: 'root', privateKeyFile: lab.keyPath, connection: 'ssh' },
        { knownHostsFile: lab.knownHostsPath, sshConfigFile: false, systemSshConfigFile: false },
      )
      await c.connect()
      conns.push(c)
    }
    scratch = await mkdtemp(join(tmpdir(), 'k3sbook-provlab-'))
  })
  after(async () => {
    try {
      for (const c of conns) await c.close()
    } finally {
      await lab?.stop()
      if (scratch) await rm(scratch, { recursive: true, force: true })
    }
  })

  test("apt: remove an installed package in the host overlay; present is ok; a package the machine lacks fails with apt's reason and changes nothing", async () => {
    const c = conns[0]
    const status = (p: string) => sh(c, `dpkg-query -W -f='\${db:Status-Abbrev}' ${p} 2>/dev/null || echo none`)
    const machineBefore = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'tmux']).toString()
    await fourWay(c, aptModule, { name: 'tmux', state: 'absent' }, () => status('tmux'), { trips: 1 })
    assert.notEqual((await status('tmux')).trim(), 'ii')
    assert.equal(execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'tmux']).toString(), machineBefore, 'the machine keeps tmux')
    assert.equal((await runModule(aptModule, { name: 'iputils-ping', state: 'present' }, c)).plan.status, 'ok')
    // `package`'s use: auto or apt is apt (willshersystems.sshd's tests pass it); any other manager fails, naming it
    assert.equal((await runModule(aptModule, { name: 'iputils-ping', state: 'present', use: 'auto' }, c)).plan.status, 'ok')
    assert.equal((await runModule(aptModule, { name: 'iputils-ping', use: 'apt' }, c)).plan.status, 'ok')
    const other = (await runModule(aptModule, { name: 'iputils-ping', use: 'ansible.posix.rhel_rpm_ostree' }, c)).plan
    assert.equal(other.status, 'fail')
    assert.match((other as { msg: string }).msg, /use=ansible\.posix\.rhel_rpm_ostree: k3sbook manages Debian packages with apt only/)

    const fp = async () => `${await status('cowsay')} ${await status('iputils-ping')} ${await sh(c, 'ls /usr/games 2>/dev/null; md5sum /var/lib/dpkg/status')}`
    const before = await fp()
    const plan = await runModule(aptModule, { name: ['cowsay', 'iputils-ping'], state: 'present' }, c, { check: true })
    assert.equal(plan.plan.status, 'change')
    assert.deepEqual(
      (plan.plan as any).changes.map((x: any) => x.summary),
      ['install cowsay'],
    )
    const r = await runModule(aptModule, { name: ['cowsay', 'iputils-ping'], state: 'present', lock_timeout: 5 }, c)
    assert.ok(r.failed, 'installing without a network fails')
    assert.match(
      r.failed!.stderr + String(r.result.stdout),
      /E: |Unable to locate|Could not resolve|Temporary failure|Failed to fetch/,
      "apt's own reason is shown",
    )
    assert.equal(await fp(), before, 'nothing else changed')
  })

  test("service: tinc's SysV init script started and stopped in the lab host (pattern, as the script has no status)", async () => {
    const c = conns[0]
    await sh(
      c,
      `set -e
mkdir -p /etc/tinc/labnet/hosts
printf 'Name = n1\\nDeviceType = dummy\\nPort = 6655\\nAddressFamily = ipv4\\n' > /etc/tinc/labnet/tinc.conf
printf 'Subnet = 10.99.0.1/32\\n' > /etc/tinc/labnet/hosts/n1
tincd -n labnet -K1024 </dev/null >/dev/null 2>&1
echo labnet >> /etc/tinc/nets.boot`,
    )
    const running = () => sh(c, 'pgrep -x tincd >/dev/null && echo running || echo stopped')
    const args = { name: 'tinc', state: 'started', pattern: 'tincd -n labnet' }
    await fourWay(c, serviceModule, args, running, { trips: 1 })
    assert.equal((await running()).trim(), 'running')
    assert.match(await sh(c, 'ss -ltn'), /:6655\b/, 'the daemon listens inside the lab host')
    await fourWay(c, serviceModule, { ...args, state: 'stopped' }, running)
    assert.equal((await running()).trim(), 'stopped')
    const r = await runModule(serviceModule, { name: 'no-such-service', state: 'started' }, c)
    assert.equal(r.plan.status, 'fail')
  })

  test('get_url download: controller from a server on the lab bridge: one request for two hosts, checksum match, mismatch keeps the old file', async () => {
    resetControllerDownloads()
    const payload = Buffer.from('#!/bin/sh\necho k3s v1.30\n'.repeat(2000))
    const sha = createHash('sha256').update(payload).digest('hex')
    const { server, base, hits } = await serve(lab!.bridgeAddress, { '/k3s': payload })
    try {
      const args = { url: `${base}/k3s`, dest: '/usr/local/bin/k3s', mode: '0755', checksum: `sha256:${sha}`, download: 'controller' }
      const fp = (c: Connection) => () => sh(c, 'sha256sum /usr/local/bin/k3s 2>/dev/null; stat -c %a /usr/local/bin/k3s 2>/dev/null; true')
      await Promise.all(conns.map((c) => fourWay(c, getUrlModule, args, fp(c))))
      assert.equal(hits['/k3s'], 1, 'each byte fetched once per run however many hosts')
      for (const c of conns) assert.equal((await sh(c, 'sha256sum /usr/local/bin/k3s')).split(' ')[0], sha)
      assert.equal((await sh(conns[0], '/usr/local/bin/k3s | head -1')).trim(), 'k3s v1.30')
      resetControllerDownloads()
      await assert.rejects(runModule(getUrlModule, { ...args, checksum: `sha256:${'0'.repeat(64)}` }, conns[0]), /checksum mismatch/)
      assert.equal((await sh(conns[0], 'sha256sum /usr/local/bin/k3s')).split(' ')[0], sha, 'old file left in place')
    } finally {
      server.close()
    }
  })

  test('hostname: /etc/hostname and the running name inside the host (its own UTS namespace)', async () => {
    const c = conns[1]
    const machine = execFileSync('hostname').toString()
    const fp = () => sh(c, 'hostname; cat /etc/hostname')
    const { run } = await fourWay(c, hostnameModule, { name: 'k3s-node-7.lab' }, fp, { trips: 1 })
    assert.equal(run.result.ansible_facts && (run.result.ansible_facts as any).ansible_hostname, 'k3s-node-7')
    assert.equal(await fp(), 'k3s-node-7.lab\nk3s-node-7.lab\n')
    assert.equal(execFileSync('hostname').toString(), machine, 'the machine keeps its name')
  })

  test('group and user: created, then ok; a changed shell and groups; check mode predicts a user whose group an earlier task creates; removed', async () => {
    const c = conns[1]
    const fp = () => sh(c, 'getent group k3sadm; getent passwd k3sop; id k3sop 2>&1; ls -d /home/k3sop 2>&1; true')
    // Check mode on a fresh host: the group does not exist yet, but an earlier planned task creates it.
    const overlay = new Overlay()
    await runModule(groupModule, { name: 'k3sadm', gid: 2345 }, c, { check: true, overlay })
    const predicted = await runModule(userModule, { name: 'k3sop', group: 'k3sadm' }, c, { check: true, overlay })
    assert.equal(predicted.plan.status, 'change', JSON.stringify(predicted.plan))
    assert.equal(
      (await runModule(userModule, { name: 'k3sop', group: 'k3sadm' }, c, { check: true })).plan.status,
      'fail',
      'without the earlier task: Group k3sadm does not exist',
    )

    await fourWay(c, groupModule, { name: 'k3sadm', gid: 2345 }, fp, { trips: 1 })
    const user = {
      name: 'k3sop',
      uid: 2345,
      group: 'k3sadm',
      groups: ['adm'],
      shell: '/bin/sh',
      comment: 'K3s operator',
      password: '$6$salt$' + 'x'.repeat(20),
    }
    await fourWay(c, userModule, user, fp, { trips: 1 })
    assert.match(await sh(c, 'getent passwd k3sop'), /^k3sop:x:2345:2345:K3s operator:\/home\/k3sop:\/bin\/sh$/m)
    assert.match(await sh(c, 'id -Gn k3sop'), /^k3sadm adm$/m)
    assert.equal((await sh(c, 'getent shadow k3sop')).split(':')[1], user.password)
    const changed = await fourWay(c, userModule, { ...user, shell: '/bin/bash', groups: ['users'], append: true }, fp, { trips: 1 })
    assert.deepEqual(
      (changed.check.plan as any).changes.map((x: any) => x.summary),
      ['add to groups users', 'shell /bin/sh → /bin/bash'],
    )
    assert.match(await sh(c, 'id -Gn k3sop'), /^k3sadm adm users$/m)
    await fourWay(c, userModule, { name: 'k3sop', state: 'absent', remove: true }, fp)
    await fourWay(c, groupModule, { name: 'k3sadm', state: 'absent' }, fp)
    assert.equal((await sh(c, 'getent passwd k3sop; getent group k3sadm; true')).trim(), '')
  })

  test('modprobe: planned, never loaded (the lab shares the kernel); persistent config written where the module is already there', async () => {
    const c = conns[1]
    const notLoaded = await runModule(modprobeModule, { name: 'dummy', state: 'present' }, c, { check: true })
    if (notLoaded.plan.status === 'change') {
      assert.deepEqual(
        (notLoaded.plan as any).steps.map((s: any) => s.describe),
        ['modprobe dummy'],
      )
    } else assert.equal(notLoaded.plan.status, 'ok', 'dummy is built in or already loaded here')
    const withParams = await runModule(modprobeModule, { name: 'dummy', params: 'numdummies=2', persistent: 'present' }, c, { check: true, diff: true })
    assert.ok((withParams.plan as any).changes.some((x: any) => x.diff?.after === 'options dummy numdummies=2\n'))

    // overlay is in the kernel already (the lab's roots use it): only files change, no modprobe runs.
    const args = { name: 'overlay', state: 'present', persistent: 'present' }
    const fp = () => sh(c, 'cat /etc/modules-load.d/overlay.conf 2>&1; true')
    const { check } = await fourWay(c, modprobeModule, args, fp, { trips: 1 })
    assert.ok(
      (check.plan as any).steps.every((s: any) => !/modprobe/.test(s.script)),
      'no step loads anything',
    )
    assert.equal(await sh(c, 'cat /etc/modules-load.d/overlay.conf'), 'overlay\n')
    await fourWay(c, modprobeModule, { ...args, persistent: 'absent' }, fp)
    assert.equal((await sh(c, 'ls /etc/modules-load.d/overlay.conf 2>/dev/null; true')).trim(), '')
  })

  test("mount: a tmpfs in fstab and mounted inside the host's mount namespace; unmounted; absent", async () => {
    const c = conns[1]
    const mp = '/mnt/k3sbook-data'
    const fp = () => sh(c, `grep -F ' ${mp} ' /proc/mounts; grep -F '${mp}' /etc/fstab; ls -d ${mp} 2>&1; true`)
    const args = { path: mp, src: 'tmpfs', fstype: 'tmpfs', opts: 'size=2m,mode=0750', state: 'mounted' }
    await fourWay(c, mountModule, args, fp, { trips: 1 })
    assert.match(await sh(c, 'cat /proc/mounts'), /^tmpfs \/mnt\/k3sbook-data tmpfs rw,.*size=2048k,mode=750/m)
    assert.match(await sh(c, 'cat /etc/fstab'), /^tmpfs \/mnt\/k3sbook-data tmpfs size=2m,mode=0750 0 0$/m)
    assert.doesNotMatch(await readFile('/proc/mounts', 'utf8'), /k3sbook-data/, 'not mounted on the machine')
    // A changed option on a mounted filesystem: fstab edited and remounted.
    const re = await fourWay(c, mountModule, { ...args, opts: 'size=4m,mode=0750' }, fp)
    assert.deepEqual(
      (re.check.plan as any).steps.map((s: any) => s.describe),
      ['write /etc/fstab', `remount ${mp}`],
    )
    assert.match(await sh(c, 'cat /proc/mounts'), /k3sbook-data tmpfs rw,.*size=4096k/)
    await fourWay(c, mountModule, { path: mp, state: 'unmounted' }, fp)
    assert.match(await sh(c, 'cat /etc/fstab'), /k3sbook-data/, 'unmounted keeps the fstab line')
    await fourWay(c, mountModule, { path: mp, state: 'absent' }, fp)
    assert.equal((await fp()).includes('k3sbook-data '), false)
  })

  test('sysctl: a per-network-namespace key set in the host, file and running value; the machine untouched', async () => {
    const c = conns[1]
    const machine = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')
    const cur = (await sh(c, 'sysctl -n net.ipv4.ip_forward')).trim()
    const want = cur === '1' ? '0' : '1'
    const args = { name: 'net.ipv4.ip_forward', value: want, sysctl_file: '/etc/sysctl.d/99-k3s.conf', sysctl_set: true }
    await fourWay(c, sysctlModule, args, () => sh(c, 'sysctl -n net.ipv4.ip_forward; cat /etc/sysctl.d/99-k3s.conf 2>&1; true'))
    assert.equal((await sh(c, 'sysctl -n net.ipv4.ip_forward')).trim(), want)
    assert.equal(await sh(c, 'cat /etc/sysctl.d/99-k3s.conf'), `net.ipv4.ip_forward=${want}\n`)
    assert.equal(await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'), machine, "the machine's value is its own")
  })

  test('wait_for: a port inside the host opens; a closed port times out', async () => {
    const c = conns[0]
    await sh(c, 'nohup python3 -m http.server 7788 --bind 127.0.0.1 >/dev/null 2>&1 </dev/null & echo $! > /run/http.pid')
    try {
      const ok = await runModule(waitForModule, { port: 7788, timeout: 20 }, c)
      assert.equal(ok.plan.status, 'ok', JSON.stringify(ok.plan))
      assert.equal(ok.result.changed, false)
      const t0 = Date.now()
      const to = await runModule(waitForModule, { port: 7789, timeout: 2 }, c)
      assert.equal(to.plan.status, 'fail')
      assert.equal((to.plan as any).msg, 'Timeout when waiting for 127.0.0.1:7789')
      assert.ok(Date.now() - t0 >= 1900)
    } finally {
      await c.exec('kill "$(cat /run/http.pid)"')
    }
    const gone = await runModule(waitForModule, { port: 7788, state: 'stopped', timeout: 10 }, c)
    assert.equal(gone.plan.status, 'ok')
    // a line written later, found by Python's re (MULTILINE, \d, a named group) through the host's dash and grep
    await sh(c, "rm -f /run/wf.log; (sleep 1; printf 'boot\\nnode ready on port 6443\\n' > /run/wf.log) >/dev/null 2>&1 &")
    const found = await runModule(waitForModule, { path: '/run/wf.log', search_regex: '^node (?P<what>\\w+) on port (\\d+)$', timeout: 10 }, c)
    assert.equal(found.plan.status, 'ok', JSON.stringify(found.plan))
    assert.deepEqual(found.result.match_groups, ['ready', '6443'])
    assert.deepEqual(found.result.match_groupdict, { what: 'ready' })
    assert.equal(found.result.state, 'file')
    assert.ok((found.result.elapsed as number) >= 1)
  })

  test('uri: GET from the host to a server on the lab bridge; JSON parsed, unchanged; a wrong status fails', async () => {
    const c = conns[0]
    const { server, base, hits } = await serve(lab!.bridgeAddress, { '/version.json': '{"k3s":"v1.30.2+k3s1"}' })
    try {
      const r = await runModule(uriModule, { url: `${base}/version.json`, return_content: true }, c, { check: true })
      assert.equal(r.plan.status, 'ok', JSON.stringify(r.plan))
      assert.equal(r.result.status, 200)
      assert.deepEqual(r.result.json, { k3s: 'v1.30.2+k3s1' })
      assert.equal(r.result.changed, false)
      assert.equal(hits['/version.json'], 1, 'the request came from the lab host')
      const nf = await runModule(uriModule, { url: `${base}/nope` }, c)
      assert.equal(nf.plan.status, 'fail')
      assert.match((nf.plan as any).msg, /^Status code was 404 and not \[200\]/)
    } finally {
      server.close()
    }
  })

  test('unarchive: a tar.gz from the controller into /opt on the host', async () => {
    const c = conns[1]
    const src = join(scratch, 'payload', 'app-1.0')
    await mkdir(join(src, 'bin'), { recursive: true })
    await writeFile(join(src, 'bin', 'app'), '#!/bin/sh\necho app 1.0\n', { mode: 0o755 })
    await writeFile(join(src, 'LICENSE'), 'MIT\n')
    await mkdir(join(scratch, 'files'))
    execFileSync('tar', ['-czf', join(scratch, 'files', 'app.tar.gz'), '-C', join(scratch, 'payload'), 'app-1.0'])
    const controller: ControllerFiles = {
      find: async (n) => ({ path: join(scratch, 'files', n), content: await readFile(join(scratch, 'files', n)) }),
      render: (t) => t,
    }
    await sh(c, 'mkdir -p /opt/app')
    const args = { src: 'app.tar.gz', dest: '/opt/app', extra_opts: ['--strip-components=1'] }
    await fourWay(c, unarchiveModule, args, () => sh(c, 'cd /opt/app && find . | sort && cat LICENSE 2>/dev/null; true'), { controller })
    assert.equal((await sh(c, '/opt/app/bin/app')).trim(), 'app 1.0')
    assert.equal((await sh(c, 'ls /tmp | grep -c k3sbook-unarchive || true')).trim(), '0', 'the uploaded archive is removed')
  })
})
