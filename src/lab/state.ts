// Where a lab keeps its record: state.json lists every resource the lab made (bridge, veths,
// processes by pid + start time), written before and after each change so `lab down` can remove
// everything even after a crashed `lab up`.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabError } from '../errors.js'
import type { ProcRef } from './proc.js'

export const DEFAULT_LAB = 'lab'
export const DEFAULT_BASE = '/var/lib/k3sbook/labs'

/** Directory holding one sub-directory per lab; K3SBOOK_LAB_DIR moves it. */
export function labsBase(): string {
  return process.env.K3SBOOK_LAB_DIR || DEFAULT_BASE
}

export function labDir(name: string): string {
  return join(labsBase(), name)
}

const NAME_RE = /^[a-z][a-z0-9-]{0,23}$/
export function checkName(name: string): string {
  if (!NAME_RE.test(name) || name.endsWith('-'))
    throw new LabError(`invalid lab name "${name}"`, { hint: 'use 1-24 lowercase letters, digits and dashes, starting with a letter' })
  return name
}

/** Interface names are limited to 15 bytes: both the bridge and the veths carry a short hash of the lab name. */
export function linkTag(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 6)
}
export function bridgeName(name: string): string {
  return `k3sb-${linkTag(name)}`
}
export function vethName(name: string, index: number): string {
  return `k3v${linkTag(name)}-${index}`
}
/** Locally administered MACs: 02:<tag>:<index>; index 0 is the bridge. */
export function macAddress(name: string, index: number): string {
  const t = linkTag(name)
  const hex = [t.slice(0, 2), t.slice(2, 4), t.slice(4, 6), ((index >> 8) & 255).toString(16).padStart(2, '0'), (index & 255).toString(16).padStart(2, '0')]
  return `02:${hex.join(':')}`
}
export function hostName(name: string, index: number): string {
  return `${name}-${index}`
}

export interface HostState {
  name: string
  index: number
  address: string
  veth: string
  /** the `unshare` that made the namespaces; it waits on init, in the root pid namespace */
  unshare?: ProcRef
  /** pid 1 of the host's pid namespace: killing it ends every process in the host */
  init?: ProcRef
  sshd?: ProcRef
  /** inode of the host's network namespace (to find any stray process in it) */
  netns?: number
}

export interface LabState {
  version: 1
  name: string
  subnet: string
  bridge: string
  bridgeAddress: string
  /** the bridge was made by this lab (always true once recorded; a missing bridge is fine on `down`) */
  hosts: HostState[]
  /** pid + start of the process that owns the lab (the test helper sets it; a dead owner's lab may be swept) */
  owner?: ProcRef
  createdAt: string
  /** what runs as each host's pid 1 (absent in records written before systemd hosts: 'none') */
  init?: 'none' | 'systemd'
  /**
   * systemd hosts: the `k3sbook-lab` folders (one per cgroup hierarchy) their cgroups were made
   * under — in the cgroup of the process that ran `lab up`, so `lab down` from another cgroup
   * finds them here
   */
  cgroupRoots?: string[]
}

export function statePath(name: string): string {
  return join(labDir(name), 'state.json')
}

export function readState(name: string): LabState | undefined {
  let text: string
  try {
    text = readFileSync(statePath(name), 'utf8')
  } catch {
    return undefined
  }
  try {
    return JSON.parse(text) as LabState
  } catch (e) {
    throw new LabError(`${statePath(name)}: unreadable lab state: ${(e as Error).message}`, { hint: `remove the lab with \`k3sbook lab down --name ${name}\`` })
  }
}

/** Atomic: a crash leaves either the old record or the new one, never half of one. */
export function writeState(state: LabState): void {
  const dir = labDir(state.name)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `.state.json.${process.pid}`)
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n')
  renameSync(tmp, statePath(state.name))
}

export function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode })
  renameSync(tmp, path)
}

/** Names of every lab with a record under the base directory. */
export function listLabNames(): string[] {
  let names: string[]
  try {
    names = readdirSync(labsBase())
  } catch {
    return []
  }
  return names
    .filter((n) => NAME_RE.test(n))
    .filter((n) => {
      try {
        readFileSync(statePath(n))
        return true
      } catch {
        return false
      }
    })
    .sort()
}
