// What the executor and modules need from a host: run a POSIX sh script (with optional stdin) and
// move files. One Connection per host for the whole run; implementations reuse a single SSH
// connection (and a long-lived shell on it) so a probe costs one round trip, not a new session.

import { RemoteError } from '../errors.js'

/** A command outlived its `timeoutMs`: it was killed on the host, and the connection stays usable. */
export class ExecTimeoutError extends RemoteError {
  constructor(
    host: string,
    command: string,
    readonly timeoutMs: number,
    stderr = '',
  ) {
    super(host, command, null, stderr, { message: `command timed out after ${timeoutMs} ms and was killed` })
  }
}

/** The run was interrupted (SIGINT/SIGTERM) and this command was killed on the host after the grace period. */
export class ExecInterruptedError extends RemoteError {
  constructor(host: string, command: string, stderr = '') {
    super(host, command, null, stderr, { message: 'interrupted: the command was killed on the host' })
  }
}

export interface ExecResult {
  rc: number
  stdout: Buffer
  stderr: Buffer
}

export interface Become {
  user?: string // default root
  method?: 'sudo' | 'su'
  password?: string
}

export interface ExecOptions {
  /** Bytes fed to the script's standard input (the script sees EOF after them). */
  stdin?: Buffer | string
  /** Kill the command and fail with a timeout after this many milliseconds. */
  timeoutMs?: number
  become?: Become
  /** Exported into the script's environment (names must be valid shell identifiers). */
  env?: Record<string, string>
  cwd?: string
  /** Keep at most this many bytes of each of stdout and stderr: the first and last half, with a note of what was dropped between (src/connection/capture.ts). */
  maxOutput?: number
  /**
   * Stream stdout into this (with backpressure: a slow writer slows the host down) instead of
   * keeping it: the result's stdout is then empty. For file transfers of any size (fetch). The
   * stream is ended when the command's output ends; a stream error fails the command.
   */
  stdout?: NodeJS.WritableStream
  /**
   * The same command with its stdin written inside it (connection/atomic.ts's inlineWrite), run
   * instead of script + stdin where the script reaches no process's arguments: over SSH without
   * become or a timeout, where the long-lived shell evaluates it. Elsewhere ignored: become's
   * `sh -c SCRIPT` would show the content in `ps` and in sudo's log.
   */
  inline?: string
}

export interface ConnectionStats {
  /** Commands sent to the host (each one a round trip). */
  roundTrips: number
  bytesSent: number
  bytesReceived: number
}

export interface Connection {
  readonly host: string
  readonly stats: ConnectionStats
  /**
   * Commands run on the control machine itself (a local connection, or SSH to a loopback address):
   * the executor never runs host data (registered results, facts) as a command here.
   */
  readonly controller?: boolean
  /** Opens the connection; throws ConnectionError (→ UNREACHABLE) with the cause. */
  connect(): Promise<void>
  /** Runs `script` with /bin/sh on the host. Never throws for a non-zero exit; throws ConnectionError when the connection breaks. */
  exec(script: string, opts?: ExecOptions): Promise<ExecResult>
  /** Streams a local file to a remote path (for large payloads such as binaries). */
  upload(localPath: string, remotePath: string, opts?: { mode?: string; become?: Become }): Promise<void>
  /** Reads a remote file whole. */
  download(remotePath: string, opts?: { become?: Become }): Promise<Buffer>
  /**
   * The run was interrupted: kill what this connection runs on the host now (the process tree of
   * each command in flight); those commands fail with ExecInterruptedError. Resolves once the kill
   * was sent (or could not be). Optional: a connection without it leaves its commands to finish.
   */
  interrupt?(): Promise<void>
  close(): Promise<void>
  /**
   * Drops the connection, broken or not, so that the next connect() opens a new one (Ansible's
   * reset_connection): after a reboot, or to wait for a host to come back. Absent: nothing to reset.
   */
  reset?(): Promise<void>
}
