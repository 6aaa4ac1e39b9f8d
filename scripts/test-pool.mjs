// Runs test files N at a time, each in its own Node process (as `node --test` does), and times each
// file: a file's output is printed when it ends (whole when it failed, or with K3SBOOK_TEST_VERBOSE=1;
// one line when it passed), then the totals and the slowest files.
import { spawn } from 'node:child_process'

/** Runs `files`; resolves to the exit code (0 when every file passed). */
export async function runFiles(files, { concurrency = 3, slowest = 10 } = {}) {
  const verbose = process.env.K3SBOOK_TEST_VERBOSE === '1'
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
        child.on('close', (c, sig) => {
          children.delete(child)
          resolve({ code: c ?? (sig ? 1 : 0), out: Buffer.concat(chunks).toString() })
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
