// Kernel limits a systemd lab runs into before memory or CPU. Every systemd host's manager holds
// inotify instances (path units, unit-file and cgroup watches: 5 on Debian 12's systemd 252, 6 once
// dbus runs), and the kernel counts inotify instances per user across every namespace that shares
// the user namespace — all lab hosts are root in the machine's. fs.inotify.max_user_instances is
// 128 by default, so about 20 systemd hosts use up root's share: the next hosts' systemd comes up
// "degraded" or exits ("Failed to create inotify object: Too many open files"), and their sshd
// never answers. Found bringing up 150 systemd hosts for the bench; checked before anything is made.
import { readFile, readdir, readlink } from 'node:fs/promises'
import { LabError } from '../errors.js'

/** The inotify instances a systemd host's manager holds at least, from boot on (measured, above). */
export const INOTIFY_PER_SYSTEMD_HOST = 5

/**
 * A lower bound on the inotify instances root holds now: every process's inotify descriptors,
 * counted once per distinct watch list (a descriptor inherited by a child shows the same list), and
 * instances watching nothing counted once in all. Never more than the true count, so a refusal
 * built on it is certain.
 */
export async function inotifyInstancesInUse(proc = '/proc'): Promise<number> {
  return (await inotifyWatchLists(proc)).size
}

/** The distinct watch lists of the inotify descriptors open in `proc`'s processes ("" for none). */
export async function inotifyWatchLists(proc = '/proc'): Promise<Set<string>> {
  const seen = new Set<string>()
  let pids: string[]
  try {
    pids = (await readdir(proc)).filter((p) => /^\d+$/.test(p))
  } catch {
    return seen
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = await readdir(`${proc}/${pid}/fd`)
    } catch {
      continue // gone, or a kernel thread
    }
    for (const fd of fds) {
      try {
        if ((await readlink(`${proc}/${pid}/fd/${fd}`)) !== 'anon_inode:inotify') continue
        const info = await readFile(`${proc}/${pid}/fdinfo/${fd}`, 'utf8')
        seen.add(
          info
            .split('\n')
            .filter((l) => l.startsWith('inotify '))
            .join('\n'),
        )
      } catch {
        // closed meanwhile
      }
    }
  }
  return seen
}

export interface InotifyBudget {
  /** fs.inotify.max_user_instances */
  limit: number
  /** inotify instances root holds now (a lower bound) */
  inUse: number
  /** systemd hosts about to be started */
  newHosts: number
}

/** Refuses, saying what to raise and to what, when the new systemd hosts cannot all get their share. */
export function checkInotifyBudget(b: InotifyBudget): void {
  const need = b.newHosts * INOTIFY_PER_SYSTEMD_HOST
  if (b.inUse + need <= b.limit) return
  // room for the hosts' services too (dbus, and what playbooks start), and for the machine's own
  const suggest = Math.ceil((b.inUse + b.newHosts * 8 + 128) / 128) * 128
  const have = b.inUse > 0 ? `, and root already holds ${b.inUse} of the ${b.limit}` : `, more than the ${b.limit}`
  throw new LabError(
    `${b.newHosts} systemd host${b.newHosts === 1 ? '' : 's'} need at least ${need} inotify instances ` +
      `(${INOTIFY_PER_SYSTEMD_HOST} for each host's systemd)${have} that fs.inotify.max_user_instances allows: ` +
      `systemd would fail to start on the hosts past the limit`,
    { hint: `raise it machine-wide with \`sysctl -w fs.inotify.max_user_instances=${suggest}\`, or start fewer systemd hosts` },
  )
}

/** checkInotifyBudget with this machine's limit and use. */
export async function checkInotifyForSystemdHosts(newHosts: number): Promise<void> {
  if (newHosts <= 0) return
  let limit: number
  try {
    limit = Number(await readFile('/proc/sys/fs/inotify/max_user_instances', 'utf8'))
  } catch {
    return // no such limit to check
  }
  if (!Number.isFinite(limit)) return
  checkInotifyBudget({ limit, inUse: await inotifyInstancesInUse(), newHosts })
}
