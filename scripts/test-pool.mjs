// Runs test files N at a time, each in its own Node process (as `node --test` does), and times each
// file: a file's output is printed when it ends (whole when it failed, or with K3SBOOK_TEST_VERBOSE=1;
// one line when it passed), then the totals and the slowest files. A file still running after
// K3SBOOK_TEST_FILE_TIMEOUT seconds (900) is stopped and fails.
import { spawn } from 'node:child_process'

/** Runs `files`; resolves to the exit code (0 when every file passed). */
export async function runFiles(files, { concurrency = 3, slowest = 10 } = {}) {
  const verbose = process.env.K3SBOOK_TEST_VERBOSE === '1'
  // the slowest file (test/cluster/systemd.test.ts) takes ~4-5 min at 3 files at a time on 2 cores
  const fileTimeoutS = Number(process.env.K3SBOOK_TEST_FILE_TIMEOUT ?? '900')
  const done = []
  const t0 = Date.now()
  let next = 0
  const children = new Set()
  const stop = () => {
    for (const c of children) c.kill('SIGINT')
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  async function worker() {
    while (next < files.length) {
      const file = files[next++]
      const start = Date.now()
      const { code, out } = await new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=spec', file], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
        })
        children.add(child)
        const chunks = []
        child.stdout.on('data', (d) => chunks.push(d))
        child.stderr.on('data', (d) => chunks.push(d))
        // a file that hangs is stopped (SIGTERM, then SIGKILL) and reported, so one stuck test
        // cannot hold the whole run until CI's own limit; what it printed so far shows where
        let timedOut = false
        const watchdog = setTimeout(() => {
          timedOut = true
          chunks.push(Buffer.from(`\n[test pool] ${file} still running after ${fileTimeoutS} s: stopped (K3SBOOK_TEST_FILE_TIMEOUT)\n`))
          child.kill('SIGTERM')
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
        }, fileTimeoutS * 1000)
        let settled = false
        const finish = (c, sig) => {
          if (settled) return
          settled = true
          clearTimeout(watchdog)
          children.delete(child)
          resolve({ code: timedOut ? 124 : (c ?? (sig ? 1 : 0)), out: Buffer.concat(chunks).toString() })
        }
        child.on('close', finish)
        // a process the file started (and did not stop) may hold its output open after it exited:
        // the file's own exit decides, its output is taken as it is a moment later
        child.on('exit', (c, sig) => {
          clearTimeout(watchdog)
          setTimeout(() => {
            child.stdout.destroy()
            child.stderr.destroy()
            finish(c, sig)
          }, 5000)
        })
      })
      const ms = Date.now() - start
      done.push({ file, ms, code })
      const tests = /ℹ tests (\d+)/.exec(out)?.[1] ?? '?'
      if (code !== 0 || verbose) process.stdout.write(out.endsWith('\n') ? out : out + '\n')
      process.stdout.write(`${code === 0 ? '✔' : '✖'} ${file} (${tests} tests, ${(ms / 1000).toFixed(1)} s)${code === 0 ? '' : ` — exit ${code}`}\n`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
  const failed = done.filter((d) => d.code !== 0)
  process.stdout.write(
    `\n${done.length - failed.length} of ${done.length} files passed in ${((Date.now() - t0) / 1000).toFixed(1)} s (${concurrency} at a time)\n`,
  )
  if (failed.length) process.stdout.write(`failed:\n${failed.map((d) => `  ${d.file}`).join('\n')}\n`)
  process.stdout.write(`slowest files:\n`)
  for (const d of [...done].sort((a, b) => b.ms - a.ms).slice(0, slowest)) process.stdout.write(`  ${(d.ms / 1000).toFixed(1).padStart(6)} s  ${d.file}\n`)
  return failed.length ? 1 : 0
}
