// One lab host: `unshare` makes its network, mount, UTS, IPC and pid namespaces; a POSIX sh script
// inside mounts an overlay over the machine's `/` (upper layer on a tmpfs private to the host),
// gives it its own /proc /sys /tmp /run /dev, waits for its veth, pivots into the overlay, starts
// sshd and becomes pid 1 (a reaper). Killing that pid 1 ends the host and frees all of it.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { LabError, tail } from '../errors.js'
import { children, comm, nsInode, procRef, runOk, type ProcRef } from './proc.js'

export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

// Runs inside the new namespaces, still seeing the machine's root until pivot_root.
// $1 tmpfs mount point, $2 hostname, $3 address, $4 prefix length, $5 staging tree copied over /, $6 dir to hide,
// $7 space-separated disk mounts below / that need their own overlay.
const SETUP = String.raw`set -eu
T=$1 NAME=$2 ADDR=$3 PREFIX=$4 STAGE=$5 HIDE=$6 EXTRA=$7
mount -t tmpfs -o mode=0755 "k3sbook-$NAME" "$T"
mkdir "$T/upper" "$T/work" "$T/root"
mount -t overlay "k3sbook-$NAME" -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$T/root"
R=$T/root
# disk filesystems mounted below / (a separate /var or /usr) get an overlay of their own
i=0
for m in $EXTRA; do
  i=$((i + 1))
  [ -d "$R$m" ] || continue
  mkdir "$T/upper.$i" "$T/work.$i"
  mount -t overlay "k3sbook-$NAME" -o "lowerdir=$m,upperdir=$T/upper.$i,workdir=$T/work.$i" "$R$m"
done
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
if [ -d /sys/fs/cgroup ] && [ -d "$R/sys/fs/cgroup" ]; then mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup" || echo "warning: no cgroups in $NAME" >&2; fi
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mkdir -m 0755 "$R/run/sshd"
mkdir -m 1777 "$R/run/lock"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
for d in null zero full random urandom tty fuse net/tun; do
  [ -c "/dev/$d" ] || continue
  mkdir -p "$(dirname "$R/dev/$d")"
  : > "$R/dev/$d"
  mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s pts/ptmx "$R/dev/ptmx"
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
cp -a "$STAGE/." "$R/"
if [ -n "$HIDE" ] && [ -d "$R$HIDE" ]; then mount -t tmpfs -o ro,mode=0755,size=4k k3sbook-hidden "$R$HIDE"; fi
hostname "$NAME"
echo MOUNTED
read -r go
ip link set lo up
ip addr add "$ADDR/$PREFIX" dev eth0
echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_notify
ip link set eth0 up
cd "$R"
pivot_root . .
umount -l .
cd /
/usr/sbin/sshd
echo READY
exec perl -e '$0 = "k3sbook-lab-init"; while (1) { sleep 1 if wait() == -1 }' </dev/null >/dev/null 2>&1
`

export interface HostSpec {
  lab: string
  name: string
  index: number
  address: string
  prefix: number
  veth: string
  /** fixed per lab and index: a host made again keeps its MAC, so neighbours' ARP caches stay right */
  mac: string
  bridge: string
  /** directory whose hosts/<name> is the host's tmpfs mount point and stage/<name> its staging tree */
  labDir: string
  /** a directory hidden inside the host (the labs' state, holding private keys) */
  hideDir: string
  /** files copied over the host's `/` before sshd starts: path (relative) → [content, mode] */
  files: Record<string, [string, number]>
}

export interface StartedHost {
  unshare: ProcRef
  init?: ProcRef
  sshd?: ProcRef
  netns?: number
}

function stage(spec: HostSpec): string {
  const root = join(spec.labDir, 'stage', spec.name)
  rmSync(root, { recursive: true, force: true })
  mkdirSync(root, { recursive: true })
  chmodSync(root, 0o755)
  for (const [rel, [content, mode]] of Object.entries(spec.files)) {
    const path = join(root, rel)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, content, { mode })
    chmodSync(path, mode)
  }
  // cp -a carries directory modes over the host's own: keep them as Debian has them
  for (const [dir, mode] of [['etc', 0o755], ['etc/ssh', 0o755], ['root', 0o700], ['root/.ssh', 0o700]] as const) {
    try {
      chmodSync(join(root, dir), mode)
    } catch {
      /* not staged */
    }
  }
  return root
}

/**
 * Start one host. `onSpawn` is called as soon as the unshare process exists, so the caller can
 * record it before anything else can fail. Resolves when sshd accepts TCP connections.
 */
export async function startHost(
  spec: HostSpec,
  onSpawn: (unshare: ProcRef) => void,
  timeoutMs = 20_000,
): Promise<StartedHost> {
  const mountPoint = join(spec.labDir, 'hosts', spec.name)
  mkdirSync(mountPoint, { recursive: true })
  const stageDir = stage(spec)
  const child = spawn(
    'unshare',
    ['--net', '--mount', '--uts', '--ipc', '--pid', '--fork', '--propagation', 'private', '--', '/bin/sh', '-c', SETUP,
      'k3sbook-lab-host', mountPoint, spec.name, spec.address, String(spec.prefix), stageDir, spec.hideDir, diskSubmounts().join(' ')],
    { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: HOST_PATH, LANG: 'C' } },
  )
  const unsharePid = child.pid
  if (unsharePid === undefined) throw new LabError(`${spec.name}: cannot start unshare`)
  const unshare = procRef(unsharePid) ?? { pid: unsharePid, start: '' }
  onSpawn(unshare)

  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()))
  child.stdin!.on('error', () => {})
  const started: StartedHost = { unshare }
  try {
    await new Promise<void>((resolve, reject) => {
      let buf = ''
      let done = false
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs)
      function fail(why: string): void {
        if (done) return
        done = true
        clearTimeout(timer)
        reject(new LabError(`${spec.name}: host setup failed: ${why}${stderr.trim() ? `: ${tail(stderr, 4)}` : ''}`))
      }
      child.on('error', (e) => fail(e.message))
      child.on('exit', (code, signal) => fail(`setup exited with ${signal ?? `code ${code}`}`))
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString()
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          if (line === 'MOUNTED') {
            const initPid = children(unsharePid)[0]
            const init = initPid === undefined ? undefined : procRef(initPid)
            if (!init) return fail('the host process vanished')
            started.init = init
            started.netns = nsInode(unsharePid, 'net')
            // the veth's far end goes straight into the host's network namespace, as eth0
            runOk('ip', ['-batch', '-'], {
              input: `link add ${spec.veth} type veth peer name eth0 address ${spec.mac} netns ${unsharePid}\nlink set ${spec.veth} master ${spec.bridge} up\n`,
            }).then(
              () => child.stdin!.write('go\n'),
              (e: Error) => fail(e.message),
            )
          } else if (line === 'READY') {
            done = true
            clearTimeout(timer)
            resolve()
          }
        }
      })
    })
  } finally {
    child.removeAllListeners('exit')
    child.stdin!.destroy()
    child.stdout!.destroy()
    child.stderr!.destroy()
    child.unref()
    rmSync(stageDir, { recursive: true, force: true })
  }
  await waitForPort(spec.address, 22, timeoutMs, spec.name)
  started.sshd = findSshd(started.init!)
  return started
}

const DISK_FS = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'zfs', 'f2fs', 'jfs', 'reiserfs', 'bcachefs'])
const VIRTUAL_TREES = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/run']

/**
 * Mount points below / that hold disk filesystems (a separate /var, /usr or /home): an overlay of
 * `/` alone would show their empty mount-point directories. Paths with spaces are left out
 * (mountinfo escapes them, and the setup script splits on spaces).
 */
export function diskSubmounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const out = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    if (!right) continue
    const mp = left.split(' ')[4]
    const fstype = right.split(' ')[0]
    if (!mp || mp === '/' || !DISK_FS.has(fstype) || mp.includes('\\')) continue
    if (VIRTUAL_TREES.some((v) => mp === v || mp.startsWith(v + '/'))) continue
    out.add(mp)
  }
  // parents before children, so a nested mount lands on its parent's overlay
  return [...out].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b))
}

/** The listening sshd: a child of the host's pid 1 named sshd. */
export function findSshd(init: ProcRef): ProcRef | undefined {
  for (const pid of children(init.pid)) if (comm(pid) === 'sshd') return procRef(pid)
  return undefined
}

export async function waitForPort(host: string, port: number, timeoutMs: number, label = host): Promise<void> {
  const until = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host, port, timeout: 500 })
      sock.once('connect', () => {
        sock.destroy()
        resolve(true)
      })
      sock.once('timeout', () => {
        last = 'timeout'
        sock.destroy()
        resolve(false)
      })
      sock.once('error', (e) => {
        last = e.message
        resolve(false)
      })
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new LabError(`${label}: sshd did not accept connections on ${host}:${port} within ${timeoutMs} ms (${last})`)
}
