// Python's time.strftime and datetime (naive datetime, timedelta) for Ansible's `strftime` and
// `to_datetime` filters: what templates do with them is print them, subtract them (a timedelta
// with .days, .seconds, .microseconds, .total_seconds()), compare them and format them again.
// strptime follows Lib/_strptime.py's regular expressions (so "unconverted data remains" and
// "does not match format" fall where Python's do); strftime follows glibc's C locale.
import { PyError, PyFunc, PyObject, isInt, isNum, isStr, mkFloat, num, sv, typeName } from './pyvalues.js'

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const US_PER_DAY = 86_400_000_000n

const pad = (n: number, w = 2, c = '0') => String(n).padStart(w, c)
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const daysIn = (y: number, m: number) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]

/** Broken-down time as C's struct tm sees it (weekday 0 = Monday, as Python's). */
export interface Tm {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  us: number
  /** seconds east of UTC, and the zone's abbreviation (empty for a naive datetime) */
  gmtoff: number | null
  zone: string
}

function yday(t: Tm): number {
  let n = t.day
  for (let m = 1; m < t.month; m++) n += daysIn(t.year, m)
  return n
}
function wday(t: Tm): number {
  return (new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay() + 6) % 7
}

/** ISO 8601 week-numbering year and week. */
function isoWeek(t: Tm): [number, number] {
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day))
  const wd = (d.getUTCDay() + 6) % 7
  d.setUTCDate(d.getUTCDate() - wd + 3)
  const y = d.getUTCFullYear()
  // the week holding this Thursday: its day of the year over 7
  const week = 1 + Math.floor((d.getTime() - Date.UTC(y, 0, 1)) / 86400000 / 7)
  return [y, week]
}

/** strftime in the C locale (glibc's conversions; an unknown one is copied as written). */
export function formatTm(fmt: string, t: Tm, epoch: () => number): string {
  const wd = wday(t)
  const yd = yday(t)
  const h12 = t.hour % 12 === 0 ? 12 : t.hour % 12
  const off = () => {
    if (t.gmtoff === null) return ''
    const a = Math.abs(t.gmtoff)
    return `${t.gmtoff < 0 ? '-' : '+'}${pad(Math.floor(a / 3600))}${pad(Math.floor((a % 3600) / 60))}`
  }
  const conv = (c: string): string | undefined => {
    switch (c) {
      case 'a':
        return DAYS[wd].slice(0, 3)
      case 'A':
        return DAYS[wd]
      case 'b':
      case 'h':
        return MONTHS[t.month - 1].slice(0, 3)
      case 'B':
        return MONTHS[t.month - 1]
      case 'c':
        return `${DAYS[wd].slice(0, 3)} ${MONTHS[t.month - 1].slice(0, 3)} ${pad(t.day, 2, ' ')} ${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)} ${t.year}`
      case 'C':
        return pad(Math.floor(t.year / 100))
      case 'd':
        return pad(t.day)
      case 'D':
        return `${pad(t.month)}/${pad(t.day)}/${pad(t.year % 100)}`
      case 'e':
        return pad(t.day, 2, ' ')
      case 'f':
        return pad(t.us, 6)
      case 'F':
        return `${t.year}-${pad(t.month)}-${pad(t.day)}`
      case 'G':
        return String(isoWeek(t)[0])
      case 'g':
        return pad(isoWeek(t)[0] % 100)
      case 'H':
        return pad(t.hour)
      case 'I':
        return pad(h12)
      case 'j':
        return pad(yd, 3)
      case 'k':
        return pad(t.hour, 2, ' ')
      case 'l':
        return pad(h12, 2, ' ')
      case 'm':
        return pad(t.month)
      case 'M':
        return pad(t.minute)
      case 'n':
        return '\n'
      case 'p':
        return t.hour < 12 ? 'AM' : 'PM'
      case 'P':
        return t.hour < 12 ? 'am' : 'pm'
      case 'r':
        return `${pad(h12)}:${pad(t.minute)}:${pad(t.second)} ${t.hour < 12 ? 'AM' : 'PM'}`
      case 'R':
        return `${pad(t.hour)}:${pad(t.minute)}`
      case 's':
        return String(epoch())
      case 'S':
        return pad(t.second)
      case 't':
        return '\t'
      case 'T':
        return `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`
      case 'u':
        return String(wd + 1)
      case 'U':
        return pad(Math.floor((yd - 1 + 7 - ((wd + 1) % 7)) / 7))
      case 'V':
        return pad(isoWeek(t)[1])
      case 'w':
        return String((wd + 1) % 7)
      case 'W':
        return pad(Math.floor((yd - 1 + 7 - wd) / 7))
      case 'x':
        return `${pad(t.month)}/${pad(t.day)}/${pad(t.year % 100)}`
      case 'X':
        return `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`
      case 'y':
        return pad(t.year % 100)
      case 'Y':
        return String(t.year)
      case 'z':
        return off()
      case 'Z':
        return t.zone
      case '%':
        return '%'
    }
    return undefined
  }
  return fmt.replace(/%(.)/gs, (all, c: string) => conv(c) ?? all)
}

/**
 * The local time zone's abbreviation at a moment (C's tm_zone: "UTC", "CET", "EDT"). Intl names
 * zones per locale ("GMT+1" in en-US for Berlin, "CET" in en-GB): the first locale giving a name
 * that is not a bare offset is taken; a zone that no locale abbreviates keeps the offset form
 * (glibc then prints the tzdata abbreviation, such as "+03", which can differ).
 */
function zoneName(d: Date): string {
  const name = zoneNameAt(d)
  if (!/^GMT[+-]/.test(name)) return name
  // ICU names no zone before 1970: the same day in 2001 (when its offset is the same) gives the name
  const later = new Date(d)
  later.setFullYear(2001)
  return later.getTimezoneOffset() === d.getTimezoneOffset() ? zoneNameAt(later) : name
}

function zoneNameAt(d: Date): string {
  let last = ''
  for (const locale of ['en-US', 'en-GB']) {
    try {
      const part = new Intl.DateTimeFormat(locale, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')
      last = part?.value ?? ''
      if (last && !/^GMT[+-]/.test(last))
        return last === 'GMT' && d.getTimezoneOffset() === 0 && /^:?(UTC|Etc\/UTC|UTC0)?$/.test(process.env.TZ ?? 'UTC') ? 'UTC' : last
    } catch {
      return ''
    }
  }
  return last
}

/** Ansible's strftime(string_format, second=None, utc=False): time.strftime(fmt, localtime/gmtime(second)). */
export function strftimeFilter(format: unknown, second: unknown, utc: boolean): string {
  let secs: number
  if (second === undefined || second === null) secs = Date.now() / 1000
  else {
    const f =
      isNum(second) || typeof second === 'boolean'
        ? num(second)
        : isStr(second) && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(sv(second))
          ? Number(sv(second))
          : NaN
    if (Number.isNaN(f)) throw new PyError(`Invalid value for epoch value (${isStr(second) ? sv(second) : String(second)})`, 'AnsibleFilterError')
    secs = f
  }
  const whole = Math.floor(secs)
  const d = new Date(whole * 1000)
  const t: Tm = utc
    ? {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
        us: 0,
        gmtoff: 0,
        zone: 'GMT',
      }
    : {
        year: d.getFullYear(),
        month: d.getMonth() + 1,
        day: d.getDate(),
        hour: d.getHours(),
        minute: d.getMinutes(),
        second: d.getSeconds(),
        us: 0,
        gmtoff: -d.getTimezoneOffset() * 60,
        zone: zoneName(d),
      }
  if (!isStr(format)) throw new PyError(`strftime() argument 1 must be str, not ${typeName(format)}`, 'TypeError')
  // glibc's %s is mktime() of the broken-down time, read as local time (so utc=True shifts it, as in Python)
  return formatTm(sv(format), t, () => Math.floor(new Date(t.year, t.month - 1, t.day, t.hour, t.minute, t.second).getTime() / 1000))
}

// ---------- datetime.timedelta ----------

export class PyTimedelta extends PyObject {
  readonly pyType = 'timedelta'
  readonly days: number
  readonly seconds: number
  readonly microseconds: number
  constructor(readonly total: bigint) {
    super()
    const floorDiv = (a: bigint, b: bigint) => (a % b !== 0n && a < 0n ? a / b - 1n : a / b)
    const days = floorDiv(total, US_PER_DAY)
    const rest = total - days * US_PER_DAY
    this.days = Number(days)
    this.seconds = Number(rest / 1_000_000n)
    this.microseconds = Number(rest % 1_000_000n)
  }
  str(): string {
    const hh = Math.floor(this.seconds / 3600)
    const mm = Math.floor((this.seconds % 3600) / 60)
    const ss = this.seconds % 60
    let s = `${hh}:${pad(mm)}:${pad(ss)}`
    if (this.microseconds) s += '.' + pad(this.microseconds, 6)
    if (this.days) s = `${this.days} day${Math.abs(this.days) !== 1 ? 's' : ''}, ${s}`
    return s
  }
  override repr(): string {
    const parts: string[] = []
    if (this.days) parts.push(`days=${this.days}`)
    if (this.seconds) parts.push(`seconds=${this.seconds}`)
    if (this.microseconds) parts.push(`microseconds=${this.microseconds}`)
    return `datetime.timedelta(${parts.join(', ')})`
  }
  override attr(name: string): unknown {
    if (name === 'days') return this.days
    if (name === 'seconds') return this.seconds
    if (name === 'microseconds') return this.microseconds
    if (name === 'total_seconds') return new PyFunc('total_seconds', () => mkFloat(Number(this.total) / 1e6))
    return undefined
  }
  override binop(op: string, other: unknown, reflected: boolean): unknown {
    if (other instanceof PyTimedelta) {
      if (op === '+') return new PyTimedelta(this.total + other.total)
      if (op === '-') return new PyTimedelta(reflected ? other.total - this.total : this.total - other.total)
      if (op === '/' && !reflected) return mkFloat(Number(this.total) / Number(other.total))
      if (op === '//' && !reflected) return Math.floor(Number(this.total) / Number(other.total))
    }
    if (op === '*' && isInt(other)) return new PyTimedelta(this.total * BigInt(other))
    return undefined
  }
  override cmp(other: unknown): number | undefined {
    if (!(other instanceof PyTimedelta)) return undefined
    return this.total < other.total ? -1 : this.total > other.total ? 1 : 0
  }
}

// ---------- datetime.datetime (naive) ----------

/** Days from 0001-01-01 (proleptic Gregorian ordinal - 1). */
function toOrdinal(y: number, m: number, d: number): number {
  const yy = y - 1
  let n = yy * 365 + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400)
  for (let i = 1; i < m; i++) n += daysIn(y, i)
  return n + d - 1
}
function fromOrdinal(n: number): [number, number, number] {
  // a JS Date is exact for the years datetime allows (1..9999)
  // (Date.UTC reads years below 100 as 19xx, so the base is set with setUTCFullYear)
  const base = new Date(0)
  base.setUTCFullYear(1, 0, 1)
  base.setUTCHours(0, 0, 0, 0)
  const x = new Date(base.getTime() + n * 86400000)
  return [x.getUTCFullYear(), x.getUTCMonth() + 1, x.getUTCDate()]
}

export class PyDateTime extends PyObject {
  readonly pyType = 'datetime'
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly hour = 0,
    readonly minute = 0,
    readonly second = 0,
    readonly us = 0,
  ) {
    super()
  }
  /** microseconds since 0001-01-01 00:00 */
  get ticks(): bigint {
    return BigInt(toOrdinal(this.year, this.month, this.day)) * US_PER_DAY + BigInt(((this.hour * 60 + this.minute) * 60 + this.second) * 1_000_000 + this.us)
  }
  static fromTicks(t: bigint): PyDateTime {
    const days = t / US_PER_DAY
    let rest = Number(t - days * US_PER_DAY)
    const [y, m, d] = fromOrdinal(Number(days))
    if (y < 1 || y > 9999) throw new PyError('date value out of range', 'OverflowError')
    const us = rest % 1_000_000
    rest = Math.floor(rest / 1_000_000)
    return new PyDateTime(y, m, d, Math.floor(rest / 3600), Math.floor((rest % 3600) / 60), rest % 60, us)
  }
  private tm(): Tm {
    return { year: this.year, month: this.month, day: this.day, hour: this.hour, minute: this.minute, second: this.second, us: this.us, gmtoff: null, zone: '' }
  }
  private localEpoch(): number {
    return Math.floor(new Date(this.year, this.month - 1, this.day, this.hour, this.minute, this.second).getTime() / 1000)
  }
  isoformat(sep = 'T'): string {
    const s = `${pad(this.year, 4)}-${pad(this.month)}-${pad(this.day)}${sep}${pad(this.hour)}:${pad(this.minute)}:${pad(this.second)}`
    return this.us ? `${s}.${pad(this.us, 6)}` : s
  }
  str(): string {
    return this.isoformat(' ')
  }
  override jsonValue(): unknown {
    return this.isoformat()
  }
  override repr(): string {
    const f = [this.year, this.month, this.day, this.hour, this.minute]
    if (this.second || this.us) f.push(this.second)
    if (this.us) f.push(this.us)
    return `datetime.datetime(${f.join(', ')})`
  }
  override attr(name: string): unknown {
    switch (name) {
      case 'year':
        return this.year
      case 'month':
        return this.month
      case 'day':
        return this.day
      case 'hour':
        return this.hour
      case 'minute':
        return this.minute
      case 'second':
        return this.second
      case 'microsecond':
        return this.us
      case 'strftime':
        return new PyFunc('strftime', (a) => {
          if (!isStr(a[0])) throw new PyError(`strftime() argument 1 must be str, not ${typeName(a[0])}`, 'TypeError')
          return formatTm(sv(a[0]), this.tm(), () => this.localEpoch())
        })
      case 'isoformat':
        return new PyFunc('isoformat', (a, k) => this.isoformat(isStr(a[0] ?? k.sep) ? sv((a[0] ?? k.sep) as string) : 'T'))
      case 'weekday':
        return new PyFunc('weekday', () => wday(this.tm()))
      case 'isoweekday':
        return new PyFunc('isoweekday', () => wday(this.tm()) + 1)
      case 'timestamp':
        return new PyFunc('timestamp', () =>
          mkFloat(new Date(this.year, this.month - 1, this.day, this.hour, this.minute, this.second).getTime() / 1000 + this.us / 1e6),
        )
      case 'toordinal':
        return new PyFunc('toordinal', () => toOrdinal(this.year, this.month, this.day) + 1)
    }
    return undefined
  }
  override binop(op: string, other: unknown, reflected: boolean): unknown {
    if (op === '-' && !reflected && other instanceof PyDateTime) return new PyTimedelta(this.ticks - other.ticks)
    if (other instanceof PyTimedelta) {
      if (op === '+') return PyDateTime.fromTicks(this.ticks + other.total)
      if (op === '-' && !reflected) return PyDateTime.fromTicks(this.ticks - other.total)
    }
    return undefined
  }
  override cmp(other: unknown): number | undefined {
    if (!(other instanceof PyDateTime)) return undefined
    const a = this.ticks
    const b = other.ticks
    return a < b ? -1 : a > b ? 1 : 0
  }
}

// ---------- strptime ----------

const alt = (names: string[]) =>
  names
    .map((n) => n.toLowerCase())
    .sort((a, b) => b.length - a.length)
    .join('|')
/** Lib/_strptime.py's TimeRE, for the directives naive datetimes use. */
const DIRECTIVES: Record<string, string> = {
  d: '(?<d>3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])',
  f: '(?<f>[0-9]{1,6})',
  H: '(?<H>2[0-3]|[0-1]\\d|\\d)',
  I: '(?<I>1[0-2]|0[1-9]|[1-9])',
  G: '(?<G>\\d\\d\\d\\d)',
  j: '(?<j>36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
  m: '(?<m>1[0-2]|0[1-9]|[1-9])',
  M: '(?<M>[0-5]\\d|\\d)',
  S: '(?<S>6[0-1]|[0-5]\\d|\\d)',
  U: '(?<U>5[0-3]|[0-4]\\d|\\d)',
  w: '(?<w>[0-6])',
  u: '(?<u>[1-7])',
  V: '(?<V>5[0-3]|0[1-9]|[1-4]\\d|\\d)',
  y: '(?<y>\\d\\d)',
  Y: '(?<Y>\\d\\d\\d\\d)',
  a: `(?<a>${alt(DAYS.map((d) => d.slice(0, 3)))})`,
  A: `(?<A>${alt(DAYS)})`,
  b: `(?<b>${alt(MONTHS.map((m) => m.slice(0, 3)))})`,
  B: `(?<B>${alt(MONTHS)})`,
  p: '(?<p>am|pm)',
  '%': '%',
}

/** datetime.strptime(string, format) for naive datetimes. */
export function strptime(input: unknown, format: unknown): PyDateTime {
  if (!isStr(input)) throw new PyError(`strptime() argument 1 must be str, not ${typeName(input)}`, 'TypeError')
  if (!isStr(format)) throw new PyError(`strptime() argument 2 must be str, not ${typeName(format)}`, 'TypeError')
  const s = sv(input)
  const fmt = sv(format)
  let re = ''
  const seen = new Set<string>()
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]
    if (c === '%') {
      const d = fmt[++i]
      if (d === undefined) throw new PyError(`stray % in format '${fmt}'`, 'ValueError')
      if (d === 'z' || d === 'Z') throw new PyError(`to_datetime: the %${d} directive (time zones) is not supported by k3sbook`, 'AnsibleFilterError')
      const pat = DIRECTIVES[d]
      if (pat === undefined) throw new PyError(`'${d}' is a bad directive in format '${fmt}'`, 'ValueError')
      if (seen.has(d) && d !== '%') re += `\\k<${d}>`
      else re += pat
      seen.add(d)
    } else if (/\s/.test(c)) {
      re += '\\s+'
      while (i + 1 < fmt.length && /\s/.test(fmt[i + 1])) i++
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }
  const m = new RegExp('^(?:' + re + ')', 'i').exec(s)
  if (!m) throw new PyError(`time data ${JSON.stringify(s).replace(/^"|"$/g, "'")} does not match format '${fmt}'`, 'ValueError')
  if (m[0].length !== s.length) throw new PyError(`unconverted data remains: ${s.slice(m[0].length)}`, 'ValueError')
  const g = m.groups ?? {}
  let year = 1900
  let month = 1
  let day = 1
  let hour = 0
  if (g.Y !== undefined) year = Number(g.Y)
  else if (g.y !== undefined) year = Number(g.y) + (Number(g.y) <= 68 ? 2000 : 1900)
  if (g.m !== undefined) month = Number(g.m)
  else if (g.B !== undefined) month = MONTHS.findIndex((x) => x.toLowerCase() === g.B.toLowerCase()) + 1
  else if (g.b !== undefined) month = MONTHS.findIndex((x) => x.slice(0, 3).toLowerCase() === g.b.toLowerCase()) + 1
  if (g.d !== undefined) day = Number(g.d.trim())
  if (g.H !== undefined) hour = Number(g.H)
  else if (g.I !== undefined) {
    hour = Number(g.I) % 12
    if (g.p?.toLowerCase() === 'pm') hour += 12
  }
  if (g.j !== undefined && g.m === undefined && g.d === undefined) {
    const [y2, m2, d2] = fromOrdinal(toOrdinal(year, 1, 1) + Number(g.j) - 1)
    year = y2
    month = m2
    day = d2
  }
  const minute = g.M !== undefined ? Number(g.M) : 0
  let second = g.S !== undefined ? Number(g.S) : 0
  if (second === 61) second = 59
  const us = g.f !== undefined ? Number(g.f.padEnd(6, '0')) : 0
  if (second === 60) throw new PyError('second must be in 0..59', 'ValueError')
  if (day > daysIn(year, month)) throw new PyError('day is out of range for month', 'ValueError')
  return new PyDateTime(year, month, day, hour, minute, second, us)
}
