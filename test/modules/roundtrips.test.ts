// A no-change re-run costs one round trip per task: each module's plan() asks the host once.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cleanup, conn, loadTemplateEngine, planOnly, run, tempDir } from './harness.js'

before(loadTemplateEngine)

test('re-planning a converged task is one round trip for every file and command module', async () => {
  const dir = await tempDir()
  const ctl = await tempDir('k3sbook-ctl-')
  try {
    await mkdir(join(ctl, 'templates'))
    await writeFile(join(ctl, 'templates', 't.j2'), 'v={{ v }}\n')
    const tasks: [string, Record<string, unknown>][] = [
      ['copy', { content: 'x\n', dest: join(dir, 'c'), mode: '0600' }],
      ['template', { src: 't.j2', dest: join(dir, 't'), mode: '0644' }],
      ['file', { path: join(dir, 'd', 'e'), state: 'directory', mode: '0755' }],
      ['lineinfile', { path: join(dir, 'l'), line: 'y', create: true }],
      ['blockinfile', { path: join(dir, 'b'), block: 'z', create: true }],
      ['command', { _raw_params: `touch ${join(dir, 'm')}`, creates: join(dir, 'm') }],
      ['stat', { path: join(dir, 'c') }],
    ]
    const o = { base: ctl, vars: { v: 1 } }
    for (const [m, a] of tasks) await run(m, a, o)
    for (const [m, a] of tasks) {
      const n0 = conn.stats.roundTrips
      const p = await planOnly(m, a, o)
      assert.equal(p.status, 'ok', `${m}: ${JSON.stringify(p)}`)
      assert.equal(conn.stats.roundTrips - n0, 1, `${m}: round trips for a no-change plan`)
    }
  } finally {
    await cleanup(dir)
    await cleanup(ctl)
  }
})
