// The lab: real SSH hosts on this machine (network + mount + UTS + pid namespaces, an overlay root,
// sshd inside), joined by a bridge on a private range. Up is idempotent and grows a lab; down removes
// every process, link and file it recorded, even when the processes are already dead.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { LabError, tail } from '../errors.js'
import { etcHosts, inventoryYaml, knownHosts, sshConfig, sshdConfig, STOCK_BASHRC, STOCK_PROFILE, type HostEntry } from './files.js'
import { findSshd, HOST_PATH, startHost, waitForPort, type LabInit } from './host.js'
import { checkInotifyForSystemdHosts } from './limits.js'
import { innerMounts, labCgroups, labRoots, machineHierarchies, makeHostCgroups, removeHostCgroups } from './cgroup.js'
import {
  bridgeAddress as bridgeAddressOf,
  candidateSubnets,
  capacity,
  conflictFor,
  formatCidr,
  hostAddress,
  parseCidr,
  requireSubnet,
  usedRanges,
  type Cidr,
} from './net.js'
import {
  isAlive,
  killAndWait,
  nsInode,
  procRef,
  processesInNetns,
  run,
  runOk,
  runSync,
  sleepSync,
  which,
  withLock,
  children,
  type ProcRef,
  type RunResult,
} from './proc.js'
import {
  bridgeName,
  checkName,
  DEFAULT_LAB,
  hostName,
  linkTag,
  macAddress,
  labDir,
  labsBase,
  listLabNames,
  readState,
  vethName,
  writeFileAtomic,
  writeState,
  type HostState,
  type LabState,
} from './state.js'

export { DEFAULT_LAB, labsBase } from './state.js'
export type { RunResult } from './proc.js'
export type { LabInit } from './host.js'

export interface LabHost {
  name: string
  index: number
  address: string
  /** the host's network namespace, usable as `nsenter --net=<netns>` */
  netns: string
  /** pid (in this machine's pid namespace) of the host's pid 1 */
  pid: number
  veth: string
}

export interface LabInfo {
  name: string
  dir: string
  subnet: string
  bridge: string
  bridgeAddress: string
  inventoryPath: string
  sshConfigPath: string
  keyPath: string
  knownHostsPath: string
  hosts: LabHost[]
  /** what runs as each host's pid 1 */
  init: LabInit
}

export interface LabUpOptions {
  name?: string
  /** how many hosts the lab should have at least (default 3) */
  hosts?: number
  /** e.g. 172.31.40.0/24; default: a free /24 in 172.31.0.0/16 chosen from the lab's name */
  subnet?: string
  /** the process that owns the lab: when it is dead, sweepOrphanLabs() may remove the lab */
  owner?: number
  /** hosts started at once (default 8) */
  parallel?: number
  /**
   * 'none' (default): a reaper is pid 1 and starts sshd, hosts have no init system (SysV-style
   * scripts). 'systemd': systemd boots as pid 1 in each host, sshd runs as ssh.service. Fixed when
   * the lab is made.
   */
  init?: LabInit
}

const LOCKS = () => join(labsBase(), '.locks')

function paths(name: string) {
  const dir = labDir(name)
  return {
    dir,
    inventory: join(dir, 'inventory.yml'),
    sshConfig: join(dir, 'ssh_config'),
    key: join(dir, 'id_ed25519'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    knownHosts: join(dir, 'known_hosts'),
  }
}

/** What the lab needs from the machine; every miss is reported at once, before anything is made. */
export function preflight(env: { uid?: number; path?: string; filesystems?: string } = {}): void {
  const uid = env.uid ?? process.getuid?.() ?? 0
  if (uid !== 0)
    throw new LabError('the lab must run as root (it makes network and mount namespaces, a bridge and veth links)', {
      hint: 'run it with sudo, e.g. `sudo k3sbook lab up 3`',
    })
  const tools: [string, string][] = [
    ['unshare', 'util-linux'],
    ['nsenter', 'util-linux'],
    ['mount', 'mount'],
    ['pivot_root', 'util-linux'],
    ['ip', 'iproute2'],
    ['sshd', 'openssh-server'],
    ['ssh-keygen', 'openssh-client'],
    ['perl', 'perl-base'],
  ]
  const missing = tools.filter(([t]) => !which(t, env.path))
  if (missing.length)
    throw new LabError(`the lab needs ${missing.map(([t]) => `\`${t}\``).join(', ')}, not found in PATH`, {
      hint: `install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
    })
  let fs = env.filesystems
  if (fs === undefined) {
    try {
      fs = readFileSync('/proc/filesystems', 'utf8')
    } catch {
      fs = ''
    }
  }
  if (!/\boverlay\b/.test(fs)) throw new LabError('the kernel has no overlay filesystem, which lab hosts use as their root', { hint: 'run `modprobe overlay`' })
}

function toInfo(state: LabState): LabInfo {
  const p = paths(state.name)
  return {
    name: state.name,
    dir: p.dir,
    subnet: state.subnet,
    bridge: state.bridge,
    bridgeAddress: state.bridgeAddress,
    inventoryPath: p.inventory,
    sshConfigPath: p.sshConfig,
    keyPath: p.key,
    knownHostsPath: p.knownHosts,
    hosts: [...state.hosts]
      .sort((a, b) => a.index - b.index)
      .map((h) => ({ name: h.name, index: h.index, address: h.address, netns: `/proc/${h.init?.pid ?? 0}/ns/net`, pid: h.init?.pid ?? 0, veth: h.veth })),
    init: state.init ?? 'none',
  }
}

async function linkExists(name: string): Promise<boolean> {
  return (await run('ip', ['link', 'show', 'dev', name])).code === 0
}

/** Choose the subnet (or check the one asked for) and make the bridge; under the machine-wide lock. */
async function makeBridge(name: string, wanted: string | undefined, existing?: string): Promise<{ subnet: Cidr; bridge: string }> {
  const bridge = bridgeName(name)
  return withLock(join(LOCKS(), 'net'), async () => {
    const used = await usedRanges()
    let subnet: Cidr
    if (existing) subnet = parseCidr(existing)!
    else if (wanted) subnet = requireSubnet(wanted)
    else {
      const free = candidateSubnets(name).find((c) => !conflictFor(c, used, bridge))
      if (!free) throw new LabError('no free /24 left in 172.31.0.0/16 for a lab', { hint: 'choose one with --subnet' })
      subnet = free
    }
    const clash = conflictFor(subnet, used, bridge)
    if (clash)
      throw new LabError(`address range ${formatCidr(subnet)} is already in use on this machine: ${clash.what}`, {
        hint: wanted ? 'choose another range with --subnet' : 'remove it, or choose another range with --subnet',
      })
    if (!(await linkExists(bridge))) {
      await runOk('ip', ['-batch', '-'], {
        input: `link add ${bridge} address ${macAddress(name, 0)} type bridge\naddr add ${bridgeAddressOf(subnet)}/${subnet.prefix} dev ${bridge}\nlink set ${bridge} up\n`,
      }).catch(async (e) => {
        await run('ip', ['link', 'del', bridge])
        throw e
      })
    }
    return { subnet, bridge }
  })
}

async function ensureKeys(name: string): Promise<string> {
  const p = paths(name)
  await Promise.all(
    [p.key, p.hostKey]
      .filter((k) => !existsSync(k) || !existsSync(`${k}.pub`))
      .map(async (k) => {
        rmSync(k, { force: true })
        rmSync(`${k}.pub`, { force: true })
        await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `k3sbook-lab-${name}`, '-f', k])
      }),
  )
  return readFileSync(`${p.hostKey}.pub`, 'utf8')
}

function hostEntries(state: LabState): HostEntry[] {
  return [...state.hosts].sort((a, b) => a.index - b.index).map((h) => ({ name: h.name, address: h.address }))
}

function writeClientFiles(state: LabState, hostPub: string): void {
  const p = paths(state.name)
  const lab = { name: state.name, keyPath: p.key, knownHostsPath: p.knownHosts }
  const hosts = hostEntries(state)
  writeFileAtomic(p.knownHosts, knownHosts(hosts, hostPub))
  writeFileAtomic(p.sshConfig, sshConfig(lab, hosts))
  writeFileAtomic(p.inventory, inventoryYaml(lab, hosts))
}

/** Bring a lab up, or grow it to `hosts` hosts; hosts that died are made again. Idempotent. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  preflight()
  const name = checkName(opts.name ?? DEFAULT_LAB)
  const want = opts.hosts ?? 3
  if (!Number.isInteger(want) || want < 1) throw new LabError(`a lab needs at least 1 host (got ${opts.hosts})`)
  mkdirSync(labsBase(), { recursive: true, mode: 0o700 })
  return withLock(join(LOCKS(), name), async () => {
    let state = readState(name)
    const isNew = !state
    if (state && opts.subnet && formatCidr(requireSubnet(opts.subnet)) !== state.subnet)
      throw new LabError(`lab "${name}" already uses ${state.subnet}, not ${opts.subnet}`, {
        hint: `\`k3sbook lab down --name ${name}\` first to change its range`,
      })
    if (state && opts.init && opts.init !== (state.init ?? 'none'))
      throw new LabError(`lab "${name}" runs hosts with init ${state.init ?? 'none'}, not ${opts.init}`, {
        hint: `\`k3sbook lab down --name ${name}\` first to change it`,
      })
    if ((state?.init ?? opts.init) === 'systemd') {
      // before anything is made: systemd hosts past root's inotify limit would not boot (limits.ts)
      const kept = state?.hosts.filter((h) => isAlive(h.init)) ?? []
      await checkInotifyForSystemdHosts(Math.max(want, ...(state?.hosts.map((h) => h.index) ?? [])) - kept.length)
    }
    const made: HostState[] = []
    try {
      if (!state || !(await linkExists(state.bridge))) {
        const { subnet, bridge } = await makeBridge(name, opts.subnet, state?.subnet)
        state ??= {
          version: 1,
          name,
          subnet: formatCidr(subnet),
          bridge,
          bridgeAddress: bridgeAddressOf(subnet),
          hosts: [],
          owner: opts.owner ? procRef(opts.owner) : undefined,
          createdAt: new Date().toISOString(),
          init: opts.init ?? 'none',
        }
        writeState(state)
        // a bridge made again after it was removed by hand: put the surviving hosts back on it
        for (const h of state.hosts) if (await linkExists(h.veth)) await runOk('ip', ['link', 'set', h.veth, 'master', bridge, 'up'])
      }
      const st: LabState = state
      const subnet = parseCidr(st.subnet)!
      const total = Math.max(want, ...st.hosts.map((h) => h.index))
      if (total > capacity(subnet))
        throw new LabError(`${st.subnet} holds at most ${capacity(subnet)} lab hosts, ${total} asked`, { hint: 'choose a larger --subnet' })

      // hosts that died (or whose sshd died) are removed and made again; systemd restarts its own
      // sshd (a new pid), so there only the host's pid 1 counts
      const initKind: LabInit = st.init ?? 'none'
      for (const h of st.hosts.filter((h) => !isAlive(h.init) || (initKind === 'none' && !isAlive(h.sshd)))) {
        removeHosts([h], st)
        st.hosts = st.hosts.filter((x) => x !== h)
      }
      writeState(st)
      const hostPub = await ensureKeys(name)
      const clientPub = readFileSync(`${paths(name).key}.pub`, 'utf8')
      const hostPriv = readFileSync(paths(name).hostKey, 'utf8')

      const todo: HostState[] = []
      for (let i = 1; i <= total; i++) {
        if (st.hosts.some((h) => h.index === i)) continue
        const h: HostState = { name: hostName(name, i), index: i, address: hostAddress(subnet, i), veth: vethName(name, i) }
        todo.push(h)
      }
      // recorded before anything exists, so a crash mid-way still leaves `down` a full list
      st.hosts.push(...todo)
      made.push(...todo)
      writeState(st)
      const all = hostEntries(st)
      const hierarchies = initKind === 'systemd' ? machineHierarchies() : []
      if (initKind === 'systemd' && !hierarchies.some((x) => x.options.includes('name=systemd') || x.type === 'cgroup2'))
        throw new LabError('systemd lab hosts need a cgroup hierarchy for systemd (name=systemd or cgroup2) mounted under /sys/fs/cgroup')
      if (initKind === 'systemd') {
        // recorded before any is made: `down` from any cgroup (another shell, a crash) finds them
        st.cgroupRoots = [...new Set([...(st.cgroupRoots ?? []), ...labRoots(hierarchies)])]
        writeState(st)
      }

      const limit = Math.max(1, opts.parallel ?? 8)
      let next = 0
      const errors: Error[] = []
      await Promise.all(
        Array.from({ length: Math.min(limit, todo.length) }, async () => {
          while (next < todo.length && errors.length === 0) {
            const h = todo[next++]
            try {
              const started = await startHost(
                {
                  lab: name,
                  name: h.name,
                  index: h.index,
                  address: h.address,
                  prefix: subnet.prefix,
                  veth: h.veth,
                  mac: macAddress(name, h.index),
                  bridge: st.bridge,
                  labDir: paths(name).dir,
                  hideDir: labsBase(),
                  files: {
                    'etc/hostname': [`${h.name}\n`, 0o644],
                    'etc/hosts': [etcHosts(h.name, all), 0o644],
                    'etc/ssh/sshd_config': [sshdConfig(h.address), 0o644],
                    'etc/ssh/ssh_host_ed25519_key': [hostPriv, 0o600],
                    'etc/ssh/ssh_host_ed25519_key.pub': [hostPub, 0o644],
                    'root/.ssh/authorized_keys': [clientPub, 0o600],
                    'root/.bashrc': [STOCK_BASHRC, 0o644],
                    'root/.profile': [STOCK_PROFILE, 0o644],
                    ...(initKind === 'systemd' ? systemdFiles() : {}),
                  },
                  init: initKind,
                  cgroups: initKind === 'systemd' ? { procs: makeHostCgroups(hierarchies, name, h.name), mounts: innerMounts(hierarchies) } : undefined,
                },
                (unshare) => {
                  h.unshare = unshare
                  writeState(st)
                },
              )
              Object.assign(h, started)
              writeState(st)
            } catch (e) {
              errors.push(e as Error)
            }
          }
        }),
      )
      rmSync(join(paths(name).dir, 'stage'), { recursive: true, force: true })
      if (errors.length) throw errors[0]
      // a systemd host answers ssh before its boot is over: wait until systemd says it is (running,
      // or degraded), so what the boot's own units write is done before anyone looks at the host
      if (initKind === 'systemd')
        await Promise.all(
          todo
            .filter((h) => isAlive(h.init))
            .map((h) => nsenterRun(h.init!, ['/bin/sh', '-c', 'timeout 120 systemctl is-system-running --wait >/dev/null 2>&1; true'])),
        )

      // hosts made earlier learn the new ones' names
      if (todo.length && todo.length < st.hosts.length) {
        for (const h of st.hosts) {
          if (todo.includes(h) || !isAlive(h.init)) continue
          try {
            writeFileAtomicIn(h.init, '/etc/hosts', etcHosts(h.name, all))
          } catch {
            /* the host's own /etc/hosts may be managed by a playbook now: leave it */
          }
        }
      }
      writeClientFiles(st, hostPub)
      return toInfo(st)
    } catch (e) {
      // leave nothing half-made: the hosts of this call, and the whole lab if this call created it
      if (state) {
        removeHosts(made, state)
        state.hosts = state.hosts.filter((h) => !made.includes(h))
        if (isNew) downState(state)
        else writeState(state)
      }
      throw e
    }
  })
}

function writeFileAtomicIn(init: ProcRef, path: string, text: string): void {
  // /proc/<pid>/root is the host's own root: the write lands in the host's overlay, not the machine's
  writeFileAtomic(`/proc/${init.pid}/root${path}`, text)
}

/**
 * Kill everything in the given hosts (a host's pid 1 takes its whole pid namespace with it) and
 * delete their veths. All hosts at once: one /proc scan, one wait, one `ip -batch`.
 */
function removeHosts(hosts: HostState[], st: LabState): void {
  if (hosts.length === 0) return
  const inits: ProcRef[] = []
  const rest: ProcRef[] = []
  const inodes = new Set<number>()
  for (const h of hosts) {
    const own = [h.init, h.unshare, h.sshd].filter((r): r is ProcRef => isAlive(r))
    // the namespace inode cannot have been reused while a process of the host is still alive
    for (const r of own) {
      const ino = nsInode(r.pid, 'net')
      if (ino !== undefined) inodes.add(ino)
    }
    if (isAlive(h.init)) inits.push(h.init)
    rest.push(...own.filter((r) => r !== h.init))
    if (isAlive(h.unshare)) for (const c of children(h.unshare.pid)) rest.push(procRef(c) ?? { pid: c, start: '' })
  }
  for (const pid of processesInNetns(inodes)) {
    const r = procRef(pid)
    if (r) rest.push(r)
  }
  // pid 1s first: the kernel then ends each pid namespace, and each unshare exits on its own
  killAndWait(inits)
  const left = killAndWait(rest)
  if (left.length) throw new LabError(`processes ${left.map((r) => r.pid).join(' ')} of lab hosts survived SIGKILL`)
  runSync('ip', ['-force', '-batch', '-'], hosts.map((h) => `link del dev ${h.veth}\n`).join(''))
  removeCgroups(
    st,
    hosts.map((h) => h.name),
  )
}

/** Where a lab's cgroups may be: where `lab up` recorded making them, and under this process's own cgroup. */
function cgroupRootsOf(st: LabState): string[] {
  return [...new Set([...(st.cgroupRoots ?? []), ...labRoots()])]
}

/** A systemd host's cgroups go once its last process is reaped, which may lag the kill a little. */
function removeCgroups(st: LabState, hosts: string[] | 'all'): void {
  const roots = cgroupRootsOf(st)
  const until = Date.now() + 5000
  let left = removeHostCgroups(st.name, hosts, roots)
  while (left.length && Date.now() < until) {
    sleepSync(20)
    left = removeHostCgroups(st.name, hosts, roots)
  }
  if (left.length) throw new LabError(`cgroups of lab ${st.name} still busy after its processes were killed: ${left.slice(0, 3).join(', ')}`)
}

/** Files only a systemd host has: its own machine id, and a journal kept in memory and bounded. */
function systemdFiles(): Record<string, [string, number]> {
  return {
    'etc/machine-id': [randomBytes(16).toString('hex') + '\n', 0o444],
    'etc/systemd/journald.conf.d/k3sbook-lab.conf': ['[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n', 0o644],
  }
}

/** Remove every resource the state records, then the state itself. Synchronous, so exit handlers can use it. */
function downState(state: LabState): void {
  removeHosts(state.hosts, state)
  runSync('ip', ['link', 'del', 'dev', state.bridge])
  // links named for this lab but never recorded (a crash between create and record)
  const tagged = runSync('ip', ['-o', 'link', 'show'])
    .stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n && (n === state.bridge || n.startsWith(`k3v${linkTag(state.name)}-`)))
  if (tagged.length) runSync('ip', ['-force', '-batch', '-'], tagged.map((n) => `link del dev ${n}\n`).join(''))
  const dir = labDir(state.name)
  // a mount under the lab dir would only exist if namespaces leaked one; never delete through it
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + '/')))
  for (const m of mounts.reverse()) runSync('umount', ['-l', m])
  // cgroups of hosts never recorded (a crash between making them and recording the host)
  if (labCgroups(state.name, cgroupRootsOf(state)).length) removeCgroups(state, 'all')
  rmSync(dir, { recursive: true, force: true })
}

/** Remove a lab (synchronous form, for exit handlers). Returns false when there was no such lab. */
export function labDownSync(name: string = DEFAULT_LAB): boolean {
  checkName(name)
  const state = readState(name)
  if (state) {
    downState(state)
    return true
  }
  // no record (or a record lost with the lab dir): links carrying this lab's name can still go
  const bridge = bridgeName(name)
  if (runSync('ip', ['link', 'show', 'dev', bridge]).code === 0) {
    downState({ version: 1, name, subnet: '', bridge, bridgeAddress: '', hosts: [], createdAt: '' })
    return true
  }
  rmSync(labDir(name), { recursive: true, force: true })
  return false
}

/** Remove a lab: every host process, veth, the bridge and the lab dir. */
export async function labDown(name: string = DEFAULT_LAB): Promise<boolean> {
  if ((process.getuid?.() ?? 0) !== 0) preflight()
  checkName(name)
  mkdirSync(labsBase(), { recursive: true, mode: 0o700 })
  return withLock(join(LOCKS(), name), async () => labDownSync(name))
}

export interface HostStatus {
  name: string
  address: string
  pid: number
  running: boolean
  sshd: boolean
  /** systemd hosts: what `systemctl is-system-running` says (running, degraded, starting, ...) */
  system?: string
}
export interface LabStatus {
  name: string
  dir: string
  subnet: string
  bridge: string
  bridgeUp: boolean
  init: LabInit
  hosts: HostStatus[]
}

export async function labStatus(name?: string): Promise<LabStatus[]> {
  const names = name ? [checkName(name)] : listLabNames()
  const out: LabStatus[] = []
  for (const n of names) {
    const st = readState(n)
    if (!st) continue
    const init: LabInit = st.init ?? 'none'
    const hosts = await Promise.all(
      [...st.hosts]
        .sort((a, b) => a.index - b.index)
        .map(async (h): Promise<HostStatus> => {
          const running = isAlive(h.init)
          if (init !== 'systemd') return { name: h.name, address: h.address, pid: h.init?.pid ?? 0, running, sshd: isAlive(h.sshd) }
          if (!running) return { name: h.name, address: h.address, pid: h.init?.pid ?? 0, running, sshd: false, system: 'dead' }
          // systemd restarts sshd under a new pid: ask systemd, not the recorded pid
          const r = await nsenterRun(h.init!, ['/bin/sh', '-c', 'timeout 10 systemctl is-system-running; timeout 10 systemctl is-active ssh.service'])
          const [system = 'unknown', ssh = ''] = r.stdout.trim().split('\n')
          return { name: h.name, address: h.address, pid: h.init!.pid, running, sshd: ssh === 'active', system }
        }),
    )
    out.push({ name: n, dir: labDir(n), subnet: st.subnet, bridge: st.bridge, bridgeUp: await linkExists(st.bridge), init, hosts })
  }
  return out
}

/**
 * The lab `k3sbook run` uses when no inventory is given: the named one, else "lab", else the only
 * lab with a live host. Undefined when there is none; an error when several could be meant.
 */
export function findRunningLab(name?: string): LabInfo | undefined {
  const live = (n: string) => {
    const st = readState(n)
    return st && st.hosts.some((h) => isAlive(h.init)) ? st : undefined
  }
  if (name) {
    const st = live(checkName(name))
    return st && toInfo(st)
  }
  const def = live(DEFAULT_LAB)
  if (def) return toInfo(def)
  const running = listLabNames()
    .map(live)
    .filter((s): s is LabState => !!s)
  if (running.length > 1)
    throw new LabError(`${running.length} labs are running (${running.map((s) => s.name).join(', ')})`, {
      hint: 'name one with --lab NAME, or give -i INVENTORY',
    })
  return running[0] && toInfo(running[0])
}

/** Remove labs whose recorded owner process has died (left by a killed test run). */
export function sweepOrphanLabs(): string[] {
  const swept: string[] = []
  for (const n of listLabNames()) {
    let st: LabState | undefined
    try {
      st = readState(n)
    } catch {
      continue
    }
    if (st?.owner && !isAlive(st.owner)) {
      labDownSync(n)
      swept.push(n)
    }
  }
  return swept
}

function pickHost(lab: LabInfo, host: string | number | LabHost): LabHost {
  const h = typeof host === 'object' ? host : lab.hosts.find((x) => (typeof host === 'number' ? x.index === host : x.name === host || x.address === host))
  if (!h)
    throw new LabError(`lab "${lab.name}" has no host ${typeof host === 'object' ? host.name : host}`, {
      hint: `hosts: ${lab.hosts.map((x) => x.name).join(', ')}`,
    })
  return h
}

/** The host's pid 1, verified to still be the process the lab started. */
function hostInit(lab: LabInfo, h: LabHost): ProcRef {
  const st = readState(lab.name)
  const rec = st?.hosts.find((x) => x.name === h.name)
  if (!rec || !isAlive(rec.init)) throw new LabError(`lab host ${h.name} is not running`, { hint: `\`k3sbook lab up --name ${lab.name}\` makes it again` })
  return rec.init
}

/**
 * Run argv inside a host without SSH (nsenter into all its namespaces), with a clean root
 * environment. For tests and for poking at a host whose sshd is down.
 */
export async function labExec(lab: LabInfo, host: string | number | LabHost, argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
  return nsenterRun(hostInit(lab, pickHost(lab, host)), argv, opts)
}

function nsenterRun(init: ProcRef, argv: string[], opts: { input?: string } = {}): Promise<RunResult> {
  // -C: a systemd host has a cgroup namespace of its own (the same as the machine's otherwise)
  return run(
    'nsenter',
    [
      '-t',
      String(init.pid),
      '-m',
      '-u',
      '-i',
      '-n',
      '-p',
      '-C',
      '-r',
      '-w',
      '--',
      '/usr/bin/env',
      '-i',
      `PATH=${HOST_PATH}`,
      'HOME=/root',
      'USER=root',
      'LOGNAME=root',
      'LANG=C.UTF-8',
      ...argv,
    ],
    opts,
  )
}

export type LinkState = 'up' | 'down' | 'drop'

/**
 * Fault injection on a host's link: 'down' takes the veth down (the host sees no carrier and
 * connects fail fast), 'drop' keeps the link up but the bridge port silently discards every frame
 * (the bridge port is disabled; connections hang until they time out), 'up' restores both.
 */
export async function setHostLink(lab: LabInfo, host: string | number | LabHost, state: LinkState): Promise<void> {
  const h = pickHost(lab, host)
  if (state === 'down') await runOk('ip', ['link', 'set', 'dev', h.veth, 'down'])
  // `ip link set … type bridge_slave state` is accepted but ignored here; `bridge link set` works
  else if (state === 'drop') await runOk('bridge', ['link', 'set', 'dev', h.veth, 'state', '0'])
  else {
    await runOk('ip', ['link', 'set', 'dev', h.veth, 'up'])
    // The bridge refuses a forwarding state on a port without carrier ("RTNETLINK answers: Network
    // is down"), and a veth set up gets its carrier a moment later, from the kernel's link-watch
    // work (up to a second on a busy machine): wait for it.
    const until = Date.now() + 5000
    while (operState(h.veth) !== 'up' && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
    await runOk('bridge', ['link', 'set', 'dev', h.veth, 'state', '3'])
  }
}

function operState(dev: string): string {
  try {
    return readFileSync(`/sys/class/net/${dev}/operstate`, 'utf8').trim()
  } catch {
    return 'missing'
  }
}

/** Stop a host's listening sshd (sessions already open stay, as with a real sshd stop); `all` ends those too. */
export async function stopSshd(lab: LabInfo, host: string | number | LabHost, opts: { all?: boolean } = {}): Promise<void> {
  const init = hostInit(lab, pickHost(lab, host))
  const r = await labExec(lab, host, ['/bin/sh', '-c', opts.all ? 'pkill -KILL -x sshd; true' : 'kill -TERM "$(cat /run/sshd.pid)"'])
  if (r.code !== 0) throw new LabError(`cannot stop sshd: ${tail(r.stderr, 3)}`)
  const until = Date.now() + 5000
  while (findSshd(init) && Date.now() < until) await new Promise((res) => setTimeout(res, 10))
}

/** Start a host's sshd again (after stopSshd) and wait until it accepts connections. */
export async function startSshd(lab: LabInfo, host: string | number | LabHost): Promise<void> {
  const h = pickHost(lab, host)
  const init = hostInit(lab, h)
  const r = await labExec(lab, h, ['/usr/sbin/sshd'])
  if (r.code !== 0) throw new LabError(`${h.name}: sshd did not start: ${tail(r.stderr, 3)}`)
  await waitForPort(h.address, 22, 10_000, h.name)
  // record the new listener so `up` does not take the host for dead
  await withLock(join(LOCKS(), lab.name), async () => {
    const st = readState(lab.name)
    const rec = st?.hosts.find((x) => x.name === h.name)
    if (st && rec) {
      rec.sshd = findSshd(init)
      writeState(st)
    }
  })
}

/** Names of every lab with a record (running or not). */
export function listLabs(): string[] {
  return listLabNames()
}
