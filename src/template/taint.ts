// Taint of values as the template engine reads them (Ansible's AnsibleUnsafe, and the same idea
// for secrets). Host data (registered results, facts) is stored with every string wrapped in
// UnsafeString; a wrapped string is never rendered as a template. Inside a render the engine works
// on plain strings: each variable read (a name, an attribute, an item, lookup('vars')) notes whether
// it read unsafe or secret data, then hands the plain value on. The render's result is then unsafe
// (wrapped again) or secret (marked in src/secrets.ts) as a whole: what is computed from host data
// or from a secret, through any filter, loop or concatenation, stays so.
import { HostString, UnsafeString } from '../yamlfile.js'
import { eachString, hasString, isSecret, markSecret, OPAQUE, SECRET_NAME } from '../secrets.js'

export interface Taint {
  unsafe: boolean
  secret: boolean
  /** Of the unsafe data read, some came from a managed host (HostString). */
  host?: boolean
  /** How many reads found host data: a call compares it before and after its arguments. */
  hostReads?: number
  /** The arguments of the call being made read host data (set just before the call). */
  argsHost?: boolean
  /** A `{{ }}` of the output read a secret: that piece's text was marked on its own (see runtime.ts Output). */
  pieceSecret?: boolean
  /**
   * The strings of the lists and mappings read whole that held a marked string (`loop: "{{ users }}"`
   * where one user has a password): what the render hands on as it was keeps its own marks; any
   * other text it makes is secret (markMade). Marking all of it made every user name, group and
   * comment of such a list "********" wherever it was printed, for the rest of the run.
   */
  held?: Set<string>
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || OPAQUE.has(v)) return false
  const p = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  else out[k] = v
}

/** Whether a value holds a string of one kind (lists and mappings walked; lazy views are not), cached per object. */
function holder(kind: typeof UnsafeString): (v: unknown) => boolean {
  const cache = new WeakMap<object, boolean>()
  const walk = (v: unknown, depth: number): boolean => {
    if (v instanceof kind) return true
    if (v === null || typeof v !== 'object' || depth > 64 || v instanceof UnsafeString) return false
    const c = cache.get(v)
    if (c !== undefined) return c
    let r = false
    if (Array.isArray(v)) r = v.some((x) => walk(x, depth + 1))
    else if (isPlainObject(v)) r = Object.values(v).some((x) => walk(x, depth + 1))
    cache.set(v, r)
    return r
  }
  return (v) => walk(v, 0)
}

/** Does the value hold an UnsafeString (lists and mappings walked; lazy views are not)? */
export const containsUnsafe = holder(UnsafeString)

/** Does the value hold a HostString, text that came from a managed host (lists and mappings walked)? */
export const containsHostData = holder(HostString)

/** Every string in the value wrapped as UnsafeString (a new value; the argument is not changed). */
export function wrapUnsafe(v: unknown): unknown {
  return wrap(v, (s) => new UnsafeString(s), 0)
}

/**
 * Every string in the value wrapped as HostString: what a managed host returned. Strings already
 * wrapped keep their kind (a `with_*` item echoed in a result stays an item).
 */
export function wrapHostData(v: unknown): unknown {
  return wrap(v, (s) => new HostString(s), 0)
}

function wrap(v: unknown, make: (s: string) => UnsafeString, depth: number): unknown {
  if (typeof v === 'string') return make(v)
  if (v === null || typeof v !== 'object' || v instanceof UnsafeString || depth > 64) return v
  if (Array.isArray(v)) return v.map((x) => wrap(x, make, depth + 1))
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = Object.getPrototypeOf(v) === null ? Object.create(null) : {}
    for (const [k, x] of Object.entries(v)) setOwn(out, k, wrap(x, make, depth + 1))
    return out
  }
  return v
}

const plainCache = new WeakMap<object, unknown>()

/** The value with every UnsafeString replaced by its text (a copy only where one was found). */
export function unwrapUnsafe(v: unknown, depth = 0): unknown {
  if (v instanceof UnsafeString) return v.value
  if (v === null || typeof v !== 'object' || depth > 64 || !containsUnsafe(v)) return v
  const hit = plainCache.get(v)
  if (hit !== undefined) return hit
  let out: unknown = v
  if (Array.isArray(v)) out = v.map((x) => unwrapUnsafe(x, depth + 1))
  else if (isPlainObject(v)) {
    const o: Record<string, unknown> = Object.getPrototypeOf(v) === null ? Object.create(null) : {}
    for (const [k, x] of Object.entries(v)) setOwn(o, k, unwrapUnsafe(x, depth + 1))
    out = o
  }
  plainCache.set(v, out)
  return out
}

/**
 * A variable a host chose by name (lookup('vars', r.stdout), `vars[r.stdout]`, `hostvars[h][r.stdout]`)
 * may be any variable but a secret — by its name or by its value — since the value goes to the host.
 */
export function hostMayNotChoose(name: string, value: unknown): boolean {
  return SECRET_NAME.test(name) || isSecret(unwrapUnsafe(value))
}

/** A read of host data: one more for the calls that compare counts (see runtime.ts' call). */
export function noteHostRead(t: Taint): void {
  t.unsafe = true
  t.host = true
  t.hostReads = (t.hostReads ?? 0) + 1
}

/**
 * One read of a variable (or of an attribute or item) during a render: note what it taints and
 * return the plain value the engine computes with. A value is secret when it holds a string marked
 * secret, or when it is read under a name that marks secrets (SECRET_NAME) and holds text; such a
 * value is itself marked, so what it is copied into later stays secret.
 *
 * `select`: the value is read only to take an attribute or item of it (`item` in `item.login_user`):
 * its secret strings are marked as ever, but the render is secret only if what is taken is —
 * `item.login_user` of an item that also holds a password is not a secret. The part taken is read
 * (noted) in its turn.
 */
export function noteRead(t: Taint, name: string | undefined, v: unknown, select = false): unknown {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return v
  if (OPAQUE.has(v as object)) return v
  if (containsUnsafe(v)) {
    t.unsafe = true
    if (containsHostData(v)) noteHostRead(t)
  }
  const plain = unwrapUnsafe(v)
  if (typeof plain === 'object') markSecretKeys(plain)
  if (name !== undefined && SECRET_NAME.test(name) && hasString(plain)) {
    if (!select || typeof plain === 'string') t.secret = true
    markSecret(plain)
  } else if (typeof plain === 'string') {
    if (isSecret(plain)) t.secret = true
  } else if (!select && isSecret(plain)) {
    const held = (t.held ??= new Set())
    eachString(plain, (s) => held.add(s))
  }
  return plain
}

const keysMarked = new WeakSet<object>()
/** A key file's or password file's path names where a secret is; it is not the secret. */
const PATH_NAME = /_(file|path|dir)$/i

/**
 * The strings under secret-named keys anywhere in a list or mapping read (`users[3].password`,
 * `db.credentials.token`) are secret, as a variable of that name is: marked when the list or mapping
 * is first read (once per object), so whatever is later made of them stays secret.
 */
function markSecretKeys(v: unknown, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 64 || OPAQUE.has(v) || keysMarked.has(v)) return
  keysMarked.add(v)
  if (Array.isArray(v)) for (const x of v) markSecretKeys(x, depth + 1)
  else if (isPlainObject(v))
    for (const [k, x] of Object.entries(v)) {
      if (SECRET_NAME.test(k) && !PATH_NAME.test(k) && hasString(x)) markSecret(x)
      else markSecretKeys(x, depth + 1)
    }
}

/**
 * What a render made after reading whole a list or mapping that held a secret (Taint.held): each
 * string of it that is not one of those read as it was is new text made from them, so secret.
 * Returns whether it marked any.
 */
export function markMade(held: Set<string>, made: unknown): boolean {
  let any = false
  eachString(made, (s) => {
    if (!held.has(s)) {
      markSecret(s)
      any = true
    }
  })
  return any
}

/** Taint.held of an inner render joins the outer one's. */
export function joinHeld(t: Taint, outer: Set<string> | undefined): void {
  if (!outer) return
  if (!t.held) t.held = outer
  else for (const s of outer) t.held.add(s)
}
