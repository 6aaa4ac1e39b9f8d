// The one way integration tests get real SSH hosts: `const lab = await useLab(t, { hosts: 3 })` gives
// N fresh hosts and removes them when the test ends, passed or failed. Lab names are unique per call
// so test files can run in parallel; labs left by a killed test run are swept on the next call.
import type { TestContext } from 'node:test'
import { spawn } from 'node:child_process'
import { labDown, labDownSync, labUp, sweepOrphanLabs, type LabHost, type LabInfo, type LabInit } from '../../src/lab/index.js'

export type { LabHost, LabInfo } from '../../src/lab/index.js'

let counter = 0
const live = new Set<string>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  // after() hooks do not run when the process is interrupted: take the labs down on the way out
  const downAll = () => {
    for (const name of live) {
      try {
        labDownSync(name)
      } catch {
        /* best effort on exit; the next run's sweep gets the rest */
      }
    }
    live.clear()
  }
  process.once('exit', downAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      downAll()
      process.exit(sig === 'SIGINT' ? 130 : 143)
    })
}

export interface UseLabOptions {
  hosts?: number
  subnet?: string
  /** a readable part of the lab name (letters, digits, dashes; kept short) */
  tag?: string
  /** 'systemd': systemd boots as each host's pid 1 (default 'none') */
  init?: LabInit
}

/** A unique, valid lab name: the test process's pid and a counter. */
export function uniqueLabName(tag = 't'): string {
  const clean =
    tag
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 8) || 't'
  return `${/^[a-z]/.test(clean) ? clean : 't' + clean}-${process.pid.toString(36)}-${++counter}`.slice(0, 24)
}

/** Bring up a fresh lab; the caller must call stop() (for describe-level before/after). */
export async function startLab(opts: UseLabOptions = {}): Promise<LabInfo & { stop(): Promise<void> }> {
  hookExit()
  if (counter === 0) sweepOrphanLabs()
  const name = uniqueLabName(opts.tag)
  live.add(name)
  let lab: LabInfo
  try {
    lab = await labUp({ name, hosts: opts.hosts ?? 1, subnet: opts.subnet, owner: process.pid, init: opts.init })
  } catch (e) {
    live.delete(name)
    throw e
  }
  return {
    ...lab,
    async stop() {
      if (!live.has(name)) return
      live.delete(name)
      await labDown(name)
    },
  }
}

/** N fresh hosts for one test, removed when the test ends (also when it fails). */
export async function useLab(t: Pick<TestContext, 'after'>, opts: UseLabOptions = {}): Promise<LabInfo> {
  const lab = await startLab(opts)
  t.after(() => lab.stop())
  return lab
}

/** ssh(1) arguments that reach a lab host with the lab's key and known_hosts, host key checking on. */
export function sshArgs(lab: LabInfo, host: LabHost | number): string[] {
  const h = typeof host === 'number' ? lab.hosts[host - 1] : host
  return [
    '-i',
    lab.keyPath,
    '-o',
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=5',
    `root@${h.address}`,
  ]
}

/** Run a command on a lab host with the real OpenSSH client. */
export function ssh(lab: LabInfo, host: LabHost | number, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshArgs(lab, host), command], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()))
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }))
  })
}
