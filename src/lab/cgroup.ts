// Control groups for systemd lab hosts. Every host's systemd must own a cgroup tree of its own: on
// a shared tree, stopping `ssh.service` in one host would kill the sshd of every other host (they
// would all use /system.slice/ssh.service). Each host gets a sub-cgroup of this process's own
// cgroup in every hierarchy the machine mounts, enters it before `unshare --cgroup`, and mounts the
// hierarchies again inside, where they are rooted at that sub-cgroup. `lab down` removes the
// sub-cgroups once the host's processes are gone.
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

/** One mounted cgroup hierarchy: where it is mounted and how to mount it again. */
export interface Hierarchy {
  /** mount point, e.g. /sys/fs/cgroup/cpu or /sys/fs/cgroup/unified */
  mountPoint: string
  /** `cgroup` (v1) or `cgroup2` */
  type: 'cgroup' | 'cgroup2'
  /** v1 mount options naming the controllers, e.g. `cpu,cpuacct` or `none,name=systemd` */
  options: string
  /** this process's cgroup in that hierarchy, as /proc/self/cgroup says (e.g. `/` or `/user.slice`) */
  own: string
}

/** Parse /proc/self/mounts and /proc/self/cgroup into the hierarchies under /sys/fs/cgroup. Pure. */
export function parseHierarchies(mounts: string, selfCgroup: string): Hierarchy[] {
  const own = new Map<string, string>()
  for (const line of selfCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line)
    if (!m) continue
    if (m[1] === '') own.set('', m[2])
    else for (const c of m[1].split(',')) own.set(c, m[2])
  }
  const out: Hierarchy[] = []
  for (const line of mounts.split('\n')) {
    const [, mp, type, opts] = line.split(' ')
    if (!mp?.startsWith('/sys/fs/cgroup') || (type !== 'cgroup' && type !== 'cgroup2')) continue
    if (type === 'cgroup2') {
      out.push({ mountPoint: mp, type, options: '', own: own.get('') ?? '/' })
      continue
    }
    const ctrls = opts
      .split(',')
      .filter(
        (o) =>
          !['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec'].includes(o) &&
          !o.startsWith('release_agent') &&
          o !== 'clone_children' &&
          o !== 'xattr',
      )
    const key = ctrls.find((c) => own.has(c))
    out.push({
      mountPoint: mp,
      type,
      options: ctrls.includes('name=systemd') && !ctrls.includes('none') ? ['none', ...ctrls].join(',') : ctrls.join(','),
      own: key ? own.get(key)! : '/',
    })
  }
  return out
}

export function machineHierarchies(): Hierarchy[] {
  return parseHierarchies(readFileSync('/proc/self/mounts', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'))
}

/** The folder labs' cgroups are made under in one hierarchy: `k3sbook-lab` in this process's own cgroup. */
function labRoot(h: Hierarchy): string {
  return join(h.mountPoint, h.own, 'k3sbook-lab')
}

/** labRoot() in every hierarchy. */
export function labRoots(hs: Hierarchy[] = machineHierarchies()): string[] {
  return hs.map(labRoot)
}

/** The directory of a host's cgroup in one hierarchy. */
export function hostCgroupDir(h: Hierarchy, lab: string, host: string): string {
  return join(labRoot(h), lab, host)
}

/**
 * Make the host's cgroup in every hierarchy (cpuset needs its cpus and mems copied down before a
 * process may join). Returns the `cgroup.procs` files the host's first process writes itself into.
 */
export function makeHostCgroups(hs: Hierarchy[], lab: string, host: string): string[] {
  const procs: string[] = []
  for (const h of hs) {
    const dir = hostCgroupDir(h, lab, host)
    const base = join(h.mountPoint, h.own)
    mkdirSync(dir, { recursive: true })
    if (existsSync(join(base, 'cpuset.cpus'))) {
      let parent = base
      for (const part of ['k3sbook-lab', lab, host]) {
        const child = join(parent, part)
        for (const f of ['cpuset.cpus', 'cpuset.mems']) {
          if (readFileSync(join(child, f), 'utf8').trim() === '') writeFileSync(join(child, f), readFileSync(join(parent, f), 'utf8'))
        }
        parent = child
      }
    }
    procs.push(join(dir, 'cgroup.procs'))
  }
  return procs
}

/** Remove a directory of empty cgroups depth-first; returns the ones that could not go (still busy). */
function removeTree(dir: string): string[] {
  let left: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  for (const e of entries) {
    const p = join(dir, e)
    try {
      if (statSync(p).isDirectory()) left.push(...removeTree(p))
    } catch {
      /* gone meanwhile */
    }
  }
  try {
    rmdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left = [...left, dir]
  }
  return left
}

/**
 * Remove the cgroups of the given hosts, or of every host of the lab (their processes must be
 * dead), and the lab's folder once empty, under each of `roots` (labRoots()). Returns what could
 * not be removed yet.
 */
export function removeHostCgroups(lab: string, hosts: string[] | 'all', roots: string[] = labRoots()): string[] {
  const left: string[] = []
  for (const root of roots) {
    const labDir = join(root, lab)
    if (hosts === 'all') {
      left.push(...removeTree(labDir))
      try {
        rmdirSync(root)
      } catch {
        /* other labs' cgroups, or never made */
      }
      continue
    }
    for (const host of hosts) left.push(...removeTree(join(labDir, host)))
    for (const d of [labDir, root]) {
      try {
        rmdirSync(d)
      } catch {
        /* not empty (other hosts or labs), or never made */
      }
    }
  }
  return left
}

/** Every cgroup directory this lab still has under `roots` (for `lab down`'s own check and the tests). */
export function labCgroups(lab: string, roots: string[] = labRoots()): string[] {
  return roots.map((r) => join(r, lab)).filter((d) => existsSync(d))
}

/** The mounts a host makes inside: `MOUNTPOINT=TYPE:OPTIONS` words for the setup script. */
export function innerMounts(hs: Hierarchy[]): string {
  return hs.map((h) => `${h.mountPoint}=${h.type}:${h.options || 'none'}`).join(' ')
}
