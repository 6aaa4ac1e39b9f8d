// Processes for the lab: run a tool and collect its output, name a process by pid + start time (so a
// recycled pid is never killed by mistake), find a process's children, kill and wait, and a lock.
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { LabError, tail } from '../errors.js'

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e) => reject(new LabError(`cannot run ${cmd}: ${e.message}`, { cause: e })))
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    )
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** Like run(), but a non-zero exit is a LabError carrying the command and the tail of stderr. */
export async function runOk(cmd: string, args: string[], opts: { input?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) throw new LabError(`\`${[cmd, ...args].join(' ')}\` failed (exit ${r.code}): ${tail(r.stderr || r.stdout, 3) || 'no output'}`)
  return r
}

export function runSync(cmd: string, args: string[], input?: string): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] })
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? r.error.message : '') }
}

/** A process as the lab records it: the start time tells a live process from a later one with the same pid. */
export interface ProcRef {
  pid: number
  start: string
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may contain spaces and parens: split after the last ')'
    return s.slice(s.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

export function procRef(pid: number): ProcRef | undefined {
  const f = statFields(pid)
  return f ? { pid, start: f[19] } : undefined
}

/** The recorded process still runs (a zombie counts as gone: it holds no namespace or mount). */
export function isAlive(ref: ProcRef | undefined): ref is ProcRef {
  if (!ref) return false
  const f = statFields(ref.pid)
  return !!f && f[19] === ref.start && f[0] !== 'Z' && f[0] !== 'X'
}

export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** The namespace inode a process is in, e.g. nsInode(pid, 'net') → 4026532301. */
export function nsInode(pid: number, ns: 'net' | 'mnt' | 'pid' | 'uts'): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${ns}`))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Every live process whose network namespace is one of `inodes`. */
export function processesInNetns(inodes: Set<number>): number[] {
  const out: number[] = []
  if (inodes.size === 0) return out
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const ino = nsInode(Number(d), 'net')
    if (ino !== undefined && inodes.has(ino)) out.push(Number(d))
  }
  return out
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms)
}

/** SIGKILL every given live process, then wait (up to timeoutMs) until none runs. Returns those still alive. */
export function killAndWait(refs: ProcRef[], timeoutMs = 5000): ProcRef[] {
  let alive = refs.filter(isAlive)
  for (const r of alive) {
    try {
      process.kill(r.pid, 'SIGKILL')
    } catch {
      /* already gone */
    }
  }
  const until = Date.now() + timeoutMs
  while (alive.length && Date.now() < until) {
    alive = alive.filter(isAlive)
    if (alive.length) sleepSync(10)
  }
  return alive
}

/** Absolute path of an executable, looked up in PATH plus the sbin directories root normally has. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    const p = join(d, cmd)
    if (existsSync(p)) return p
  }
  return undefined
}

/**
 * A lock held by this process: a directory made atomically, with the owner's pid and start time
 * inside, so a lock left by a crashed run is taken over instead of blocking forever.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  mkdirSync(dirname(path), { recursive: true })
  const me = procRef(process.pid)!
  const until = Date.now() + timeoutMs
  for (;;) {
    try {
      mkdirSync(path)
      const fd = openSync(join(path, 'owner'), 'w')
      writeSync(fd, `${me.pid} ${me.start}\n`)
      closeSync(fd)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      let owner: ProcRef | undefined
      try {
        const [pid, start] = readFileSync(join(path, 'owner'), 'utf8').trim().split(' ')
        owner = { pid: Number(pid), start }
      } catch {
        /* being written right now, or left empty by a crash: judged below by age */
      }
      if (owner ? !isAlive(owner) : lockAgeMs(path) > 2000) {
        const stale = `${path}.stale.${process.pid}.${Date.now()}`
        try {
          renameSync(path, stale)
          rmSync(stale, { recursive: true, force: true })
        } catch {
          /* someone else took it over first */
        }
        continue
      }
      if (Date.now() > until) throw new LabError(`timed out waiting for lock ${path} (held by pid ${owner?.pid ?? '?'})`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  try {
    return await fn()
  } finally {
    rmSync(path, { recursive: true, force: true })
  }
}

function lockAgeMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}
