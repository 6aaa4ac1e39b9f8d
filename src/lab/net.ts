// IPv4 ranges for a lab: parse a CIDR, hand out host addresses, and find out whether a range is
// already used by an interface address or a route on this machine (pure helpers + one `ip -j` probe).
import { createHash } from 'node:crypto'
import { LabError } from '../errors.js'
import { runOk } from './proc.js'

export interface Cidr {
  /** network address as a 32-bit unsigned integer */
  base: number
  prefix: number
}

export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return undefined
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
}

/** `a.b.c.d/p`; a bare address is a /32. Host bits must be zero so a typo is not silently widened. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, p, ...rest] = text.trim().split('/')
  if (rest.length) return undefined
  const addr = parseIp(ip)
  const prefix = p === undefined ? 32 : /^\d{1,2}$/.test(p) ? Number(p) : NaN
  if (addr === undefined || !(prefix >= 0 && prefix <= 32)) return undefined
  if ((addr & mask(prefix)) >>> 0 !== addr) return undefined
  return { base: addr, prefix }
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix)
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0
}

/** The bridge takes .1; host i (1-based) takes .(10+i), leaving .2–.10 for whatever a test wants. */
export const HOST_OFFSET = 10

export function bridgeAddress(c: Cidr): string {
  return formatIp(c.base + 1)
}

export function hostAddress(c: Cidr, index: number): string {
  return formatIp(c.base + HOST_OFFSET + index)
}

/** How many hosts fit: everything after the offset, minus the broadcast address. */
export function capacity(c: Cidr): number {
  const size = 2 ** (32 - c.prefix)
  return Math.max(0, size - HOST_OFFSET - 2)
}

/** Lab subnets are chosen in 172.31.0.0/16, far from 10.10.0.0/16 which the cluster uses inside the hosts. */
export const DEFAULT_POOL = '172.31.0.0/16'

/** The /24s a lab named `name` tries, in order: its own (from a hash of the name), then the next ones. */
export function candidateSubnets(name: string): Cidr[] {
  const pool = parseCidr(DEFAULT_POOL)!
  const start = createHash('sha256').update(name).digest()[0]
  const out: Cidr[] = []
  for (let k = 0; k < 256; k++) out.push({ base: pool.base + (((start + k) % 256) << 8), prefix: 24 })
  return out
}

/** Something on this machine that already uses part of an IPv4 range. */
export interface UsedRange {
  cidr: Cidr
  what: string // e.g. `address 172.31.5.1/24 on eth0`, `route 172.31.0.0/16 dev wg0`
  dev?: string
}

interface IpAddrJson {
  ifname: string
  addr_info?: { family: string; local: string; prefixlen: number }[]
}
interface IpRouteJson {
  dst: string
  dev?: string
  table?: string
  type?: string
}

/** Every IPv4 interface address and route (all tables) on this machine, except default routes. */
export async function usedRanges(): Promise<UsedRange[]> {
  const [addrs, routes] = await Promise.all([runOk('ip', ['-j', '-4', 'addr', 'show']), runOk('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])])
  return parseUsedRanges(addrs.stdout, routes.stdout)
}

export function parseUsedRanges(addrJson: string, routeJson: string): UsedRange[] {
  const out: UsedRange[] = []
  for (const link of JSON.parse(addrJson || '[]') as IpAddrJson[]) {
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet') continue
      const ip = parseIp(a.local)
      if (ip === undefined) continue
      const cidr = { base: (ip & mask(a.prefixlen)) >>> 0, prefix: a.prefixlen }
      out.push({ cidr, what: `address ${a.local}/${a.prefixlen} on ${link.ifname}`, dev: link.ifname })
    }
  }
  for (const r of JSON.parse(routeJson || '[]') as IpRouteJson[]) {
    if (r.dst === 'default') continue
    const cidr = parseCidr(r.dst)
    if (!cidr || cidr.prefix === 0) continue
    const table = r.table && r.table !== 'main' ? ` table ${r.table}` : ''
    out.push({ cidr, what: `route ${r.type && r.type !== 'unicast' ? r.type + ' ' : ''}${r.dst}${r.dev ? ` dev ${r.dev}` : ''}${table}`, dev: r.dev })
  }
  return out
}

/** The first thing that uses part of `c`, ignoring what sits on `ownDev` (the lab's own bridge on a re-run). */
export function conflictFor(c: Cidr, used: UsedRange[], ownDev?: string): UsedRange | undefined {
  return used.find((u) => u.dev !== ownDev && overlaps(c, u.cidr))
}

export function requireSubnet(text: string): Cidr {
  const c = parseCidr(text)
  if (!c) throw new LabError(`invalid subnet "${text}"`, { hint: 'write it as a network in CIDR form, e.g. 172.31.40.0/24' })
  if (c.prefix > 28) throw new LabError(`subnet ${text} is too small`, { hint: 'use a /28 or larger (a /24 holds 244 hosts)' })
  return c
}
