// The ansible.utils ipaddr family (ipaddr, ipv4, ipv6, ipmath, nthhost, network_in_*) for IPv4 and
// IPv6, on BigInt addresses. Queries follow the ansible.utils documentation; results are checked
// against Python's ipaddress module in the tests.
import { PyError, isStr, sv, num, isInt } from './pyvalues.js'

export interface IpNet {
  version: 4 | 6
  ip: bigint
  prefix: number
  /** The value was written with a prefix (`a.b.c.d/nn`), not as a bare address. */
  hasPrefix: boolean
}

const BITS: Record<4 | 6, number> = { 4: 32, 6: 128 }

function parseV4(s: string): bigint | null {
  const parts = s.split('.')
  if (parts.length !== 4) return null
  let v = 0n
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null
    const n = Number(p)
    if (n > 255) return null
    v = (v << 8n) | BigInt(n)
  }
  return v
}

function parseV6(s: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.includes(':::')) return null
  let str = s
  if (s.includes('.')) {
    // an IPv4 tail (::ffff:1.2.3.4) stands for the last two groups
    const lastColon = s.lastIndexOf(':')
    const v4 = parseV4(s.slice(lastColon + 1))
    if (v4 === null || lastColon < 0) return null
    str = s.slice(0, lastColon + 1) + (v4 >> 16n).toString(16) + ':' + (v4 & 0xffffn).toString(16)
  }
  const halves = str.split('::')
  if (halves.length > 2) return null
  const toGroups = (h: string) => (h === '' ? [] : h.split(':'))
  const head = toGroups(halves[0])
  const rest = halves.length === 2 ? toGroups(halves[1]) : []
  for (const g of [...head, ...rest]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
  const total = head.length + rest.length
  let groups: string[]
  if (halves.length === 2) {
    if (total > 7) return null
    groups = [...head, ...Array<string>(8 - total).fill('0'), ...rest]
  } else {
    if (total !== 8) return null
    groups = head
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt('0x' + g), 0n)
}

export function parseIp(value: unknown): IpNet | null {
  if (!isStr(value)) return null
  const s = sv(value).trim()
  if (!s) return null
  const [addr, pfx, extra] = s.split('/')
  if (extra !== undefined) return null
  let version: 4 | 6
  let ip = parseV4(addr)
  if (ip !== null) version = 4
  else {
    ip = parseV6(addr)
    if (ip === null) return null
    version = 6
  }
  const bits = BITS[version]
  let prefix = bits
  if (pfx !== undefined) {
    if (/^\d+$/.test(pfx)) prefix = Number(pfx)
    else if (version === 4) {
      const m = parseV4(pfx)
      if (m === null) return null
      prefix = maskToPrefix(m, 32)
      if (prefix < 0) {
        // a host mask (0.0.0.255) as netaddr accepts it
        const inv = ~m & 0xffffffffn
        prefix = maskToPrefix(inv, 32)
        if (prefix < 0) return null
      }
    } else return null
    if (prefix > bits) return null
  }
  return { version, ip, prefix, hasPrefix: pfx !== undefined }
}

function maskToPrefix(m: bigint, bits: number): number {
  let p = 0
  while (p < bits && (m >> BigInt(bits - 1 - p)) & 1n) p++
  const expected = p === 0 ? 0n : ((1n << BigInt(p)) - 1n) << BigInt(bits - p)
  return expected === m ? p : -1
}

function maskOf(n: IpNet): bigint {
  const bits = BITS[n.version]
  return n.prefix === 0 ? 0n : ((1n << BigInt(n.prefix)) - 1n) << BigInt(bits - n.prefix)
}
function allOnes(n: IpNet): bigint {
  return (1n << BigInt(BITS[n.version])) - 1n
}
export function networkOf(n: IpNet): bigint {
  return n.ip & maskOf(n)
}
export function broadcastOf(n: IpNet): bigint {
  return networkOf(n) | (~maskOf(n) & allOnes(n))
}
function sizeOf(n: IpNet): bigint {
  return 1n << BigInt(BITS[n.version] - n.prefix)
}

export function ipStr(v: bigint, version: 4 | 6): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.')
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(112 - 16 * i)) & 0xffffn))
  // RFC 5952: the longest run (length >= 2) of zero groups becomes '::'
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestLen < 2) return hex.join(':')
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':')
}

const isNetworkValue = (n: IpNet) => n.hasPrefix && n.ip === networkOf(n) && n.prefix < BITS[n.version]

function cidr(n: IpNet): string {
  return `${ipStr(n.ip, n.version)}/${n.prefix}`
}

function isPrivate(n: IpNet): boolean {
  const nets =
    n.version === 4
      ? [
          '10.0.0.0/8',
          '172.16.0.0/12',
          '192.168.0.0/16',
          '100.64.0.0/10',
          '127.0.0.0/8',
          '169.254.0.0/16',
          '192.0.0.0/24',
          '192.0.2.0/24',
          '198.18.0.0/15',
          '198.51.100.0/24',
          '203.0.113.0/24',
          '240.0.0.0/4',
          '0.0.0.0/8',
        ]
      : ['fc00::/7', 'fe80::/10', '::1/128', '::/128', '2001:db8::/32']
  return nets.some((c) => contains(parseIp(c)!, n))
}

function contains(net: IpNet, n: IpNet): boolean {
  if (net.version !== n.version) return false
  return networkOf({ ...n, prefix: net.prefix }) === networkOf(net) && n.prefix >= net.prefix
}

/** One ipaddr query on one parsed value; false when the value does not answer it. */
function query(n: IpNet, q: string | number): unknown {
  const bits = BITS[n.version]
  const network = networkOf(n)
  const bcast = broadcastOf(n)
  if (typeof q === 'number' || /^-?\d+$/.test(String(q))) {
    const i = BigInt(q)
    const size = sizeOf(n)
    if (!n.hasPrefix && n.prefix === bits) return false
    const idx = i < 0n ? size + i : i
    if (idx < 0n || idx >= size) return false
    return `${ipStr(network + idx, n.version)}/${n.prefix}`
  }
  switch (q) {
    case '':
      return n.hasPrefix ? cidr(n) : ipStr(n.ip, n.version)
    case 'address':
    case 'ip':
      return isNetworkValue(n) ? false : ipStr(n.ip, n.version)
    case 'host':
      return isNetworkValue(n) ? false : `${ipStr(n.ip, n.version)}/${n.prefix}`
    case 'host/prefix':
    case 'address/prefix':
    case 'gateway':
      if (!n.hasPrefix || isNetworkValue(n) || n.prefix === bits) return false
      return q === 'gateway' ? cidr(n) : cidr(n)
    case 'network':
      return ipStr(network, n.version)
    case 'net':
      return isNetworkValue(n) ? `${ipStr(network, n.version)}/${n.prefix}` : false
    case 'network/prefix':
    case 'subnet':
    case 'cidr':
      return `${ipStr(network, n.version)}/${n.prefix}`
    case 'netmask':
      return ipStr(maskOf(n), n.version)
    case 'hostmask':
    case 'wildcard':
      return ipStr(~maskOf(n) & allOnes(n), n.version)
    case 'prefix':
      return n.prefix
    case 'broadcast':
      if (n.version === 6) return false
      return n.prefix >= 31 && n.hasPrefix ? false : ipStr(bcast, n.version)
    case 'size': {
      const s = sizeOf(n)
      return s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s.toString()
    }
    case 'first_usable':
      if (n.prefix >= bits - 1) return false
      return ipStr(network + (n.version === 4 ? 1n : 0n) + (n.version === 6 ? 1n : 0n), n.version)
    case 'last_usable':
      if (n.prefix >= bits - 1) return false
      return ipStr(n.version === 4 ? bcast - 1n : bcast, n.version)
    case 'next_usable': {
      if (n.prefix >= bits - 1) return false
      const last = n.version === 4 ? bcast - 1n : bcast
      return n.ip + 1n <= last ? ipStr(n.ip + 1n, n.version) : false
    }
    case 'previous_usable': {
      if (n.prefix >= bits - 1) return false
      const first = network + 1n
      return n.ip - 1n >= first ? ipStr(n.ip - 1n, n.version) : false
    }
    case 'range_usable': {
      if (n.prefix >= bits - 1) return false
      const first = network + 1n
      const last = n.version === 4 ? bcast - 1n : bcast
      return `${ipStr(first, n.version)}-${ipStr(last, n.version)}`
    }
    case 'version':
      return n.version
    case 'int':
      return Number(n.ip)
    case 'ipv4':
      return n.version === 4 ? (n.hasPrefix ? cidr(n) : ipStr(n.ip, 4)) : false
    case 'ipv6':
      if (n.version === 6) return n.hasPrefix ? cidr(n) : ipStr(n.ip, 6)
      return n.hasPrefix ? `::ffff:${ipStr(n.ip, 4)}/${96 + n.prefix}` : `::ffff:${ipStr(n.ip, 4)}`
    case 'private':
      return isPrivate(n) ? (n.hasPrefix ? cidr(n) : ipStr(n.ip, n.version)) : false
    case 'public':
      return !isPrivate(n) ? (n.hasPrefix ? cidr(n) : ipStr(n.ip, n.version)) : false
    case 'loopback': {
      const lo = n.version === 4 ? parseIp('127.0.0.0/8')! : parseIp('::1/128')!
      return contains(lo, n) ? (n.hasPrefix ? cidr(n) : ipStr(n.ip, n.version)) : false
    }
    case 'revdns': {
      if (n.version === 4) return ipStr(n.ip, 4).split('.').reverse().join('.') + '.in-addr.arpa.'
      const hex = n.ip.toString(16).padStart(32, '0')
      return [...hex].reverse().join('.') + '.ip6.arpa.'
    }
    case 'type':
      return isNetworkValue(n) ? 'network' : 'address'
  }
  throw new PyError(`Unknown ipaddr query: ${q}`, 'AnsibleFilterError')
}

function applyOne(value: unknown, q: string | number, version: 0 | 4 | 6): unknown {
  if (isInt(value)) {
    // netaddr takes an integer as an address
    const v = BigInt(value)
    const ver = version === 6 || v > 0xffffffffn ? 6 : 4
    value = ipStr(v, ver)
  }
  const n = parseIp(value)
  if (!n) return false
  if (version && n.version !== version) return false
  return query(n, q)
}

/** ipaddr / ipv4 / ipv6: a string gives the query's answer or false; a list keeps the answers that are not false. */
export function ipaddrFilter(value: unknown, q: unknown = '', version: 0 | 4 | 6 = 0): unknown {
  const qq = q === null || q === undefined ? '' : typeof q === 'number' ? q : String(sv(q as string))
  if (Array.isArray(value)) return value.map((v) => applyOne(v, qq, version)).filter((r) => r !== false)
  return applyOne(value, qq, version)
}

export function ipmath(value: unknown, amount: unknown): string {
  const n = parseIp(value)
  if (!n) throw new PyError(`You must pass a valid IP address; ${String(value)} is invalid`, 'AnsibleFilterError')
  const a = BigInt(Math.trunc(num(amount)))
  const r = n.ip + a
  if (r < 0n || r > allOnes(n)) throw new PyError('the result is out of the address range', 'AnsibleFilterError')
  return ipStr(r, n.version)
}

export function nthhost(value: unknown, q: unknown): unknown {
  const n = parseIp(value)
  if (!n) return false
  const i = BigInt(Math.trunc(num(q)))
  const size = sizeOf(n)
  const idx = i < 0n ? size + i : i
  if (idx < 0n || idx >= size) return false
  return ipStr(networkOf(n) + idx, n.version)
}

export function networkInUsable(value: unknown, test: unknown): boolean {
  const net = parseIp(value)
  const a = parseIp(test)
  if (!net || !a) return false
  if (!contains(net, { ...a, prefix: BITS[a.version] })) return false
  const bits = BITS[net.version]
  if (net.prefix >= bits - 1) return true
  return a.ip !== networkOf(net) && (net.version === 6 || a.ip !== broadcastOf(net))
}

export function networkInNetwork(value: unknown, test: unknown): boolean {
  const net = parseIp(value)
  const a = parseIp(test)
  if (!net || !a) return false
  return contains(net, a)
}

export function ipv4Hex(value: unknown, sep = ''): unknown {
  const n = parseIp(value)
  if (!n || n.version !== 4) return false
  return ipStr(n.ip, 4)
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(sep)
}
