// How much k3sbook reads from a host into the controller's memory for one file or HTTP body
// (fetch, slurp, uri): without a bound, a 10 GB file on a host is 10 GB (and more, as base64 and
// strings) in the controller, and the run dies of an out-of-memory error.

const DEFAULT = 64 * 1024 * 1024

/** K3SBOOK_MAX_HOST_READ: bytes, or a number with K, M or G (1024-based); 64M by default. */
export function hostReadLimit(env: NodeJS.ProcessEnv = process.env): number {
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec((env.K3SBOOK_MAX_HOST_READ ?? '').trim())
  if (!m) return DEFAULT
  const n = Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase())
  return n > 0 ? n : DEFAULT
}

function human(n: number): string {
  const [unit, size] = n >= 1024 * 1024 ? ['MiB', 1024 * 1024] : n >= 1024 ? ['KiB', 1024] : ['bytes', 1]
  return `${(n / (size as number)).toFixed(n % (size as number) ? 1 : 0)} ${unit}`
}

/** The failure for something larger than the limit: what, its size, the limit, and how to raise it. */
export function tooLarge(what: string, size: number | undefined, limit = hostReadLimit()): string {
  const is = size === undefined ? 'is' : `is ${size} bytes (${human(size)}),`
  return `${what} ${is} more than the ${human(limit)} k3sbook reads from a host into memory; raise the limit with K3SBOOK_MAX_HOST_READ (bytes, or e.g. 512M)`
}
