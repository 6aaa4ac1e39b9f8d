// Runs test files N at a time, each in its own Node process (as `node --test` does), and times each
// file: a file's output is printed when it ends (whole when it failed, or with K3SBOOK_TEST_VERBOSE=1;
// one line when it passed), then the totals and the slowest files. A file still running after
// K3SBOOK_TEST_FILE_TIMEOUT seconds (900) is stopped and fails.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// K3SBOOK_TEST_CPU=1 (as root, with a cgroup v1 cpuacct hierarchy): each file runs in a cpuacct
// cgroup of its own, so the CPU time of everything it starts is counted (lab hosts put their own
// cgroups under the starting process's, so theirs too) and listed beside the wall time. CPU time is
// what a loaded machine cannot hide: it says which files make the suite long.
const CPUACCT = '/sys/fs/cgroup/cpuacct'
function cpuGroup(file) {
  if (process.env.K3SBOOK_TEST_CPU !== '1' || !existsSync(CPUACCT)) return undefined
  const own = /^\d+:[^:]*\bcpuacct\b[^:]*:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/'
  const dir = join(CPUACCT, own, `k3sbook-test-${process.pid}-${file.replace(/[^a-z0-9]+/gi, '_')}`)
  try {
    mkdirSync(dir)
    return dir
  } catch {
    return undefined
  }
}
function cpuSeconds(dir) {
  try {
    return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9
  } catch {
    return undefined
  }
}
// Each file gets a temp folder of its own as TMPDIR (os.tmpdir(), mktemp), removed when the file
// ends: what its tests make there and forget does not pile up in /tmp. Mode 1777 as /tmp, for tests
// that run a command as another user. Not removed while something is mounted inside it.
function fileTmp() {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-test-'))
  chmodSync(dir, 0o1777)
  // tsx keeps its compiled files in $TMPDIR/tsx-UID: every file shares the one in the real tmpdir
  const tsxCache = `tsx-${process.getuid?.() ?? 0}`
  try {
    mkdirSync(join(tmpdir(), tsxCache), { recursive: true, mode: 0o700 })
    symlinkSync(join(tmpdir(), tsxCache), join(dir, tsxCache))
  } catch {
    /* no shared cache: tsx compiles again */
  }
  return dir
}
function dropTmp(dir) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
  if (mounts.some((m) => m && (m === dir || m.startsWith(dir + '/')))) {
    process.stdout.write(`[test pool] ${dir} has a mount inside: left in place\n`)
    return
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  } catch (e) {
    process.stdout.write(`[test pool] ${dir} not removed: ${e.message}\n`)
  }
}

async function dropGroup(dir) {
  // empty once the file's processes (and its labs' cgroups) are gone: tried for half a minute, then
  // left (a process the file left behind keeps it; the pool reports, it does not kill)
  for (let i = 0; i < 120; i++) {
    try {
      rmdirSync(dir)
      return
    } catch {
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  process.stdout.write(`[test pool] ${dir} still holds processes: left in place\n`)
}

/**
 * Runs `files`; resolves to the exit code (0 when every file passed). `compiled` (file → compiled
 * .mjs, scripts/test-build.mjs): those files run without tsx; the others through tsx.
 */
export async function runFiles(files, { concurrency = 3, slowest = 10, compiled = new Map() } = {}) {
  const verbose = process.env.K3SBOOK_TEST_VERBOSE === '1'
  // the slowest file (test/cluster/systemd.test.ts) takes ~4-5 min at 3 files at a time on 2 cores
  const fileTimeoutS = Number(process.env.K3SBOOK_TEST_FILE_TIMEOUT ?? '900')
  const done = []
  const drops = []
  const t0 = Date.now()
  let next = 0
  const children = new Set()
  // Ctrl-C / SIGTERM: the files running are interrupted (their labs and temp folders are removed
  // as they end) and no further file starts
  let stopping = false
  const stop = () => {
    stopping = true
    for (const c of children) c.kill('SIGINT')
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  async function worker() {
    while (next < files.length && !stopping) {
      const file = files[next++]
      const start = Date.now()
      const group = cpuGroup(file)
      const tmp = fileTmp()
      const { code, out } = await new Promise((resolve) => {
        const nodeArgs = compiled.has(file)
          ? ['--enable-source-maps', '--test-reporter=spec', compiled.get(file)]
          : ['--import', 'tsx', '--test-reporter=spec', file]
        // in its cgroup before node starts: the shell enters it, then becomes node
        const child = spawn(
          group ? '/bin/sh' : process.execPath,
          group ? ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', group, process.execPath, ...nodeArgs] : nodeArgs,
          {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...process.env, TMPDIR: tmp, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' },
          },
        )
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
      dropTmp(tmp)
      const cpu = group ? cpuSeconds(group) : undefined
      if (group) drops.push(dropGroup(group))
      done.push({ file, ms, code, cpu })
      const tests = /ℹ tests (\d+)/.exec(out)?.[1] ?? '?'
      if (code !== 0 || verbose) process.stdout.write(out.endsWith('\n') ? out : out + '\n')
      const cpuText = cpu === undefined ? '' : `, ${cpu.toFixed(1)} s CPU`
      process.stdout.write(`${code === 0 ? '✔' : '✖'} ${file} (${tests} tests, ${(ms / 1000).toFixed(1)} s${cpuText})${code === 0 ? '' : ` — exit ${code}`}\n`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
  await Promise.all(drops)
  const failed = done.filter((d) => d.code !== 0)
  process.stdout.write(
    `\n${done.length - failed.length} of ${done.length} files passed in ${((Date.now() - t0) / 1000).toFixed(1)} s (${concurrency} at a time)\n`,
  )
  if (failed.length) process.stdout.write(`failed:\n${failed.map((d) => `  ${d.file}`).join('\n')}\n`)
  process.stdout.write(`slowest files:\n`)
  for (const d of [...done].sort((a, b) => b.ms - a.ms).slice(0, slowest))
    process.stdout.write(`  ${(d.ms / 1000).toFixed(1).padStart(6)} s${d.cpu === undefined ? '' : ` ${d.cpu.toFixed(1).padStart(6)} s CPU`}  ${d.file}\n`)
  const cpus = done.filter((d) => d.cpu !== undefined)
  if (cpus.length) {
    process.stdout.write(`CPU: ${cpus.reduce((a, d) => a + d.cpu, 0).toFixed(0)} s in all; the most:\n`)
    for (const d of [...cpus].sort((a, b) => b.cpu - a.cpu).slice(0, slowest)) process.stdout.write(`  ${d.cpu.toFixed(1).padStart(6)} s CPU  ${d.file}\n`)
  }
  return failed.length ? 1 : 0
}
