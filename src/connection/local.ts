// The `local` connection: scripts run with /bin/sh on the control machine (ansible_connection=local).
// Same contract as SshConnection: a timeout kills the whole command (its process group) and throws
// ExecTimeoutError; uploads are atomic (temp file beside the target, then rename).
import { spawn } from 'node:child_process'
import { CappedBuffer } from './capture.js'
import { readFile, chmod, rename, rm, stat, open } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Become, Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js'
import { ExecInterruptedError, ExecTimeoutError } from './types.js'
import { atomicWriteScript } from './atomic.js'
import { shQuote } from './quote.js'
import { RemoteError } from '../errors.js'

export class LocalConnection implements Connection {
  readonly stats: ConnectionStats = { roundTrips: 0, bytesSent: 0, bytesReceived: 0 }
  readonly controller = true
  /** Commands in flight: their process group ids and what interrupt() marks. */
  private readonly running = new Map<number, { killed: boolean }>()
  constructor(readonly host = 'localhost') {}

  /** Kills the process group of every command in flight: TERM, then KILL after 2 s. */
  async interrupt(): Promise<void> {
    const groups = [...this.running.entries()]
    for (const [pid, r] of groups) {
      r.killed = true
      try {
        process.kill(-pid, 'SIGTERM')
      } catch {}
    }
    if (!groups.length) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const [pid] of groups)
          try {
            process.kill(-pid, 'SIGKILL')
          } catch {}
        resolve()
      }, 2000)
      t.unref()
    })
  }

  async connect(): Promise<void> {}

  private argv(script: string, become: Become | undefined): string[] {
    const argv = ['/bin/sh', '-c', script]
    const user = become?.user ?? 'root'
    if (!become) return argv
    if (user === 'root' && process.getuid?.() === 0) return argv
    if (become.method === 'su' && process.getuid?.() === 0) return ['su', '-s', '/bin/sh', '-c', script, user]
    return ['sudo', '-n', '-u', user, '--', ...argv]
  }

  exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.stats.roundTrips++
    const argv = this.argv(script, opts.become)
    return new Promise((resolve, reject) => {
      // Its own process group, so a timeout kills the children too (they would hold the pipes open).
      const child = spawn(argv[0], argv.slice(1), {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      })
      const out = new CappedBuffer(opts.maxOutput)
      const err = new CappedBuffer(opts.maxOutput)
      const mark = { killed: false }
      if (child.pid) this.running.set(child.pid, mark)
      let timedOut = false
      let sinkError: Error | undefined
      let timer: NodeJS.Timeout | undefined
      if (opts.timeoutMs) {
        timer = setTimeout(() => {
          timedOut = true
          try {
            process.kill(-child.pid!, 'SIGKILL')
          } catch {}
        }, opts.timeoutMs)
      }
      if (opts.stdout) {
        child.stdout.on('data', (b: Buffer) => (this.stats.bytesReceived += b.length))
        child.stdout.pipe(opts.stdout)
        // the writer failed (a full disk): the command is killed and fails with the writer's error
        opts.stdout.on('error', (e: Error) => {
          sinkError ??= e
          try {
            process.kill(-child.pid!, 'SIGKILL')
          } catch {}
        })
      } else child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.on('error', (e) => {
        if (timer) clearTimeout(timer)
        reject(e)
      })
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer)
        if (child.pid) this.running.delete(child.pid)
        const stdout = out.result()
        const stderr = err.result()
        if (mark.killed) return reject(new ExecInterruptedError(this.host, script, stderr.toString()))
        if (timedOut) return reject(new ExecTimeoutError(this.host, script, opts.timeoutMs!, stderr.toString()))
        if (sinkError) return reject(sinkError)
        this.stats.bytesReceived += out.total
        resolve({ rc: code ?? (signal ? 128 + 9 : 1), stdout, stderr })
      })
      child.stdin.on('error', () => {})
      if (opts.stdin !== undefined) {
        this.stats.bytesSent += Buffer.byteLength(opts.stdin)
        child.stdin.end(opts.stdin)
      } else child.stdin.end()
    })
  }

  async upload(localPath: string, remotePath: string, opts: { mode?: string; become?: Become } = {}): Promise<void> {
    const needsSwitch = opts.become && !((opts.become.user ?? 'root') === 'root' && process.getuid?.() === 0)
    if (needsSwitch) {
      // Another user writes the file: the same atomic script as over SSH, run through exec.
      const data = await readFile(localPath)
      const script = atomicWriteScript(remotePath, { size: data.length, mode: opts.mode })
      const r = await this.exec(script, { become: opts.become, stdin: data })
      if (r.rc !== 0) throw new RemoteError(this.host, `upload ${localPath} → ${remotePath}`, r.rc, r.stderr.toString())
      return
    }
    let mode = opts.mode ? parseInt(opts.mode, 8) : undefined
    if (mode === undefined)
      mode = await stat(remotePath).then(
        (s) => s.mode & 0o7777,
        () => 0o644,
      )
    const tmp = join(dirname(remotePath), `.${basename(remotePath)}.k3sbook.${randomBytes(6).toString('hex')}`)
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await pipeline(createReadStream(localPath), fh.createWriteStream())
      await chmod(tmp, mode)
      await rename(tmp, remotePath)
    } catch (e) {
      await rm(tmp, { force: true })
      throw e
    } finally {
      await fh.close().catch(() => {})
    }
  }

  async download(remotePath: string, opts: { become?: Become } = {}): Promise<Buffer> {
    if (opts.become && !((opts.become.user ?? 'root') === 'root' && process.getuid?.() === 0)) {
      const r = await this.exec(`cat -- ${shQuote(remotePath)}`, { become: opts.become })
      if (r.rc !== 0) throw new RemoteError(this.host, `cat ${remotePath}`, r.rc, r.stderr.toString())
      return r.stdout
    }
    return readFile(remotePath)
  }

  async close(): Promise<void> {}
}

export { shQuote }
