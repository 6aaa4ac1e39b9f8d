// The facts k3sbook gathers (the implicit "Gathering Facts" and the `setup` module share them):
// one read-only POSIX sh probe, its parse, and Ansible's gather_subset and filter over the result.
import type { Vars } from '../../model.js'
import { starPieces } from '../../text.js'

/** The facts probe: read-only, one round trip (or none of its own: it rides with the play's first read-ahead). */
export const FACTS_SCRIPT = `LC_ALL=C; export LC_ALL
echo "hostname=$(hostname 2>/dev/null || cat /etc/hostname)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname)"
echo "machine=$(uname -m)"
echo "kernel=$(uname -r)"
echo "system=$(uname -s)"
echo "user_id=$(id -un)"
echo "uid=$(id -u)"
if [ -d /run/systemd/system ]; then echo "service_mgr=systemd"; else echo "service_mgr=sysvinit"; fi
if [ -r /etc/os-release ]; then sed -n 's/^\\(ID\\|VERSION_ID\\|VERSION_CODENAME\\|PRETTY_NAME\\|ID_LIKE\\)=/os_\\1=/p' /etc/os-release; fi
echo "nproc=$(nproc 2>/dev/null || echo 1)"
awk '/^MemTotal:/ {print "memtotal_kb=" $2}' /proc/meminfo 2>/dev/null
ip -o -4 addr show 2>/dev/null | awk '{print "addr4=" $2 " " $4}'
ip -4 route show default 2>/dev/null | awk 'NR==1 {print "defroute=" $5 " " $3}'
if grep -qE '/docker(/|-[0-9a-f]+\\.scope)' /proc/1/cgroup 2>/dev/null; then echo "virt=docker"
elif grep -qE '/lxc/' /proc/1/cgroup 2>/dev/null; then echo "virt=lxc"
elif c=$({ tr '\\0' '\\n' </proc/1/environ; } 2>/dev/null | sed -n 's/^container=//p') && [ -n "$c" ]; then case $c in lxc|podman) echo "virt=$c" ;; *) echo "virt=container" ;; esac
elif [ -e /.dockerenv ] || [ -e /.dockerinit ]; then echo "virt=docker"
fi
if [ -x /usr/bin/python3 ]; then p=/usr/bin/python3; else p=$(command -v python3 2>/dev/null); fi
if [ -n "$p" ]; then echo "python=$p $("$p" -c 'import sys; print(*sys.version_info)' 2>/dev/null)"; fi
echo "home=$HOME"
echo "path=$PATH"
`

function unquote(v: string): string {
  return v.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1')
}

const ARCH: Record<string, string> = { x86_64: 'x86_64', aarch64: 'aarch64', armv7l: 'armv7l' }

export function parseFacts(out: string): Vars {
  const kv: Record<string, string> = {}
  const addrs: { iface: string; cidr: string }[] = []
  for (const line of out.split('\n')) {
    const i = line.indexOf('=')
    if (i < 0) continue
    const k = line.slice(0, i)
    const v = line.slice(i + 1)
    if (k === 'addr4') {
      const [iface, cidr] = v.split(' ')
      addrs.push({ iface, cidr })
    } else kv[k] = unquote(v)
  }
  const osId = kv.os_ID ?? 'unknown'
  const family: Record<string, string> = {
    debian: 'Debian',
    ubuntu: 'Debian',
    raspbian: 'Debian',
    centos: 'RedHat',
    rhel: 'RedHat',
    fedora: 'RedHat',
    rocky: 'RedHat',
    almalinux: 'RedHat',
    alpine: 'Alpine',
    arch: 'Archlinux',
  }
  const [defIface, gateway] = (kv.defroute ?? '').split(' ')
  // as Ansible: no default route, no default_ipv4 (an empty dict)
  const defAddr = addrs.find((a) => a.iface === defIface)
  const interfaces = [...new Set(addrs.map((a) => a.iface))]
  const facts: Vars = {
    hostname: kv.hostname,
    nodename: kv.hostname,
    fqdn: kv.fqdn,
    architecture: ARCH[kv.machine] ?? kv.machine,
    machine: kv.machine,
    kernel: kv.kernel,
    system: kv.system,
    user_id: kv.user_id,
    user_uid: Number(kv.uid),
    service_mgr: kv.service_mgr,
    distribution: osId === 'debian' ? 'Debian' : osId === 'ubuntu' ? 'Ubuntu' : osId.charAt(0).toUpperCase() + osId.slice(1),
    distribution_version: kv.os_VERSION_ID ?? '',
    distribution_major_version: (kv.os_VERSION_ID ?? '').split('.')[0],
    distribution_release: kv.os_VERSION_CODENAME ?? '',
    os_family: family[osId] ?? (kv.os_ID_LIKE?.includes('debian') ? 'Debian' : osId),
    processor_vcpus: Number(kv.nproc),
    processor_nproc: Number(kv.nproc),
    memtotal_mb: Math.floor(Number(kv.memtotal_kb ?? 0) / 1024),
    interfaces,
    all_ipv4_addresses: addrs.filter((a) => a.iface !== 'lo').map((a) => a.cidr.split('/')[0]),
    default_ipv4: defAddr ? { interface: defAddr.iface, address: defAddr.cidr.split('/')[0], prefix: defAddr.cidr.split('/')[1], gateway: gateway ?? '' } : {},
    env: { HOME: kv.home, PATH: kv.path },
    // Ansible's container checks (cgroup, PID 1's environment, /.dockerenv); "NA" when none matched
    virtualization_type: kv.virt ?? 'NA',
    virtualization_role: kv.virt ? 'guest' : 'NA',
  }
  const [pyExe, ...pyVer] = (kv.python ?? '').split(' ')
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
  for (const a of addrs) {
    const key = a.iface.replace(/[^A-Za-z0-9_]/g, '_')
    facts[key] = { device: a.iface, ipv4: { address: a.cidr.split('/')[0], prefix: a.cidr.split('/')[1] } }
  }
  return facts
}

/** Which of Ansible's fact collectors each fact k3sbook gathers comes from (unlisted: an interface, network). */
const COLLECTOR: Record<string, string> = {
  hostname: 'platform',
  nodename: 'platform',
  fqdn: 'platform',
  architecture: 'platform',
  machine: 'platform',
  kernel: 'platform',
  system: 'platform',
  distribution: 'distribution',
  distribution_version: 'distribution',
  distribution_major_version: 'distribution',
  distribution_release: 'distribution',
  os_family: 'distribution',
  user_id: 'user',
  user_uid: 'user',
  service_mgr: 'service_mgr',
  processor_vcpus: 'hardware',
  processor_nproc: 'hardware',
  memtotal_mb: 'hardware',
  interfaces: 'network',
  all_ipv4_addresses: 'network',
  default_ipv4: 'network',
  env: 'env',
  virtualization_type: 'virtual',
  virtualization_role: 'virtual',
  python: 'python',
  python_version: 'python',
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
  loadavg: 'hardware',
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

/**
 * What `setup` returns as `ansible_facts`: the gathered facts of the chosen collectors, named
 * `ansible_X`, with `gather_subset` and `module_setup`, then kept only where a `filter` pattern
 * matches (Ansible filters every key, those two included).
 */
export function setupFacts(facts: Vars, subset: string[], filter: string[]): Vars {
  const want = collectorsFor(subset)
  const out: Vars = {}
  for (const [k, v] of Object.entries(facts)) if (want.has(COLLECTOR[k] ?? 'network')) out[`ansible_${k}`] = v
  out.gather_subset = subset.length ? subset : ['all']
  out.module_setup = true
  if (!filter.length || filter.every((f) => f === '' || f === '*')) return out
  return Object.fromEntries(Object.entries(out).filter(([k]) => filter.some((f) => fnmatch(k, f))))
}
