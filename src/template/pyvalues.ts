// Python value semantics on JS data, as Jinja2 templates see them: str()/repr(), truthiness,
// equality and ordering, arithmetic, attribute and item lookup, and the str/list/dict methods
// Ansible users call. Undefined names are first-class values that fail when used (StrictUndefined).
import { UnsafeString, VaultString } from '../yamlfile.js'

/** A value that raised nothing yet: Ansible's AnsibleUndefined. Fails when printed, compared, iterated or tested for truth. */
export class Undefined {
  constructor(
    /** The name looked up (a variable, attribute or key). */
    readonly name: string | number,
    /** The object it was looked up on; NO_OBJ for a top-level variable. */
    readonly obj: unknown,
    /** Where in the template the lookup happened (0-based). */
    readonly line: number,
    readonly col: number,
    readonly hint?: string,
  ) {}
  get message(): string {
    if (this.hint) return this.hint
    if (this.obj === NO_OBJ) return `'${this.name}' is undefined`
    if (typeof this.name !== 'string') return `${typeTag(this.obj)} has no element ${pyRepr(this.name)}`
    return `'${typeTag(this.obj)}' has no attribute ${pyRepr(this.name)}`
  }
}
export const NO_OBJ = Symbol('no object')

/** repr() of an undefined value, as AnsibleUndefined.__repr__ words it (jinja2's `missing` for a top-level name). */
export function undefinedRepr(u: Undefined): string {
  const hint = u.hint === undefined ? 'None' : pyRepr(u.hint)
  const obj = u.obj === NO_OBJ ? 'missing' : pyRepr(u.obj)
  return `AnsibleUndefined(hint=${hint}, obj=${obj}, name=${pyRepr(u.name)})`
}

/** Thrown when an Undefined value is used; carries its template position. */
export class UndefinedError extends Error {
  constructor(readonly undef: Undefined) {
    // no stack trace: raised and caught often (`is defined`, `default`, planning ahead; see TemplateError)
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(undef.message)
    } finally {
      Error.stackTraceLimit = limit
    }
  }
}

/** A Python error raised while evaluating (TypeError, ValueError, a filter's own error). */
export class PyError extends Error {
  constructor(
    message: string,
    readonly pyType = 'error',
  ) {
    super(message)
  }
}

/** A float whose value is integral (`3.0`), so it prints as Python prints it. Other floats are plain numbers. */
export class PyFloat {
  constructor(readonly v: number) {}
  valueOf(): number {
    return this.v
  }
}

/** A callable exposed to templates (builtins, macros, bound methods). Anything else is not callable. */
export class PyFunc {
  constructor(
    readonly name: string,
    readonly fn: (args: unknown[], kwargs: Record<string, unknown>) => unknown,
    /** A method's object (`d` of `d.get`). */
    readonly self?: unknown,
  ) {}
}

export type Dict = Record<string, unknown>

/**
 * A Python object of a class other than the builtins (datetime, timedelta: see pytime.ts): it
 * names its type, prints itself, and answers attributes, arithmetic and comparisons itself.
 */
export abstract class PyObject {
  abstract readonly pyType: string
  abstract str(): string
  repr(): string {
    return this.str()
  }
  /** An attribute or a bound method; undefined when it has none of that name. */
  attr(_name: string): unknown {
    return undefined
  }
  /** `this OP other` (or `other OP this` when reflected); undefined: not supported (Python's NotImplemented). */
  binop(_op: string, _other: unknown, _reflected: boolean): unknown {
    return undefined
  }
  /** What Ansible's JSON encoder writes for it (a datetime: its isoformat()); undefined: not serializable. */
  jsonValue(): unknown {
    return undefined
  }
  /** -1/0/1 against other; undefined when they cannot be ordered. */
  cmp(_other: unknown): number | undefined {
    return undefined
  }
}

const TUPLE = Symbol('tuple')

/** Mark a list as a Python tuple: it prints as `(a, b)`. */
export function tuple<T extends unknown[]>(a: T): T {
  Object.defineProperty(a, TUPLE, { value: true, enumerable: false })
  return a
}

export function isTuple(v: unknown): boolean {
  return Array.isArray(v) && (v as unknown as Record<symbol, unknown>)[TUPLE] === true
}

export function fail(u: Undefined): never {
  throw new UndefinedError(u)
}

export function isDict(v: unknown): v is Dict {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Undefined) &&
    !(v instanceof PyFloat) &&
    !(v instanceof PyFunc) &&
    !(v instanceof PyObject) &&
    !(v instanceof UnsafeString) &&
    !(v instanceof VaultString)
  )
}

export function isStr(v: unknown): v is string | UnsafeString {
  return typeof v === 'string' || v instanceof UnsafeString
}

/** The plain string of a str-like value. */
export function sv(v: string | UnsafeString): string {
  return typeof v === 'string' ? v : v.value
}

export function isNum(v: unknown): v is number | PyFloat {
  return typeof v === 'number' || v instanceof PyFloat
}

export function isFloat(v: unknown): boolean {
  return v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v))
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v)
}

export function num(v: unknown): number {
  if (typeof v === 'number') return v
  if (v instanceof PyFloat) return v.v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (v instanceof Undefined) fail(v)
  throw new PyError(`unsupported operand type: '${typeName(v)}'`, 'TypeError')
}

/** A float result: boxed when integral so it keeps printing as `3.0`. */
export function mkFloat(n: number): number | PyFloat {
  return Number.isInteger(n) ? new PyFloat(n) : n
}

export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType'
  if (typeof v === 'boolean') return 'bool'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float'
  if (v instanceof PyFloat) return 'float'
  if (typeof v === 'string') return 'str'
  if (v instanceof UnsafeString) return 'AnsibleUnsafeText'
  if (v instanceof VaultString) return 'AnsibleVaultEncryptedUnicode'
  if (Array.isArray(v)) return 'list'
  if (v instanceof Undefined) return 'AnsibleUndefined'
  if (v instanceof PyFunc) return 'function'
  if (v instanceof PyObject) return v.pyType
  if (typeof v === 'function') return 'function'
  return 'dict'
}

/** Jinja2's object_type_repr. */
function typeTag(v: unknown): string {
  if (v === null || v === undefined) return 'None'
  return `${typeName(v)} object`
}

// ---------- str() and repr() ----------

export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0'
  const [mant, expStr] = n.toExponential().split('e')
  const exp = parseInt(expStr, 10)
  if (exp < -4 || exp >= 16) {
    const m = mant.includes('.') ? mant : mant
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  }
  const neg = mant.startsWith('-')
  const digits = mant.replace('-', '').replace('.', '')
  let s: string
  if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0')
    const frac = digits.slice(exp + 1)
    s = `${intPart}.${frac || '0'}`
  } else {
    s = `0.${'0'.repeat(-exp - 1)}${digits}`
  }
  return neg ? '-' + s : s
}

function intStr(n: number): string {
  if (Number.isSafeInteger(n)) return String(n)
  // beyond 2^53 JS has no exact integer; print all digits like Python does, not in exponent form
  return BigInt(n).toString()
}

export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'number') return Number.isInteger(v) ? intStr(v) : pyFloatRepr(v)
  if (v instanceof PyFloat) return pyFloatRepr(v.v)
  if (v instanceof UnsafeString) return v.value
  if (v instanceof VaultString) return v.ciphertext
  if (v instanceof Undefined) fail(v)
  if (v instanceof PyObject) return v.str()
  return pyRepr(v)
}

export function strRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'"
  let out = q
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '\\') out += '\\\\'
    else if (ch === q) out += '\\' + q
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0')
    else if (c >= 0x80 && c < 0xa0) out += '\\x' + c.toString(16).padStart(2, '0')
    else out += ch
  }
  return out + q
}

export function pyRepr(v: unknown, seen: Set<unknown> = new Set()): string {
  if (typeof v === 'string') return strRepr(v)
  if (v instanceof UnsafeString) return strRepr(v.value)
  if (v instanceof Undefined) fail(v)
  if (Array.isArray(v)) {
    if (seen.has(v)) return '[...]'
    seen.add(v)
    const inner = v.map((x) => pyRepr(x, seen)).join(', ')
    const s = isTuple(v) ? '(' + inner + (v.length === 1 ? ',)' : ')') : '[' + inner + ']'
    seen.delete(v)
    return s
  }
  if (v instanceof PyFunc) return `<function ${v.name}>`
  if (v instanceof PyObject) return v.repr()
  if (isDict(v)) {
    if (seen.has(v)) return '{...}'
    seen.add(v)
    const s =
      '{' +
      Object.entries(v)
        .map(([k, x]) => `${strRepr(k)}: ${pyRepr(x, seen)}`)
        .join(', ') +
      '}'
    seen.delete(v)
    return s
  }
  return pyStr(v)
}

/** Raise if an Undefined hides anywhere in the value (Ansible's _fail_on_undefined). */
export function assertDefined(v: unknown, depth = 0): void {
  if (v instanceof Undefined) fail(v)
  if (depth > 100) return
  if (Array.isArray(v)) for (const x of v) assertDefined(x, depth + 1)
  else if (isDict(v)) for (const x of Object.values(v)) assertDefined(x, depth + 1)
}

// ---------- truth, equality, ordering ----------

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined) return false
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v) ? true : Number.isNaN(v)
  if (typeof v === 'string') return v.length > 0
  if (v instanceof PyFloat) return v.v !== 0
  if (v instanceof UnsafeString) return v.value.length > 0
  if (v instanceof Undefined) fail(v)
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof PyFunc) return true
  if (isDict(v)) return Object.keys(v).length > 0
  return true
}

export function pyEq(a: unknown, b: unknown): boolean {
  if (a instanceof Undefined) fail(a)
  if (b instanceof Undefined) fail(b)
  if (a === undefined) a = null
  if (b === undefined) b = null
  const an = isNum(a) || typeof a === 'boolean'
  const bn = isNum(b) || typeof b === 'boolean'
  if (an && bn) return num(a) === num(b)
  if (isStr(a) && isStr(b)) return sv(a) === sv(b)
  if (a instanceof PyObject) return a.cmp(b) === 0
  if (b instanceof PyObject) return b.cmp(a) === 0
  if (a === null || b === null) return a === b
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => pyEq(x, b[i]))
  if (isDict(a) && isDict(b)) {
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEq(a[k], b[k]))
  }
  return a === b
}

export function pyCmp(a: unknown, b: unknown, op: string): number {
  if (a instanceof Undefined) fail(a)
  if (b instanceof Undefined) fail(b)
  const an = isNum(a) || typeof a === 'boolean'
  const bn = isNum(b) || typeof b === 'boolean'
  if (an && bn) {
    const x = num(a)
    const y = num(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (isStr(a) && isStr(b)) {
    const x = sv(a)
    const y = sv(b)
    return x < y ? -1 : x > y ? 1 : 0
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEq(a[i], b[i])) return pyCmp(a[i], b[i], op)
    }
    return a.length - b.length
  }
  const c = a instanceof PyObject ? a.cmp(b) : b instanceof PyObject ? -(b.cmp(a) ?? NaN) : undefined
  if (c !== undefined && !Number.isNaN(c)) return c
  throw new PyError(`'${op}' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`, 'TypeError')
}

export function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return pyEq(a, b)
    case '!=':
      return !pyEq(a, b)
    case '<':
      return pyCmp(a, b, op) < 0
    case '>':
      return pyCmp(a, b, op) > 0
    case '<=':
      return pyCmp(a, b, op) <= 0
    case '>=':
      return pyCmp(a, b, op) >= 0
    case 'in':
      return pyIn(a, b)
    case 'notin':
      return !pyIn(a, b)
  }
  throw new PyError(`unknown operator ${op}`)
}

export function pyIn(item: unknown, container: unknown): boolean {
  if (container instanceof Undefined) fail(container)
  if (item instanceof Undefined) fail(item)
  if (isStr(container)) {
    if (!isStr(item)) throw new PyError(`'in <string>' requires string as left operand, not ${typeName(item)}`, 'TypeError')
    return sv(container).includes(sv(item))
  }
  if (Array.isArray(container)) return container.some((x) => pyEq(x, item))
  if (isDict(container)) return Object.prototype.hasOwnProperty.call(container, keyOf(item))
  throw new PyError(`argument of type '${typeName(container)}' is not iterable`, 'TypeError')
}

/** The JS property key for a Python dict key. */
export function keyOf(k: unknown): string {
  if (typeof k === 'string') return k
  if (k instanceof UnsafeString) return k.value
  if (k instanceof Undefined) fail(k)
  return pyStr(k)
}

/** Set a key on a plain object without letting `__proto__` change its prototype. */
export function setKey(o: Dict, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  else o[k] = v
}

export function hasKey(o: Dict, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k)
}

// ---------- arithmetic ----------

/** `a OP b` answered by a PyObject operand, else undefined. */
function objectOp(op: string, a: unknown, b: unknown): unknown {
  let r: unknown
  if (a instanceof PyObject) r = a.binop(op, b, false)
  if (r === undefined && b instanceof PyObject) r = b.binop(op, a, true)
  if (r === undefined && (a instanceof PyObject || b instanceof PyObject))
    throw new PyError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`, 'TypeError')
  return r
}

export function pyAdd(a: unknown, b: unknown): unknown {
  if (a instanceof Undefined) fail(a)
  if (b instanceof Undefined) fail(b)
  if (a instanceof PyObject || b instanceof PyObject) return objectOp('+', a, b)
  if ((isNum(a) || typeof a === 'boolean') && (isNum(b) || typeof b === 'boolean')) {
    const r = num(a) + num(b)
    return isFloat(a) || isFloat(b) ? mkFloat(r) : r
  }
  if (isStr(a) && isStr(b)) return sv(a) + sv(b)
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b]
  if (isStr(a)) throw new PyError(`can only concatenate str (not "${typeName(b)}") to str`, 'TypeError')
  if (Array.isArray(a)) throw new PyError(`can only concatenate list (not "${typeName(b)}") to list`, 'TypeError')
  throw new PyError(`unsupported operand type(s) for +: '${typeName(a)}' and '${typeName(b)}'`, 'TypeError')
}

export function pyArith(op: string, a: unknown, b: unknown): unknown {
  if (op === '+') return pyAdd(a, b)
  if (a instanceof Undefined) fail(a)
  if (b instanceof Undefined) fail(b)
  if (a instanceof PyObject || b instanceof PyObject) return objectOp(op, a, b)
  if (op === '*') {
    if (isStr(a) && isInt(b)) return sv(a).repeat(Math.max(0, b))
    if (isInt(a) && isStr(b)) return sv(b).repeat(Math.max(0, a))
    if (Array.isArray(a) && isInt(b)) return Array.from({ length: Math.max(0, b) }, () => a).flat()
  }
  if (op === '%' && isStr(a)) return percentFormat(sv(a), b)
  const numeric = (x: unknown) => isNum(x) || typeof x === 'boolean'
  if (!numeric(a) || !numeric(b)) throw new PyError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`, 'TypeError')
  const x = num(a)
  const y = num(b)
  const fl = isFloat(a) || isFloat(b)
  switch (op) {
    case '-':
      return fl ? mkFloat(x - y) : x - y
    case '*':
      return fl ? mkFloat(x * y) : x * y
    case '/':
      if (y === 0) throw new PyError('division by zero', 'ZeroDivisionError')
      return mkFloat(x / y)
    case '//': {
      if (y === 0) throw new PyError('integer division or modulo by zero', 'ZeroDivisionError')
      const r = Math.floor(x / y)
      return fl ? mkFloat(r) : r
    }
    case '%': {
      if (y === 0) throw new PyError('integer division or modulo by zero', 'ZeroDivisionError')
      const r = x - y * Math.floor(x / y)
      return fl ? mkFloat(r) : r
    }
    case '**': {
      const r = x ** y
      return fl || y < 0 ? mkFloat(r) : r
    }
  }
  throw new PyError(`unknown operator ${op}`)
}

/** Python's `'fmt' % args` for the conversions templates use. */
export function percentFormat(fmt: string, args: unknown): string {
  const list = Array.isArray(args) ? args : [args]
  let i = 0
  const next = (): unknown => {
    if (isDict(args)) return args
    if (i >= list.length) throw new PyError('not enough arguments for format string', 'TypeError')
    return list[i++]
  }
  const out = fmt.replace(/%(\(([^)]*)\))?([-+ 0#]*)(\*|\d+)?(?:\.(\d+))?([diouxXeEfFgGcrsa%])/g, (_m, _k, key, flags: string, width, prec, conv: string) => {
    if (conv === '%') return '%'
    let v = key !== undefined && isDict(args) ? args[key] : next()
    if (width === '*') width = String(num(next()))
    let s: string
    switch (conv) {
      case 's':
        s = pyStr(v)
        break
      case 'r':
      case 'a':
        s = v instanceof Undefined ? undefinedRepr(v) : pyRepr(v)
        break
      case 'd':
      case 'i':
      case 'u':
        s = String(Math.trunc(num(v)))
        break
      case 'x':
        s = Math.trunc(num(v)).toString(16)
        break
      case 'X':
        s = Math.trunc(num(v)).toString(16).toUpperCase()
        break
      case 'o':
        s = Math.trunc(num(v)).toString(8)
        break
      case 'f':
      case 'F':
        s = num(v).toFixed(prec === undefined ? 6 : Number(prec))
        break
      case 'e':
      case 'E':
        s = pyExp(num(v), prec === undefined ? 6 : Number(prec))
        if (conv === 'E') s = s.toUpperCase()
        break
      case 'g':
      case 'G':
        s = String(Number(num(v).toPrecision(prec === undefined ? 6 : Number(prec) || 1)))
        break
      case 'c':
        s = typeof v === 'number' ? String.fromCodePoint(v) : pyStr(v)
        break
      default:
        s = pyStr(v)
    }
    if (prec !== undefined && (conv === 's' || conv === 'r')) s = s.slice(0, Number(prec))
    if (flags.includes('+') && 'diufFeEgG'.includes(conv) && !s.startsWith('-')) s = '+' + s
    else if (flags.includes(' ') && 'diufFeEgG'.includes(conv) && !s.startsWith('-')) s = ' ' + s
    const w = width ? Number(width) : 0
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w)
      else if (flags.includes('0') && 'diuxXofFeEgG'.includes(conv)) {
        const sign = /^[-+ ]/.test(s) ? s[0] : ''
        s = sign + s.slice(sign.length).padStart(w - sign.length, '0')
      } else s = s.padStart(w)
    }
    return s
  })
  if (!isDict(args) && i < list.length && Array.isArray(args)) throw new PyError('not all arguments converted during string formatting', 'TypeError')
  if (!isDict(args) && !Array.isArray(args) && i === 0 && !/%[^%]/.test(fmt))
    throw new PyError('not all arguments converted during string formatting', 'TypeError')
  return out
}

function pyExp(n: number, prec: number): string {
  const [m, e] = n.toExponential(prec).split('e')
  const ei = parseInt(e, 10)
  return `${m}e${ei < 0 ? '-' : '+'}${String(Math.abs(ei)).padStart(2, '0')}`
}

// ---------- iteration, length, lookup ----------

/** Python iter(): lists, strings (characters), dicts (keys). */
export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v
  if (v instanceof Undefined) fail(v)
  if (isStr(v)) return [...sv(v)]
  if (isDict(v)) return Object.keys(v)
  throw new PyError(`'${typeName(v)}' object is not iterable`, 'TypeError')
}

export function pyLen(v: unknown): number {
  if (v instanceof Undefined) fail(v)
  if (isStr(v)) return [...sv(v)].length
  if (Array.isArray(v)) return v.length
  if (isDict(v)) return Object.keys(v).length
  throw new PyError(`object of type '${typeName(v)}' has no len()`, 'TypeError')
}

export interface LookupPos {
  line: number
  col: number
}

/** `obj[key]`: item first, then attribute (Jinja2's Environment.getitem). */
export function getItem(obj: unknown, key: unknown, pos: LookupPos): unknown {
  if (obj instanceof Undefined) return obj
  if (Array.isArray(obj) || isStr(obj)) {
    if (typeof key === 'number' || typeof key === 'boolean' || key instanceof PyFloat) {
      if (!isInt(key) && typeof key !== 'boolean') throw new PyError(`list indices must be integers or slices, not float`, 'TypeError')
      const seq = Array.isArray(obj) ? obj : [...sv(obj)]
      let i = Number(key)
      if (i < 0) i += seq.length
      if (i >= 0 && i < seq.length) return seq[i]
      return new Undefined(Number(key), obj, pos.line, pos.col)
    }
  }
  if (isDict(obj)) {
    const k = keyOf(key)
    if (hasKey(obj, k)) return obj[k]
  }
  if (isStr(key)) return getAttr(obj, sv(key), pos, false)
  return new Undefined(key as number, obj, pos.line, pos.col)
}

/** `obj.name`: attribute (methods) first, then item. Only own data is ever reachable, never JS prototypes. */
export function getAttr(obj: unknown, name: string, pos: LookupPos, itemFallback = true): unknown {
  if (obj instanceof Undefined) return obj
  if (obj instanceof PyObject) {
    const v = obj.attr(name)
    return v === undefined ? new Undefined(name, obj, pos.line, pos.col) : v
  }
  const m = method(obj, name)
  if (m) return m
  if (itemFallback) {
    if (isDict(obj) && hasKey(obj, name)) return obj[name]
  }
  return new Undefined(name, obj, pos.line, pos.col)
}

export function pySlice(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (obj instanceof Undefined) fail(obj)
  const seq: unknown[] = Array.isArray(obj) ? obj : isStr(obj) ? [...sv(obj)] : (null as never)
  if (!seq) throw new PyError(`'${typeName(obj)}' object is not subscriptable`, 'TypeError')
  const n = seq.length
  const st = step === null || step === undefined ? 1 : num(step)
  if (st === 0) throw new PyError('slice step cannot be zero', 'ValueError')
  const norm = (v: unknown, dflt: number, lo: number, hi: number) => {
    if (v === null || v === undefined) return dflt
    let i = num(v)
    if (i < 0) i += n
    return Math.min(Math.max(i, lo), hi)
  }
  const out: unknown[] = []
  if (st > 0) {
    const a = norm(start, 0, 0, n)
    const b = norm(stop, n, 0, n)
    for (let i = a; i < b; i += st) out.push(seq[i])
  } else {
    const a = norm(start, n - 1, -1, n - 1)
    const b = norm(stop, -1, -1, n - 1)
    for (let i = a; i > b; i += st) out.push(seq[i])
  }
  return Array.isArray(obj) ? out : out.join('')
}

// ---------- Python methods ----------

const WS = ' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'

export function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === null || chars === undefined ? WS : sv(chars as string)
  let a = 0
  let b = s.length
  if (left) while (a < b && set.includes(s[a])) a++
  if (right) while (b > a && set.includes(s[b - 1])) b--
  return s.slice(a, b)
}

/** Python str.split. */
export function pySplit(s: string, sep: unknown = null, maxsplit: unknown = -1): string[] {
  let max = maxsplit === null || maxsplit === undefined ? -1 : num(maxsplit)
  if (sep === null || sep === undefined) {
    const out: string[] = []
    let i = 0
    const n = s.length
    while (i < n) {
      while (i < n && WS.includes(s[i])) i++
      if (i >= n) break
      if (max === 0) {
        out.push(pyStrip(s.slice(i), null, false, true))
        return out
      }
      let j = i
      while (j < n && !WS.includes(s[j])) j++
      out.push(s.slice(i, j))
      i = j
      if (max > 0) max--
    }
    return out
  }
  const sp = sv(sep as string)
  if (sp === '') throw new PyError('empty separator', 'ValueError')
  const parts = s.split(sp)
  if (max < 0 || parts.length <= max + 1) return parts
  return [...parts.slice(0, max), parts.slice(max).join(sp)]
}

function pyRsplit(s: string, sep: unknown = null, maxsplit: unknown = -1): string[] {
  const max = maxsplit === null || maxsplit === undefined ? -1 : num(maxsplit)
  if (max < 0) return pySplit(s, sep, -1)
  if (sep === null || sep === undefined) {
    const all = pySplit(s)
    if (all.length <= max + 1) return all
    // keep the head as written, whitespace inside it included
    let cut = s.length
    for (let k = 0; k < max; k++) {
      cut = pyStrip(s.slice(0, cut), null, false, true).length
      while (cut > 0 && !WS.includes(s[cut - 1])) cut--
    }
    return [pyStrip(s.slice(0, cut), null, true, true), ...all.slice(all.length - max)]
  }
  const sp = sv(sep as string)
  const parts = s.split(sp)
  if (parts.length <= max + 1) return parts
  return [parts.slice(0, parts.length - max).join(sp), ...parts.slice(parts.length - max)]
}

function pyTitle(s: string): string {
  return s.replace(/[A-Za-z\u00C0-\uFFFF]+/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
}

export function pyCapitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s
}

function strArg(v: unknown, what: string): string {
  if (v instanceof Undefined) fail(v)
  if (!isStr(v)) throw new PyError(`${what} must be str, not ${typeName(v)}`, 'TypeError')
  return sv(v)
}

function prefixes(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => strArg(x, 'prefix')) : [strArg(v, 'prefix')]
}

/** str.format with positional and named fields, `{}`, `{0}`, `{name}`, `{0.attr}` and simple specs. */
export function pyFormat(fmt: string, args: unknown[], kwargs: Record<string, unknown>): string {
  let auto = 0
  return fmt.replace(/\{\{|\}\}|\{([^{}!:]*)(![rsa])?(?::([^{}]*))?\}/g, (m, field: string | undefined, conv: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{'
    if (m === '}}') return '}'
    const path = (field ?? '').split(/\.|\[/)
    const head = path[0]
    let v: unknown = head === '' ? args[auto++] : /^\d+$/.test(head) ? args[Number(head)] : kwargs[head]
    for (const p of path.slice(1)) v = getItem(v, p.replace(/\]$/, ''), { line: 0, col: 0 })
    if (v === undefined) throw new PyError(head === '' || /^\d+$/.test(head) ? 'Replacement index out of range' : `'${head}'`, 'IndexError')
    let s = conv === '!r' ? pyRepr(v) : undefined
    if (s === undefined) s = spec ? formatSpec(v, spec) : pyStr(v)
    return s
  })
}

function formatSpec(v: unknown, spec: string): string {
  const m = /^(?:(.)?([<>^=]))?([-+ ])?(#)?(0)?(\d+)?(,)?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/.exec(spec)
  if (!m) return pyStr(v)
  const [, fillc, align, sign, , zero, width, comma, prec, type] = m
  let s: string
  if (type === 'f' || type === 'F') s = num(v).toFixed(prec ? Number(prec) : 6)
  else if (type === 'd') s = String(Math.trunc(num(v)))
  else if (type === 'x') s = Math.trunc(num(v)).toString(16)
  else if (type === 'X') s = Math.trunc(num(v)).toString(16).toUpperCase()
  else if (type === 'b') s = Math.trunc(num(v)).toString(2)
  else if (type === 'o') s = Math.trunc(num(v)).toString(8)
  else if (type === '%') s = (num(v) * 100).toFixed(prec ? Number(prec) : 6) + '%'
  else if (type === 'e') s = pyExp(num(v), prec ? Number(prec) : 6)
  else if (prec && isStr(v)) s = sv(v).slice(0, Number(prec))
  else if (prec && isNum(v)) s = num(v).toFixed(Number(prec))
  else s = pyStr(v)
  if (comma) s = s.replace(/^(-?\d+)/, (d) => d.replace(/\B(?=(\d{3})+(?!\d))/g, ','))
  if (sign === '+' && isNum(v) && num(v) >= 0) s = '+' + s
  const w = width ? Number(width) : 0
  const fill = fillc ?? (zero ? '0' : ' ')
  const al = align ?? (zero ? '=' : isNum(v) ? '>' : '<')
  if (s.length < w) {
    const pad = w - s.length
    if (al === '<') s = s + fill.repeat(pad)
    else if (al === '>') s = fill.repeat(pad) + s
    else if (al === '^') s = fill.repeat(Math.floor(pad / 2)) + s + fill.repeat(Math.ceil(pad / 2))
    else {
      const sg = /^[-+]/.test(s) ? s[0] : ''
      s = sg + fill.repeat(pad) + s.slice(sg.length)
    }
  }
  return s
}

type MethodImpl = (self: any, args: unknown[], kwargs: Record<string, unknown>) => unknown

const STR_METHODS: Record<string, MethodImpl> = {
  split: (s, a, kw) => pySplit(s, a[0] ?? kw.sep ?? null, a[1] ?? kw.maxsplit ?? -1),
  rsplit: (s, a, kw) => pyRsplit(s, a[0] ?? kw.sep ?? null, a[1] ?? kw.maxsplit ?? -1),
  splitlines: (s, a) => {
    const parts = s.split(/(\r\n|\r|\n|\v|\f|\x1c|\x1d|\x1e|\x85|\u2028|\u2029)/)
    const out: string[] = []
    for (let i = 0; i < parts.length; i += 2) {
      const line = parts[i] + (a[0] && parts[i + 1] ? parts[i + 1] : '')
      if (i + 1 < parts.length || parts[i] !== '') out.push(line)
    }
    return out
  },
  strip: (s, a) => pyStrip(s, a[0], true, true),
  lstrip: (s, a) => pyStrip(s, a[0], true, false),
  rstrip: (s, a) => pyStrip(s, a[0], false, true),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  casefold: (s) => s.toLowerCase(),
  swapcase: (s) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
  capitalize: (s) => pyCapitalize(s),
  title: (s) => pyTitle(s),
  startswith: (s, a) => prefixes(a[0]).some((p) => s.startsWith(p, a[1] === undefined ? 0 : num(a[1]))),
  endswith: (s, a) => prefixes(a[0]).some((p) => s.endsWith(p)),
  replace: (s, a) => {
    const old = strArg(a[0], 'replace() argument 1')
    const nw = strArg(a[1], 'replace() argument 2')
    const count = a[2] === undefined ? -1 : num(a[2])
    if (count < 0) return s.split(old).join(nw)
    const parts = s.split(old)
    return parts.slice(0, count + 1).join(nw) + (parts.length > count + 1 ? old + parts.slice(count + 1).join(old) : '')
  },
  find: (s, a) => s.indexOf(strArg(a[0], 'sub'), a[1] === undefined ? 0 : num(a[1])),
  rfind: (s, a) => s.lastIndexOf(strArg(a[0], 'sub')),
  index: (s, a) => {
    const i = s.indexOf(strArg(a[0], 'sub'))
    if (i < 0) throw new PyError('substring not found', 'ValueError')
    return i
  },
  count: (s, a) => {
    const sub = strArg(a[0], 'sub')
    return sub === '' ? [...s].length + 1 : s.split(sub).length - 1
  },
  join: (s, a) =>
    iterate(a[0])
      .map((x) => strArg(x, 'sequence item'))
      .join(s),
  format: (s, a, kw) => pyFormat(s, a, kw),
  isdigit: (s) => /^[0-9]+$/.test(s),
  isnumeric: (s) => /^[0-9]+$/.test(s),
  isdecimal: (s) => /^[0-9]+$/.test(s),
  isalpha: (s) => /^\p{L}+$/u.test(s),
  isalnum: (s) => /^[\p{L}\p{N}]+$/u.test(s),
  isspace: (s) => s.length > 0 && [...s].every((c) => WS.includes(c)),
  islower: (s) => /\p{Ll}/u.test(s) && !/\p{Lu}/u.test(s),
  isupper: (s) => /\p{Lu}/u.test(s) && !/\p{Ll}/u.test(s),
  zfill: (s, a) => {
    const w = num(a[0])
    const sign = /^[-+]/.test(s) ? s[0] : ''
    return sign + s.slice(sign.length).padStart(w - sign.length, '0')
  },
  center: (s, a) => {
    const w = num(a[0])
    const f = a[1] === undefined ? ' ' : sv(a[1] as string)
    if (s.length >= w) return s
    const total = w - s.length
    const left = Math.floor(total / 2) + (total & w & 1)
    return f.repeat(left) + s + f.repeat(total - left)
  },
  ljust: (s, a) => s.padEnd(num(a[0]), a[1] === undefined ? ' ' : sv(a[1] as string)),
  rjust: (s, a) => s.padStart(num(a[0]), a[1] === undefined ? ' ' : sv(a[1] as string)),
  partition: (s, a) => {
    const sep = strArg(a[0], 'sep')
    const i = s.indexOf(sep)
    return tuple(i < 0 ? [s, '', ''] : [s.slice(0, i), sep, s.slice(i + sep.length)])
  },
  rpartition: (s, a) => {
    const sep = strArg(a[0], 'sep')
    const i = s.lastIndexOf(sep)
    return tuple(i < 0 ? ['', '', s] : [s.slice(0, i), sep, s.slice(i + sep.length)])
  },
}

const LIST_METHODS: Record<string, MethodImpl> = {
  append: (l: unknown[], a) => {
    l.push(a[0])
    return null
  },
  extend: (l: unknown[], a) => {
    l.push(...iterate(a[0]))
    return null
  },
  insert: (l: unknown[], a) => {
    l.splice(num(a[0]), 0, a[1])
    return null
  },
  pop: (l: unknown[], a) => {
    if (!l.length) throw new PyError('pop from empty list', 'IndexError')
    let i = a[0] === undefined ? l.length - 1 : num(a[0])
    if (i < 0) i += l.length
    return l.splice(i, 1)[0]
  },
  remove: (l: unknown[], a) => {
    const i = l.findIndex((x) => pyEq(x, a[0]))
    if (i < 0) throw new PyError('list.remove(x): x not in list', 'ValueError')
    l.splice(i, 1)
    return null
  },
  index: (l: unknown[], a) => {
    const i = l.findIndex((x) => pyEq(x, a[0]))
    if (i < 0) throw new PyError(`${pyRepr(a[0])} is not in list`, 'ValueError')
    return i
  },
  count: (l: unknown[], a) => l.filter((x) => pyEq(x, a[0])).length,
  copy: (l: unknown[]) => [...l],
  reverse: (l: unknown[]) => {
    l.reverse()
    return null
  },
}

const DICT_METHODS: Record<string, MethodImpl> = {
  items: (d: Dict) => Object.entries(d).map((e) => tuple(e)),
  keys: (d: Dict) => Object.keys(d),
  values: (d: Dict) => Object.values(d),
  get: (d: Dict, a) => {
    const k = keyOf(a[0])
    return hasKey(d, k) ? d[k] : a.length > 1 ? a[1] : null
  },
  copy: (d: Dict) => ({ ...d }),
  update: (d: Dict, a, kw) => {
    for (const src of [...a, kw]) if (isDict(src)) for (const [k, v] of Object.entries(src)) setKey(d, k, v)
    return null
  },
  pop: (d: Dict, a) => {
    const k = keyOf(a[0])
    if (hasKey(d, k)) {
      const v = d[k]
      delete d[k]
      return v
    }
    if (a.length > 1) return a[1]
    throw new PyError(pyRepr(a[0]), 'KeyError')
  },
  setdefault: (d: Dict, a) => {
    const k = keyOf(a[0])
    if (!hasKey(d, k)) setKey(d, k, a.length > 1 ? a[1] : null)
    return d[k]
  },
}

function method(obj: unknown, name: string): PyFunc | undefined {
  let table: Record<string, MethodImpl> | undefined
  let self: unknown = obj
  if (isStr(obj)) {
    table = STR_METHODS
    self = sv(obj)
  } else if (Array.isArray(obj)) table = LIST_METHODS
  else if (isDict(obj)) table = DICT_METHODS
  if (!table || !Object.prototype.hasOwnProperty.call(table, name)) return undefined
  const impl = table[name]
  return new PyFunc(
    name,
    (args, kwargs) => {
      for (const a of args) if (a instanceof Undefined) fail(a)
      return impl(self, args, kwargs)
    },
    obj,
  )
}
