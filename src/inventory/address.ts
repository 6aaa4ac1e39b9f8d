// Host addresses and host ranges as Ansible parses them (ansible/parsing/utils/addresses.py and
// expand_hostname_range in plugins/inventory/__init__.py), so inventories expand to the same names.

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
const IPV6_C = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`
const IPV4_C = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`
// Python's \w under re.UNICODE: letters, digits and underscore of any script.
const W = String.raw`[\p{L}\p{N}_]`
const LABEL = String.raw`(?:${W}|${ALNUM_RANGE})(?:[\p{L}\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/s
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/s
const IPV4 = new RegExp(String.raw`^(?:${IPV4_C}\.){3}${IPV4_C}$`, 'i')
const IPV6 = new RegExp(
  '^(?:' +
    [
      `(?:${IPV6_C}:){7}${IPV6_C}`,
      `(?:${IPV6_C}:){1,6}:`,
      `(?:${IPV6_C}:)(?::${IPV6_C}){1,6}`,
      `(?:${IPV6_C}:){2}(?::${IPV6_C}){1,5}`,
      `(?:${IPV6_C}:){3}(?::${IPV6_C}){1,4}`,
      `(?:${IPV6_C}:){4}(?::${IPV6_C}){1,3}`,
      `(?:${IPV6_C}:){5}(?::${IPV6_C}){1,2}`,
      `(?:${IPV6_C}:){6}(?::${IPV6_C})`,
      `:(?::${IPV6_C}){1,6}`,
      `${IPV6_C}?::`,
      String.raw`(?:0:){6}(?:${IPV6_C}\.){3}${IPV6_C}`,
      String.raw`::(?:ffff:)?(?:${IPV6_C}\.){3}${IPV6_C}`,
      String.raw`(?:0:){5}ffff:(?:${IPV6_C}\.){3}${IPV6_C}`,
    ].join('|') +
    ')$',
  'i',
)
const PLAIN_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i
const HOSTNAME = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu')

/** True for an IPv4 or IPv6 address (ranges allowed), as Ansible decides `inventory_hostname_short`. */
export function isIpAddress(name: string): boolean {
  // Every IPv6 form has a colon: most names never reach the big IPv6 expression.
  return IPV4.test(name) || (name.includes(':') && IPV6.test(name))
}

/**
 * Split `host:port` / `[v6]:port`; undefined when the string is not a host identifier at all
 * (Ansible's parse_address raising). With `allowRanges` false, `[x:y]` ranges make it fail too.
 */
export function parseAddress(address: string, allowRanges: boolean): { host: string; port?: number } | undefined {
  // The common case, a plain DNS name or IPv4 address, without the big Unicode/IPv6 expressions
  // (whose compilation alone costs milliseconds): every such name passes HOSTNAME below too.
  if (PLAIN_NAME.test(address)) return { host: address, port: undefined }
  let port: number | undefined
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(address)
    if (m) {
      address = m[1]
      port = parseInt(m[2], 10)
    }
  }
  if (!(IPV4.test(address) || IPV6.test(address) || HOSTNAME.test(address))) return undefined
  if (!allowRanges && address.includes('[')) return undefined
  return { host: address, port }
}

const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'

export class RangeError_ extends Error {}

/**
 * `db[01:03]-x[a:b]` → db01-xa, db01-xb, ... (Ansible's expand_hostname_range: first bracket
 * pair first, zero padding taken from the begin value, optional :step). Throws RangeError_ with
 * Ansible's reason when the range is malformed.
 */
export function expandHostRange(line: string): string[] {
  if (!line.includes('[')) return [line]
  const parts = line.replace('[', '|').replace(']', '|').split('|')
  if (parts.length !== 3) throw new RangeError_(`invalid host range in "${line}"`)
  const [head, nrange, tail] = parts
  const bounds = nrange.split(':')
  if (bounds.length !== 2 && bounds.length !== 3) throw new RangeError_('host range must be begin:end or begin:end:step')
  let beg = bounds[0]
  const end = bounds[1]
  const stepText = bounds.length === 3 ? bounds[2] : '1'
  if (!beg) beg = '0'
  if (!end) throw new RangeError_('host range must specify end value')
  const step = pyInt(stepText)
  if (step === undefined) throw new RangeError_(`host range step "${stepText}" is not a number`)
  if (step <= 0) throw new RangeError_('host range step must be a positive number')
  let fill = (x: string | number): string => String(x)
  if (beg[0] === '0' && beg.length > 1) {
    const rlen = beg.length
    if (rlen !== end.length) throw new RangeError_('host range must specify equal-length begin and end formats')
    fill = (x) => String(x).padStart(rlen, '0')
  }
  let seq: (string | number)[]
  const ib = ASCII_LETTERS.indexOf(beg)
  const ie = ib >= 0 ? ASCII_LETTERS.indexOf(end) : -1
  if (ib >= 0 && ie >= 0) {
    if (ib > ie) throw new RangeError_('host range must have begin <= end')
    seq = []
    for (let i = ib; i <= ie; i += step) seq.push(ASCII_LETTERS[i])
  } else {
    const b = pyInt(beg)
    const e = pyInt(end)
    if (b === undefined || e === undefined) throw new RangeError_(`host range [${nrange}] mixes letters and numbers or is not a range`)
    seq = []
    for (let i = b; i <= e; i += step) seq.push(i)
  }
  const out: string[] = []
  for (const r of seq) {
    const name = head + fill(r) + tail
    if (name.includes('[')) out.push(...expandHostRange(name))
    else out.push(name)
  }
  return out
}

function pyInt(s: string): number | undefined {
  const t = s.trim()
  if (!/^[+-]?\d+(?:_\d+)*$/.test(t)) return undefined
  return parseInt(t.replace(/_/g, ''), 10)
}
