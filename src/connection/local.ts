// The `local` connection: scripts run with /bin/sh on the control machine (ansible_connection=local).
import { spawn } from 'node:child_process'
import { copyFile, readFile, chmod } from 'node:fs/promises'
import type { Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js'
import { shQuote } from './quote.js'

export class LocalConnection implements Connection {
  readonly stats: ConnectionStats = { roundTrips: 0, bytesSent: 0, bytesReceived: 0 }
  constructor(readonly host = 'localhost') {}

  async connect(): Promise<void> {}

  exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.stats.roundTrips++
    let argv = ['/bin/sh', '-c', script]
    const user = opts.become?.user ?? 'root'
    if (opts.become && !(user === 'root' && process.getuid?.() === 0)) argv = ['sudo', '-n', '-u', user, '--', ...argv]
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      const out: Buffer[] = []
      const err: Buffer[] = []
      let timer: NodeJS.Timeout | undefined
      if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs)
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.on('error', reject)
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer)
        const stdout = Buffer.concat(out)
        this.stats.bytesReceived += stdout.length
        resolve({ rc: code ?? (signal ? 128 + 9 : 1), stdout, stderr: Buffer.concat(err) })
      })
      child.stdin.on('error', () => {})
      if (opts.stdin !== undefined) {
        this.stats.bytesSent += Buffer.byteLength(opts.stdin)
        child.stdin.end(opts.stdin)
      } else child.stdin.end()
    })
  }

  async upload(localPath: string, remotePath: string, opts: { mode?: string } = {}): Promise<void> {
    await copyFile(localPath, remotePath)
    if (opts.mode) await chmod(remotePath, parseInt(opts.mode, 8))
  }

  async download(remotePath: string): Promise<Buffer> {
    return readFile(remotePath)
  }

  async close(): Promise<void> {}
}

export { shQuote }
