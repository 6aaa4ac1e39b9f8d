// The SSH connection: one ssh2 connection per host for the whole run, and on it ONE long-lived
// /bin/sh whose stdin carries every command, framed by a random nonce, so a command costs one
// round trip and no new session. Big payloads (uploads, downloads, large stdin) use extra channels.
import type { Client as ClientT, ClientChannel, ConnectConfig } from 'ssh2'
import { connect as tcpConnect, Socket } from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, constants as fsConstants } from 'node:fs'
import { readFile, access, stat } from 'node:fs/promises'
import { constants as osConstants } from 'node:os'
import { posix } from 'node:path'
import { Duplex } from 'node:stream'
import { ConnectionError, RemoteError, tail } from '../errors.js'
import type { Become, Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js'
import { ExecInterruptedError, ExecTimeoutError } from './types.js'
import { atomicWriteScript } from './atomic.js'
import { CappedBuffer, droppedNote } from './capture.js'
import { innerScript, shQuote } from './quote.js'

export { innerScript }
import { TRACE, trace } from '../trace.js'
import { decideHostKey, loadKnownHosts, preferredHostKeyAlgorithms, recordHostKey, type HostKeyDecision, type HostKeyPolicy } from './knownhosts.js'

type Client = ClientT
type Ssh2 = typeof import('ssh2')

/**
 * ssh2, loaded on first use (its start-up costs milliseconds of CPU): by then the TCP connections
 * are already opening, so the servers' work overlaps with ours. CommonJS: its named exports are
 * not all visible to ESM, so they are taken off the default export.
 */
let ssh2: Ssh2 | undefined
let ssh2Loading: Promise<Ssh2> | undefined
function loadSsh2(): Promise<Ssh2> {
  if (ssh2) return Promise.resolve(ssh2)
  ssh2Loading ??= (async () => {
    // One turn of the event loop first: the other hosts open their sockets before this CPU work.
    await new Promise<void>((r) => setImmediate(r))
    trace('loading ssh2')
    const m = (await import('ssh2')) as Ssh2 & { default?: Ssh2 }
    ssh2 = m.default ?? m
    trace('ssh2 loaded')
    return ssh2
  })()
  return ssh2Loading
}

export type AuthMethod = { type: 'key'; file: string; passphrase?: string } | { type: 'agent'; socket: string } | { type: 'password'; password: string }

/** One SSH server to log in to (the target, or a ProxyJump hop). */
export interface SshEndpoint {
  /** Address to connect to (HostName). */
  hostName: string
  port: number
  user: string
  /** Tried in order; missing or passphrase-protected key files are skipped with a note. */
  auth: AuthMethod[]
  hostKeys: HostKeyPolicy & { alias?: string }
  connectTimeoutMs: number
  keepaliveIntervalMs: number
  keepaliveCountMax: number
}

export interface SshTarget extends SshEndpoint {
  /** ProxyJump hops, first hop first. */
  jumps: SshEndpoint[]
  /** ProxyCommand (tokens already expanded), run with /bin/sh; its stdio is the transport. */
  proxyCommand?: string
  becomePassword?: string
  /** Concurrent extra channels (uploads, downloads, big stdin); sshd allows 10 sessions in all. */
  maxExtraChannels?: number
}

/** stdin above this size goes over its own channel instead of a base64 heredoc in the shell stream. */
const HEREDOC_LIMIT = 256 * 1024
const MARK = 'K3SB'

/**
 * Finds `marker` in a byte stream that arrives in chunks, without re-copying what came before;
 * with a limit, keeps only the head and the tail of what precedes the marker (CappedBuffer).
 */
class Framer {
  private readonly store: CappedBuffer
  private tail = Buffer.alloc(0)
  private markerAt = -1
  constructor(
    private readonly marker: Buffer,
    limit = Infinity,
  ) {
    // The marker and its line are the last bytes of the stream: 4 KiB beyond the tail keep them.
    this.store = new CappedBuffer(limit, 4096)
  }

  /** Once the marker and the rest of its line are in: the bytes before the marker, and that line. */
  push(chunk: Buffer): { body: Buffer; trailer: string } | undefined {
    const prevLen = this.store.total
    this.store.push(chunk)
    if (this.markerAt < 0) {
      const window = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk
      const idx = window.indexOf(this.marker)
      if (idx >= 0) this.markerAt = prevLen - this.tail.length + idx
      else {
        const keep = Math.min(window.length, this.marker.length - 1)
        this.tail = Buffer.from(window.subarray(window.length - keep))
        return undefined
      }
    }
    const { bytes, gapAt } = this.store.joined()
    const dropped = this.store.dropped
    const at = this.markerAt < gapAt ? this.markerAt : this.markerAt - dropped
    const nl = bytes.indexOf(0x0a, at + this.marker.length)
    if (nl < 0) return undefined
    const trailer = bytes.subarray(at + this.marker.length, nl).toString('latin1')
    const body = dropped ? Buffer.concat([bytes.subarray(0, gapAt), droppedNote(dropped), bytes.subarray(gapAt, at)]) : bytes.subarray(0, at)
    return { body, trailer }
  }
}

interface Pending {
  out: Framer
  err: Framer
  stdout?: Buffer
  stderr?: Buffer
  trailer?: string
  resolve: (r: { stdout: Buffer; stderr: Buffer; trailer: string }) => void
  reject: (e: Error) => void
}

/** The long-lived remote shell: one command at a time, framed by a nonce on stdout and stderr. */
class Shell {
  private pending?: Pending
  closed = false
  /** The shell's process id on the host (its commands are its descendants). */
  pid?: number
  /** interrupt() killed the command in flight: its result is an ExecInterruptedError. */
  killed = false
  constructor(
    private readonly channel: ClientChannel,
    private readonly onClose: (shell: Shell, pending?: Pending) => void,
  ) {
    channel.on('data', (b: Buffer) => this.onData('out', b))
    channel.stderr.on('data', (b: Buffer) => this.onData('err', b))
    channel.on('close', () => {
      this.closed = true
      const p = this.pending
      this.pending = undefined
      this.onClose(this, p)
    })
    channel.on('error', () => {})
  }

  private onData(which: 'out' | 'err', b: Buffer): void {
    const p = this.pending
    if (!p) return // output of a background process that outlived its command: nobody's
    if (which === 'out' && p.stdout === undefined) {
      const r = p.out.push(b)
      if (r) {
        p.stdout = r.body
        p.trailer = r.trailer
      }
    } else if (which === 'err' && p.stderr === undefined) {
      const r = p.err.push(b)
      if (r) p.stderr = r.body
    }
    if (p.stdout !== undefined && p.stderr !== undefined) {
      this.pending = undefined
      p.resolve({ stdout: p.stdout, stderr: p.stderr, trailer: p.trailer ?? '' })
    }
  }

  /** Sends `line` (which must end by printing the markers for `nonce`) and waits for both markers. */
  run(text: string, nonce: string, limit = Infinity): Promise<{ stdout: Buffer; stderr: Buffer; trailer: string }> {
    if (this.pending) throw new Error('internal: shell already busy')
    return new Promise((resolve, reject) => {
      this.pending = {
        out: new Framer(Buffer.from(`${MARK}${nonce}:`), limit),
        err: new Framer(Buffer.from(`${MARK}${nonce}:`), limit),
        resolve,
        reject,
      }
      if (text) this.channel.write(text)
    })
  }

  get busy(): boolean {
    return this.pending !== undefined
  }

  fail(err: Error): void {
    const p = this.pending
    this.pending = undefined
    p?.reject(err)
  }

  destroy(): void {
    this.closed = true
    try {
      this.channel.close()
    } catch {}
  }

  end(): void {
    try {
      this.channel.end('exit 0\n')
    } catch {}
  }
}

function markerLines(nonce: string): string {
  return `printf '${MARK}%s:%d\\n' ${nonce} $?; printf '${MARK}%s:\\n' ${nonce} >&2\n`
}

export interface CommandContext {
  loginUser: string
  remoteUid?: number
  hasTimeout: boolean
  askpass?: string
  host: string
}

/** Whether `become` actually needs a user switch (not when already that user). */
export function needsBecome(b: Become | undefined, ctx: Pick<CommandContext, 'loginUser' | 'remoteUid'>): boolean {
  if (!b) return false
  const user = b.user ?? 'root'
  if (user === ctx.loginUser) return false
  if (user === 'root' && ctx.remoteUid === 0) return false
  return true
}

/**
 * One shell command line (no trailing newline) that runs `inner` with the timeout and the user
 * switch asked for. A sudo password is given through SUDO_ASKPASS, never on the command's stdin:
 * with NOPASSWD or cached credentials sudo would not read it and the command would receive it.
 *
 * The password is never in the argv or the environment of any process on the host (`ps`, and
 * /proc/PID/environ, show those): a shell builtin (`printf`, no process of its own) writes it into
 * a 0600 file in the connection's private 0700 folder; the askpass helper prints it and removes
 * it (a retry with the same password could not succeed anyway), and so does the line when sudo
 * returns without having asked (NOPASSWD, cached credentials).
 * `passwordFrom`: 'text' puts the password in the line itself, for the long-lived shell, which
 * reads its commands on stdin; 'stdin' reads it from the first line of the command's stdin, for
 * commands that run as `sh -c LINE` on their own channel (their LINE is an argv).
 */
export function commandLine(inner: string, opts: ExecOptions, ctx: CommandContext, fast = true, passwordFrom: 'text' | 'stdin' = 'text'): string {
  const wantTimeout = opts.timeoutMs !== undefined && opts.timeoutMs > 0 && ctx.hasTimeout
  let core = `/bin/sh -c ${shQuote(inner)}`
  if (wantTimeout) core = `timeout -k 2 ${(opts.timeoutMs! / 1000).toFixed(3)} ${core}`
  if (!needsBecome(opts.become, ctx)) {
    // A subshell is cheaper than a new sh and keeps `exit`/`cd`/variables from reaching the shell.
    return fast && !wantTimeout ? `( eval ${shQuote(inner)} )` : core
  }
  const b = opts.become!
  const user = b.user ?? 'root'
  if (b.method === 'su') {
    if (ctx.remoteUid !== 0) {
      return `{ printf '%s\\n' ${shQuote(`k3sbook: become_method su works only when logged in as root on ${ctx.host} (su needs a terminal for its password); use sudo`)} >&2; (exit 1); }`
    }
    return `su -s /bin/sh -c ${shQuote(core)} ${shQuote(user)}`
  }
  const password = b.password
  const sudo = password ? sudoWithPassword(user, core, password, ctx, passwordFrom) : `sudo -n -u ${shQuote(user)} -- /bin/sh -c ${shQuote(core)}`
  const missing = `k3sbook: become needs sudo on ${ctx.host}, and sudo is not installed there (or not in PATH)`
  return `if command -v sudo >/dev/null 2>&1; then ${sudo}; else printf '%s\\n' ${shQuote(missing)} >&2; (exit 127); fi`
}

/** The askpass helper: prints the file named in its environment (a path, no secret) and removes it. */
const ASKPASS_HELPER = `#!/bin/sh\ncat -- "$K3SBOOK_ASKPASS_FILE" 2>/dev/null\nrm -f -- "$K3SBOOK_ASKPASS_FILE"\n`

function sudoWithPassword(user: string, core: string, password: string, ctx: CommandContext, from: 'text' | 'stdin'): string {
  if (/[\n\0]/.test(password)) throw new Error('a become password cannot contain a newline or a NUL byte')
  const askpass = ctx.askpass ?? '/nonexistent'
  const file = shQuote(`${posix.dirname(askpass)}/p${randomBytes(6).toString('hex')}`)
  // `read` takes the line byte by byte, so the rest of stdin is left whole for the command.
  const take = from === 'stdin' ? 'IFS= read -r K3SBOOK_P || exit 1; ' : ''
  const value = from === 'stdin' ? '"$K3SBOOK_P"' : shQuote(password)
  return (
    `${take}( umask 077 && printf '%s\\n' ${value} > ${file} ) && { ${from === 'stdin' ? 'unset K3SBOOK_P; ' : ''}` +
    `K3SBOOK_ASKPASS_FILE=${file} SUDO_ASKPASS=${shQuote(askpass)} sudo -A -u ${shQuote(user)} -- /bin/sh -c ${shQuote(core)}; ` +
    `k3sbook_r=$?; rm -f ${file}; (exit $k3sbook_r); }`
  )
}

function b64Lines(data: Buffer): string {
  const s = data.toString('base64')
  let out = ''
  for (let i = 0; i < s.length; i += 76) out += s.slice(i, i + 76) + '\n'
  return out
}

/** Adapts a ProxyCommand child's stdio to the Duplex that ssh2 takes as `sock`. */
function childSocket(child: ChildProcess): Duplex {
  const d = new Duplex({
    read() {
      child.stdout!.resume()
    },
    write(chunk, _enc, cb) {
      if (!child.stdin!.writable) return cb()
      child.stdin!.write(chunk, cb)
    },
    final(cb) {
      child.stdin!.end()
      cb()
    },
    destroy(err, cb) {
      child.stdin!.destroy()
      child.stdout!.destroy()
      if (child.exitCode === null) child.kill('SIGTERM')
      cb(err)
    },
  })
  child.stdout!.on('data', (b: Buffer) => {
    if (!d.push(b)) child.stdout!.pause()
  })
  child.stdout!.on('end', () => d.push(null))
  child.stdin!.on('error', () => {})
  return d
}

function signalRc(signal: string | undefined): number {
  if (!signal) return 1
  const n = (osConstants.signals as Record<string, number>)[`SIG${signal}`] ?? (osConstants.signals as Record<string, number>)[signal]
  return 128 + (n ?? 0)
}

function describe(ep: Pick<SshEndpoint, 'user' | 'hostName' | 'port'>): string {
  return `${ep.user}@${ep.hostName.includes(':') ? `[${ep.hostName}]` : ep.hostName}:${ep.port}`
}

const closedClients = new WeakSet<Client>()

/**
 * A POSIX sh script that kills every descendant of process `root` (not `root` itself): TERM, then
 * KILL for what is still there after 2 s. The tree is read from `ps -eo pid=,ppid=` once.
 */
export function killTreeScript(root: number): string {
  const tree = `ps -eo pid=,ppid= 2>/dev/null | awk -v r=${root} '{ k[$2] = k[$2] " " $1 } END { n = split(k[r], q, " "); for (i = 1; i <= n; i++) { printf " %s", q[i]; m = split(k[q[i]], c, " "); for (j = 1; j <= m; j++) q[++n] = c[j] } }'`
  return [
    `d=$(${tree})`,
    `[ -n "$d" ] || exit 0`,
    `kill -TERM $d 2>/dev/null || sudo -n kill -TERM $d 2>/dev/null`,
    `i=0; while [ $i -lt 20 ]; do a=; for p in $d; do kill -0 $p 2>/dev/null && a=1; done; [ -n "$a" ] || exit 0; sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done`,
    `kill -KILL $d 2>/dev/null || sudo -n kill -KILL $d 2>/dev/null; exit 0`,
  ].join('\n')
}

/**
 * The handshake's deadline on a direct TCP socket: `ms` without a byte from the server, checked
 * after the event loop has read what arrived. ssh2's own timer counts the controller's stalls too: a
 * controller planning 150 hosts on a loaded machine runs its expired timers before it reads the
 * sockets (libuv runs timers before polling), and dropped 100 of 150 hosts whose servers had
 * answered. Reads `bytesRead` (a listener of ours would start the stream before ssh2 listens).
 * Returns the canceller.
 */
export function handshakeDeadline(sock: Socket, ms: number, onTimeout: () => void): () => void {
  let seen = sock.bytesRead
  let last = Date.now()
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  const step = Math.max(1, Math.floor(ms / 4))
  const arm = () => {
    timer = setTimeout(() => {
      // after this turn's poll phase: bytes that came during a stall count
      immediate = setImmediate(() => {
        const now = Date.now()
        if (sock.bytesRead !== seen) {
          seen = sock.bytesRead
          last = now
        }
        if (now - last >= ms) onTimeout()
        else arm()
      })
    }, step)
  }
  arm()
  return () => {
    clearTimeout(timer)
    if (immediate) clearImmediate(immediate)
  }
}

/** Parsed private keys, shared by every connection that uses the same key file (parsing costs ms each). */
type ParsedKey = ReturnType<Ssh2['utils']['parseKey']>
const keyCache = new Map<string, { data: Buffer; parsed: ParsedKey }>()
function parsedKey(file: string, data: Buffer, passphrase?: string): ParsedKey {
  const k = `${file}\u0000${passphrase ?? ''}`
  const hit = keyCache.get(k)
  if (hit && hit.data.equals(data)) return hit.parsed
  const parsed = ssh2!.utils.parseKey(data, passphrase)
  keyCache.set(k, { data, parsed })
  return parsed
}

export class SshConnection implements Connection {
  readonly stats: ConnectionStats = { roundTrips: 0, bytesSent: 0, bytesReceived: 0 }
  private target?: SshTarget
  private client?: Client
  private jumpClients: Client[] = []
  private proxyChild?: ChildProcess
  private proxyStderr = ''
  private shell?: Shell
  private shellOpening?: Promise<Shell>
  private broken?: ConnectionError
  private closing = false
  private queue: Promise<unknown> = Promise.resolve()
  private ctx?: CommandContext
  private extraActive = 0
  private extraWaiters: Array<() => void> = []
  private inflight = new Set<(e: Error) => void>()
  /** Use `( eval … )` for plain commands; off only to measure the difference. */
  fastPath = true

  constructor(
    readonly host: string,
    private readonly resolveTarget: SshTarget | (() => Promise<SshTarget>),
    /** The address is the control machine's own (loopback): see Connection.controller. */
    readonly controller = false,
  ) {}

  async connect(): Promise<void> {
    if (this.client) return
    if (this.broken) throw this.broken
    let tcp: Socket | undefined
    try {
      const t = typeof this.resolveTarget === 'function' ? await this.resolveTarget() : this.resolveTarget
      this.target = t
      if (TRACE) trace(`${this.host}: target resolved`)
      let sock: Duplex | undefined
      if (t.proxyCommand) {
        const child = spawn('/bin/sh', ['-c', t.proxyCommand], { stdio: ['pipe', 'pipe', 'pipe'] })
        this.proxyChild = child
        child.stderr!.on('data', (b: Buffer) => {
          this.proxyStderr = (this.proxyStderr + b.toString()).slice(-4000)
        })
        child.on('error', () => {})
        sock = childSocket(child)
      }
      // A direct connection starts its TCP handshake now, before ssh2 is loaded (see loadSsh2);
      // an error it meets before ssh2 takes the socket over is reported as ssh2 would.
      let early: (() => Error | undefined) | undefined
      if (!sock && t.jumps.length === 0) {
        const s = (tcp = tcpConnect({ host: t.hostName, port: t.port }))
        s.setNoDelay(true)
        let err: Error | undefined
        s.on('error', (e) => (err ??= e))
        early = () => err ?? (s.destroyed ? new Error('connection closed') : undefined)
        sock = s
      }
      await loadSsh2()
      let via: Client | undefined
      for (const hop of t.jumps) {
        const hopSock = via ? await this.forward(via, hop.hostName, hop.port, hop) : sock
        via = await this.login(hop, hopSock, `jump host ${describe(hop)}`)
        this.jumpClients.push(via)
        sock = undefined
      }
      if (via) sock = await this.forward(via, t.hostName, t.port, t)
      trace(`${this.host}: connecting`)
      this.client = await this.login(t, sock, describe(t), early)
      trace(`${this.host}: logged in`)
      this.client.on('error', (e) => this.fail(e))
      this.client.on('close', () => this.fail(new Error('connection closed')))
      for (const j of this.jumpClients) {
        j.on('error', (e) => this.fail(e))
        j.on('close', () => this.fail(new Error('jump host connection closed')))
      }
      await this.openShell()
      trace(`${this.host}: shell ready`)
    } catch (e) {
      // Failed before ssh2 took the socket (no usable key, unreadable known_hosts): it is ours to close.
      tcp?.destroy()
      await this.teardown()
      const proxyFailure = await this.proxyFailure()
      if (proxyFailure) throw new ConnectionError(this.host, `cannot connect to ${this.host}: ${proxyFailure}`, { cause: e })
      if (e instanceof ConnectionError) throw e
      throw new ConnectionError(this.host, `cannot connect to ${this.host}: ${(e as Error).message}`, { cause: e })
    }
  }

  /** Why the ProxyCommand died, if it did: its exit status and the end of its stderr. */
  private async proxyFailure(): Promise<string | undefined> {
    const child = this.proxyChild
    if (!child) return undefined
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500)
        child.once('exit', () => {
          clearTimeout(t)
          r()
        })
      })
    }
    if (!child.exitCode) return undefined
    const err = this.proxyStderr.trim()
    return `ProxyCommand exited with ${child.exitCode}${err ? `: ${tail(err, 3)}` : ''}`
  }

  private forward(via: Client, host: string, port: number, ep: SshEndpoint): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out opening a tunnel to ${describe(ep)}`)), ep.connectTimeoutMs)
      via.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        clearTimeout(timer)
        if (err) reject(new Error(`jump host could not reach ${describe(ep)}: ${err.message}`))
        else resolve(stream)
      })
    })
  }

  private async authList(ep: SshEndpoint, notes: string[]): Promise<NonNullable<ConnectConfig['authHandler']>> {
    const list: Array<Record<string, unknown>> = []
    for (const a of ep.auth) {
      if (a.type === 'key') {
        let data: Buffer
        try {
          data = await readFile(a.file)
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code
          if (code !== 'ENOENT') notes.push(`key ${a.file}: ${code}`)
          continue
        }
        const parsed = parsedKey(a.file, data, a.passphrase)
        if (parsed instanceof Error) {
          notes.push(`key ${a.file}: ${/encrypt|passphrase/i.test(parsed.message) ? 'needs a passphrase (load it into ssh-agent)' : parsed.message}`)
          continue
        }
        list.push({ type: 'publickey', username: ep.user, key: parsed, passphrase: a.passphrase })
        notes.push(`key ${a.file}`)
      } else if (a.type === 'agent') {
        list.push({ type: 'agent', username: ep.user, agent: a.socket })
        notes.push('ssh-agent')
      } else {
        list.push({ type: 'password', username: ep.user, password: a.password })
        list.push({
          type: 'keyboard-interactive',
          username: ep.user,
          prompt: (_n: string, _i: string, _l: string, prompts: unknown[], finish: (r: string[]) => void) => finish(prompts.map(() => a.password)),
        })
        notes.push('password')
      }
    }
    return list as unknown as NonNullable<ConnectConfig['authHandler']>
  }

  /** Handshake, host key check and authentication for one endpoint; the socket gets TCP_NODELAY. */
  private async login(ep: SshEndpoint, sock: Duplex | undefined, label: string, early?: () => Error | undefined): Promise<Client> {
    const keyName = ep.hostKeys.alias ?? ep.hostName
    const entries = await loadKnownHosts([...ep.hostKeys.userFiles, ...ep.hostKeys.globalFiles])
    const notes: string[] = []
    const authHandler = await this.authList(ep, notes)
    if ((authHandler as unknown[]).length === 0) {
      throw new ConnectionError(this.host, `no way to log in to ${label}: no usable key, agent or password`, {
        hint: `tried ${notes.join(', ') || 'nothing'}; set ansible_ssh_private_key_file, IdentityFile in ~/.ssh/config, or SSH_AUTH_SOCK`,
      })
    }
    let decision: HostKeyDecision | undefined
    const client = new ssh2!.Client()
    client.once('close', () => closedClients.add(client))
    const algorithms = preferredHostKeyAlgorithms(entries, keyName, ep.port)
    const cfg: ConnectConfig = {
      host: sock ? undefined : ep.hostName,
      port: sock ? undefined : ep.port,
      sock: sock as ConnectConfig['sock'],
      username: ep.user,
      // on a direct TCP socket the deadline is our own (handshakeDeadline), else ssh2's
      readyTimeout: sock instanceof Socket && ep.connectTimeoutMs > 0 ? 0 : ep.connectTimeoutMs,
      keepaliveInterval: ep.keepaliveIntervalMs,
      // ssh2 gives up when the (countMax+1)-th interval passes without an answer (20 s for 5 s × 3);
      // ServerAliveCountMax promises interval × count (ssh_config(5): "approximately 45 seconds"
      // for 15 × 3). One fewer here makes the bound interval × count after the last answer.
      keepaliveCountMax: Math.max(0, ep.keepaliveCountMax - 1),
      authHandler,
      algorithms: algorithms ? { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } : undefined,
      hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
        decision = decideHostKey(entries, ep.hostKeys, keyName, ep.port, key)
        if (decision.accept && decision.append) {
          recordHostKey(decision.append).then(
            () => verify(true),
            (e: Error) => {
              decision = { accept: false, message: `cannot record the new host key in ${decision!.append!.file}: ${e.message}` }
              verify(false)
            },
          )
        } else verify(decision.accept)
      }) as ConnectConfig['hostVerifier'],
    }
    return new Promise((resolve, reject) => {
      let settled = false
      let stopDeadline = () => {}
      const onError = (e: Error & { level?: string }) => {
        if (settled) return
        settled = true
        stopDeadline()
        client.removeListener('ready', onReady)
        client.end()
        if (decision && !decision.accept) {
          reject(new ConnectionError(this.host, `${label}: ${decision.message}`, { hint: decision.hint, pos: decision.pos, cause: e }))
        } else if (e.level === 'client-authentication') {
          reject(new ConnectionError(this.host, `${label}: authentication failed (tried ${notes.join(', ')})`, { cause: e }))
        } else if (e.level === 'client-timeout') {
          reject(new ConnectionError(this.host, `${label}: timed out after ${ep.connectTimeoutMs} ms (${e.message})`, { cause: e }))
        } else reject(new ConnectionError(this.host, `${label}: ${e.message}`, { cause: e }))
      }
      const onReady = () => {
        if (settled) return
        settled = true
        stopDeadline()
        client.removeListener('error', onError)
        // ssh2 leaves Nagle on; small framed commands then wait for delayed ACKs (4x slower here).
        client.setNoDelay(true)
        resolve(client)
      }
      client.once('ready', onReady)
      client.on('error', onError)
      client.once('close', () => onError(new Error('connection closed during handshake')))
      const failedEarly = early?.()
      if (failedEarly) {
        ;(sock as Socket | undefined)?.destroy()
        settled = true
        reject(new ConnectionError(this.host, `${label}: ${failedEarly.message}`, { cause: failedEarly }))
        return
      }
      if (sock instanceof Socket && ep.connectTimeoutMs > 0)
        stopDeadline = handshakeDeadline(sock, ep.connectTimeoutMs, () => {
          onError(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }))
          sock.destroy()
        })
      client.connect(cfg)
    })
  }

  private fail(cause: Error): void {
    if (this.broken) return
    const err = this.closing
      ? new ConnectionError(this.host, `connection to ${this.host} was closed`, { cause })
      : new ConnectionError(this.host, `connection to ${this.host} lost: ${cause.message}`, { cause })
    this.broken = err
    this.shell?.fail(err)
    for (const r of this.inflight) r(err)
    this.inflight.clear()
    void this.teardown()
  }

  private async openShell(): Promise<Shell> {
    if (this.shell && !this.shell.closed) return this.shell
    if (this.shellOpening) return this.shellOpening
    this.shellOpening = (async () => {
      const client = this.client!
      // The shell says who it runs as (and whether coreutils' timeout is there) before it reads its
      // first command: no round trip of its own. One line in single quotes, which every login shell
      // passes to sh unchanged (sh, bash, zsh, tcsh and fish: test/reliability/login-shells.test.ts).
      const nonce = randomBytes(12).toString('hex')
      const probe = `printf '${MARK}%s:%s %s %s\\n' ${nonce} "$(id -u)" "$(command -v timeout >/dev/null 2>&1 && echo 1 || echo 0)" "$$"; printf '${MARK}%s:\\n' ${nonce} >&2; exec /bin/sh`
      const channel = await new Promise<ClientChannel>((resolve, reject) => {
        client.exec(`exec /bin/sh -c ${shQuote(probe)}`, (err, ch) => (err ? reject(err) : resolve(ch)))
      })
      const shell = new Shell(channel, (s, pending) => {
        if (this.shell === s) this.shell = undefined
        if (pending) {
          // The connection may be going down too; let its close event win so callers see ConnectionError.
          setImmediate(() =>
            pending.reject(this.broken ?? new RemoteError(this.host, '(shell)', null, '', { message: `the remote shell on ${this.host} ended unexpectedly` })),
          )
        }
      })
      // its answer is already on the way: nothing to send (the channel keeps what came before this)
      const r = await shell.run('', nonce)
      const [uid, hasTimeout, pid] = r.trailer.split(' ')
      shell.pid = Number(pid) || undefined
      this.ctx = {
        host: this.host,
        loginUser: this.target!.user,
        remoteUid: Number(uid),
        hasTimeout: hasTimeout === '1',
        askpass: this.ctx?.askpass,
      }
      this.shell = shell
      return shell
    })()
    try {
      return await this.shellOpening
    } finally {
      this.shellOpening = undefined
    }
  }

  private ensureUsable(): void {
    if (this.broken) throw this.broken
    if (!this.client) throw new ConnectionError(this.host, `not connected to ${this.host}`)
  }

  exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.stdin === undefined ? undefined : Buffer.isBuffer(opts.stdin) ? opts.stdin : Buffer.from(opts.stdin)
    // a streamed stdout cannot be framed in the shell's stream: it gets a channel of its own
    if ((stdin && stdin.length > HEREDOC_LIMIT) || opts.stdout) return this.execOnChannel(script, opts, stdin)
    const run = this.queue.then(() => this.execInShell(script, opts, stdin))
    this.queue = run.catch(() => {})
    return run
  }

  private async execInShell(script: string, opts: ExecOptions, stdin: Buffer | undefined): Promise<ExecResult> {
    this.ensureUsable()
    const shell = await this.openShell()
    await this.ensureAskpass(opts.become)
    const ctx = this.ctx!
    const nonce = randomBytes(12).toString('hex')
    // The content inside the script (ExecOptions.inline) only where no process gets the script as an argument.
    const inline = opts.inline !== undefined && this.fastPath && !opts.timeoutMs && !needsBecome(opts.become, ctx) ? opts.inline : undefined
    if (inline !== undefined) stdin = undefined
    const cmd = commandLine(innerScript(inline ?? script, opts), opts, ctx, this.fastPath)
    let text: string
    if (stdin && stdin.length) {
      const delim = `${MARK}${nonce}`
      text = `base64 -d <<'${delim}' | ${cmd}; ${markerLines(nonce)}${b64Lines(stdin)}${delim}\n`
    } else text = `${cmd} </dev/null; ${markerLines(nonce)}`
    this.stats.roundTrips++
    this.stats.bytesSent += text.length
    if (TRACE) trace(`${this.host}: round trip ${this.stats.roundTrips}`, script.replace(/^LC_ALL=C; export LC_ALL\n/, '').replace(/\n/g, ' | '))
    const started = Date.now()
    const timeoutMs = opts.timeoutMs && opts.timeoutMs > 0 ? opts.timeoutMs : undefined
    let timer: NodeJS.Timeout | undefined
    const result = shell.run(text, nonce, opts.maxOutput)
    if (timeoutMs) {
      // With coreutils `timeout` on the host this is only a backstop; without it, it is the timeout.
      const backstop = ctx.hasTimeout ? timeoutMs + 5000 : timeoutMs
      timer = setTimeout(() => {
        shell.fail(new ExecTimeoutError(this.host, script, timeoutMs))
        shell.destroy() // the shell is mid-command: a fresh one is opened for the next command
        if (this.shell === shell) this.shell = undefined
      }, backstop)
    }
    try {
      const r = await result
      const rc = Number(r.trailer)
      this.stats.bytesReceived += r.stdout.length + r.stderr.length
      if (shell.killed) {
        shell.killed = false
        throw new ExecInterruptedError(this.host, script, r.stderr.toString())
      }
      if (timeoutMs && ctx.hasTimeout && (rc === 124 || rc === 137) && Date.now() - started >= timeoutMs * 0.9) {
        throw new ExecTimeoutError(this.host, script, timeoutMs, r.stderr.toString())
      }
      return { rc, stdout: r.stdout, stderr: r.stderr }
    } finally {
      if (timer) clearTimeout(timer)
    }
  }

  /**
   * Kills the process tree of the command in flight in the long-lived shell (TERM, then KILL
   * after 2 s; through `sudo -n` for processes of another user), from a channel of its own. The
   * shell itself lives on and reports the command's end, which becomes an ExecInterruptedError.
   * Commands on channels of their own are fed by the controller: closing their channel ends
   * their input, and they fail at once.
   */
  async interrupt(): Promise<void> {
    const client = this.client
    if (!client || this.broken) return
    for (const r of [...this.inflight]) r(new ExecInterruptedError(this.host, '(channel)'))
    const shell = this.shell
    if (!shell?.busy || !shell.pid) return
    shell.killed = true
    if (TRACE) trace(`${this.host}: interrupt: killing the descendants of shell ${shell.pid}`)
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000)
      const done = () => {
        clearTimeout(t)
        resolve()
      }
      try {
        client.exec(killTreeScript(shell.pid!), (err, ch) => {
          if (err) return done()
          ch.on('close', done)
          ch.on('error', done)
          ch.resume()
          ch.stderr.resume()
          ch.end()
        })
      } catch {
        done()
      }
    })
  }

  /** The first line of a channel command's stdin when commandLine reads the become password there. */
  private passwordLine(b: Become | undefined): Buffer | undefined {
    if (!b?.password || b.method === 'su' || !needsBecome(b, this.ctx!)) return undefined
    return Buffer.from(b.password + '\n')
  }

  private needsAskpass(b: Become | undefined): boolean {
    return !!b?.password && b.method !== 'su' && !this.ctx!.askpass && needsBecome(b, this.ctx!)
  }

  /** For callers outside the shell queue: makes the askpass helper through the queue when needed. */
  private askpassReady(b: Become | undefined): Promise<void> {
    if (!this.needsAskpass(b)) return Promise.resolve()
    const run = this.queue.then(async () => {
      this.ensureUsable()
      await this.openShell()
      await this.ensureAskpass(b)
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** A password for sudo goes through a tiny askpass helper in a private temp dir on the host. */
  private async ensureAskpass(b: Become | undefined): Promise<void> {
    if (!this.needsAskpass(b)) return
    const nonce = randomBytes(12).toString('hex')
    const script = `d=$(mktemp -d) && printf '%s' ${shQuote(ASKPASS_HELPER)} > "$d/askpass" && chmod 700 "$d/askpass" && printf '%s' "$d/askpass"`
    const r = await this.shell!.run(`( ${script} ) </dev/null; ${markerLines(nonce)}`, nonce)
    if (r.trailer !== '0')
      throw new RemoteError(this.host, script, Number(r.trailer), r.stderr.toString(), { message: `cannot prepare sudo password helper on ${this.host}` })
    this.ctx!.askpass = r.stdout.toString()
  }

  private async acquireExtra(): Promise<() => void> {
    const max = this.target?.maxExtraChannels ?? 3
    while (this.extraActive >= max) await new Promise<void>((r) => this.extraWaiters.push(r))
    this.extraActive++
    return () => {
      this.extraActive--
      this.extraWaiters.shift()?.()
    }
  }

  /**
   * Runs one command on its own exec channel, feeding `input` (a Buffer or a readable stream) to it.
   * Used for payloads too big to frame through the shell.
   */
  private async channelRun(
    command: string,
    input: Buffer | (() => NodeJS.ReadableStream) | undefined,
    timeoutMs?: number,
    /** Sent before `input`: the become password's line (see commandLine's passwordFrom). */
    preamble?: Buffer,
    maxOutput?: number,
    /** stdout goes here (piped, with backpressure) instead of into the result. */
    sink?: NodeJS.WritableStream,
  ): Promise<ExecResult> {
    this.ensureUsable()
    if (!this.ctx) await this.openShell()
    const release = await this.acquireExtra()
    try {
      this.ensureUsable()
      this.stats.roundTrips++
      return await new Promise<ExecResult>((resolve, reject) => {
        let rejectOnce: (e: Error) => void = reject
        const fail = (e: Error) => rejectOnce(e)
        this.inflight.add(fail)
        this.client!.exec(command, (err, ch) => {
          if (err) {
            this.inflight.delete(fail)
            return reject(this.broken ?? new ConnectionError(this.host, `cannot open a channel to ${this.host}: ${err.message}`, { cause: err }))
          }
          const out = new CappedBuffer(maxOutput)
          const errb = new CappedBuffer(maxOutput)
          let rc: number | undefined
          let timer: NodeJS.Timeout | undefined
          rejectOnce = (e: Error) => {
            if (timer) clearTimeout(timer)
            this.inflight.delete(fail)
            try {
              ch.close()
            } catch {}
            reject(e)
          }
          if (timeoutMs) {
            timer = setTimeout(() => rejectOnce(new ExecTimeoutError(this.host, command, timeoutMs)), timeoutMs + (this.ctx?.hasTimeout ? 5000 : 0))
          }
          if (sink) {
            ch.on('data', (b: Buffer) => (this.stats.bytesReceived += b.length))
            ch.pipe(sink)
            // the writer failed (a full disk) or went away: the command is abandoned, its channel closed
            sink.on('error', (e: Error) => rejectOnce(e))
          } else ch.on('data', (b: Buffer) => out.push(b))
          ch.stderr.on('data', (b: Buffer) => errb.push(b))
          ch.on('exit', (code: number | null, signal?: string) => {
            rc = code ?? signalRc(signal)
          })
          ch.on('error', (e: Error) => rejectOnce(e))
          ch.on('close', () => {
            if (timer) clearTimeout(timer)
            this.inflight.delete(fail)
            if (this.broken) return reject(this.broken)
            const stdout = out.result()
            this.stats.bytesReceived += out.total
            resolve({ rc: rc ?? 255, stdout, stderr: errb.result() })
          })
          if (preamble) ch.write(preamble)
          if (input === undefined) ch.end()
          else if (Buffer.isBuffer(input)) {
            this.stats.bytesSent += input.length
            ch.end(input)
          } else {
            // Made here so its 'error' (a missing local file) has a listener from the start.
            const stream = input()
            stream.on('error', (e: Error) => rejectOnce(e))
            stream.on('data', (b: Buffer) => (this.stats.bytesSent += b.length))
            stream.pipe(ch)
          }
        })
      })
    } finally {
      release()
    }
  }

  private async execOnChannel(script: string, opts: ExecOptions, stdin: Buffer | undefined): Promise<ExecResult> {
    this.ensureUsable()
    if (!this.ctx) await this.openShell()
    await this.askpassReady(opts.become)
    const cmd = commandLine(innerScript(script, opts), opts, this.ctx!, false, 'stdin')
    const started = Date.now()
    const r = await this.channelRun(cmd, stdin, opts.timeoutMs, this.passwordLine(opts.become), opts.maxOutput, opts.stdout)
    if (opts.timeoutMs && this.ctx!.hasTimeout && (r.rc === 124 || r.rc === 137) && Date.now() - started >= opts.timeoutMs * 0.9) {
      throw new ExecTimeoutError(this.host, script, opts.timeoutMs, r.stderr.toString())
    }
    return r
  }

  /** Streams a local file to a temp file beside `remotePath`, then renames it into place. */
  async upload(localPath: string, remotePath: string, opts: { mode?: string; become?: Become } = {}): Promise<void> {
    this.ensureUsable()
    if (!this.ctx) await this.openShell()
    if (opts.mode !== undefined && !/^[0-7]{3,4}$/.test(opts.mode)) throw new Error(`bad file mode: ${opts.mode}`)
    // The shared atomic write: checked on the host before the rename (a controller killed
    // mid-transfer still ends the channel's input: a truncated temp file never replaces the target).
    const size = (await stat(localPath)).size
    const script = atomicWriteScript(remotePath, { size, mode: opts.mode })
    await this.askpassReady(opts.become)
    const cmd = commandLine(script, { become: opts.become }, this.ctx!, false, 'stdin')
    await access(localPath, fsConstants.R_OK)
    const r = await this.channelRun(cmd, () => createReadStream(localPath), undefined, this.passwordLine(opts.become))
    if (r.rc !== 0) {
      throw new RemoteError(this.host, `upload ${localPath} → ${remotePath}`, r.rc, r.stderr.toString(), {
        message: `upload to ${remotePath} failed (exit ${r.rc}): ${tail(r.stderr.toString(), 5) || '(no stderr)'}; the target was left as it was`,
      })
    }
  }

  async download(remotePath: string, opts: { become?: Become } = {}): Promise<Buffer> {
    this.ensureUsable()
    if (!this.ctx) await this.openShell()
    await this.askpassReady(opts.become)
    const cmd = commandLine(`cat -- ${shQuote(remotePath)}`, { become: opts.become }, this.ctx!, false, 'stdin')
    const r = await this.channelRun(cmd, undefined, undefined, this.passwordLine(opts.become))
    if (r.rc !== 0) {
      throw new RemoteError(this.host, `cat ${remotePath}`, r.rc, r.stderr.toString(), {
        message: `cannot read ${remotePath} (exit ${r.rc}): ${tail(r.stderr.toString(), 5) || '(no stderr)'}`,
      })
    }
    return r.stdout
  }

  async reset(): Promise<void> {
    if (this.closing) return
    const clients = [this.client, ...this.jumpClients].filter((c): c is Client => !!c)
    // the old clients' close and error events must not mark the new connection broken
    for (const c of clients) {
      c.removeAllListeners('close')
      c.removeAllListeners('error')
      c.on('error', () => {})
    }
    const gone = new ConnectionError(this.host, `connection to ${this.host} was reset`)
    this.shell?.fail(gone)
    for (const r of this.inflight) r(gone)
    this.inflight.clear()
    await this.teardown()
    this.client = undefined
    this.jumpClients = []
    this.proxyChild = undefined
    this.proxyStderr = ''
    this.shell = undefined
    this.shellOpening = undefined
    this.broken = undefined
    this.queue = Promise.resolve()
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (!this.broken && this.shell && this.ctx?.askpass) {
      const dir = posix.dirname(this.ctx.askpass)
      try {
        await this.exec(`rm -rf -- ${shQuote(dir)}`, { timeoutMs: 5000 })
      } catch {}
    }
    this.shell?.end()
    await this.teardown()
  }

  private async teardown(): Promise<void> {
    const clients = [this.client, ...this.jumpClients.slice().reverse()].filter((c): c is Client => !!c)
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (closedClients.has(c)) return resolve()
            // Once our DISCONNECT is handed to the kernel there is nothing left to wait for: waiting
            // for the server to close its side too cost up to a second per run on a loaded machine.
            const done = () => {
              clearTimeout(t)
              c.destroy()
              resolve()
            }
            const t = setTimeout(done, 1000)
            c.once('close', done)
            ;(c as unknown as { _sock?: Duplex })._sock?.once('finish', done)
            try {
              c.end()
            } catch {
              done()
            }
          }),
      ),
    )
    if (this.proxyChild && this.proxyChild.exitCode === null) this.proxyChild.kill('SIGTERM')
  }
}
