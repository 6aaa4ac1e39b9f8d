// Jinja2's built-in filters and Ansible's, with Python semantics, plus the template globals
// (range, dict, lookup/query, namespace, omit). Names are also reachable by FQCN
// (ansible.builtin.to_json, ansible.utils.ipaddr), see resolvePluginName.
import { layeredView } from './views.js'
import { hostname } from 'node:os'
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { parse as parseYaml, parseAllDocuments } from 'yaml'
import { UnsafeString } from '../yamlfile.js'
import { ownFileName } from '../hostfiles.js'
import { ipaddrFilter, ipmath, ipv4Hex, networkInNetwork, networkInUsable, nthhost } from './ipaddr.js'
import { pyJsonDumps, pyYamlDump } from './pydump.js'
import { pyFindall, pyRegex, pySub } from './pyregex.js'
import {
  NO_OBJ,
  PyError,
  PyFloat,
  PyFunc,
  Undefined,
  fail,
  getAttr,
  getItem,
  hasKey,
  isDict,
  isNum,
  isStr,
  iterate,
  keyOf,
  mkFloat,
  num,
  percentFormat,
  pyAdd,
  pyCapitalize,
  pyCmp,
  pyEq,
  pyLen,
  pyRepr,
  pySplit,
  pyStr,
  pyStrip,
  setKey,
  sv,
  truthy,
  tuple,
  typeName,
  type Dict,
} from './pyvalues.js'
import { Env, FILTERS, FRAME_GLOBALS, GLOBALS, OMIT, findFile, makeNamespace, readLookupText, readVar, type CallCtx, type FilterFn } from './runtime.js'
import { hostMayNotChoose, noteRead, unwrapUnsafe } from './taint.js'
import { isSecret, SECRET_NAME } from '../secrets.js'
import { parseKv } from '../kv.js'
import { stripTags } from '../text.js'

const F = (name: string | string[], fn: FilterFn) => {
  for (const n of Array.isArray(name) ? name : [name]) FILTERS.set(n, fn)
}

const NOPOS = { line: 0, col: 0 }

function str(v: unknown): string {
  return isStr(v) ? sv(v) : pyStr(v)
}

function kw<T>(args: unknown[], kwargs: Record<string, unknown>, i: number, name: string, dflt: T): T | unknown {
  if (args.length > i) return args[i]
  if (Object.prototype.hasOwnProperty.call(kwargs, name)) return kwargs[name]
  return dflt
}

/** Jinja2's make_attrgetter: dotted paths, integer parts index lists. */
function attrGetter(attribute: unknown, dflt?: unknown): (item: unknown) => unknown {
  const parts =
    attribute === null || attribute === undefined
      ? []
      : typeof attribute === 'number'
        ? [attribute]
        : str(attribute)
            .split('.')
            .map((p) => (/^\d+$/.test(p) ? Number(p) : p))
  return (item) => {
    let v = item
    for (const p of parts) {
      v = getItem(v, p, NOPOS)
      if (v instanceof Undefined) break
    }
    if (v instanceof Undefined && dflt !== undefined) return dflt
    return v
  }
}

function sortKey(v: unknown, caseSensitive: boolean): unknown {
  if (!caseSensitive && isStr(v)) return sv(v).toLowerCase()
  return v
}

function pySort<T>(items: T[], key: (x: T) => unknown, reverse = false): T[] {
  const decorated = items.map((x, i) => ({ x, k: key(x), i }))
  decorated.sort((a, b) => {
    const c = pyCmp(a.k, b.k, '<')
    return c !== 0 ? (reverse ? -c : c) : a.i - b.i
  })
  return decorated.map((d) => d.x)
}

function uniqueList(items: unknown[], caseSensitive = true, attribute?: unknown): unknown[] {
  const out: unknown[] = []
  const seen: unknown[] = []
  const get = attribute !== undefined && attribute !== null ? attrGetter(attribute) : (x: unknown) => x
  for (const x of items) {
    const k = sortKey(get(x), caseSensitive)
    if (!seen.some((s) => pyEq(s, k))) {
      seen.push(k)
      out.push(x)
    }
  }
  return out
}

function toInt(v: unknown, dflt: unknown = 0, base: unknown = 10): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0
  if (isNum(v)) return Math.trunc(num(v))
  if (isStr(v)) {
    let s = sv(v).trim().replace(/_/g, '')
    const b = num(base)
    if (b === 10) {
      if (/^[-+]?\d+$/.test(s)) return parseInt(s, 10)
      const f = Number(s)
      if (s !== '' && /^[-+]?(\d+(?:\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s) && Number.isFinite(f)) return Math.trunc(f)
      return dflt
    }
    const neg = s.startsWith('-')
    s = s.replace(/^[-+]/, '')
    const prefix: Record<number, RegExp> = { 16: /^0[xX]/, 8: /^0[oO]/, 2: /^0[bB]/ }
    if (prefix[b]) s = s.replace(prefix[b], '')
    const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b)
    if (!s || ![...s.toLowerCase()].every((c) => digits.includes(c))) return dflt
    const n = parseInt(s, b)
    return neg ? -n : n
  }
  return dflt
}

function toFloat(v: unknown, dflt: unknown = new PyFloat(0)): unknown {
  if (typeof v === 'boolean') return mkFloat(v ? 1 : 0)
  if (isNum(v)) return mkFloat(num(v))
  if (isStr(v)) {
    const s = sv(v).trim().toLowerCase()
    if (/^[-+]?(\d[\d_]*(?:\.\d*)?|\.\d+)(e[-+]?\d+)?$/.test(s)) return mkFloat(Number(s.replace(/_/g, '')))
    if (/^[-+]?(inf|infinity)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity
    if (/^[-+]?nan$/.test(s)) return NaN
  }
  return dflt
}

/**
 * The Jinja `bool` filter: Ansible's own looser rule (yes/on/1/true are true, anything else false),
 * not convert_bool's boolean() that arguments and keywords use (src/bool.ts).
 */
export function toBool(a: unknown): unknown {
  if (a === null || a === undefined || typeof a === 'boolean') return a ?? null
  let v: unknown = a
  if (isStr(v)) v = sv(v).toLowerCase()
  if (v === 'yes' || v === 'on' || v === '1' || v === 'true') return true
  if (isNum(v) && num(v) === 1) return true
  return false
}

function flatten(list: unknown[], levels: number | null, skipNulls: boolean): unknown[] {
  const out: unknown[] = []
  for (const el of list) {
    if (skipNulls && (el === null || el === 'None' || el === 'null')) continue
    if (Array.isArray(el)) {
      if (levels === null) out.push(...flatten(el, null, skipNulls))
      else if (levels >= 1) out.push(...flatten(el, levels - 1, skipNulls))
      else out.push(el)
    } else out.push(el)
  }
  return out
}

function combine(terms: unknown[], recursive: boolean, listMerge: string): Dict {
  const merge = (a: Dict, b: Dict): Dict => {
    const out: Dict = { ...a }
    for (const [k, bv] of Object.entries(b)) {
      const av = hasKey(out, k) ? out[k] : undefined
      if (recursive && isDict(av) && isDict(bv)) setKey(out, k, merge(av, bv))
      else if (Array.isArray(av) && Array.isArray(bv) && listMerge !== 'replace') {
        switch (listMerge) {
          case 'keep':
            break
          case 'append':
            setKey(out, k, [...av, ...bv])
            break
          case 'prepend':
            setKey(out, k, [...bv, ...av])
            break
          case 'append_rp':
            setKey(out, k, [...av.filter((x) => !bv.some((y) => pyEq(x, y))), ...bv])
            break
          case 'prepend_rp':
            setKey(out, k, [...bv, ...av.filter((x) => !bv.some((y) => pyEq(x, y)))])
            break
          default:
            throw new PyError(`combine: 'list_merge' accepts only 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'`)
        }
      } else setKey(out, k, bv)
    }
    return out
  }
  let acc: Dict = {}
  for (const t of terms.flatMap((x) => (Array.isArray(x) ? flatten(x, null, false) : [x]))) {
    if (t instanceof Undefined) fail(t)
    if (!isDict(t)) throw new PyError(`combine expects dictionaries, got ${pyRepr(t)}`, 'AnsibleFilterError')
    acc = merge(acc, t)
  }
  return acc
}

const SIZE_RANGES: [string, number][] = [
  ['Y', 2 ** 80],
  ['Z', 2 ** 70],
  ['E', 2 ** 60],
  ['P', 2 ** 50],
  ['T', 2 ** 40],
  ['G', 2 ** 30],
  ['M', 2 ** 20],
  ['K', 2 ** 10],
  ['B', 1],
]

/** ansible.module_utils.common.text.formatters.human_to_bytes */
function humanToBytes(size: unknown, defaultUnit: unknown = null, isbits = false): number {
  const s = str(size)
  const bad = () => new PyError(`human_to_bytes() can't interpret following string: ${s}`, 'AnsibleFilterError')
  const m = /^\s*(\d*\.?\d*)\s*([A-Za-z]+)?/.exec(s)
  if (!m || m[1] === '' || m[1] === '.') throw bad()
  const n = parseFloat(m[1])
  const unit = m[2] ?? (defaultUnit === null ? undefined : str(defaultUnit))
  if (unit === undefined) return pyRound(n)
  const range = SIZE_RANGES.find(([k]) => k === unit[0].toUpperCase())
  if (!range) throw bad()
  const unitClass = isbits ? 'b' : 'B'
  const className = isbits ? 'bit' : 'byte'
  if (unit.length > 1 && !unit.toLowerCase().includes(className) && unit[1] !== unitClass) throw bad()
  return pyRound(n * range[1])
}

/** Python's round(x, n): correctly rounded from the exact binary value, exact halves to even. */
function pyRoundTo(x: number, n: number): number {
  const scaled = x * 10 ** n
  if (Number.isInteger(scaled * 2) && !Number.isInteger(scaled) && Math.abs(scaled) < 2 ** 52) {
    const fl = Math.floor(scaled)
    return (fl % 2 === 0 ? fl : fl + 1) / 10 ** n
  }
  return Number(x.toFixed(Math.max(0, Math.min(100, n))))
}

/** Python's round(): halves go to the even neighbour. */
function pyRound(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

function humanReadable(size: unknown, isbits = false, unit: unknown = null): string {
  const n = num(size)
  const base = isbits ? 'bits' : 'Bytes'
  let suffix = 'B'
  let limit = 1
  for ([suffix, limit] of SIZE_RANGES) {
    if ((unit === null && n >= limit) || (unit !== null && str(unit).toUpperCase() === suffix[0])) break
  }
  const label = limit !== 1 ? suffix + base[0] : base
  return `${(n / limit).toFixed(2)} ${label}`
}

/** shlex.quote */
export function shellQuote(s: string): string {
  if (!s) return "''"
  if (!/[^\w@%+=:,./-]/.test(s)) return s
  return "'" + s.replace(/'/g, `'"'"'`) + "'"
}

function urlsplit(value: string, q: unknown): unknown {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s.exec(value)!
  const netloc = m[2] ?? ''
  const userinfo = netloc.includes('@') ? netloc.slice(0, netloc.lastIndexOf('@')) : ''
  const hostport = netloc.includes('@') ? netloc.slice(netloc.lastIndexOf('@') + 1) : netloc
  let hostname: string | null = null
  let port: number | null = null
  if (netloc) {
    const hm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport)
    hostname = hm ? hm[1].replace(/^\[|\]$/g, '').toLowerCase() || null : null
    port = hm && hm[2] ? Number(hm[2]) : null
  }
  const r: Dict = {
    fragment: m[5] ?? '',
    hostname,
    netloc,
    password: userinfo.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : null,
    path: m[3] ?? '',
    port,
    query: m[4] ?? '',
    scheme: (m[1] ?? '').toLowerCase(),
    username: netloc.includes('@') ? userinfo.split(':')[0] : null,
  }
  if (q !== undefined && q !== null && q !== '') {
    const k = str(q)
    if (!hasKey(r, k)) throw new PyError(`urlsplit: unknown URL component: ${k}`, 'AnsibleFilterError')
    return r[k]
  }
  return r
}

function b64decode(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8')
}

function hashOf(kind: string, data: string): string {
  const alg = kind.toLowerCase().replace(/-/g, '')
  const map: Record<string, string> = { sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5' }
  if (!map[alg]) throw new PyError(`unsupported hash type ${kind}`, 'AnsibleFilterError')
  return createHash(map[alg]).update(data, 'utf8').digest('hex')
}

function seqOf(v: unknown): unknown[] {
  return iterate(v)
}

function selectOrReject(
  value: unknown,
  args: unknown[],
  kwargs: Record<string, unknown>,
  ctx: CallCtx,
  modfunc: (b: boolean) => boolean,
  attr: boolean,
): unknown[] {
  let rest = args
  let get = (x: unknown) => x
  if (attr) {
    if (!rest.length) throw new PyError('Missing parameter for attribute name', 'FilterArgumentError')
    get = attrGetter(rest[0])
    rest = rest.slice(1)
  }
  let test: (x: unknown) => boolean
  if (rest.length) {
    const name = str(rest[0])
    const targs = rest.slice(1)
    test = (x) => ctx.callTest(name, x, targs, kwargs)
  } else test = (x) => truthy(x)
  return seqOf(value).filter((x) => modfunc(test(get(x))))
}

// ---------- Jinja2 built-ins ----------

F(['default', 'd'], (v, a, k) => {
  const dflt = kw(a, k, 0, 'default_value', '')
  const boolean = truthy(kw(a, k, 1, 'boolean', false))
  if (v instanceof Undefined || (boolean && !truthy(v))) return dflt
  return v
})
F('abs', (v) => (v instanceof PyFloat ? new PyFloat(Math.abs(v.v)) : Math.abs(num(v))))
F('attr', (v, a) => getAttr(v, str(a[0]), NOPOS))
F('batch', (v, a, k) => {
  const n = num(a[0])
  const fill = kw(a, k, 1, 'fill_with', null)
  const items = seqOf(v)
  const out: unknown[][] = []
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n))
  if (fill !== null && out.length && out[out.length - 1].length < n) while (out[out.length - 1].length < n) out[out.length - 1].push(fill)
  return out
})
F('capitalize', (v) => pyCapitalize(str(v)))
F('center', (v, a) => {
  const s = str(v)
  const w = a.length ? num(a[0]) : 80
  if (s.length >= w) return s
  const total = w - s.length
  const left = Math.floor(total / 2) + (total & w & 1)
  return ' '.repeat(left) + s + ' '.repeat(total - left)
})
F(['count', 'length'], (v) => pyLen(v))
F('dictsort', (v, a, k) => {
  if (!isDict(v)) throw new PyError('You can only sort by either "key" or "value"')
  const cs = truthy(kw(a, k, 0, 'case_sensitive', false))
  const by = str(kw(a, k, 1, 'by', 'key'))
  const reverse = truthy(kw(a, k, 2, 'reverse', false))
  const pos = by === 'key' ? 0 : by === 'value' ? 1 : -1
  if (pos < 0) throw new PyError('You can only sort by either "key" or "value"', 'FilterArgumentError')
  return pySort(
    Object.entries(v).map((e) => tuple(e)),
    (e) => sortKey(e[pos as 0 | 1], cs),
    reverse,
  )
})
F(['escape', 'e', 'forceescape'], (v) =>
  str(v).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
)
F('filesizeformat', (v, a) => {
  const bytes = num(v)
  const binary = truthy(a[0] ?? false)
  const base = binary ? 1024 : 1000
  const prefixes = binary ? ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] : ['kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB']
  if (bytes === 1) return '1 Byte'
  if (bytes < base) return `${Math.trunc(bytes)} Bytes`
  let unit = base
  let i = 0
  for (; i < prefixes.length; i++) {
    unit = base ** (i + 2)
    if (bytes < unit) break
  }
  return `${((base * bytes) / unit).toFixed(1)} ${prefixes[Math.min(i, prefixes.length - 1)]}`
})
F('first', (v) => {
  const items = seqOf(v)
  return items.length ? items[0] : new Undefined('first', NO_OBJ, 0, 0, 'No first item, sequence was empty.')
})
F('last', (v) => {
  const items = Array.isArray(v) ? v : seqOf(v)
  return items.length ? items[items.length - 1] : new Undefined('last', NO_OBJ, 0, 0, 'No last item, sequence was empty.')
})
F('float', (v, a, k) => toFloat(v, kw(a, k, 0, 'default', new PyFloat(0))))
F('format', (v, a, k) => (Object.keys(k).length ? percentFormat(str(v), k) : percentFormat(str(v), a)))
F('groupby', (v, a, k) => {
  const get = attrGetter(kw(a, k, 0, 'attribute', null), kw(a, k, 1, 'default', undefined))
  const items = pySort(seqOf(v), get)
  const out: [unknown, unknown[]][] = []
  for (const x of items) {
    const g = get(x)
    if (out.length && pyEq(out[out.length - 1][0], g)) out[out.length - 1][1].push(x)
    else out.push([g, [x]])
  }
  return out
})
F('indent', (v, a, k) => {
  const width = kw(a, k, 0, 'width', 4)
  const first = truthy(kw(a, k, 1, 'first', false))
  const blank = truthy(kw(a, k, 2, 'blank', false))
  const ind = typeof width === 'number' ? ' '.repeat(width) : str(width)
  let s = str(v) + '\n'
  const lines = s.split('\n')
  const head = lines.shift()!
  let rest = lines.slice(0, -1)
  if (blank) rest = rest.map((l) => ind + l)
  else rest = rest.map((l) => (l ? ind + l : l))
  s = [head, ...rest].join('\n')
  if (first) s = ind + s
  return s
})
F('int', (v, a, k) => toInt(v, kw(a, k, 0, 'default', 0), kw(a, k, 1, 'base', 10)))
F('items', (v) => {
  if (v instanceof Undefined) return []
  if (!isDict(v)) throw new PyError('Can only get item pairs from a mapping.', 'TypeError')
  return Object.entries(v)
})
F('join', (v, a, k) => {
  const d = str(kw(a, k, 0, 'd', ''))
  const attr = kw(a, k, 1, 'attribute', null)
  let items = seqOf(v)
  if (attr !== null) items = items.map(attrGetter(attr))
  return items.map((x) => pyStr(x)).join(d)
})
F('list', (v) => [...seqOf(v)])
F('lower', (v) => str(v).toLowerCase())
F('upper', (v) => str(v).toUpperCase())
F('map', (v, a, k, ctx) => {
  const items = seqOf(v)
  if (!a.length && hasKey(k, 'attribute')) {
    const get = attrGetter(k.attribute, hasKey(k, 'default') ? k.default : undefined)
    return items.map(get)
  }
  if (!a.length) throw new PyError('map requires a filter argument', 'FilterArgumentError')
  const name = str(a[0])
  const fargs = a.slice(1)
  return items.map((x) => ctx.callFilter(name, x, fargs, k))
})
F('max', (v, a, k) => minmax(v, k, 1))
F('min', (v, a, k) => minmax(v, k, -1))
function minmax(v: unknown, k: Record<string, unknown>, sign: number): unknown {
  const items = seqOf(v)
  if (!items.length) return new Undefined('', NO_OBJ, 0, 0, `No aggregated item, sequence was empty.`)
  const get = hasKey(k, 'attribute') ? attrGetter(k.attribute) : (x: unknown) => x
  const cs = truthy(k.case_sensitive ?? false)
  let best = items[0]
  for (const x of items.slice(1)) if (pyCmp(sortKey(get(x), cs), sortKey(get(best), cs), '<') * sign > 0) best = x
  return best
}
F('pprint', (v) => pyRepr(v))
F('select', (v, a, k, ctx) => selectOrReject(v, a, k, ctx, (b) => b, false))
F('reject', (v, a, k, ctx) => selectOrReject(v, a, k, ctx, (b) => !b, false))
F('selectattr', (v, a, k, ctx) => selectOrReject(v, a, k, ctx, (b) => b, true))
F('rejectattr', (v, a, k, ctx) => selectOrReject(v, a, k, ctx, (b) => !b, true))
F('replace', (v, a, k) => {
  const s = str(v)
  const old = str(a[0])
  const nw = str(a[1])
  const count = kw(a, k, 2, 'count', null)
  if (count === null) return s.split(old).join(nw)
  const parts = s.split(old)
  const c = num(count)
  return parts.slice(0, c + 1).join(nw) + (parts.length > c + 1 ? old + parts.slice(c + 1).join(old) : '')
})
F('reverse', (v) => (isStr(v) ? [...sv(v)].reverse().join('') : [...seqOf(v)].reverse()))
F('round', (v, a, k) => {
  const prec = num(kw(a, k, 0, 'precision', 0))
  const method = str(kw(a, k, 1, 'method', 'common'))
  const x = num(v)
  const f = 10 ** prec
  let r: number
  if (method === 'common') r = pyRoundTo(x, prec)
  else if (method === 'ceil') r = Math.ceil(x * f) / f
  else if (method === 'floor') r = Math.floor(x * f) / f
  else throw new PyError('method must be common, ceil or floor', 'FilterArgumentError')
  return mkFloat(r)
})
F('safe', (v) => v)
F('slice', (v, a) => {
  const items = seqOf(v)
  const n = num(a[0])
  const fill = a[1] ?? null
  const per = Math.floor(items.length / n)
  const extra = items.length % n
  const out: unknown[][] = []
  let offset = 0
  for (let i = 0; i < n; i++) {
    const start = offset + i * per
    if (i < extra) offset++
    const end = offset + (i + 1) * per
    const chunk = items.slice(start, end)
    if (fill !== null && i >= extra) chunk.push(fill)
    out.push(chunk)
  }
  return out
})
F('sort', (v, a, k) => {
  const reverse = truthy(kw(a, k, 0, 'reverse', false))
  const cs = truthy(kw(a, k, 1, 'case_sensitive', false))
  const attribute = kw(a, k, 2, 'attribute', null)
  const getters =
    attribute === null
      ? [(x: unknown) => x]
      : str(attribute)
          .split(',')
          .map((p) => attrGetter(p.trim()))
  return pySort(seqOf(v), (x) => (getters.length === 1 ? sortKey(getters[0](x), cs) : getters.map((g) => sortKey(g(x), cs))), reverse)
})
F('string', (v) => (v instanceof UnsafeString ? v : pyStr(v)))
F('striptags', (v) => stripTags(str(v)).replace(/\s+/g, ' ').trim())
F('sum', (v, a, k) => {
  const attribute = kw(a, k, 0, 'attribute', null)
  let acc = kw(a, k, 1, 'start', 0)
  let items = seqOf(v)
  if (attribute !== null) items = items.map(attrGetter(attribute))
  for (const x of items) acc = pyAdd(acc, x)
  return acc
})
F('title', (v) => str(v).replace(/([^\s\-_(\[{<"'`]+)/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase()))
F('trim', (v, a) => pyStrip(str(v), a[0] ?? null, true, true))
F('truncate', (v, a, k) => {
  const s = str(v)
  const length = num(kw(a, k, 0, 'length', 255))
  const killwords = truthy(kw(a, k, 1, 'killwords', false))
  const end = str(kw(a, k, 2, 'end', '...'))
  const leeway = num(kw(a, k, 3, 'leeway', 5))
  if (s.length <= length + leeway) return s
  if (killwords) return s.slice(0, length - end.length) + end
  const cut = s.slice(0, length - end.length)
  const sp = cut.lastIndexOf(' ')
  return (sp >= 0 ? cut.slice(0, sp) : cut) + end
})
F('unique', (v, a, k) => uniqueList(seqOf(v), truthy(kw(a, k, 0, 'case_sensitive', true)), kw(a, k, 1, 'attribute', null)))
F('urlencode', (v) => {
  const enc = (s: string) =>
    encodeURIComponent(s)
      .replace(/[!'()*~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
      .replace(/%2F/g, '/')
  if (isDict(v))
    return Object.entries(v)
      .map(([k, x]) => `${enc(k)}=${enc(str(x))}`)
      .join('&')
  if (Array.isArray(v)) return v.map((p) => `${enc(str((p as unknown[])[0]))}=${enc(str((p as unknown[])[1]))}`).join('&')
  return enc(str(v))
})
// Python's urllib.parse.unquote_plus (Ansible's urldecode): '+' is a space, %XX sequences are
// UTF-8 bytes (invalid ones become U+FFFD), a '%' not followed by two hex digits stays as it is
F('urldecode', (v) => {
  const s = str(v).replace(/\+/g, ' ')
  return s.replace(/(?:%[0-9a-fA-F]{2})+/g, (m) => Buffer.from(m.replace(/%/g, ''), 'hex').toString('utf8'))
})
F('wordcount', (v) => (str(v).match(/\w+/gu) ?? []).length)
F('tojson', (v, a, k) =>
  pyJsonDumps(v, { sortKeys: true, indent: (kw(a, k, 0, 'indent', null) as number | null) ?? null })
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/'/g, '\\u0027'),
)

// ---------- Ansible core filters ----------

F('bool', (v) => toBool(v))
F('to_json', (v, a, k) =>
  pyJsonDumps(v, {
    indent: (k.indent as number | undefined) ?? null,
    sortKeys: truthy(k.sort_keys ?? false),
    ensureAscii: k.ensure_ascii === undefined ? true : truthy(k.ensure_ascii),
    separators: Array.isArray(k.separators) ? (k.separators.map(str) as [string, string]) : undefined,
  }),
)
F('to_nice_json', (v, a, k) =>
  pyJsonDumps(v, {
    indent: (kw(a, k, 0, 'indent', 4) as number) ?? 4,
    sortKeys: truthy(kw(a, k, 1, 'sort_keys', true)),
    separators: [',', ': '],
    ensureAscii: k.ensure_ascii === undefined ? true : truthy(k.ensure_ascii),
  }),
)
F('to_yaml', (v, a, k) =>
  pyYamlDump(v, {
    defaultFlowStyle: hasKey(k, 'default_flow_style') ? (k.default_flow_style === null ? null : truthy(k.default_flow_style)) : null,
    indent: k.indent === undefined ? undefined : num(k.indent),
    width: k.width === undefined ? undefined : num(k.width),
    sortKeys: k.sort_keys === undefined ? true : truthy(k.sort_keys),
    explicitStart: truthy(k.explicit_start ?? false),
  }),
)
F('to_nice_yaml', (v, a, k) =>
  pyYamlDump(v, {
    defaultFlowStyle: false,
    indent: num(kw(a, k, 0, 'indent', 4)),
    width: k.width === undefined ? undefined : num(k.width),
    sortKeys: k.sort_keys === undefined ? true : truthy(k.sort_keys),
    explicitStart: truthy(k.explicit_start ?? false),
  }),
)
/**
 * A parser's message without the piece of the input it quotes: V8's JSON.parse quotes the first
 * characters (`"s3cr-21ef2"... is not valid JSON`), yaml the offending line, cut to 80 columns.
 * A cut piece of a secret is not the secret, so masking would not find it: the value is not ours
 * to show (Python's json says "Expecting value: line 1 column 1 (char 0)").
 */
function withoutQuote(message: string): string {
  return message
    .split(/:?\n\n/)[0]
    .replace(/, ".*?"(\.\.\.)? is not valid JSON$/s, ' (not valid JSON)')
    .replace(/ in JSON at position/, ' at position')
}

F('from_json', (v) => {
  try {
    return JSON.parse(str(v))
  } catch (e) {
    throw new PyError(`from_json: ${withoutQuote((e as Error).message)}`, 'JSONDecodeError')
  }
})
F('from_yaml', (v) => {
  if (!isStr(v)) return v
  try {
    return parseYaml(sv(v), { version: '1.1', maxAliasCount: 1000 }) ?? null
  } catch (e) {
    throw new PyError(`from_yaml: ${withoutQuote((e as Error).message)}`, 'YAMLError')
  }
})
F('from_yaml_all', (v) => {
  if (!isStr(v)) return v
  return parseAllDocuments(sv(v), { version: '1.1' }).map((d) => {
    if ('errors' in d && d.errors.length) throw new PyError(`from_yaml_all: ${withoutQuote(d.errors[0].message)}`, 'YAMLError')
    return d.toJS() ?? null
  })
})
F('b64encode', (v, a, k) => {
  const enc = str(kw(a, k, 0, 'encoding', 'utf-8')).toLowerCase()
  return Buffer.from(str(v), enc === 'utf-16-le' ? 'utf16le' : enc === 'latin-1' || enc === 'latin1' ? 'latin1' : 'utf8').toString('base64')
})
F('b64decode', (v, a, k) => {
  const enc = str(kw(a, k, 0, 'encoding', 'utf-8')).toLowerCase()
  if (enc === 'utf-16-le') return Buffer.from(str(v), 'base64').toString('utf16le')
  return b64decode(str(v))
})
F('regex_replace', (v, a, k) => {
  const pattern = str(kw(a, k, 0, 'pattern', ''))
  const repl = str(kw(a, k, 1, 'replacement', ''))
  const re = pyRegex(pattern, { ignorecase: truthy(kw(a, k, 2, 'ignorecase', false)), multiline: truthy(kw(a, k, 3, 'multiline', false)) })
  return pySub(re, repl, str(v), num(k.count ?? 0))
})
F('regex_search', (v, a, k) => {
  const pattern = str(a[0])
  const groups: (number | string)[] = []
  for (const arg of a.slice(1)) {
    const s = str(arg)
    const g = /^\\g<(\S+)>/.exec(s)
    if (g) groups.push(/^\d+$/.test(g[1]) ? Number(g[1]) : g[1])
    else if (/^\\\d+/.test(s)) groups.push(Number(/^\\(\d+)/.exec(s)![1]))
    else throw new PyError('Unknown argument', 'AnsibleFilterError')
  }
  const re = pyRegex(pattern, { ignorecase: truthy(k.ignorecase ?? false), multiline: truthy(k.multiline ?? false) })
  const m = re.exec(str(v))
  if (!m) return null
  if (!groups.length) return m[0]
  return groups.map((g) => (typeof g === 'number' ? (m[g] ?? null) : (m.groups?.[g] ?? null)))
})
F('regex_findall', (v, a, k) => {
  const re = pyRegex(str(a[0]), { multiline: truthy(kw(a, k, 1, 'multiline', false)), ignorecase: truthy(kw(a, k, 2, 'ignorecase', false)) })
  return pyFindall(re, str(v))
})
F('regex_escape', (v, a, k) => {
  const type = str(kw(a, k, 0, 're_type', 'python'))
  const s = str(v)
  if (type === 'posix_basic') return s.replace(/[.^$*[\]\\]/g, '\\$&')
  if (type !== 'python') throw new PyError('Regex type (' + type + ') not yet implemented', 'AnsibleFilterError')
  return s.replace(/[()[\]{}?*+\-|^$\\.&~# \t\n\r\v\f]/g, (c) => '\\' + c)
})
F('ternary', (v, a, k) => {
  const t = kw(a, k, 0, 'true_val', undefined)
  const f = kw(a, k, 1, 'false_val', undefined)
  const n = kw(a, k, 2, 'none_val', null)
  if (v === null && n !== null) return n
  return truthy(v) ? t : f
})
F('mandatory', (v, a, k) => {
  if (v instanceof Undefined) {
    const msg = kw(a, k, 0, 'msg', null)
    if (msg !== null) throw new PyError(str(msg), 'AnsibleFilterError')
    // Ansible's message has the name followed by a space, then ' not defined.'
    throw new PyError(`Mandatory variable ${`'${v.name}' `} not defined.`, 'AnsibleFilterError')
  }
  return v
})
F('quote', (v) => shellQuote(v === null ? '' : str(v)))
F('basename', (v) => posix.basename(str(v)))
F('dirname', (v) => posix.dirname(str(v)))
F('splitext', (v) => {
  const s = str(v)
  const ext = posix.extname(s)
  return tuple([s.slice(0, s.length - ext.length), ext])
})
F('path_join', (v) => posix.join(...(Array.isArray(v) ? v.map(str) : [str(v)])))
F('hash', (v, a) => hashOf(str(a[0] ?? 'sha1'), str(v)))
F(['checksum', 'sha1'], (v) => hashOf('sha1', str(v)))
F('md5', (v) => hashOf('md5', str(v)))
F('urlsplit', (v, a, k) => urlsplit(str(v), kw(a, k, 0, 'query', '')))
F('type_debug', (v) => typeName(v))
F('human_to_bytes', (v, a, k) => humanToBytes(v, kw(a, k, 0, 'default_unit', null), truthy(kw(a, k, 1, 'isbits', false))))
F('human_readable', (v, a, k) => humanReadable(v, truthy(kw(a, k, 0, 'isbits', false)), kw(a, k, 1, 'unit', null)))
F('split', (v, a, k) => pySplit(str(v), kw(a, k, 0, 'sep', null), kw(a, k, 1, 'maxsplit', -1)))
F('flatten', (v, a, k) => {
  const levels = kw(a, k, 0, 'levels', null)
  return flatten(seqOf(v), levels === null ? null : num(levels), truthy(kw(a, k, 1, 'skip_nulls', true)))
})
F('combine', (v, a, k) => combine([v, ...a], truthy(k.recursive ?? false), str(k.list_merge ?? 'replace')))
F('dict2items', (v, a, k) => {
  if (!isDict(v)) throw new PyError(`dict2items requires a dictionary, got ${typeName(v)} instead.`, 'AnsibleFilterTypeError')
  const kn = str(kw(a, k, 0, 'key_name', 'key'))
  const vn = str(kw(a, k, 1, 'value_name', 'value'))
  return Object.entries(v).map(([key, value]) => {
    const o: Dict = {}
    setKey(o, kn, key)
    setKey(o, vn, value)
    return o
  })
})
F('items2dict', (v, a, k) => {
  if (!Array.isArray(v)) throw new PyError(`items2dict requires a list, got ${typeName(v)} instead.`, 'AnsibleFilterTypeError')
  const kn = str(kw(a, k, 0, 'key_name', 'key'))
  const vn = str(kw(a, k, 1, 'value_name', 'value'))
  const out: Dict = {}
  for (const it of v) {
    if (!isDict(it)) throw new PyError(`items2dict requires a list of dictionaries, got ${typeName(it)} instead.`, 'AnsibleFilterTypeError')
    if (!hasKey(it, kn) || !hasKey(it, vn))
      throw new PyError(
        `items2dict requires each dictionary in the list to contain the keys '${kn}' and '${vn}', got ${pyRepr(it)} instead.`,
        'AnsibleFilterTypeError',
      )
    setKey(out, keyOf(it[kn]), it[vn])
  }
  return out
})
F('zip', (v, a) => {
  const lists = [v, ...a].map(seqOf)
  const n = Math.min(...lists.map((l) => l.length))
  return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])))
})
F('zip_longest', (v, a, k) => {
  const lists = [v, ...a].map(seqOf)
  const fill = k.fillvalue ?? null
  const n = Math.max(...lists.map((l) => l.length))
  return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => (i < l.length ? l[i] : fill))))
})
F('union', (v, a) => uniqueList([...seqOf(v), ...seqOf(a[0])]))
F('intersect', (v, a) => {
  const b = seqOf(a[0])
  return uniqueList(seqOf(v).filter((x) => b.some((y) => pyEq(x, y))))
})
F('difference', (v, a) => {
  const b = seqOf(a[0])
  return uniqueList(seqOf(v).filter((x) => !b.some((y) => pyEq(x, y))))
})
F('symmetric_difference', (v, a) => {
  const A = seqOf(v)
  const B = seqOf(a[0])
  const isect = uniqueList(A.filter((x) => B.some((y) => pyEq(x, y))))
  return uniqueList([...A, ...B]).filter((x) => !isect.some((y) => pyEq(x, y)))
})
F('product', (v, a) => {
  let acc: unknown[][] = [[]]
  for (const l of [v, ...a].map(seqOf)) acc = acc.flatMap((p) => l.map((x) => [...p, x]))
  return acc.map((t) => tuple(t))
})
F('permutations', (v, a) => {
  const items = seqOf(v)
  const r = a.length ? num(a[0]) : items.length
  const out: unknown[][] = []
  const rec = (prefix: unknown[], restIdx: number[]) => {
    if (prefix.length === r) {
      out.push(tuple(prefix))
      return
    }
    restIdx.forEach((idx, j) => rec([...prefix, items[idx]], [...restIdx.slice(0, j), ...restIdx.slice(j + 1)]))
  }
  rec(
    [],
    items.map((_, i) => i),
  )
  return out
})
F('combinations', (v, a) => {
  const items = seqOf(v)
  const r = num(a[0])
  const out: unknown[][] = []
  const rec = (start: number, prefix: unknown[]) => {
    if (prefix.length === r) {
      out.push(tuple(prefix))
      return
    }
    for (let i = start; i < items.length; i++) rec(i + 1, [...prefix, items[i]])
  }
  rec(0, [])
  return out
})
F('log', (v, a) => mkFloat(a.length ? Math.log(num(v)) / Math.log(num(a[0])) : Math.log(num(v))))
F('pow', (v, a) => mkFloat(num(v) ** num(a[0])))
F('root', (v, a) => mkFloat(a.length ? num(v) ** (1 / num(a[0])) : Math.sqrt(num(v))))
F('extract', (item, a) => {
  let v = getItem(a[0], item, NOPOS)
  const more = a[1]
  if (more !== undefined && more !== null) for (const key of Array.isArray(more) ? more : [more]) v = getItem(v, key, NOPOS)
  return v
})
F('subelements', (v, a, k) => {
  const path = str(a[0]).split('.')
  const skipMissing = truthy(kw(a, k, 1, 'skip_missing', false))
  const items = isDict(v) ? Object.values(v) : seqOf(v)
  const out: unknown[][] = []
  for (const el of items) {
    let values: unknown = el
    let missing = false
    for (const p of path) {
      if (isDict(values) && hasKey(values, p)) values = values[p]
      else {
        missing = true
        break
      }
    }
    if (missing) {
      if (skipMissing) continue
      throw new PyError(`could not find '${a[0]}' key in iterated item '${pyRepr(el)}'`, 'AnsibleFilterError')
    }
    if (!Array.isArray(values)) throw new PyError('the key %s should point to a list'.replace('%s', str(a[0])), 'AnsibleFilterTypeError')
    for (const x of values) out.push([el, x])
  }
  return out
})
F('comment', (v, a, k) => {
  const style = str(kw(a, k, 0, 'style', 'plain'))
  const prefixes: Record<string, string> = { plain: '# ', erlang: '% ', c: '// ', cblock: ' * ', xml: '   - ' }
  const p = prefixes[style] ?? '# '
  const head = p.trimEnd()
  return [
    head,
    ...str(v)
      .split('\n')
      .map((l) => (p + l).trimEnd()),
    head,
  ].join('\n')
})
F('to_uuid', (v, a) => {
  const ns = str(a[0] ?? '361E6D51-FAEC-444A-9079-341386DA8E2E').replace(/-/g, '')
  const h = createHash('sha1')
    .update(Buffer.concat([Buffer.from(ns, 'hex'), Buffer.from(str(v), 'utf8')]))
    .digest()
  h[6] = (h[6] & 0x0f) | 0x50
  h[8] = (h[8] & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`
})

// ---------- ansible.utils address helpers ----------

F('ipaddr', (v, a) => ipaddrFilter(v, a[0] ?? '', 0))
F('ipv4', (v, a) => ipaddrFilter(v, a[0] ?? '', 4))
F('ipv6', (v, a) => ipaddrFilter(v, a[0] ?? '', 6))
F('ipwrap', (v) => {
  const wrap = (x: unknown) => {
    const r = ipaddrFilter(x, '', 6)
    return r !== false && isStr(x) && !sv(x).includes('/') ? `[${sv(x)}]` : x
  }
  return Array.isArray(v) ? v.map(wrap) : wrap(v)
})
F('ipmath', (v, a) => ipmath(v, a[0]))
F('nthhost', (v, a) => nthhost(v, a[0]))
F('network_in_usable', (v, a) => networkInUsable(v, a[0]))
F('network_in_network', (v, a) => networkInNetwork(v, a[0]))
F('ip4_hex', (v, a) => ipv4Hex(v, a.length ? str(a[0]) : ''))

// ---------- globals ----------

/** Ansible's now(utc=False, fmt=None): the time as text (str() of the datetime without fmt). */
export function pyNow(utc: boolean, fmt: string | null, d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  const [Y, m, dd, H, M, S] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()]
  const f = p(d.getMilliseconds() * 1000, 6)
  if (fmt === null || fmt === undefined) return `${Y}-${p(m)}-${p(dd)} ${p(H)}:${p(M)}:${p(S)}.${f}`
  const codes: Record<string, string> = {
    Y: String(Y),
    y: p(Y % 100),
    m: p(m),
    d: p(dd),
    H: p(H),
    M: p(M),
    S: p(S),
    f,
    // Python's %s is the platform strftime's: seconds since the epoch
    s: String(Math.floor(d.getTime() / 1000)),
    '%': '%',
  }
  return String(fmt).replace(/%(.)/g, (all, c: string) => {
    if (!(c in codes)) throw new PyError(`now(): format %${c} is not supported by k3sbook`, 'ValueError')
    return codes[c]
  })
}

function pyRange(args: unknown[]): number[] {
  const n = args.map((x) => num(x))
  const [start, stop, step] = n.length === 1 ? [0, n[0], 1] : [n[0], n[1], n[2] ?? 1]
  if (step === 0) throw new PyError('range() arg 3 must not be zero', 'ValueError')
  const len = Math.max(0, Math.ceil((stop - start) / step))
  if (len > 100000) throw new PyError('Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).', 'OverflowError')
  return Array.from({ length: len }, (_, i) => start + i * step)
}

GLOBALS.set('range', new PyFunc('range', (a) => pyRange(a)))
GLOBALS.set(
  'dict',
  new PyFunc('dict', (a, k) => {
    const out: Dict = {}
    if (a.length) {
      const src = a[0]
      if (isDict(src)) for (const [key, v] of Object.entries(src)) setKey(out, key, v)
      else
        for (const pair of seqOf(src)) {
          const p = seqOf(pair)
          setKey(out, keyOf(p[0]), p[1])
        }
    }
    for (const [key, v] of Object.entries(k)) setKey(out, key, v)
    return out
  }),
)
GLOBALS.set('namespace', new PyFunc('namespace', (a, k) => makeNamespace({ ...(isDict(a[0]) ? a[0] : {}), ...k })))
GLOBALS.set('undef', new PyFunc('undef', (a) => new Undefined('undef', NO_OBJ, 0, 0, a.length ? str(a[0]) : 'Mandatory variable has not been overridden')))
GLOBALS.set('now', new PyFunc('now', (a, k) => pyNow(truthy(k.utc ?? a[0] ?? false), (k.fmt ?? a[1] ?? null) as string | null)))
GLOBALS.set('lipsum', new PyFunc('lipsum', () => 'Lorem ipsum dolor sit amet.'))

/** Lookups that moved from ansible-core to community.general unchanged: its FQCN names the same code. */
const MOVED_TO_COMMUNITY = new Set(['cartesian', 'flattened'])

/** A lookup's name as LOOKUPS holds it: `ansible.builtin.X` is X, and so is `community.general.X` for a lookup moved there. */
export function lookupName(name: string): string {
  if (name.startsWith('ansible.builtin.')) return name.slice('ansible.builtin.'.length)
  const moved = name.startsWith('community.general.') ? name.slice('community.general.'.length) : undefined
  return moved !== undefined && MOVED_TO_COMMUNITY.has(moved) ? moved : name
}

// The lookup plugins a template may use; everything else (pipe, password, url, …) is refused.
export type LookupFn = (
  terms: unknown[],
  k: Record<string, unknown>,
  /** hostTerms: the terms were made from host data (see lookupCall). */
  ctx: { frame: import('./runtime.js').Frame; hostTerms?: boolean },
) => unknown[]

export const LOOKUPS: Record<string, LookupFn> = {
  env(terms, k) {
    return terms.map((t) => {
      const v = process.env[str(t)]
      return v === undefined ? (hasKey(k, 'default') ? k.default : '') : v
    })
  },
  file(terms, k, ctx) {
    return terms.map((t) => {
      const path = findFile(ctx.frame.env, str(t), 'files')!
      let text = readLookupText(ctx.frame.env, path)
      if (k.rstrip === undefined || truthy(k.rstrip)) text = text.trimEnd()
      if (truthy(k.lstrip ?? false)) text = text.replace(/^\s+/, '')
      return text
    })
  },
  template(terms, k, ctx) {
    return terms.map((t) => {
      const path = findFile(ctx.frame.env, str(t), 'templates')!
      const delimiters: Record<string, string> = {}
      for (const o of ['variable_start_string', 'variable_end_string', 'comment_start_string', 'comment_end_string'])
        if (k[o] !== undefined && k[o] !== null) delimiters[o] = str(k[o])
      // the variables Ansible's template lookup adds (generate_ansible_template_vars), as the template
      // module does: template_path and the others, and ansible_managed unless the play sets one
      const env = ctx.frame.env
      const vars = layeredView(
        env.vars,
        {
          template_path: path,
          template_fullpath: path,
          template_destpath: null,
          template_host: hostname(),
          template_uid: String(process.getuid?.() ?? ''),
          template_run_date: new Date().toISOString(),
        },
        { ansible_managed: 'Ansible managed' },
      )
      const fileEnv = new Env(vars, env.hooks, env.lookupOpts, { resolved: new Map(), resolving: env.resolving, taint: env.taint })
      return env.hooks.renderFile(path, fileEnv, k.convert_data === undefined ? true : truthy(k.convert_data), false, delimiters)
    })
  },
  vars(terms, k, ctx) {
    return terms.map((t) => {
      if (!isStr(t)) throw new PyError(`Invalid setting identifier, "${pyStr(t)}" is not a string, its a <class '${typeName(t)}'>`, 'AnsibleError')
      const name = sv(t)
      const env = ctx.frame.env
      if (hasKey(env.vars, name)) {
        const value = readVar(env, name)
        // A host names the variable: it may see what it chose, never a secret (the value would go to it).
        if (ctx.hostTerms && hostMayNotChoose(name, value))
          throw new PyError(
            `lookup('vars'): its terms are made from host data (a result registered on a managed host, its facts, or a file fetched from it), and they name a secret ("${name}"): k3sbook never lets host data choose what the control machine reveals`,
            'AnsibleError',
          )
        return noteRead(env.taint, name, value)
      }
      if (hasKey(k, 'default')) return k.default
      throw new PyError(`No variable found with this name: ${name}`, 'AnsibleUndefinedVariable')
    })
  },
  items(terms) {
    return flatten(terms, 1, false)
  },
  list(terms) {
    return terms
  },
  indexed_items(terms) {
    return flatten(terms, 1, false).map((x, i) => [i, x])
  },
  dict(terms) {
    return terms.flatMap((t) => {
      if (!isDict(t)) throw new PyError('with_dict expects a dict', 'AnsibleError')
      return Object.entries(t).map(([key, value]) => ({ key, value }))
    })
  },
  sequence(terms) {
    // Ansible's sequence lookup (plugins/lookup/sequence.py): the shortcut [start-]end[/stride][:format]
    // or start=/end=/count=/stride=/format=, numbers in Python's int(x, 0) syntax, the same checks
    const out: string[] = []
    for (const t of terms) {
      const term = str(t)
      let start = 1
      let end: number | undefined
      let count: number | undefined
      let stride = 1
      let format = '%d'
      const m = /^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(\/(0?x?[0-9a-f]+))?(:(.+))?$/i.exec(term)
      if (m) {
        if (m[2] !== undefined) start = pyIntBase0(m[2], 'start')
        end = pyIntBase0(m[3], 'end')
        if (m[5] !== undefined) stride = pyIntBase0(m[5], 'stride')
        if (m[7] !== undefined) format = m[7]
      } else {
        const kv = parseKv(term)
        for (const arg of ['start', 'end', 'count', 'stride'] as const) {
          const raw = kv[arg]
          delete kv[arg]
          if (raw === undefined) continue
          const n = pyIntBase0(raw, arg)
          if (arg === 'start') start = n
          else if (arg === 'end') end = n
          else if (arg === 'count') count = n
          else stride = n
        }
        if ('format' in kv) {
          format = kv.format
          delete kv.format
        }
        const rest = Object.keys(kv)
        if (rest.length) throw new PyError(`unrecognized arguments to with_sequence: ${pyRepr(rest)}`, 'AnsibleError')
      }
      if (count === undefined && end === undefined) throw new PyError('must specify count or end in with_sequence', 'AnsibleError')
      if (count !== undefined && end !== undefined) throw new PyError("can't specify both count and end in with_sequence", 'AnsibleError')
      if (count !== undefined) {
        if (count !== 0) end = start + count * stride - 1
        else start = end = stride = 0
      }
      if (stride > 0 && end! < start) throw new PyError('to count backwards make stride negative', 'AnsibleError')
      if (stride < 0 && end! > start) throw new PyError("to count forward don't make stride negative", 'AnsibleError')
      if (format.split('%').length - 1 !== 1) throw new PyError(`bad formatting string: ${format}`, 'AnsibleError')
      if (stride === 0) continue
      const stop = end! + (stride >= 0 ? 1 : -1)
      for (let i = start; stride > 0 ? i < stop : i > stop; i += stride) out.push(percentFormat(format, i))
    }
    return out
  },
}

/** Python's int(text, 0): decimal, 0x hex, 0o/0 octal, 0b binary (the sequence lookup's numbers). */
function pyIntBase0(text: string, arg: string): number {
  const t = text.trim().toLowerCase().replace(/_/g, '')
  const m = /^([-+]?)(0x[0-9a-f]+|0o[0-7]+|0b[01]+|0+|[1-9][0-9]*)$/.exec(t)
  if (!m) throw new PyError(`can't parse ${arg}=${text} as integer`, 'AnsibleError')
  const body = m[2]
  const n = /^0[xob]/.test(body) ? parseInt(body.slice(2), { x: 16, o: 8, b: 2 }[body[1] as 'x' | 'o' | 'b']) : parseInt(body, 10)
  return m[1] === '-' ? -n : n
}

function lookupCall(name: string, wantlist: boolean, frame: import('./runtime.js').Frame, args: unknown[], k: Record<string, unknown>): unknown {
  const short = lookupName(name)
  const fn = Object.prototype.hasOwnProperty.call(LOOKUPS, short) ? LOOKUPS[short] : undefined
  if (!fn)
    throw new PyError(
      `lookup plugin '${name}' is not supported by k3sbook templates` +
        (short === 'pipe' ? ' (running commands on the controller from a template is refused)' : ''),
      'AnsibleError',
    )
  const opts = { ...k }
  wantlist = wantlist || truthy(opts.wantlist ?? false)
  delete opts.wantlist
  const errors = str(opts.errors ?? 'strict')
  delete opts.errors
  for (const a of args) if (a instanceof Undefined) fail(a)
  // read first: the terms' own calls (done by now) set it, the lookup's own renders may reset it
  const hostTerms = frame.env.lookupOpts.hostTerms === true || frame.env.taint.argsHost === true
  if (hostTerms) refuseHostTerms(short, args, opts, frame.env.lookupOpts.searchPath)
  let ran: unknown[]
  try {
    ran = fn(
      args.flatMap((a) => (Array.isArray(a) && !RAW_TERMS.has(short) ? a : [a])),
      opts,
      { frame, hostTerms },
    )
  } catch (e) {
    if (errors === 'ignore' || errors === 'warn') return wantlist ? [] : null
    throw e
  }
  if (wantlist) return ran
  if (!ran.length) return ran
  if (ran.every((x) => isStr(x))) return ran.map((x) => str(x)).join(',')
  return ran.length === 1 ? ran[0] : ran
}

/**
 * Lookups that read the control machine by a name in their terms: 'path', a file (or folder) found
 * in the playbook's folders, or at an absolute path; 'name', an environment variable. pipe, lines and
 * password refuse any render that read host data (plugins.ts controllerOnly).
 */
const CONTROLLER_NAMES: Record<string, 'path' | 'name'> = {
  file: 'path',
  template: 'path',
  fileglob: 'path',
  first_found: 'path',
  unvault: 'path',
  ini: 'path',
  csvfile: 'path',
  env: 'name',
}

/**
 * Host data is data: terms made from a result registered on a managed host or its facts may choose
 * among the playbook's own files (`lookup('file', ansible_os_family ~ '.conf')`, a first_found over
 * `{{ role_path }}/vars`, as real roles do), never a file outside them (an absolute path elsewhere,
 * a ".." climbing out) nor an environment variable of the control machine (whose value would be
 * sent back to the host).
 */
function refuseHostTerms(name: string, terms: unknown[], k: Record<string, unknown>, roots: readonly string[] | undefined): void {
  const how = CONTROLLER_NAMES[name]
  if (!how) return
  const why = `lookup('${name}'): its terms are made from host data (a result registered on a managed host, its facts, or a file fetched from it)`
  if (how === 'name') throw new PyError(`${why}, and k3sbook never lets host data choose what the control machine reveals`, 'AnsibleError')
  const texts: string[] = []
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect)
    else if (isDict(v)) Object.values(v).forEach(collect)
    else if (v !== undefined && v !== null) texts.push(str(v))
  }
  collect(terms)
  for (const o of ['file', 'files', 'paths']) collect(k[o])
  // the pieces a lookup may take a path from: comma, semicolon and colon lists, key=value options
  for (const piece of texts.flatMap((t) => t.split(/[\s,;:=]+/)))
    if (!ownFileName(piece, roots))
      throw new PyError(
        `${why}, and name a file outside the playbook's folders ("${piece}"): host data may only choose among the playbook's and roles' own files (a relative name without "..", or a path inside the task's folders)`,
        'AnsibleError',
      )
}

export const LOOKUP_NAMES = Object.keys(LOOKUPS)
/** Lookups that get their terms as written (a list argument stays one term). */
export const RAW_TERMS = new Set(['items', 'list'])

/** lookup/query need the calling frame, so they are bound per call in runtime's name lookup. */
export function lookupGlobal(frame: import('./runtime.js').Frame, wantlist: boolean): PyFunc {
  return new PyFunc(wantlist ? 'query' : 'lookup', (a, k) => {
    if (!a.length) throw new PyError('lookup requires the name of a lookup plugin', 'TypeError')
    return lookupCall(str(a[0]), wantlist, frame, a.slice(1), k)
  })
}

export { toInt, toFloat }

FRAME_GLOBALS.set('lookup', (f) => lookupGlobal(f, false))
FRAME_GLOBALS.set('query', (f) => lookupGlobal(f, true))
FRAME_GLOBALS.set('q', (f) => lookupGlobal(f, true))
GLOBALS.set('omit', OMIT)
