// Running the real CLI (`k3sbook run …`) as a child process from the current sources, so signals,
// exit codes, stdout/stderr and files written on the controller are the ones a user gets.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { bundleIsFresh } from '../helpers/bin.js'

export const ROOT = join(import.meta.dirname, '../..')
const MAIN = join(ROOT, 'src/cli/main.ts')
/** tsx's loader by URL: children run in other directories, where a bare 'tsx' does not resolve. */
export const TSX = import.meta.resolve('tsx')

/**
 * argv (after node) that runs the CLI from the current sources: the built CLI as a user runs it
 * (bin/k3sbook.js: the bundle with V8's code cache) when dist/k3sbook.cjs is newer than every
 * source (`npm test` builds first), else tsx on src/cli/main.ts. tsx costs ~1.2 s of CPU more per
 * process (measured on `validate`: 1.55 s against 0.37 s), and the tests below start dozens.
 */
export const CLI_ARGV = ((): string[] => {
  return bundleIsFresh() ? [join(ROOT, 'bin/k3sbook.js')] : ['--import', TSX, MAIN]
})()

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** Kill after this many ms (the test fails on a hang instead of the suite). */
  timeoutMs?: number
}

/** The CLI child (CLI_ARGV); its output collected. */
export function spawnCli(args: string[], o: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult>; output(): string } {
  const child = spawn(process.execPath, [...CLI_ARGV, ...args], {
    cwd: o.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()))
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 120_000)
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, done, output: () => stdout }
}

export function cli(args: string[], o: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, o).done
}

/** A fresh directory with these files (paths relative to it). */
export function tree(files: Record<string, string | Buffer>, prefix = 'k3sbook-rel-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  for (const [p, content] of Object.entries(files)) {
    const f = join(dir, p)
    mkdirSync(dirname(f), { recursive: true })
    writeFileSync(f, content)
  }
  return dir
}

/** Every regular file under dir (recursively), with its bytes. */
export function filesUnder(dir: string): Array<{ path: string; bytes: Buffer; mode: number }> {
  const out: Array<{ path: string; bytes: Buffer; mode: number }> = []
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out.push({ path: p, bytes: readFileSync(p), mode: statSync(p).mode & 0o777 })
    }
  }
  walk(dir)
  return out
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Wait until `pred` holds (polling), or fail after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** The CLI under a pseudo-terminal (util-linux `script`), so the listr2 view is what is drawn. */
export function ttyRun(argv: string[], cwd: string, columns = 200): Promise<string> {
  const cmd = [process.execPath, ...CLI_ARGV, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
      cwd,
      env: { ...process.env, TERM: 'xterm', COLUMNS: String(columns), LINES: '50' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (b: Buffer) => (out += b.toString()))
    child.stderr.on('data', (b: Buffer) => (out += b.toString()))
    const t = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(t)
      resolve(out)
    })
  })
}

/** The CLI under GNU time: its result and its peak resident memory (MB); killed after 4 minutes. */
export function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult & { maxRssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS=%M', process.execPath, ...CLI_ARGV, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const m = /MAXRSS=(\d+)/.exec(stderr)
      resolve({ code, signal, stdout, stderr: stderr.replace(/MAXRSS=.*\n?/, ''), maxRssMb: m ? Number(m[1]) / 1024 : NaN })
    })
  })
}
