// Python's time.strptime for the numeric directives Ansible's file module is given
// (modification_time_format / access_time_format, default '%Y%m%d%H%M.%S'): the same regular
// expressions as CPython's _strptime, so "202001011200.0" reads as 2020-01-01 12:00:00.

/** CPython _strptime's pattern for each supported directive. */
const DIRECTIVES: Record<string, string> = {
  d: '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  H: '(2[0-3]|[0-1]\\d|\\d)',
  M: '([0-5]\\d|\\d)',
  S: '(6[0-1]|[0-5]\\d|\\d)',
  m: '(1[0-2]|0[1-9]|[1-9])',
  Y: '(\\d\\d\\d\\d)',
  y: '(\\d\\d)',
}

/** Python's repr() of a str (enough for messages). */
function repr(s: string): string {
  return s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

export interface StructTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

/** The fields of `text` read with `fmt`, or an Error worded as Python's ValueError; a directive k3sbook does not know throws too. */
export function strptime(text: string, fmt: string): StructTime {
  const order: string[] = []
  let re = ''
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]
    if (c === '%' && i + 1 < fmt.length) {
      const d = fmt[++i]
      if (d === '%') re += '%'
      else if (DIRECTIVES[d]) {
        re += DIRECTIVES[d]
        order.push(d)
      } else throw new Error(`the time format directive %${d} is not supported by k3sbook`)
    } else if (/\s/.test(c)) {
      while (i + 1 < fmt.length && /\s/.test(fmt[i + 1])) i++
      re += '\\s+'
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
  }
  const m = new RegExp('^' + re, 'i').exec(text)
  if (!m) throw new Error(`time data ${repr(text)} does not match format ${repr(fmt)}`)
  if (m[0].length !== text.length) throw new Error(`unconverted data remains: ${text.slice(m[0].length)}`)
  const t: StructTime = { year: 1900, month: 1, day: 1, hour: 0, minute: 0, second: 0 }
  order.forEach((d, k) => {
    const n = Number(m[k + 1].trim())
    if (d === 'Y') t.year = n
    else if (d === 'y') t.year = n <= 68 ? 2000 + n : 1900 + n
    else if (d === 'm') t.month = n
    else if (d === 'd') t.day = n
    else if (d === 'H') t.hour = n
    else if (d === 'M') t.minute = n
    else if (d === 'S') t.second = n
  })
  const days = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate()
  if (t.day > days) throw new Error('day is out of range for month')
  return t
}

/** `touch -t` text ([CC]YYMMDDhhmm.ss) for the fields, read in the host's local time as Ansible's time.mktime does. */
export function touchStamp(t: StructTime): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(t.year, 4)}${p(t.month)}${p(t.day)}${p(t.hour)}${p(t.minute)}.${p(Math.min(t.second, 59))}`
}
