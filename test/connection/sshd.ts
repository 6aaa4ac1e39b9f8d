// A real OpenSSH sshd for tests: temp host and client keys, 127.0.0.1 on a free port, killed by stop().
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { createServer, connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestSshd {
  port: number
  dir: string
  /** Client private key that the server accepts for root. */
  clientKey: string
  /** `[127.0.0.1]:port ssh-ed25519 AAAA…` */
  knownHostsLine: string
  hostKeyPub: string
  proc: ChildProcess
  stop(): Promise<void>
  /** Stops or resumes every sshd process of this server (the listener and its sessions). */
  signalAll(sig: NodeJS.Signals): void
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))))
    })
  })
}

export function keygen(path: string, type = 'ed25519'): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'k3sbook-test', '-f', path])
}

/** pids of `root` and all its descendants, from /proc. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(d))
      children.set(ppid, list)
    } catch {}
  }
  const out: number[] = []
  const walk = (p: number) => {
    out.push(p)
    for (const c of children.get(p) ?? []) walk(c)
  }
  walk(root)
  return out
}

export async function startSshd(
  opts: { clientKey?: string; hostKeyType?: string; dir?: string; extraConfig?: string; env?: Record<string, string> } = {},
): Promise<TestSshd> {
  mkdirSync('/run/sshd', { recursive: true })
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'k3sbook-sshd-'))
  const hostKeyType = opts.hostKeyType ?? 'ed25519'
  const hostKey = join(dir, `host_${hostKeyType}_${Math.random().toString(36).slice(2, 8)}`)
  keygen(hostKey, hostKeyType)
  let clientKey = opts.clientKey
  if (!clientKey) {
    clientKey = join(dir, 'client_ed25519')
    keygen(clientKey)
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(clientKey + '.pub'))
  const port = await freePort()
  const cfg = join(dir, `sshd_config_${port}`)
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, `sshd_${port}.pid`)}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      // This machine's root ~/.bashrc runs `pyenv init` (~0.45 s), which bash sources for ssh
      // sessions when SHLVL < 2; a stock lab host has no such cost, so keep it out of measurements.
      `SetEnv ${Object.entries({ SHLVL: '1', ...opts.env })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      opts.extraConfig ?? '',
    ].join('\n') + '\n',
  )
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()))
  // Wait until it accepts connections.
  const deadline = Date.now() + 5000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sshd exited: ${log}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1')
      s.once('data', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) break
    if (Date.now() > deadline) throw new Error(`sshd did not start: ${log}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const pub = readFileSync(hostKey + '.pub', 'utf8')
    .trim()
    .split(/\s+/)
  return {
    port,
    dir,
    clientKey,
    hostKeyPub: `${pub[0]} ${pub[1]}`,
    knownHostsLine: `[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`,
    proc,
    signalAll(sig) {
      if (proc.pid === undefined) return
      for (const p of descendants(proc.pid)) {
        try {
          process.kill(p, sig)
        } catch {}
      }
    },
    async stop() {
      if (proc.pid !== undefined && proc.exitCode === null) {
        const pids = descendants(proc.pid)
        for (const p of pids) {
          try {
            process.kill(p, 'SIGCONT')
            process.kill(p, 'SIGKILL')
          } catch {}
        }
        await new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())))
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Connection options that read nothing from this machine's ~/.ssh or /etc/ssh. */
export function isolated(knownHostsFile: string, extra: Record<string, unknown> = {}) {
  return { knownHostsFile, sshConfigFile: false as const, systemSshConfigFile: false as const, env: { USER: 'root' }, home: '/nonexistent-home', ...extra }
}
