// Jinja2's and Ansible's tests (`x is defined`, `result is changed`, `v is version('1.2', '>=')`),
// plus ansible.utils' address tests, with Python semantics.
import { asBool } from '../bool.js'
import { VaultString } from '../yamlfile.js'
import { networkInNetwork, parseIp } from './ipaddr.js'
import { pyRegex } from './pyregex.js'
import { PyError, PyFloat, PyFunc, Undefined, compare, isDict, isFloat, isNum, isStr, iterate, num, pyEq, pyIn, pyStr, sv, truthy } from './pyvalues.js'
import { FILTERS, TESTS, type TestFn } from './runtime.js'

const T = (name: string | string[], fn: TestFn) => {
  for (const n of Array.isArray(name) ? name : [name]) TESTS.set(n, fn)
}

function str(v: unknown): string {
  return isStr(v) ? sv(v) : pyStr(v)
}

T('defined', (v) => !(v instanceof Undefined))
T('undefined', (v) => v instanceof Undefined)
T('none', (v) => v === null || v === undefined)
T('string', (v) => isStr(v) || v instanceof VaultString)
T('number', (v) => isNum(v) || typeof v === 'boolean')
T('integer', (v) => typeof v === 'number' && Number.isInteger(v))
T('float', (v) => isFloat(v))
T('boolean', (v) => typeof v === 'boolean')
T('true', (v) => v === true)
T('false', (v) => v === false)
T('mapping', (v) => isDict(v))
T('sequence', (v) => isStr(v) || Array.isArray(v) || isDict(v))
T('iterable', (v) => {
  if (v instanceof Undefined) iterate(v)
  return isStr(v) || Array.isArray(v) || isDict(v)
})
T('callable', (v) => v instanceof PyFunc)
T('sameas', (v, a) => (v instanceof PyFloat && a[0] instanceof PyFloat ? v === a[0] : v === a[0] || (v === undefined && a[0] === null)))
T(['eq', 'equalto', '=='], (v, a) => pyEq(v, a[0]))
T(['ne', '!='], (v, a) => !pyEq(v, a[0]))
T(['lt', 'lessthan', '<'], (v, a) => compare('<', v, a[0]))
T(['gt', 'greaterthan', '>'], (v, a) => compare('>', v, a[0]))
T(['le', '<='], (v, a) => compare('<=', v, a[0]))
T(['ge', '>='], (v, a) => compare('>=', v, a[0]))
T('in', (v, a) => pyIn(v, a[0]))
T('contains', (v, a) => pyIn(a[0], v))
T('divisibleby', (v, a) => num(v) % num(a[0]) === 0)
T('odd', (v) => {
  if (!Number.isInteger(num(v))) throw new PyError('odd requires an integer', 'TypeError')
  return Math.abs(num(v)) % 2 === 1
})
T('even', (v) => num(v) % 2 === 0)
T('lower', (v) => str(v) === str(v).toLowerCase())
T('upper', (v) => str(v) === str(v).toUpperCase())
T('escaped', () => false)
T('filter', (v) => isStr(v) && FILTERS.has(sv(v)))
T('test', (v) => isStr(v) && TESTS.has(sv(v)))

// ---------- Ansible ----------

function regexTest(v: unknown, a: unknown[], k: Record<string, unknown>, matchType: string): boolean {
  const pattern = str(a[0] ?? '')
  const flags = { ignorecase: truthy(a[1] ?? k.ignorecase ?? false), multiline: truthy(a[2] ?? k.multiline ?? false) }
  const s = str(v)
  if (matchType === 'match') return matchAt0(pattern, flags, s)
  if (matchType === 'fullmatch') return pyRegex('^(?:' + pattern + ')$', flags).test(s)
  return pyRegex(pattern, flags).test(s)
}

function matchAt0(pattern: string, flags: { ignorecase: boolean; multiline: boolean }, s: string): boolean {
  // re.match anchors at position 0 only, whatever MULTILINE says
  const base = pyRegex(pattern, flags)
  const re = new RegExp(base.source, base.flags.replace('g', '') + 'y')
  re.lastIndex = 0
  return re.test(s)
}

T('match', (v, a, k) =>
  matchAt0(str(a[0] ?? ''), { ignorecase: truthy(a[1] ?? k.ignorecase ?? false), multiline: truthy(a[2] ?? k.multiline ?? false) }, str(v)),
)
T('search', (v, a, k) => regexTest(v, a, k, 'search'))
T('regex', (v, a, k) => {
  const type = str(a[3] ?? k.match_type ?? 'search')
  if (type === 'match')
    return matchAt0(str(a[0] ?? ''), { ignorecase: truthy(a[1] ?? k.ignorecase ?? false), multiline: truthy(a[2] ?? k.multiline ?? false) }, str(v))
  return regexTest(v, a, k, type)
})

/** distutils' LooseVersion components: numbers as ints, other runs as strings. */
function looseParts(v: string): (number | string)[] {
  return v
    .split(/(\d+|[a-z]+|\.)/i)
    .filter((p) => p && p !== '.')
    .map((p) => (/^\d+$/.test(p) ? parseInt(p, 10) : p))
}

function looseCmp(a: string, b: string): number {
  const x = looseParts(a)
  const y = looseParts(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue
    if (typeof x[i] !== typeof y[i])
      throw new PyError(
        `Version comparison failed: '<' not supported between instances of '${typeof x[i] === 'number' ? 'int' : 'str'}' and '${typeof y[i] === 'number' ? 'int' : 'str'}'`,
        'AnsibleFilterError',
      )
    return x[i] < y[i] ? -1 : 1
  }
  return x.length - y.length
}

function semverParts(v: string): { main: number[]; pre: (number | string)[] } {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim())
  if (!m) throw new PyError(`invalid semantic version '${v}'`, 'ValueError')
  return { main: [+m[1], +m[2], +m[3]], pre: m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? +p : p)) : [] }
}

function semverCmp(a: string, b: string): number {
  const x = semverParts(a)
  const y = semverParts(b)
  for (let i = 0; i < 3; i++) if (x.main[i] !== y.main[i]) return x.main[i] - y.main[i]
  if (!x.pre.length || !y.pre.length) return y.pre.length - x.pre.length
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i]
    const q = y.pre[i]
    if (p === q) continue
    if (typeof p === 'number' && typeof q === 'number') return p - q
    if (typeof p === 'number') return -1
    if (typeof q === 'number') return 1
    return p < q ? -1 : 1
  }
  return x.pre.length - y.pre.length
}

function strictCmp(a: string, b: string): number {
  const re = /^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$/
  const pa = re.exec(a)
  const pb = re.exec(b)
  if (!pa) throw new PyError(`invalid version number '${a}'`, 'ValueError')
  if (!pb) throw new PyError(`invalid version number '${b}'`, 'ValueError')
  const nums = (p: RegExpExecArray) => [+p[1], +p[2], +(p[4] ?? 0)]
  const na = nums(pa)
  const nb = nums(pb)
  for (let i = 0; i < 3; i++) if (na[i] !== nb[i]) return na[i] - nb[i]
  const pre = (p: RegExpExecArray) => (p[5] ? [p[5][0], +p[6]] : null)
  const xa = pre(pa)
  const xb = pre(pb)
  if (!xa && !xb) return 0
  if (!xa) return 1
  if (!xb) return -1
  return xa[0] !== xb[0] ? (xa[0] < xb[0] ? -1 : 1) : (xa[1] as number) - (xb[1] as number)
}

const VERSION_OPS: Record<string, (c: number) => boolean> = {
  '==': (c) => c === 0,
  '=': (c) => c === 0,
  eq: (c) => c === 0,
  '<': (c) => c < 0,
  lt: (c) => c < 0,
  '<=': (c) => c <= 0,
  le: (c) => c <= 0,
  '>': (c) => c > 0,
  gt: (c) => c > 0,
  '>=': (c) => c >= 0,
  ge: (c) => c >= 0,
  '!=': (c) => c !== 0,
  '<>': (c) => c !== 0,
  ne: (c) => c !== 0,
}

T(['version', 'version_compare'], (v, a, k) => {
  const other = a[0] ?? k.version
  const op = str(a[1] ?? k.operator ?? 'eq')
  const strict = truthy(a[2] ?? k.strict ?? false)
  const type = a[3] ?? k.version_type ?? null
  const cmpOp = VERSION_OPS[op]
  if (!cmpOp) throw new PyError(`Invalid operator type (${op})`, 'AnsibleFilterError')
  if (other === undefined || other === null || str(other) === '')
    throw new PyError('Version parameter to compare against cannot be empty', 'AnsibleFilterError')
  const x = str(v)
  const y = str(other)
  let c: number
  const t = type === null ? (strict ? 'strict' : 'loose') : str(type)
  if (t === 'semver' || t === 'semantic') c = semverCmp(x, y)
  else if (t === 'strict') c = strictCmp(x, y)
  else if (t === 'loose' || t === 'pep440') c = looseCmp(x, y)
  else throw new PyError(`Invalid version type (${t}). Must be one of loose, strict, semver, semantic, pep440`, 'AnsibleFilterError')
  return cmpOp(c)
})

function asSet(v: unknown): unknown[] {
  return iterate(v)
}
T(['subset', 'issubset'], (v, a) => asSet(v).every((x) => asSet(a[0]).some((y) => pyEq(x, y))))
T(['superset', 'issuperset'], (v, a) => asSet(a[0]).every((x) => asSet(v).some((y) => pyEq(x, y))))
T('truthy', (v, a, k) => truthy(v) && (!truthy(k.convert_bool ?? a[0] ?? false) || truthy(boolish(v))))
T('falsy', (v, a, k) => !(truthy(k.convert_bool ?? a[0] ?? false) ? truthy(boolish(v)) : truthy(v)))
/** truthy/falsy(convert_bool=true): Ansible's boolean(), and the value itself where that raises. */
function boolish(v: unknown): unknown {
  return asBool(isStr(v) ? sv(v) : isNum(v) ? num(v) : v) ?? v
}
T('any', (v) => iterate(v).some((x) => truthy(x)))
T('all', (v) => iterate(v).every((x) => truthy(x)))
T(['nan', 'isnan'], (v) => isNum(v) && Number.isNaN(num(v)))
T('inf', (v) => isNum(v) && !Number.isFinite(num(v)) && !Number.isNaN(num(v)))
T('vault_encrypted', (v) => v instanceof VaultString)
T(['abs', 'is_abs'], (v) => str(v).startsWith('/'))

function resultDict(v: unknown, test: string): Record<string, unknown> {
  if (!isDict(v)) throw new PyError(`The '${test}' test expects a dictionary`, 'AnsibleFilterError')
  return v as Record<string, unknown>
}
const failed = (v: unknown, name: string) => truthy(resultDict(v, name).failed ?? false)
T(['failed', 'failure'], (v) => failed(v, 'failed'))
T(['success', 'succeeded', 'successful'], (v) => !failed(v, 'success'))
T(['unreachable'], (v) => truthy(resultDict(v, 'unreachable').unreachable ?? false))
T(['reachable'], (v) => !truthy(resultDict(v, 'reachable').unreachable ?? false))
T(['changed', 'change'], (v) => {
  const r = resultDict(v, 'changed')
  if (!Object.prototype.hasOwnProperty.call(r, 'changed')) {
    if (Array.isArray(r.results) && isDict(r.results[0])) return r.results.some((x) => isDict(x) && truthy(x.changed ?? false))
    return false
  }
  return truthy(r.changed)
})
T(['skipped', 'skip'], (v) => truthy(resultDict(v, 'skipped').skipped ?? false))
T('finished', (v) => {
  const r = resultDict(v, 'finished')
  return Object.prototype.hasOwnProperty.call(r, 'finished') ? pyEq(r.finished, 1) : true
})
T('started', (v) => {
  const r = resultDict(v, 'started')
  return Object.prototype.hasOwnProperty.call(r, 'started') ? pyEq(r.started, 1) : true
})

// ---------- ansible.utils address tests ----------

const ipOf = (v: unknown) => parseIp(v)
T('ip', (v) => ipOf(v) !== null)
T('ipv4', (v) => ipOf(v)?.version === 4)
T('ipv6', (v) => ipOf(v)?.version === 6)
T('ip_address', (v) => {
  const n = ipOf(v)
  return !!n && !n.hasPrefix
})
T('ipv4_address', (v) => {
  const n = ipOf(v)
  return !!n && !n.hasPrefix && n.version === 4
})
T('ipv6_address', (v) => {
  const n = ipOf(v)
  return !!n && !n.hasPrefix && n.version === 6
})
T('in_network', (v, a) => networkInNetwork(a[0], v))
T('in_any_network', (v, a) => iterate(a[0]).some((n) => networkInNetwork(n, v)))
