// One lab host: `unshare` makes its network, mount, UTS, IPC and pid namespaces; a POSIX sh script
// inside mounts an overlay over the machine's `/` (upper layer on a tmpfs private to the host),
// gives it its own /proc /sys /tmp /run /dev, waits for its veth, pivots into the overlay, starts
// sshd and becomes pid 1 (a reaper). Killing that pid 1 ends the host and frees all of it.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { LabError, tail } from '../errors.js'
import { children, comm, isAlive, nsInode, procRef, runOk, type ProcRef } from './proc.js'

export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

// Runs inside the new namespaces, still seeing the machine's root until pivot_root.
// $1 tmpfs mount point, $2 hostname, $3 address, $4 prefix length, $5 staging tree copied over /, $6 dir to hide,
// $7 space-separated disk mounts below / that need their own overlay, $8 the init ('none' or
// 'systemd'), $9 for systemd: the cgroup hierarchies to mount inside (MOUNTPOINT=TYPE:OPTIONS words;
// the host is in a cgroup namespace of its own, so they are rooted at the host's cgroup).
const SETUP = String.raw`set -eu
T=$1 NAME=$2 ADDR=$3 PREFIX=$4 STAGE=$5 HIDE=$6 EXTRA=$7 INIT=$8 CGROUPS=$9
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
if [ "$INIT" = systemd ]; then
  mount -t tmpfs -o mode=0755,nosuid,nodev,noexec cgroup "$R/sys/fs/cgroup"
  printf '%s\n' $CGROUPS | while IFS='=:' read -r mp type opts; do
    mkdir -p "$R$mp"
    if [ "$type" = cgroup2 ]; then mount -t cgroup2 cgroup2 "$R$mp"; else mount -t cgroup -o "$opts" cgroup "$R$mp"; fi
  done
elif [ -d /sys/fs/cgroup ] && [ -d "$R/sys/fs/cgroup" ]; then mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup" || echo "warning: no cgroups in $NAME" >&2; fi
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
if [ "$INIT" = systemd ]; then
  # A host boots like a freshly installed machine with only sshd enabled: services of packages
  # installed on this machine (PostgreSQL, Docker, zfs-fuse, timers, ...) start only when a
  # playbook enables them. Devices, consoles and networking are the lab's, not systemd's.
  S=$R/etc/systemd/system
  for w in "$S"/*.wants/*; do
    case "$w" in */ssh.service) ;; *) rm -f "$w" ;; esac
  done
  # SysV start links too, made stop links as update-rc.d NAME disable does (enabling works as on a
  # real host): systemd-sysv-generator makes a boot service of every start link whose script has no
  # unit of its own (exim4, pulled in by cron: ~1 s of CPU per host boot)
  for l in "$R"/etc/rc[2-5].d/S[0-9][0-9]*; do
    case "$l" in */S[0-9][0-9]ssh | *"/S[0-9][0-9]*") ;; *) mv -f "$l" "$(dirname "$l")/K01$(basename "$l" | cut -c4-)" ;; esac
  done
  for u in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service \
    systemd-udev-settle.service getty@tty1.service console-getty.service serial-getty@.service systemd-networkd.service \
    systemd-networkd.socket systemd-networkd-wait-online.service systemd-resolved.service run-rpc_pipefs.mount \
    systemd-logind.service systemd-timesyncd.service systemd-firstboot.service systemd-sysusers.service \
    ldconfig.service systemd-hwdb-update.service systemd-journal-catalog-update.service systemd-update-done.service \
    dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
    sys-fs-fuse-connections.mount modprobe@.service kmod-static-nodes.service systemd-modules-load.service \
    systemd-pstore.service systemd-boot-system-token.service systemd-remount-fs.service systemd-journal-flush.service \
    systemd-update-utmp.service systemd-update-utmp-runlevel.service; do
    ln -sfn /dev/null "$S/$u"
  done
  # generators for hardware a lab host has none of (disks, TPM, consoles): each one is a fork on
  # every boot and every daemon-reload
  for g in cryptsetup gpt-auto hibernate-resume integritysetup veritysetup system-update getty debug; do
    rm -f "$R/lib/systemd/system-generators/systemd-$g-generator"
  done
  rm -f "$R/lib/systemd/system-generators/rpc-pipefs-generator"
  mkdir -p "$S/multi-user.target.wants"
  ln -sfn /lib/systemd/system/ssh.service "$S/multi-user.target.wants/ssh.service"
  ln -sfn /lib/systemd/system/multi-user.target "$S/default.target"
fi
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
if [ "$INIT" = systemd ]; then
  # systemd as pid 1; it starts ssh.service (the caller waits for port 22)
  echo READY
  exec </dev/null >/dev/null 2>&1
  exec /usr/bin/env -i container=k3sbook-lab PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /lib/systemd/systemd --system
fi
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
  /** 'none': a reaper as pid 1 starts sshd; 'systemd': systemd boots as pid 1 and starts ssh.service */
  init?: LabInit
  /** systemd hosts: the host's cgroup.procs files (one per hierarchy) and the hierarchies to mount inside */
  cgroups?: { procs: string[]; mounts: string }
}

export type LabInit = 'none' | 'systemd'

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
  for (const [dir, mode] of [
    ['etc', 0o755],
    ['etc/ssh', 0o755],
    ['root', 0o700],
    ['root/.ssh', 0o700],
  ] as const) {
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
  timeoutMs = spec.init === 'systemd' ? 180_000 : 20_000,
): Promise<StartedHost> {
  const mountPoint = join(spec.labDir, 'hosts', spec.name)
  mkdirSync(mountPoint, { recursive: true })
  const stageDir = stage(spec)
  const init = spec.init ?? 'none'
  const unshareArgv = [
    'unshare',
    ...(init === 'systemd' ? ['--cgroup'] : []),
    '--net',
    '--mount',
    '--uts',
    '--ipc',
    '--pid',
    '--fork',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    SETUP,
    'k3sbook-lab-host',
    mountPoint,
    spec.name,
    spec.address,
    String(spec.prefix),
    stageDir,
    spec.hideDir,
    diskSubmounts().join(' '),
    init,
    spec.cgroups?.mounts ?? '',
  ]
  // a systemd host first enters its own cgroups, so that its cgroup namespace is rooted there
  const procs = init === 'systemd' ? (spec.cgroups?.procs ?? []) : []
  const argv = procs.length
    ? [
        '/bin/sh',
        '-c',
        'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n - 1)); done; exec "$@"',
        'k3sbook-lab-cgroup',
        String(procs.length),
        ...procs,
        ...unshareArgv,
      ]
    : unshareArgv
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: HOST_PATH, LANG: 'C' } })
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
  // a host whose init exits while booting (systemd that cannot start, see limits.ts) is reported at
  // once, not after the whole timeout
  const initRef = started.init
  await waitForPort(spec.address, 22, timeoutMs, spec.name, () =>
    initRef && !isAlive(initRef) ? `the host's pid 1 (${init === 'systemd' ? 'systemd' : 'its reaper'}) exited while the host started` : undefined,
  )
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

/** Waits until host:port accepts a connection; `dead` names why waiting is over early (else undefined). */
export async function waitForPort(host: string, port: number, timeoutMs: number, label = host, dead?: () => string | undefined): Promise<void> {
  const until = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < until) {
    const why = dead?.()
    if (why) throw new LabError(`${label}: sshd did not accept connections on ${host}:${port}: ${why}`)
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
