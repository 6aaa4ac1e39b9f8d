// The suite's own runner (scripts/test-pool.mjs): a file that hangs is stopped after
// K3SBOOK_TEST_FILE_TIMEOUT seconds and fails with what it printed, and a file that leaves a process
// holding its output open still ends when the file's process does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @ts-expect-error: a plain .mjs script without types
import { runFiles } from '../../scripts/test-pool.mjs'

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout)
  let out = ''
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write
  try {
    return { code: await fn(), out }
  } finally {
    process.stdout.write = write
  }
}

test('a hanging test file is stopped and reported; one whose child holds its output open still ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-pool-'))
  const saved = process.env.K3SBOOK_TEST_FILE_TIMEOUT
  const savedCpu = process.env.K3SBOOK_TEST_CPU
  delete process.env.K3SBOOK_TEST_CPU
  try {
    const hang = join(dir, 'hang.test.ts')
    writeFileSync(
      hang,
      `import { test } from 'node:test'\ntest('forever', async () => { console.log('reached the wait'); await new Promise(() => setInterval(() => {}, 1000)) })\n`,
    )
    const orphan = join(dir, 'orphan.test.ts')
    writeFileSync(
      orphan,
      `import { test } from 'node:test'\nimport { spawn } from 'node:child_process'\nimport { writeFileSync } from 'node:fs'\ntest('leaves a child', () => { const c = spawn('sleep', ['300'], { stdio: 'inherit', detached: true }); c.unref(); writeFileSync(${JSON.stringify(join(dir, 'pid'))}, String(c.pid)) })\n`,
    )
    // long enough for node and tsx to start on a loaded machine (load 20: several seconds)
    process.env.K3SBOOK_TEST_FILE_TIMEOUT = '15'
    const t0 = Date.now()
    const r = await capture(() => runFiles([hang, orphan], { concurrency: 2 }))
    assert.equal(r.code, 1)
    assert.match(r.out, /reached the wait/)
    assert.match(r.out, /still running after 15 s: stopped/)
    assert.match(r.out, new RegExp(`✖ ${hang.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*exit 124`))
    assert.match(r.out, new RegExp(`✔ ${orphan.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
    assert.ok(Date.now() - t0 < 200_000, 'neither waited for the orphan sleep (300 s)')
  } finally {
    try {
      process.kill(Number(readFileSync(join(dir, 'pid'), 'utf8')))
    } catch {
      /* not started, or gone */
    }
    if (saved === undefined) delete process.env.K3SBOOK_TEST_FILE_TIMEOUT
    else process.env.K3SBOOK_TEST_FILE_TIMEOUT = saved
    if (savedCpu !== undefined) process.env.K3SBOOK_TEST_CPU = savedCpu
    rmSync(dir, { recursive: true, force: true })
  }
})

test('Ctrl-C: the running file is interrupted, no further file starts, and its TMPDIR is removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-pool-'))
  const savedCpu = process.env.K3SBOOK_TEST_CPU
  delete process.env.K3SBOOK_TEST_CPU
  const log = join(dir, 'started.log')
  try {
    // each file records that it started and its TMPDIR, leaves a file there, then waits a minute
    const files = ['a', 'b', 'c'].map((n) => {
      const f = join(dir, `${n}.test.ts`)
      writeFileSync(
        f,
        `import { test } from 'node:test'\nimport { appendFileSync, writeFileSync } from 'node:fs'\ntest('${n}', async () => { writeFileSync(process.env.TMPDIR + '/left', 'x'); appendFileSync(${JSON.stringify(log)}, '${n} ' + process.env.TMPDIR + '\\n'); await new Promise((r) => setTimeout(r, 60_000)) })\n`,
      )
      return f
    })
    const running = capture(() => runFiles(files, { concurrency: 1 }))
    // the signal once the first file has started (however long node takes to start under load)
    while (!existsSync(log)) await new Promise((r) => setTimeout(r, 100))
    process.kill(process.pid, 'SIGINT')
    const r = await running
    assert.equal(r.code, 1, r.out)
    const started = readFileSync(log, 'utf8').trim().split('\n')
    assert.equal(started.length, 1, `files started: ${started.join(', ')}`)
    const [name, tmp] = started[0].split(' ')
    assert.equal(name, 'a')
    assert.ok(tmp.startsWith(join(tmpdir(), 'k3sbook-test-')), tmp)
    assert.equal(existsSync(tmp), false, 'its TMPDIR was removed')
  } finally {
    if (savedCpu !== undefined) process.env.K3SBOOK_TEST_CPU = savedCpu
    rmSync(dir, { recursive: true, force: true })
  }
})
