// unarchive (tar.gz, tar.zst, zip; from the controller and remote_src), uri against a loopback
// HTTP server, and wait_for's check-mode shortcut, run on this machine in temp directories
// (LocalConnection, HTTP on 127.0.0.1 only). The four tests per module: fresh → change,
// applied → ok, plan changes nothing, check changes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdir, readFile, readdir, readlink, stat, writeFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { createServer as netServer } from 'node:net'
import { LocalConnection } from '../../../src/connection/local.js'
import { Overlay, makeReader } from '../../../src/executor/reader.js'
import { unarchiveModule } from '../../../src/modules/unarchive.js'
import { uriModule } from '../../../src/modules/uri.js'
import { waitForModule } from '../../../src/modules/wait_for.js'
import type { ControllerFiles, HostReader } from '../../../src/modules/types.js'
import { noController, planCtx, runModule, tempDir } from './harness.js'

const conn = new LocalConnection('testhost')

function filesFrom(dir: string): ControllerFiles {
  return {
    async find(name) {
      const path = join(dir, name)
      return { path, content: await readFile(path) }
    },
    render: (t) => t,
  }
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = []
  async function walk(d: string, rel: string) {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n)
      const s = await stat(p).catch(() => undefined)
      const l = await readlink(p).catch(() => undefined)
      if (l !== undefined) out.push(`${rel}${n} -> ${l}`)
      else if (s?.isDirectory()) (out.push(`${rel}${n}/`), await walk(p, `${rel}${n}/`))
      else out.push(`${rel}${n} ${(s!.mode & 0o777).toString(8)} ${(await readFile(p)).toString()}`)
    }
  }
  await walk(dir, '')
  return out
}

async function makeArchives(dir: string): Promise<string> {
  const src = join(dir, 'payload', 'k3s-v1')
  await mkdir(join(src, 'bin'), { recursive: true })
  await writeFile(join(src, 'bin', 'k3s'), '#!/bin/sh\necho k3s\n', { mode: 0o755 })
  await writeFile(join(src, 'README with space'), 'read me\n', { mode: 0o644 })
  await symlink('bin/k3s', join(src, 'current'))
  const files = join(dir, 'files')
  await mkdir(files)
  execFileSync('tar', ['-czf', join(files, 'k3s.tar.gz'), '-C', join(dir, 'payload'), 'k3s-v1'])
  execFileSync('tar', ['--zstd', '-cf', join(files, 'k3s.tar.zst'), '-C', join(dir, 'payload'), 'k3s-v1'])
  execFileSync('zip', ['-qry', join(files, 'k3s.zip'), 'k3s-v1'], { cwd: join(dir, 'payload') })
  return files
}

const EXPECTED = ['bin/', 'bin/k3s 755 #!/bin/sh\necho k3s\n', 'current -> bin/k3s', 'README with space 644 read me\n']

for (const name of ['k3s.tar.gz', 'k3s.tar.zst', 'k3s.zip']) {
  test(`unarchive ${name} from the controller: change, ok, check and plan change nothing, a changed file is put back`, async (t) => {
    const dir = await tempDir(t)
    const files = await makeArchives(dir)
    const dest = join(dir, 'dest')
    await mkdir(dest)
    const controller = filesFrom(files)
    const zip = name.endsWith('.zip')
    const args = { src: name, dest, ...(zip ? {} : { extra_opts: ['--strip-components=1'] }), list_files: true }
    const root = zip ? join(dest, 'k3s-v1') : dest
    const check = await runModule(unarchiveModule, args, conn, { check: true, controller })
    assert.equal(check.plan.status, 'change')
    assert.deepEqual(await readdir(dest), [], 'check mode unpacks nothing')
    assert.ok((check.result.files as string[]).some((f) => f.endsWith('bin/k3s')))
    const r = await runModule(unarchiveModule, args, conn, { controller })
    assert.equal(r.failed, undefined, r.failed?.stderr)
    assert.deepEqual((await tree(root)).sort(), [...EXPECTED].sort())
    const again = await runModule(unarchiveModule, args, conn, { controller })
    assert.equal(again.plan.status, 'ok', JSON.stringify(again.plan))
    assert.deepEqual(
      // the local host's temp folder: $TMPDIR (the test pool gives each file its own), else /tmp
      (await readdir(tmpdir())).filter((n) => n.startsWith('k3sbook-unarchive.')),
      [],
      'no temp archive left on the host',
    )
    await writeFile(join(root, 'bin', 'k3s'), 'tampered\n')
    const drift = await runModule(unarchiveModule, args, conn, { controller })
    assert.equal(drift.plan.status, 'change')
    assert.match((drift.plan as any).changes[0].summary, /bin\/k3s: content differs/)
    assert.equal((await readFile(join(root, 'bin', 'k3s'))).toString(), '#!/bin/sh\necho k3s\n')
  })
}

test('unarchive remote_src with creates, mode and a missing dest', async (t) => {
  const dir = await tempDir(t)
  const files = await makeArchives(dir)
  const dest = join(dir, 'opt')
  await mkdir(dest)
  const args = { src: join(files, 'k3s.tar.gz'), dest, remote_src: true, mode: '0700' }
  assert.equal((await runModule(unarchiveModule, args, conn, { check: true })).plan.status, 'change')
  assert.deepEqual(await readdir(dest), [])
  const r = await runModule(unarchiveModule, args, conn)
  assert.equal(r.failed, undefined, r.failed?.stderr)
  assert.equal(((await stat(join(dest, 'k3s-v1', 'README with space'))).mode & 0o777).toString(8), '700')
  assert.equal((await runModule(unarchiveModule, args, conn)).plan.status, 'ok')
  const skip = await runModule(unarchiveModule, { ...args, dest: join(dir, 'other'), creates: join(dest, 'k3s-v1') }, conn)
  assert.equal(skip.plan.status, 'skip')
  const missing = await runModule(unarchiveModule, { ...args, dest: join(dir, 'nope') }, conn)
  assert.equal(missing.plan.status, 'fail')
  assert.match((missing.plan as any).msg, /must be an existing dir/)
})

test('uri: GET runs in plan (check mode too) and reports changed=false; status_code checked; POST only when applied; dest written once', async (t) => {
  const dir = await tempDir(t)
  const seen: { method: string; url: string; body: string; auth?: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization })
      if (req.url === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok","nodes":3}')
      if (req.url === '/old') return res.writeHead(301, { location: '/health' }).end()
      if (req.url === '/secret') {
        if (!req.headers.authorization) return res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end()
        return res.writeHead(200).end(Buffer.from(req.headers.authorization.slice(6), 'base64').toString())
      }
      if (req.method === 'POST')
        return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body, type: req.headers['content-type'] }))
      res.writeHead(404).end('nope')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.after(() => server.close())
  const base = `http://127.0.0.1:${(server.address() as any).port}`

  const get = await runModule(uriModule, { url: `${base}/old`, return_content: true }, conn, { check: true })
  assert.equal(get.plan.status, 'ok')
  assert.equal(get.result.status, 200)
  assert.deepEqual(get.result.json, { status: 'ok', nodes: 3 })
  assert.equal(get.result.content, '{"status":"ok","nodes":3}')
  assert.equal(get.result.redirected, true)
  assert.equal(get.result.changed, false)

  const nf = await runModule(uriModule, { url: `${base}/missing` }, conn)
  assert.equal(nf.plan.status, 'fail')
  assert.equal((nf.plan as any).msg, 'Status code was 404 and not [200]: HTTP Error 404: Not Found')
  assert.equal((await runModule(uriModule, { url: `${base}/missing`, status_code: [200, 404] }, conn)).plan.status, 'ok')

  const auth = await runModule(uriModule, { url: `${base}/secret`, url_username: 'admin', url_password: "p'w d", return_content: true }, conn)
  assert.equal(auth.result.content, "admin:p'w d")
  assert.equal(seen.filter((s) => s.url === '/secret').length, 2, 'without force_basic_auth the credentials follow a 401 challenge')
  await runModule(uriModule, { url: `${base}/secret`, url_username: 'admin', url_password: 'x', force_basic_auth: true }, conn)
  assert.equal(seen.filter((s) => s.url === '/secret').length, 3, 'force_basic_auth sends them at once')

  const before = seen.length
  const postArgs = { url: `${base}/things`, method: 'POST', body: { name: 'n1' }, body_format: 'json', status_code: 201 }
  const pc = await runModule(uriModule, postArgs, conn, { check: true })
  assert.equal(pc.plan.status, 'unknown')
  assert.equal(seen.length, before, 'check mode sends no POST')
  const post = await runModule(uriModule, postArgs, conn)
  assert.equal(post.result.status, 201)
  assert.equal(post.result.changed, false, 'Ansible reports uri as unchanged')
  assert.deepEqual(post.result.json, { got: '{"name":"n1"}', type: 'application/json' })
  const postBad = await runModule(uriModule, { ...postArgs, status_code: 200 }, conn)
  assert.equal(postBad.result.failed, true)

  const dest = join(dir, 'health.json')
  const d1 = await runModule(uriModule, { url: `${base}/health`, dest }, conn, { check: true })
  assert.equal(d1.plan.status, 'change')
  assert.deepEqual(await readdir(dir), [])
  const d2 = await runModule(uriModule, { url: `${base}/health`, dest }, conn)
  assert.equal(d2.result.changed, true)
  assert.equal((await readFile(dest)).toString(), '{"status":"ok","nodes":3}')
  assert.equal((await runModule(uriModule, { url: `${base}/health`, dest }, conn)).plan.status, 'ok')
})

test('wait_for in check mode after unapplied changes: one look, then unknown instead of waiting out the timeout', async (t) => {
  const dir = await tempDir(t)
  const tmp = netServer()
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()))
  const closed = (tmp.address() as any).port
  await new Promise((r) => tmp.close(r))
  const pendingReader = (): HostReader => ({ ...makeReader(conn), hasPending: () => true })
  const t0 = Date.now()
  const plan = await waitForModule.plan({ port: closed, timeout: 30 }, { ...planCtx(conn), reader: pendingReader() })
  assert.equal(plan.status, 'unknown')
  assert.equal((plan as any).reason, `127.0.0.1:${closed} is not open yet; it may appear once earlier changes are applied`)
  assert.ok(Date.now() - t0 < 15_000, 'did not wait for the 30 s timeout')
  // A condition already met is still ok, pending changes or not.
  await writeFile(join(dir, 'ready'), 'node ready\n')
  const met = await waitForModule.plan({ path: join(dir, 'ready'), search_regex: 'ready', timeout: 30 }, { ...planCtx(conn), reader: pendingReader() })
  assert.equal(met.status, 'ok')
  // Through the real overlay: an earlier planned step makes hasPending() true.
  const overlay = new Overlay()
  overlay.record([{ key: 'service:k3s', value: 'started' }])
  const viaOverlay = await runModule(waitForModule, { path: join(dir, 'absent-yet'), timeout: 30 }, conn, { check: true, overlay })
  assert.equal(viaOverlay.plan.status, 'unknown')
  assert.equal(noController.render('x', {}), 'x')
})
