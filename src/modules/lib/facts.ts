// The facts k3sbook gathers (the implicit "Gathering Facts" and the `setup` module share them):
// one read-only POSIX sh probe, its parse, and Ansible's gather_subset and filter over the result.
import type { Vars } from '../../model.js'
import { cutAt, starPieces } from '../../text.js'

/**
 * The facts probe: read-only, one round trip (or none of its own: it rides with the play's first
 * read-ahead). POSIX sh; a missing tool or file only leaves its facts out, and every part is
 * bounded. Cheap: about twenty processes (one `grep -s ''` reads the small /proc, /sys and /etc
 * files, each line prefixed with its path; tests are shell builtins). The output: `key=value`
 * lines, then `@@name` sections; the remote shell's environment comes last (\x01-separated).
 */
export const FACTS_SCRIPT = String.raw`LC_ALL=C; export LC_ALL
echo "fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null)"
echo "uname=$(uname -m)"
echo "nproc=$(nproc 2>/dev/null || echo 1)"
n=$LOGNAME; [ -n "$n" ] || n=$USER; [ -n "$n" ] || n=$(id -u)
echo "pw=$(getent passwd "$n" 2>/dev/null || grep -m 1 "^$n:" /etc/passwd 2>/dev/null)"
for f in /run/systemd/system /etc/arch-release /etc/ansible/facts.d /sys/kernel/security/apparmor /.dockerenv /.dockerinit /usr/bin/apt-get /usr/bin/dnf /usr/bin/yum /usr/bin/zypper /sbin/apk /usr/bin/pacman /usr/bin/rpm /lib/*/libselinux.so.1 /usr/lib/*/libselinux.so.1 /lib64/libselinux.so.1 /usr/lib64/libselinux.so.1 /lib/libselinux.so.1 /usr/lib/libselinux.so.1 /sys/class/net/*/bridge /sys/class/net/*/bonding; do if [ -e "$f" ]; then echo "exists=$f"; fi; done
for f in /sys/class/net/*; do if [ -d "$f" ]; then echo "iface=$f"; fi; done
if [ -e /proc/1/root/. ]; then if [ / -ef /proc/1/root/. ]; then echo "chroot=0"; else echo "chroot=1"; fi; fi
if command -v lsb_release >/dev/null 2>&1; then echo "lsb_bin=1"; fi
if [ -x /usr/bin/python3 ]; then p=/usr/bin/python3; else p=$(command -v python3 2>/dev/null); fi
if [ -n "$p" ]; then echo "python=$p $("$p" -c 'import sys; print(*sys.version_info)' 2>/dev/null)"; fi
d=$(date '+%Y %m %d %H %M %S %s %A %w %W %z %N %Z'); echo "date=$d"
case $d in *' UTC') ;; *) echo "tzdst=$(date -d 2000-07-01 +%Z 2>/dev/null)" ;; esac
D=/sys/devices/virtual/dmi/id
echo "@@files"
grep -s '' /proc/sys/kernel/hostname /proc/sys/kernel/osrelease /proc/sys/kernel/ostype /proc/sys/kernel/version /proc/$$/status /etc/os-release /etc/debian_version /etc/redhat-release /etc/alpine-release /etc/lsb-release /proc/meminfo /proc/uptime /proc/loadavg /proc/cmdline /proc/sys/crypto/fips_enabled /var/lib/dbus/machine-id /etc/machine-id /sys/fs/selinux/enforce /sys/fs/selinux/policyvers /etc/selinux/config $D/bios_date $D/bios_vendor $D/bios_version $D/board_asset_tag $D/board_name $D/board_serial $D/board_vendor $D/board_version $D/chassis_asset_tag $D/chassis_serial $D/chassis_vendor $D/chassis_version $D/chassis_type $D/product_name $D/product_serial $D/product_uuid $D/product_version $D/sys_vendor /etc/ssh/ssh_host_*_key.pub /etc/openssh/ssh_host_*_key.pub /etc/ssh_host_*_key.pub /etc/resolv.conf /proc/1/cgroup /sys/class/net/*/address /sys/class/net/*/mtu /sys/class/net/*/operstate /sys/class/net/*/type /sys/class/net/*/speed /sys/class/net/*/flags | head -c 1048576
echo
echo "@@cpu"
grep -E '^(processor|vendor_id|model name|Processor|cpu|Vendor|physical id|core id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo 2>/dev/null | head -n 4096
if command -v capsh >/dev/null 2>&1; then echo "@@capsh"; capsh --print 2>/dev/null; fi
echo "@@p1env"
tr '\0' '\n' </proc/1/environ 2>/dev/null | grep '^container='
echo "@@addr"
ip -o addr show 2>/dev/null | head -n 4000
echo "@@route4"
ip -4 route show default 2>/dev/null
echo "@@route6"
ip -6 route show default 2>/dev/null
if [ -d /dev/disk/by-uuid ]; then echo "@@uuid"; ls -l /dev/disk/by-uuid 2>/dev/null; fi
echo "@@mounts"
set --
if [ -r /etc/mtab ]; then m=/etc/mtab; else m=/proc/mounts; fi
while read -r dev mnt fs opts rest; do case $dev in /*|\\*|*:/*) if [ "$fs" != none ] && [ $# -lt 500 ]; then echo "$dev $mnt $fs $opts"; set -- "$@" "$mnt"; fi ;; esac; done <$m
if [ $# -gt 0 ]; then echo "@@statfs"; stat -f -c '%S %s %b %a %c %d %n' -- "$@" 2>/dev/null; fi
echo "@@env"
head -c 65536 /proc/$$/environ 2>/dev/null | tr '\0' '\001'
`

const SECTIONS = new Set(['files', 'cpu', 'capsh', 'p1env', 'addr', 'route4', 'route6', 'uuid', 'mounts', 'statfs'])

/** The probe's output: its `key=value` lines, its sections, the files `grep -s ''` read, the environment. */
function splitOutput(out: string): { multi: Record<string, string[]>; sections: Map<string, string[]>; files: Map<string, string[]>; envText: string } {
  const envAt = out.indexOf('@@env\n')
  const envOk = envAt === 0 || (envAt > 0 && out[envAt - 1] === '\n')
  const envText = envOk ? out.slice(envAt + 6) : ''
  const head = envOk ? out.slice(0, envAt) : out
  const multi: Record<string, string[]> = {}
  const sections = new Map<string, string[]>()
  let cur: string[] | undefined
  for (const line of head.split('\n')) {
    if (line.startsWith('@@') && SECTIONS.has(line.slice(2))) {
      cur = []
      sections.set(line.slice(2), cur)
    } else if (cur) cur.push(line)
    else {
      const i = line.indexOf('=')
      if (i > 0) (multi[line.slice(0, i)] ??= []).push(line.slice(i + 1))
    }
  }
  const files = new Map<string, string[]>()
  for (const line of sections.get('files') ?? []) {
    const i = line.indexOf(':')
    if (i <= 0) continue
    const f = line.slice(0, i)
    let l = files.get(f)
    if (!l) files.set(f, (l = []))
    l.push(line.slice(i + 1))
  }
  return { multi, sections, files, envText }
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v[0] === '"' && v.endsWith('"')) || (v[0] === "'" && v.endsWith("'")))) return v.slice(1, -1)
  return v
}

/** Whitespace-separated words (linear; no regex over host text). */
function words(s: string): string[] {
  const out: string[] = []
  let cur = ''
  for (const c of s) {
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (cur) out.push(cur)
      cur = ''
    } else cur += c
  }
  if (cur) out.push(cur)
  return out
}

const int = (s: string | undefined): number => {
  const n = parseInt(s ?? '', 10)
  return Number.isFinite(n) ? n : 0
}

const ARCH: Record<string, string> = { x86_64: 'x86_64', aarch64: 'aarch64', armv7l: 'armv7l' }

/** os-release ID → Ansible's distribution name (its OS_RELEASE aliases and known names). */
const DIST_NAME: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  raspbian: 'Debian',
  centos: 'CentOS',
  rhel: 'RedHat',
  fedora: 'Fedora',
  rocky: 'Rocky',
  almalinux: 'AlmaLinux',
  eurolinux: 'EuroLinux',
  ol: 'OracleLinux',
  amzn: 'Amazon',
  arch: 'Archlinux',
  alpine: 'Alpine',
  sles: 'SLES',
  'opensuse-leap': 'openSUSE Leap',
  'opensuse-tumbleweed': 'openSUSE Tumbleweed',
}
/** Ansible's OS_FAMILY map (the families k3sbook's targets come in). */
const FAMILY: Record<string, string> = {
  Debian: 'Debian',
  Ubuntu: 'Debian',
  Raspbian: 'Debian',
  RedHat: 'RedHat',
  CentOS: 'RedHat',
  Fedora: 'RedHat',
  Rocky: 'RedHat',
  AlmaLinux: 'RedHat',
  EuroLinux: 'RedHat',
  Virtuozzo: 'RedHat',
  OracleLinux: 'RedHat',
  Amazon: 'RedHat',
  Archlinux: 'Archlinux',
  Alpine: 'Alpine',
  SLES: 'Suse',
  'openSUSE Leap': 'Suse',
  'openSUSE Tumbleweed': 'Suse',
}
const IFACE_TYPE: Record<string, string> = { '1': 'ether', '32': 'infiniband', '512': 'ppp', '772': 'loopback', '65534': 'tunnel' }

function netmask(prefix: number): string {
  const m = prefix <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefix, 32))) >>> 0
  return [24, 16, 8, 0].map((s) => (m >>> s) & 255).join('.')
}
function network(addr: string, prefix: number): string {
  const a = addr.split('.').map(Number)
  const m = netmask(prefix).split('.').map(Number)
  return a.map((x, i) => x & m[i]).join('.')
}

/** Python's shlex-free cmdline parse as Ansible does it for plain words: `k=v` or a flag (True). */
function parseCmdline(s: string): { cmdline: Vars; proc: Vars } {
  const cmdline: Vars = {}
  const proc: Vars = {}
  for (const w of words(s)) {
    const i = w.indexOf('=')
    const k = i < 0 ? w : w.slice(0, i)
    const v: unknown = i < 0 ? true : w.slice(i + 1)
    cmdline[k] = v
    if (k in proc) proc[k] = Array.isArray(proc[k]) ? [...(proc[k] as unknown[]), v] : [proc[k], v]
    else proc[k] = v
  }
  return { cmdline, proc }
}

/**
 * distribution* and os_family from the release files the probe reads (path → lines): os-release,
 * then the family's own file (debian_version, redhat-release, alpine-release, arch-release), the way
 * Ansible's distribution.py names them. test/compat/distribution.ts checks this against Ansible's
 * own unit-test fixtures (a dev-time cross-check; CI has test/modules/facts-distribution.test.ts).
 */
export function distributionFacts(files: Map<string, string[]>, exists: Set<string>): Vars {
  const out: Vars = {}
  const kv: Record<string, string> = {}
  for (const l of files.get('/etc/os-release') ?? []) {
    const i = l.indexOf('=')
    if (i > 0) kv[`os_${l.slice(0, i)}`] = unquote(l.slice(i + 1))
  }
  const osId = kv.os_ID ?? 'unknown'
  let dist = DIST_NAME[osId] ?? (osId ? osId.charAt(0).toUpperCase() + osId.slice(1) : 'NA')
  // Ansible's RedHat entry: the name is "RedHat" when the file says "Red Hat", else its first word
  // (CentOS, Rocky, AlmaLinux, EuroLinux …); without os-release the file alone names the system
  const rhRelease = (files.get('/etc/redhat-release')?.[0] ?? '').trim()
  if (rhRelease && (FAMILY[dist] === 'RedHat' || osId === 'unknown')) dist = rhRelease.includes('Red Hat') ? 'RedHat' : (words(rhRelease)[0] ?? dist)
  let version = kv.os_VERSION_ID ?? ''
  // distro's codename: VERSION_CODENAME, UBUNTU_CODENAME, else VERSION's words in parentheses
  const inParens = /\(([^()0-9]+)\)/.exec(kv.os_VERSION ?? '')?.[1]?.trim()
  let release = kv.os_VERSION_CODENAME || kv.os_UBUNTU_CODENAME || inParens || ''
  let filePath = '/etc/os-release'
  let variety = FAMILY[dist] === 'Debian' ? 'Debian' : dist
  if (dist === 'Debian' && files.get('/etc/debian_version')?.[0]) {
    const dv = files.get('/etc/debian_version')![0].trim()
    if (/^[0-9.]+$/.test(dv)) version = dv
  } else if ((FAMILY[dist] === 'RedHat' || osId === 'unknown') && rhRelease) {
    filePath = '/etc/redhat-release'
    variety = 'RedHat'
    const l = rhRelease
    const at = l.indexOf(' release ')
    if (at >= 0) {
      // distro's version: os-release's VERSION_ID; CentOS's "best" one (the file's) cut to two parts
      const rest = words(l.slice(at + 9))
      if (rest[0] && (!version || osId === 'centos')) version = osId === 'centos' ? rest[0].split('.').slice(0, 2).join('.') : rest[0]
      const open = l.indexOf('(')
      const close = l.lastIndexOf(')')
      if (open >= 0 && close > open) release = l.slice(open + 1, close)
    }
    if (l.startsWith('CentOS Stream')) release = 'Stream'
  } else if (dist === 'Alpine' && files.get('/etc/alpine-release')?.[0]) {
    filePath = '/etc/alpine-release'
    version = files.get('/etc/alpine-release')![0].trim()
  } else if (dist === 'Archlinux' && exists.has('/etc/arch-release')) {
    filePath = '/etc/arch-release'
    version = kv.os_VERSION_ID ?? 'NA'
  }
  out.distribution = dist
  out.distribution_version = version || 'NA'
  out.distribution_major_version = version ? version.split('.')[0] : 'NA'
  const minor = version.split('.')[1]
  if (minor !== undefined) out.distribution_minor_version = minor
  out.distribution_release = release || 'NA'
  out.distribution_file_path = filePath
  out.distribution_file_variety = variety
  out.distribution_file_parsed = true
  out.os_family =
    FAMILY[dist] ??
    (variety === 'RedHat' ? 'RedHat' : undefined) ??
    (kv.os_ID_LIKE?.includes('debian') ? 'Debian' : kv.os_ID_LIKE?.includes('rhel') ? 'RedHat' : dist)
  return out
}

/**
 * pkg_mgr as Ansible's pkg_mgr.py decides it: the package managers found by path, then the family's
 * default: the RedHat family is yum before RHEL 8 and dnf from 8 (Fedora: dnf from 23 when
 * /usr/bin/dnf exists, else what was found; Amazon: dnf from 2022), the Debian family is apt.
 */
export function pkgMgrFact(dist: string, major: string, family: string, paths: Set<string>): string {
  let found = 'unknown'
  if (paths.has('/usr/bin/apt-get')) found = paths.has('/usr/bin/rpm') && family !== 'Debian' ? 'apt_rpm' : 'apt'
  else if (paths.has('/sbin/apk')) found = 'apk'
  else if (paths.has('/usr/bin/pacman')) found = 'pacman'
  else if (paths.has('/usr/bin/zypper')) found = 'zypper'
  else if (paths.has('/usr/bin/dnf')) found = 'dnf'
  else if (paths.has('/usr/bin/yum')) found = 'yum'
  if (family === 'Debian') return 'apt'
  if (family !== 'RedHat') return found
  const n = /^\d+$/.test(major) ? Number(major) : NaN
  if (dist === 'Fedora' || dist === 'Amazon') {
    if (Number.isNaN(n)) return 'dnf'
    if (n < (dist === 'Fedora' ? 23 : 2022)) return paths.has('/usr/bin/yum') ? 'yum' : found
    return paths.has('/usr/bin/dnf') ? 'dnf' : found
  }
  return n < 8 ? 'yum' : 'dnf'
}

export function parseFacts(out: string): Vars {
  const { multi: raw, sections, files, envText } = splitOutput(out)
  const sec = (n: string) => sections.get(n) ?? []
  const file = (f: string) => files.get(f) ?? []
  const first = (f: string) => files.get(f)?.[0]
  // the probe's answers in one key → values table (several values where a key repeats)
  const multi: Record<string, string[]> = { ...raw }
  const kv: Record<string, string> = {}
  const put = (k: string, v: string | undefined) => {
    if (v === undefined) return
    kv[k] = v
    ;(multi[k] ??= []).push(v)
  }
  for (const [k, vs] of Object.entries(raw)) kv[k] = vs[vs.length - 1]
  const exists = new Set(raw.exists ?? [])
  put('hostname', first('/proc/sys/kernel/hostname'))
  put('kernel', first('/proc/sys/kernel/osrelease'))
  put('kernel_version', first('/proc/sys/kernel/version'))
  put('system', first('/proc/sys/kernel/ostype'))
  put('service_mgr', exists.has('/run/systemd/system') ? 'systemd' : 'sysvinit')
  for (const l of file('/proc/self/status').length
    ? file('/proc/self/status')
    : ([...files].find(([f]) => f.startsWith('/proc/') && f.endsWith('/status'))?.[1] ?? [])) {
    const w = words(l)
    if (w[0] === 'Uid:') {
      put('uid', w[2])
      put('ruid', w[1])
    } else if (w[0] === 'Gid:') {
      put('gid', w[2])
      put('rgid', w[1])
    }
  }
  put('ids', `${kv.gid ?? ''} ${kv.ruid ?? ''} ${kv.rgid ?? ''}`)
  put('user_id', (kv.pw ?? '').split(':')[0] || undefined)
  for (const l of file('/etc/os-release')) {
    const i = l.indexOf('=')
    const k = l.slice(0, i)
    if (i > 0 && ['ID', 'VERSION_ID', 'VERSION_CODENAME', 'PRETTY_NAME', 'ID_LIKE', 'NAME'].includes(k)) put(`os_${k}`, unquote(l.slice(i + 1)))
  }
  for (const f of ['/etc/debian_version', '/etc/redhat-release', '/etc/alpine-release', '/etc/lsb-release']) if (files.has(f)) exists.add(f)
  multi.exists = [...exists]
  multi.pkg = [...exists]
  for (const l of file('/proc/meminfo')) {
    const i = l.indexOf(':')
    if (i > 0) (multi[`mem ${l.slice(0, i)}`] ??= []).push(words(l.slice(i + 1))[0] ?? '')
  }
  put('uptime', first('/proc/uptime'))
  put('loadavg', first('/proc/loadavg'))
  put('cmdline', first('/proc/cmdline'))
  put('fips', first('/proc/sys/crypto/fips_enabled'))
  put('machine_id', first('/var/lib/dbus/machine-id') ?? first('/etc/machine-id'))
  if (exists.has('/sys/kernel/security/apparmor')) put('apparmor', 'enabled')
  if (files.has('/sys/fs/selinux/enforce')) put('selinux', `${first('/sys/fs/selinux/enforce')} ${first('/sys/fs/selinux/policyvers') ?? ''}`)
  for (const l of file('/etc/selinux/config')) {
    if (l.startsWith('SELINUX=')) put('selinux_SELINUX', unquote(l.slice(8)))
    if (l.startsWith('SELINUXTYPE=')) put('selinux_SELINUXTYPE', unquote(l.slice(12)))
  }
  const caps = sec('capsh').find((l) => l.startsWith('Current:'))
  if (caps !== undefined) put('caps', caps.slice(8))
  if ([...exists].some((f) => f.endsWith('/libselinux.so.1'))) put('libselinux', '1')
  // ssh host keys: the first of /etc/ssh, /etc/openssh, /etc that has any
  for (const dir of ['/etc/ssh/', '/etc/openssh/', '/etc/']) {
    const keys = [...files].filter(([f]) => f.startsWith(dir + 'ssh_host_') && f.endsWith('_key.pub') && !f.slice(dir.length).includes('/'))
    if (!keys.length) continue
    for (const [f, ls] of keys) {
      const t = f.slice(dir.length + 9, -8)
      if (['dsa', 'rsa', 'ecdsa', 'ed25519'].includes(t) && ls[0]) put('sshkey', `${t} ${ls[0]}`)
    }
    break
  }
  for (const l of file('/etc/resolv.conf')) put('resolv', l)
  multi.iface = (raw.iface ?? []).map((f) => f.slice(f.lastIndexOf('/') + 1))
  multi.netdir = [...exists].filter((f) => f.startsWith('/sys/class/net/')).map((f) => f.slice(15))
  multi.addr = sec('addr')
  put('defroute4', sec('route4')[0])
  put('defroute6', sec('route6')[0])
  // container checks as Ansible's: cgroup of PID 1, its container= variable, /.dockerenv
  const cg = file('/proc/1/cgroup')
  const p1 = sec('p1env')
    .find((l) => l.startsWith('container='))
    ?.slice(10)
  if (cg.some((l) => l.includes('/docker/') || (l.includes('/docker-') && l.endsWith('.scope')))) put('virt', 'docker')
  else if (cg.some((l) => l.includes('/lxc/'))) put('virt', 'lxc')
  else if (p1) put('virt', p1 === 'lxc' || p1 === 'podman' ? p1 : 'container')
  else if (exists.has('/.dockerenv') || exists.has('/.dockerinit')) put('virt', 'docker')
  // /dev/disk/by-uuid links ("... UUID -> ../../sda1") and the mounts with their statfs
  for (const l of sec('uuid')) {
    const w = words(l)
    const at = w.indexOf('->')
    if (at > 0 && w[at + 1]) put('uuid', `/dev/${w[at + 1].slice(w[at + 1].lastIndexOf('/') + 1)} /${w[at - 1]}`)
  }
  const statfs = new Map<string, string>()
  for (const l of sec('statfs')) {
    const w = words(l)
    if (w.length >= 7) statfs.set(l.slice(nthWordEnd(l, 6)).trimStart(), w.slice(0, 6).join(' '))
  }
  for (const l of sec('mounts')) {
    const w = words(l)
    if (w.length >= 4) put('mount', `${l} ${statfs.get(w[1]) ?? ''}`)
  }
  const cpuLines = () => sec('cpu')
  const dmiLines = () => [...files].filter(([f]) => f.startsWith('/sys/devices/virtual/dmi/id/')).map(([f, ls]) => `${f.slice(28)}:${ls[0] ?? ''}`)
  const netLines = () => {
    const r: string[] = []
    for (const [f, ls] of files) if (f.startsWith('/sys/class/net/')) r.push(`${f.slice(15)}:${ls[0] ?? ''}`)
    return r
  }
  const all = (k: string) => multi[k] ?? []
  const spaced = (prefix: string) => {
    // "prefix NAME" keys, in order
    const r: [string, string][] = []
    for (const [k, vs] of Object.entries(multi)) if (k.startsWith(prefix + ' ')) for (const v of vs) r.push([k.slice(prefix.length + 1), v])
    return r
  }
  const facts: Vars = {}

  // platform
  const machine = kv.uname ?? ''
  facts.hostname = cutAtDot(kv.hostname ?? '')
  facts.nodename = kv.hostname
  facts.fqdn = kv.fqdn
  const dot = (kv.fqdn ?? '').indexOf('.')
  facts.domain = dot < 0 ? '' : (kv.fqdn ?? '').slice(dot + 1)
  facts.architecture = ARCH[machine] ?? machine
  facts.machine = machine
  facts.kernel = kv.kernel
  facts.kernel_version = kv.kernel_version
  facts.system = kv.system
  // Python's platform.architecture() of its own binary: the userland is taken as the kernel's word size
  // (a 32-bit userland on a 64-bit kernel would be told wrong)
  if (machine) {
    const bits = /64|s390x/.test(machine) ? '64' : '32'
    facts.userspace_bits = bits
    facts.userspace_architecture = facts.architecture
  }
  if (kv.machine_id) facts.machine_id = kv.machine_id

  // user
  const [gid, ruid, rgid] = words(kv.ids ?? '')
  const pw = (kv.pw ?? '').split(':')
  facts.user_id = kv.user_id
  facts.user_uid = int(kv.uid)
  facts.effective_user_id = int(kv.uid)
  facts.effective_group_id = int(gid)
  facts.real_user_id = int(ruid)
  facts.real_group_id = int(rgid)
  if (pw.length >= 7) {
    facts.user_gid = int(pw[3])
    facts.user_gecos = pw[4]
    facts.user_dir = pw[5]
    facts.user_shell = pw[6]
  }

  facts.service_mgr = kv.service_mgr

  Object.assign(facts, distributionFacts(files, exists))

  // lsb: /etc/lsb-release's fields; with lsb_release installed but no such file (Debian), the
  // values lsb_release prints, which it takes from os-release (running it costs ~0.2 s of Python)
  const lsbFile = new Map<string, string>()
  for (const l of files.get('/etc/lsb-release') ?? []) {
    const i = l.indexOf('=')
    if (i > 0) lsbFile.set(l.slice(0, i), unquote(l.slice(i + 1)))
  }
  let lsb: Vars = {}
  if (kv.lsb_bin && kv.os_NAME)
    lsb = { id: words(kv.os_NAME)[0] ?? '', description: kv.os_PRETTY_NAME ?? '', release: kv.os_VERSION_ID ?? '', codename: kv.os_VERSION_CODENAME ?? '' }
  else if (lsbFile.size) {
    for (const [k, n] of [
      ['DISTRIB_ID', 'id'],
      ['DISTRIB_RELEASE', 'release'],
      ['DISTRIB_DESCRIPTION', 'description'],
      ['DISTRIB_CODENAME', 'codename'],
    ])
      if (lsbFile.has(k)) lsb[n] = lsbFile.get(k)
  }
  if (typeof lsb.release === 'string') lsb.major_release = lsb.release.split('.')[0]
  facts.lsb = lsb

  facts.pkg_mgr = pkgMgrFact(String(facts.distribution), String(facts.distribution_major_version), String(facts.os_family), new Set(all('pkg')))

  // hardware: memory
  const mem = new Map<string, number>()
  for (const [k, v] of spaced('mem')) mem.set(k, Math.floor(int(v) / 1024))
  const m = (k: string) => mem.get(k) ?? 0
  facts.memtotal_mb = m('MemTotal')
  facts.memfree_mb = m('MemFree')
  facts.swaptotal_mb = m('SwapTotal')
  facts.swapfree_mb = m('SwapFree')
  const nocacheFree = m('Cached') + m('MemFree') + m('Buffers')
  facts.memory_mb = {
    real: { total: m('MemTotal'), used: m('MemTotal') - m('MemFree'), free: m('MemFree') },
    nocache: { free: nocacheFree, used: m('MemTotal') - nocacheFree },
    swap: { total: m('SwapTotal'), free: m('SwapFree'), used: m('SwapTotal') - m('SwapFree'), cached: m('SwapCached') },
  }

  // hardware: processors, as Ansible's Linux cpu facts count them
  const processor: string[] = []
  const sockets = new Map<string, number>()
  const cores = new Map<string, number>()
  let physid = ''
  let coreid = ''
  let occurrences = 0
  for (const raw of cpuLines()) {
    const i = raw.indexOf(':')
    const key = raw.slice(0, i).trim()
    const val = raw.slice(i + 1).trim()
    if (['model name', 'Processor', 'vendor_id', 'cpu', 'Vendor', 'processor'].includes(key)) {
      processor.push(val)
      if (key === 'processor') occurrences++
    } else if (key === 'physical id') {
      physid = val
      if (!sockets.has(physid)) sockets.set(physid, 1)
    } else if (key === 'core id') {
      coreid = val
      if (!sockets.has(coreid)) cores.set(coreid, 1)
    } else if (key === 'cpu cores') sockets.set(physid, int(val))
    else if (key === 'siblings') cores.set(coreid, int(val))
  }
  facts.processor = processor
  const count = sockets.size ? sockets.size : occurrences
  const firstSocket = [...sockets.values()][0]
  const coresPer = firstSocket ? firstSocket : 1
  const firstCore = [...cores.values()][0]
  const threads = cores.size ? Math.floor(firstCore / coresPer) : Math.floor(1 / coresPer)
  facts.processor_count = count
  facts.processor_cores = coresPer
  facts.processor_threads_per_core = threads
  facts.processor_vcpus = threads * count * coresPer
  facts.processor_nproc = int(kv.nproc)

  // hardware: dmi (Ansible's "NA" for what is not readable)
  const dmi = new Map<string, string>()
  for (const raw of dmiLines()) {
    const i = raw.indexOf(':')
    if (i > 0) dmi.set(raw.slice(0, i), raw.slice(i + 1))
  }
  for (const f of [
    'bios_date',
    'bios_vendor',
    'bios_version',
    'board_asset_tag',
    'board_name',
    'board_serial',
    'board_vendor',
    'board_version',
    'chassis_asset_tag',
    'chassis_serial',
    'chassis_vendor',
    'chassis_version',
    'product_name',
    'product_serial',
    'product_uuid',
    'product_version',
  ])
    facts[f] = dmi.get(f) ?? 'NA'
  facts.system_vendor = dmi.get('sys_vendor') ?? 'NA'
  facts.form_factor = FORM_FACTOR[int(dmi.get('chassis_type'))] ?? 'NA'

  // hardware: uptime, mounts
  const up = words(kv.uptime ?? '')[0]
  if (up) facts.uptime_seconds = Math.floor(Number(up))
  const la = words(kv.loadavg ?? '')
  if (la.length >= 3) facts.loadavg = { '1m': Number(la[0]), '5m': Number(la[1]), '15m': Number(la[2]) }
  const uuids = new Map<string, string>()
  for (const l of all('uuid')) {
    const [dev, link] = words(l)
    if (dev && link) uuids.set(dev, link.slice(link.lastIndexOf('/') + 1))
  }
  const mounts: Vars[] = []
  for (const l of all('mount')) {
    const w = words(l)
    if (w.length < 4) continue
    const [device, mount, fstype, options, frsize, bsize, blocks, bavail, files, ffree] = w.map(unescapeOctal)
    const info: Vars = { mount, device, fstype, options }
    if (ffree !== undefined) {
      info.size_total = int(frsize) * int(blocks)
      info.size_available = int(frsize) * int(bavail)
      info.block_size = int(bsize)
      info.block_total = int(blocks)
      info.block_available = int(bavail)
      info.block_used = int(blocks) - int(bavail)
      info.inode_total = int(files)
      info.inode_available = int(ffree)
      info.inode_used = int(files) - int(ffree)
    }
    info.uuid = uuids.get(device) ?? 'N/A'
    mounts.push(info)
  }
  facts.mounts = mounts

  // cmdline, fips, chroot, apparmor, selinux, caps
  const { cmdline, proc } = parseCmdline(kv.cmdline ?? '')
  facts.cmdline = cmdline
  facts.proc_cmdline = proc
  facts.fips = (kv.fips ?? '').trim() === '1'
  // / is not PID 1's root (unreadable without root: not a chroot, as far as can be told)
  facts.is_chroot = kv.chroot === '1'
  facts.apparmor = { status: kv.apparmor === 'enabled' ? 'enabled' : 'disabled' }
  if (kv.selinux) {
    const [enforce, policyvers] = words(kv.selinux)
    const se: Vars = { status: 'enabled', mode: enforce === '1' ? 'enforcing' : 'permissive' }
    if (policyvers) se.policyvers = int(policyvers)
    if (kv.selinux_SELINUX) se.config_mode = kv.selinux_SELINUX
    if (kv.selinux_SELINUXTYPE) se.type = kv.selinux_SELINUXTYPE
    facts.selinux = se
  } else facts.selinux = { status: 'disabled' }
  if (kv.caps !== undefined) {
    const c = kv.caps
    if (c.trim() === '=ep') {
      facts.system_capabilities_enforced = 'False'
      facts.system_capabilities = []
    } else {
      facts.system_capabilities_enforced = 'True'
      facts.system_capabilities = (c.split('=')[1] ?? '').split(',').map((x) => x.trim())
    }
  }

  // ssh host keys
  for (const l of all('sshkey')) {
    const [t, keytype, key] = words(l)
    if (t && key) {
      facts[`ssh_host_key_${t}_public`] = key
      facts[`ssh_host_key_${t}_public_keytype`] = keytype
    }
  }

  // dns, from resolv.conf as Ansible reads it
  const dns: Vars = {}
  for (const l of all('resolv')) {
    if (l.startsWith('#') || l.startsWith(';')) continue
    const w = words(l)
    if (!w.length) continue
    if (w[0] === 'nameserver' && w[1]) ((dns.nameservers ??= []) as string[]).push(w[1])
    else if (w[0] === 'domain' && w[1]) dns.domain = w[1]
    else if (w[0] === 'search') dns.search = w.slice(1)
    else if (w[0] === 'sortlist') dns.sortlist = w.slice(1)
    else if (w[0] === 'options') {
      const o = (dns.options ??= {}) as Vars
      for (const opt of w.slice(1)) {
        const i = opt.indexOf(':')
        if (i < 0) o[opt] = true
        else o[opt.slice(0, i)] = opt.slice(i + 1)
      }
    }
  }
  facts.dns = dns

  // date_time: the host's clock, in its zone (UTC strings from the same epoch)
  const d = words(kv.date ?? '')
  if (d.length >= 12) {
    const [Y, mo, dd, H, M, S, epoch, weekday, wn, wk, z, ns, Z] = d
    const micro = /^[0-9]{9}$/.test(ns) ? ns.slice(0, 6) : '000000'
    const utc = new Date(int(epoch) * 1000).toISOString().slice(0, 19)
    facts.date_time = {
      year: Y,
      month: mo,
      weekday,
      weekday_number: wn,
      weeknumber: wk,
      day: dd,
      hour: H,
      minute: M,
      second: S,
      epoch,
      epoch_int: String(int(epoch)),
      date: `${Y}-${mo}-${dd}`,
      time: `${H}:${M}:${S}`,
      iso8601_micro: `${utc}.${micro}Z`,
      iso8601: `${utc}Z`,
      iso8601_basic: `${Y}${mo}${dd}T${H}${M}${S}${micro}`,
      iso8601_basic_short: `${Y}${mo}${dd}T${H}${M}${S}`,
      tz: Z ?? '',
      tz_dst: kv.tzdst || Z || '',
      tz_offset: z,
    }
  }

  // network: interfaces from sysfs, addresses from ip, default routes
  const ifaces = all('iface').filter((x) => x && !x.includes('/'))
  const per = new Map<string, Vars>()
  for (const n of ifaces) per.set(n, { device: n })
  for (const raw of netLines()) {
    // "eth0/mtu:1500"
    const slash = raw.indexOf('/')
    const colon = raw.indexOf(':', slash)
    if (slash < 0 || colon < 0) continue
    const dev = per.get(raw.slice(0, slash))
    if (!dev) continue
    const file = raw.slice(slash + 1, colon)
    const val = raw.slice(colon + 1)
    if (file === 'address' && val && val !== '00:00:00:00:00:00') dev.macaddress = val
    else if (file === 'mtu') dev.mtu = int(val)
    else if (file === 'operstate') dev.active = val !== 'down'
    else if (file === 'type') dev.type = IFACE_TYPE[val] ?? 'unknown'
    else if (file === 'speed' && /^-?[0-9]+$/.test(val)) dev.speed = int(val)
    else if (file === 'flags') dev.promisc = (parseInt(val, 16) & 0x100) > 0
  }
  for (const raw of all('netdir')) {
    const [name, kind] = raw.split('/')
    const dev = per.get(name)
    if (dev && kind === 'bridge' && dev.type !== 'bonding') dev.type = 'bridge'
    if (dev && kind === 'bonding') dev.type = 'bonding'
  }
  const all4: string[] = []
  const all6: string[] = []
  for (const l of all('addr')) {
    const w = words(l)
    if (w.length < 4) continue
    const name = cutAt(w[1], '@')
    const dev = per.get(name) ?? per.set(name, { device: name }).get(name)!
    const [address, pfx = w[2] === 'inet' ? '32' : '128'] = w[3].split('/')
    const scope = w[w.indexOf('scope') + 1] ?? ''
    if (w[2] === 'inet') {
      const brd = w.indexOf('brd') > 0 ? w[w.indexOf('brd') + 1] : ''
      const entry = { address, broadcast: brd, netmask: netmask(int(pfx)), network: network(address, int(pfx)), prefix: pfx }
      if (w.includes('secondary')) ((dev.ipv4_secondaries ??= []) as Vars[]).push(entry)
      else if (!dev.ipv4) dev.ipv4 = entry
      else ((dev.ipv4_secondaries ??= []) as Vars[]).push(entry)
      if (!address.startsWith('127.')) all4.push(address)
    } else if (w[2] === 'inet6') {
      ;((dev.ipv6 ??= []) as Vars[]).push({ address, prefix: pfx, scope })
      if (address !== '::1') all6.push(address)
    }
  }
  facts.interfaces = [...per.keys()]
  facts.all_ipv4_addresses = all4
  facts.all_ipv6_addresses = all6
  const defaultOf = (route: string | undefined, family: 'ipv4' | 'ipv6'): Vars => {
    const w = words(route ?? '')
    const iface = w.indexOf('dev') >= 0 ? w[w.indexOf('dev') + 1] : undefined
    const dev = iface ? per.get(iface) : undefined
    if (!dev) return {}
    const addr = family === 'ipv4' ? (dev.ipv4 as Vars | undefined) : ((dev.ipv6 as Vars[] | undefined) ?? []).find((a) => a.scope === 'global')
    if (!addr) return {}
    // as Ansible fills it in: the route's interface, source and gateway, then the address's fields and the interface's
    const r: Vars = { interface: iface, ...addr, macaddress: dev.macaddress ?? 'unknown', mtu: dev.mtu, type: dev.type ?? 'unknown' }
    if (family === 'ipv4') r.alias = iface
    if (w.indexOf('via') >= 0) r.gateway = w[w.indexOf('via') + 1]
    return r
  }
  facts.default_ipv4 = defaultOf(kv.defroute4, 'ipv4')
  facts.default_ipv6 = defaultOf(kv.defroute6, 'ipv6')
  // env: the remote shell's whole environment (as Ansible's env collector: os.environ)
  const env: Vars = {}
  if (envText) {
    for (const e of envText.split('\x01')) {
      const i = e.indexOf('=')
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1)
    }
  } else {
    if (kv.home !== undefined) env.HOME = kv.home
    if (kv.path !== undefined) env.PATH = kv.path
  }
  facts.env = env
  if (env.debian_chroot) facts.is_chroot = true // Ansible's first test
  // Ansible's container checks (cgroup, PID 1's environment, /.dockerenv); "NA" when none matched
  facts.virtualization_type = kv.virt ?? 'NA'
  facts.virtualization_role = kv.virt ? 'guest' : 'NA'
  const [pyExe, ...pyVer] = words(kv.python ?? '')
  if (pyExe && pyVer.length >= 5) {
    const [major, minor, micro, releaselevel, serial] = pyVer
    facts.python = {
      executable: pyExe,
      has_sslcontext: true,
      type: 'cpython',
      version: { major: Number(major), minor: Number(minor), micro: Number(micro), releaselevel, serial: Number(serial) },
      version_info: [Number(major), Number(minor), Number(micro), releaselevel, Number(serial)],
    }
    facts.python_version = `${major}.${minor}.${micro}`
  }
  // Ansible reads SELinux through libselinux (its ctypes binding to libselinux.so.1): without it, it says so
  facts.selinux_python_present = kv.libselinux === '1'
  if (kv.libselinux !== '1') facts.selinux = { status: 'Missing selinux Python library' }
  // local facts: k3sbook reads no facts.d; where there is none, Ansible's empty dict
  if (!exists.has('/etc/ansible/facts.d')) facts.local = {}
  for (const [name, dev] of per) facts[name.replace(/[^A-Za-z0-9_]/g, '_')] = dev
  return facts
}

/** Where the n-th whitespace-separated word of `s` ends. */
function nthWordEnd(s: string, n: number): number {
  let i = 0
  for (let k = 0; k < n; k++) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++
    while (i < s.length && s[i] !== ' ' && s[i] !== '\t') i++
  }
  return i
}

function cutAtDot(s: string): string {
  const i = s.indexOf('.')
  return i < 0 ? s : s.slice(0, i)
}

/** /proc/mounts' octal escapes (\040 for a space) decoded, as Ansible's _replace_octal_escapes. */
function unescapeOctal(s: string): string {
  if (!s.includes('\\')) return s
  let r = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      r += String.fromCharCode(parseInt(s.slice(i + 1, i + 4), 8))
      i += 3
    } else r += s[i]
  }
  return r
}

/** SMBIOS chassis types as Ansible's FORM_FACTOR names them. */
const FORM_FACTOR: Record<number, string> = {
  1: 'Other',
  2: 'Unknown',
  3: 'Desktop',
  4: 'Low Profile Desktop',
  5: 'Pizza Box',
  6: 'Mini Tower',
  7: 'Tower',
  8: 'Portable',
  9: 'Laptop',
  10: 'Notebook',
  11: 'Hand Held',
  12: 'Docking Station',
  13: 'All In One',
  14: 'Sub Notebook',
  15: 'Space-saving',
  16: 'Lunch Box',
  17: 'Main Server Chassis',
  18: 'Expansion Chassis',
  19: 'Sub Chassis',
  20: 'Bus Expansion Chassis',
  21: 'Peripheral Chassis',
  22: 'RAID Chassis',
  23: 'Rack Mount Chassis',
  24: 'Sealed-case PC',
  25: 'Multi-system',
  26: 'CompactPCI',
  27: 'AdvancedTCA',
  28: 'Blade',
  29: 'Blade Enclosure',
  30: 'Tablet',
  31: 'Convertible',
  32: 'Detachable',
  33: 'IoT Gateway',
  34: 'Embedded PC',
  35: 'Mini PC',
  36: 'Stick PC',
}

/**
 * Which of Ansible's fact collectors each fact k3sbook gathers comes from (unlisted: an interface,
 * network; the ssh_host_key_* facts: ssh_pub_keys, see collectorOf).
 */
const COLLECTOR: Record<string, string> = {
  hostname: 'platform',
  nodename: 'platform',
  fqdn: 'platform',
  domain: 'platform',
  architecture: 'platform',
  userspace_architecture: 'platform',
  userspace_bits: 'platform',
  machine: 'platform',
  kernel: 'platform',
  kernel_version: 'platform',
  system: 'platform',
  machine_id: 'platform',
  python_version: 'platform',
  distribution: 'distribution',
  distribution_version: 'distribution',
  distribution_major_version: 'distribution',
  distribution_minor_version: 'distribution',
  distribution_release: 'distribution',
  distribution_file_path: 'distribution',
  distribution_file_variety: 'distribution',
  distribution_file_parsed: 'distribution',
  os_family: 'distribution',
  user_id: 'user',
  user_uid: 'user',
  user_gid: 'user',
  user_gecos: 'user',
  user_dir: 'user',
  user_shell: 'user',
  real_user_id: 'user',
  effective_user_id: 'user',
  real_group_id: 'user',
  effective_group_id: 'user',
  service_mgr: 'service_mgr',
  processor: 'hardware',
  processor_count: 'hardware',
  processor_cores: 'hardware',
  processor_threads_per_core: 'hardware',
  processor_vcpus: 'hardware',
  processor_nproc: 'hardware',
  memtotal_mb: 'hardware',
  memfree_mb: 'hardware',
  swaptotal_mb: 'hardware',
  swapfree_mb: 'hardware',
  memory_mb: 'hardware',
  mounts: 'hardware',
  uptime_seconds: 'hardware',
  loadavg: 'loadavg',
  form_factor: 'hardware',
  system_vendor: 'hardware',
  bios_date: 'hardware',
  bios_vendor: 'hardware',
  bios_version: 'hardware',
  board_asset_tag: 'hardware',
  board_name: 'hardware',
  board_serial: 'hardware',
  board_vendor: 'hardware',
  board_version: 'hardware',
  chassis_asset_tag: 'hardware',
  chassis_serial: 'hardware',
  chassis_vendor: 'hardware',
  chassis_version: 'hardware',
  product_name: 'hardware',
  product_serial: 'hardware',
  product_uuid: 'hardware',
  product_version: 'hardware',
  interfaces: 'network',
  all_ipv4_addresses: 'network',
  all_ipv6_addresses: 'network',
  default_ipv4: 'network',
  default_ipv6: 'network',
  env: 'env',
  virtualization_type: 'virtual',
  virtualization_role: 'virtual',
  python: 'python',
  selinux: 'selinux',
  selinux_python_present: 'selinux',
  apparmor: 'apparmor',
  system_capabilities: 'caps',
  system_capabilities_enforced: 'caps',
  cmdline: 'cmdline',
  proc_cmdline: 'cmdline',
  fips: 'fips',
  is_chroot: 'chroot',
  date_time: 'date_time',
  dns: 'dns',
  lsb: 'lsb',
  pkg_mgr: 'pkg_mgr',
  local: 'local',
}

/** Ansible 2.14's `min` subset and the collectors a collector needs (its required_facts). */
const MIN = [
  'apparmor',
  'caps',
  'cmdline',
  'date_time',
  'distribution',
  'dns',
  'env',
  'fips',
  'local',
  'lsb',
  'pkg_mgr',
  'platform',
  'python',
  'selinux',
  'service_mgr',
  'ssh_pub_keys',
  'user',
]
const NEEDS: Record<string, string[]> = {
  hardware: ['platform'],
  network: ['platform', 'distribution'],
  service_mgr: ['platform', 'distribution'],
  virtual: ['platform'],
}

/** The names gather_subset accepts (ansible-core 2.14 on Linux: collectors and the fact ids they name). */
export const VALID_SUBSETS = [
  'all_ipv4_addresses',
  'all_ipv6_addresses',
  'apparmor',
  'architecture',
  'caps',
  'chroot',
  'cmdline',
  'date_time',
  'default_ipv4',
  'default_ipv6',
  'devices',
  'distribution',
  'distribution_major_version',
  'distribution_release',
  'distribution_version',
  'dns',
  'effective_group_ids',
  'effective_user_id',
  'env',
  'facter',
  'fibre_channel_wwn',
  'fips',
  'hardware',
  'interfaces',
  'is_chroot',
  'iscsi',
  'kernel',
  'kernel_version',
  'loadavg',
  'local',
  'lsb',
  'machine',
  'machine_id',
  'mounts',
  'network',
  'nvme',
  'ohai',
  'os_family',
  'pkg_mgr',
  'platform',
  'processor',
  'processor_cores',
  'processor_count',
  'python',
  'python_version',
  'real_user_id',
  'selinux',
  'service_mgr',
  'ssh_host_key_dsa_public',
  'ssh_host_key_ecdsa_public',
  'ssh_host_key_ed25519_public',
  'ssh_host_key_rsa_public',
  'ssh_host_pub_keys',
  'ssh_pub_keys',
  'system',
  'system_capabilities',
  'system_capabilities_enforced',
  'user',
  'user_dir',
  'user_gecos',
  'user_gid',
  'user_id',
  'user_shell',
  'user_uid',
  'virtual',
  'virtualization_role',
  'virtualization_tech_guest',
  'virtualization_tech_host',
  'virtualization_type',
]
const COLLECTORS = [
  'apparmor',
  'caps',
  'chroot',
  'cmdline',
  'date_time',
  'distribution',
  'dns',
  'env',
  'facter',
  'fips',
  'hardware',
  'local',
  'loadavg',
  'lsb',
  'network',
  'ohai',
  'pkg_mgr',
  'platform',
  'python',
  'selinux',
  'service_mgr',
  'ssh_pub_keys',
  'system',
  'user',
  'virtual',
]
/** A fact id named in gather_subset selects the collector that provides it (Ansible's alias map). */
const FACT_ID_COLLECTOR: Record<string, string> = {
  ...COLLECTOR,
  all_ipv6_addresses: 'network',
  default_ipv6: 'network',
  kernel_version: 'platform',
  machine_id: 'platform',
  python_version: 'platform',
  is_chroot: 'chroot',
  effective_group_ids: 'user',
  effective_user_id: 'user',
  real_user_id: 'user',
  user_dir: 'user',
  user_gecos: 'user',
  user_gid: 'user',
  user_shell: 'user',
  system_capabilities: 'caps',
  system_capabilities_enforced: 'caps',
  devices: 'hardware',
  mounts: 'hardware',
  processor: 'hardware',
  processor_cores: 'hardware',
  processor_count: 'hardware',
  loadavg: 'loadavg',
  fibre_channel_wwn: 'hardware',
  iscsi: 'hardware',
  nvme: 'hardware',
  interfaces: 'network',
  ssh_host_pub_keys: 'ssh_pub_keys',
  ssh_host_key_dsa_public: 'ssh_pub_keys',
  ssh_host_key_ecdsa_public: 'ssh_pub_keys',
  ssh_host_key_ed25519_public: 'ssh_pub_keys',
  ssh_host_key_rsa_public: 'ssh_pub_keys',
  virtualization_role: 'virtual',
  virtualization_type: 'virtual',
  virtualization_tech_guest: 'virtual',
  virtualization_tech_host: 'virtual',
}

/**
 * The collectors a gather_subset asks for, as Ansible's get_collector_names decides (min always
 * first, then additions, then exclusions, explicit additions win), with their required collectors.
 * Throws Ansible's message for a name it does not know.
 */
export function collectorsFor(subset: string[]): Set<string> {
  const add = new Set<string>()
  const exclude = new Set<string>()
  const explicit = new Set<string>()
  const one = (name: string) => FACT_ID_COLLECTOR[name] ?? name
  for (const s of ['min', ...(subset.length ? subset : ['all'])]) {
    if (s === 'min') MIN.forEach((c) => add.add(c))
    else if (s === 'all') COLLECTORS.forEach((c) => add.add(c))
    else if (s.startsWith('!')) {
      const x = s.slice(1)
      if (x === 'min') MIN.forEach((c) => exclude.add(c))
      else if (x === 'all') COLLECTORS.filter((c) => !MIN.includes(c)).forEach((c) => exclude.add(c))
      else exclude.add(one(x))
    } else {
      if (!VALID_SUBSETS.includes(s)) throw new Error(`Bad subset '${s}' given to Ansible. gather_subset options allowed: all, ${VALID_SUBSETS.join(', ')}`)
      explicit.add(one(s))
      add.add(one(s))
    }
  }
  if (add.size === 0) COLLECTORS.forEach((c) => add.add(c))
  for (const c of exclude) if (!explicit.has(c)) add.delete(c)
  for (const c of [...add]) for (const n of NEEDS[c] ?? []) add.add(n)
  return add
}

/** fnmatch, as Python's (case-sensitive on POSIX): `*`, `?`, `[seq]`, `[!seq]`. */
export function fnmatch(name: string, pattern: string): boolean {
  const pieces: string[] = []
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') {
      pieces.push(re)
      re = ''
    } else if (c === '?') re += '.'
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 2)
      if (j < 0) re += '\\['
      else {
        let set = pattern.slice(i + 1, j)
        if (set.startsWith('!')) set = '^' + set.slice(1)
        re += `[${set.replace(/\\/g, '\\\\')}]`
        i = j
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  // the stars matched atomically: `.*` for each backtracked in O(name^stars)
  return new RegExp(`^(?:${starPieces([...pieces, re])})$`, 's').test(name)
}

function collectorOf(fact: string): string {
  return COLLECTOR[fact] ?? (fact.startsWith('ssh_host_key_') ? 'ssh_pub_keys' : 'network')
}

/**
 * What `setup` returns as `ansible_facts`: the gathered facts of the chosen collectors, named
 * `ansible_X`, with `gather_subset` and `module_setup`, then kept only where a `filter` pattern
 * matches (Ansible filters every key, those two included).
 */
export function setupFacts(facts: Vars, subset: string[], filter: string[]): Vars {
  const want = collectorsFor(subset)
  const out: Vars = {}
  for (const [k, v] of Object.entries(facts)) if (want.has(collectorOf(k))) out[`ansible_${k}`] = v
  out.gather_subset = subset.length ? subset : ['all']
  out.module_setup = true
  if (!filter.length || filter.every((f) => f === '' || f === '*')) return out
  return Object.fromEntries(Object.entries(out).filter(([k]) => filter.some((f) => fnmatch(k, f))))
}
