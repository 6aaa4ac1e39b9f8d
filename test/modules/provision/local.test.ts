// The four module tests (fresh → change; applied → ok; plan changes nothing; check changes
// nothing) for modules that can run safely in a temp directory on this machine: LocalConnection,
// HTTP only on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer as netServer } from 'node:net'
import { parse } from 'yaml'
import { LocalConnection } from '../../../src/connection/local.js'
import { Overlay } from '../../../src/executor/reader.js'
import { getUrlModule, resetControllerDownloads, controllerStats } from '../../../src/modules/get_url.js'
import { slurpModule } from '../../../src/modules/slurp.js'
import { fetchModule } from '../../../src/modules/fetch.js'
import { waitForModule } from '../../../src/modules/wait_for.js'
import { sysctlModule } from '../../../src/modules/sysctl.js'
import { kubeManifestModule } from '../../../src/modules/kube_manifest.js'
import { runModule, tempDir } from './harness.js'

const conn = new LocalConnection('testhost')
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

async function snapshot(dir: string): Promise<string> {
  const out: string[] = []
  async function walk(d: string) {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n)
      const s = await stat(p)
      if (s.isDirectory()) await walk(p)
      else out.push(`${p} ${(s.mode & 0o7777).toString(8)} ${sha(await readFile(p))}`)
    }
  }
  await walk(dir)
  return out.join('\n')
}

function serve(files: Record<string, Buffer | string>): Promise<{ server: Server; base: string; hits: Record<string, number> }> {
  const hits: Record<string, number> = {}
  const server = createServer((req, res) => {
    hits[req.url!] = (hits[req.url!] ?? 0) + 1
    const body = files[req.url!]
    if (body === undefined) return res.writeHead(404).end('not found')
    res.writeHead(200).end(body)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as any).port}`, hits })))
}

test('get_url on the host: checksum match skips, mismatch fails and keeps the old file, sums file line picked', async (t) => {
  const dir = await tempDir(t)
  const payload = Buffer.from('k3s binary v1\n')
  const { server, base, hits } = await serve({ '/k3s': payload, '/sha256sum.txt': `${sha('other')}  k3s-arm64\n${sha(payload)}  k3s\n` })
  t.after(() => server.close())
  const dest = join(dir, 'k3s')
  const args = { url: `${base}/k3s`, dest, checksum: `sha256:${base}/sha256sum.txt`, mode: '0755' }

  const before = await snapshot(dir)
  const fresh = await runModule(getUrlModule, args, conn, { check: true })
  assert.equal(fresh.plan.status, 'change')
  assert.equal(await snapshot(dir), before, 'check mode changes nothing')
  assert.equal(hits['/k3s'], undefined, 'planning downloads nothing')

  const applied = await runModule(getUrlModule, args, conn)
  assert.equal(applied.failed, undefined, applied.failed?.stderr)
  assert.equal(applied.result.changed, true)
  assert.deepEqual(await readFile(dest), payload)
  assert.equal(((await stat(dest)).mode & 0o777).toString(8), '755')

  const again = await runModule(getUrlModule, args, conn)
  assert.equal(again.plan.status, 'ok')
  assert.equal(hits['/k3s'], 1, 'a matching file is not downloaded again')

  const bad = await runModule(getUrlModule, { ...args, checksum: `sha256:${sha('something else')}` }, conn)
  assert.equal(bad.plan.status, 'change')
  assert.ok(bad.failed, 'mismatch fails')
  assert.match(bad.failed!.stderr, /checksum mismatch/)
  assert.deepEqual(await readFile(dest), payload, 'old file left in place')
  assert.deepEqual((await readdir(dir)).sort(), ['k3s'], 'no temp file left behind')
})

test('get_url download: controller fetches once for many hosts and verifies on each host', async (t) => {
  resetControllerDownloads()
  const payload = Buffer.alloc(200_000, 7)
  const { server, base, hits } = await serve({ '/airgap.tar': payload })
  t.after(() => server.close())
  const dirs = await Promise.all([tempDir(t), tempDir(t), tempDir(t)])
  const results = await Promise.all(
    dirs.map((d) => runModule(getUrlModule, { url: `${base}/airgap.tar`, dest: d + '/', checksum: `sha256:${sha(payload)}`, download: 'controller' }, conn)),
  )
  for (const [i, r] of results.entries()) {
    assert.equal(r.failed, undefined, r.failed?.stderr)
    assert.equal(r.result.changed, true)
    assert.deepEqual(await readFile(join(dirs[i], 'airgap.tar')), payload)
  }
  assert.equal(hits['/airgap.tar'], 1, 'one download for three hosts')
  assert.equal(controllerStats.downloads, 1)
  const second = await runModule(
    getUrlModule,
    { url: `${base}/airgap.tar`, dest: dirs[0] + '/', checksum: `sha256:${sha(payload)}`, download: 'controller' },
    conn,
  )
  assert.equal(second.plan.status, 'ok')

  resetControllerDownloads()
  await writeFile(join(dirs[1], 'airgap.tar'), 'old')
  const bad = runModule(getUrlModule, { url: `${base}/airgap.tar`, dest: dirs[1] + '/', checksum: `sha256:${sha('x')}`, download: 'controller' }, conn)
  await assert.rejects(bad, /checksum mismatch/)
  assert.equal((await readFile(join(dirs[1], 'airgap.tar'))).toString(), 'old')
})

test('slurp returns base64 content; missing file fails', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'token'), 'K10abc::server:xyz\n')
  const r = await runModule(slurpModule, { src: join(dir, 'token') }, conn)
  assert.equal(r.plan.status, 'ok')
  assert.equal(Buffer.from(String(r.result.content), 'base64').toString(), 'K10abc::server:xyz\n')
  assert.equal(r.result.encoding, 'base64')
  const missing = await runModule(slurpModule, { path: join(dir, 'nope') }, conn)
  assert.equal(missing.plan.status, 'fail')
})

test('fetch: fresh → change, then ok; check writes nothing; Ansible layout', async (t) => {
  const remote = await tempDir(t)
  const local = await tempDir(t)
  const src = join(remote, 'k3s.yaml')
  await writeFile(src, 'apiVersion: v1\nkind: Config\n')
  const args = { src, dest: local }
  const check = await runModule(fetchModule, args, conn, { check: true })
  assert.equal(check.plan.status, 'change')
  assert.deepEqual(await readdir(local), [])
  const r = await runModule(fetchModule, args, conn)
  assert.equal(r.result.changed, true)
  const landed = join(local, 'testhost', src)
  assert.equal(r.result.dest, landed)
  assert.equal((await readFile(landed)).toString(), 'apiVersion: v1\nkind: Config\n')
  const again = await runModule(fetchModule, args, conn)
  assert.equal(again.plan.status, 'ok')
  assert.equal(again.result.changed, false)
  const missing = await runModule(fetchModule, { src: join(remote, 'nope'), dest: local, fail_on_missing: false }, conn)
  assert.equal(missing.plan.status, 'ok')
})

test('wait_for: a loopback port that listens, a port that never opens (timeout), a file and a regex', async (t) => {
  const dir = await tempDir(t)
  const srv = netServer((s) => s.end())
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()))
  t.after(() => srv.close())
  const port = (srv.address() as any).port
  const ok = await runModule(waitForModule, { host: '127.0.0.1', port, timeout: 5 }, conn)
  assert.equal(ok.plan.status, 'ok')
  assert.equal(ok.result.changed, false)
  // A port nobody listens on: bind then close to get one that is free.
  const tmp = netServer()
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()))
  const closed = (tmp.address() as any).port
  await new Promise((r) => tmp.close(r))
  const t0 = Date.now()
  const to = await runModule(waitForModule, { port: closed, timeout: 2, sleep: 1 }, conn)
  assert.equal(to.plan.status, 'fail')
  assert.equal((to.plan as any).msg, `Timeout when waiting for 127.0.0.1:${closed}`)
  assert.ok(Date.now() - t0 >= 1900 && Date.now() - t0 < 8000)
  const stopped = await runModule(waitForModule, { port: closed, state: 'stopped', timeout: 2 }, conn)
  assert.equal(stopped.plan.status, 'ok')
  const f = join(dir, 'ready')
  setTimeout(() => void writeFile(f, 'booting\nnode ready\n'), 600)
  const appeared = await runModule(waitForModule, { path: f, search_regex: 'node (ready|up)', timeout: 10 }, conn)
  assert.equal(appeared.plan.status, 'ok')
  const gone = await runModule(waitForModule, { path: f, state: 'absent', timeout: 1 }, conn)
  assert.equal(gone.plan.status, 'fail')
  assert.match((gone.plan as any).msg, /to be absent/)
})

test('sysctl against a sysctl file in a temp dir: change, ok, check and plan change nothing', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, '99-k3s.conf')
  await writeFile(file, '# k3s\nnet.ipv4.ip_forward = 0\n')
  const args = { name: 'net.ipv4.ip_forward', value: 1, sysctl_file: file, reload: false }
  const before = await snapshot(dir)
  const check = await runModule(sysctlModule, args, conn, { check: true, diff: true })
  assert.equal(check.plan.status, 'change')
  assert.equal((check.plan as any).changes[0].diff.after, '# k3s\nnet.ipv4.ip_forward=1\n')
  assert.equal(await snapshot(dir), before)
  const r = await runModule(sysctlModule, args, conn)
  assert.equal(r.failed, undefined)
  assert.equal((await readFile(file)).toString(), '# k3s\nnet.ipv4.ip_forward=1\n')
  assert.equal((await runModule(sysctlModule, args, conn)).plan.status, 'ok')
  // Check mode sees what an earlier planned step would write.
  const overlay = new Overlay()
  await runModule(sysctlModule, { ...args, value: 0 }, conn, { check: true, overlay })
  assert.equal((await runModule(sysctlModule, { ...args, value: 0 }, conn, { check: true, overlay })).plan.status, 'ok')
  const rm = await runModule(sysctlModule, { name: 'net.ipv4.ip_forward', state: 'absent', sysctl_file: file, reload: false }, conn)
  assert.equal(rm.plan.status, 'change')
  assert.equal((await readFile(file)).toString(), '# k3s\n')
})

test('kube_manifest: HelmChart file written, read back and parsed; then ok', async (t) => {
  const dir = await tempDir(t)
  const dest = join(dir, 'manifests')
  const args = {
    chart: 'metallb',
    repo: 'https://metallb.github.io/metallb',
    version: '0.14.5',
    target_namespace: 'metallb-system',
    values: { speaker: { frr: { enabled: false } } },
    dest,
  }
  const check = await runModule(kubeManifestModule, args, conn, { check: true })
  assert.equal(check.plan.status, 'change')
  assert.deepEqual(await readdir(dir), [])
  const r = await runModule(kubeManifestModule, args, conn)
  assert.equal(r.failed, undefined, r.failed?.stderr)
  const text = (await readFile(join(dest, 'metallb.yaml'))).toString()
  const obj = parse(text)
  assert.equal(obj.kind, 'HelmChart')
  assert.equal(obj.spec.chart, 'metallb')
  assert.equal(obj.spec.version, '0.14.5')
  assert.deepEqual(parse(obj.spec.valuesContent), { speaker: { frr: { enabled: false } } })
  assert.equal(((await stat(join(dest, 'metallb.yaml'))).mode & 0o777).toString(8), '600')
  assert.equal((await runModule(kubeManifestModule, args, conn)).plan.status, 'ok')
  const pool = 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: pool, namespace: metallb-system}\nspec:\n  addresses: [10.10.64.0/18]\n'
  const p = await runModule(kubeManifestModule, { content: pool, dest }, conn)
  assert.equal(p.failed, undefined)
  assert.deepEqual(parse((await readFile(join(dest, 'pool.yaml'))).toString()).spec.addresses, ['10.10.64.0/18'])
  const bad = await runModule(kubeManifestModule, { content: 'kind: X\n', dest, name: 'x' }, conn)
  assert.equal(bad.plan.status, 'fail')
})
