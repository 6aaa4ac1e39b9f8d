// `gather_facts`: the facts roles commonly read, collected in one round trip with plain POSIX sh.
import type { Connection, ExecResult } from '../connection/types.js'
import type { Vars } from '../model.js'

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
  const defAddr = addrs.find((a) => a.iface === defIface) ?? addrs.find((a) => a.iface !== 'lo')
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

/**
 * Facts as Ansible exposes them: `ansible_facts.X` and the `ansible_X` variables. `ridden`: the
 * facts probe's answer when it went out with a read-ahead; otherwise it is run now.
 */
export async function gatherFacts(conn: Connection, ridden?: ExecResult): Promise<{ ansible_facts: Vars; vars: Vars }> {
  const r = ridden ?? (await conn.exec(FACTS_SCRIPT))
  const facts = parseFacts(r.stdout.toString())
  const vars: Vars = {}
  for (const [k, v] of Object.entries(facts)) vars[`ansible_${k}`] = v
  return { ansible_facts: facts, vars }
}
