// Variables as Ansible sees them: layers merged in precedence order, and templated lazily, when a
// value is read (so `a: "{{ b }}"` follows b wherever b is set, and an unused broken value never
// fails a task). A recursion guard turns `a: "{{ a }}"` into an error instead of a stack overflow.
import { TemplateError } from '../errors.js'
import type { Vars } from '../model.js'
import { isTemplated, templateValue } from '../template/index.js'
import { NAME_VIEWS, OPAQUE } from '../secrets.js'
import { UnsafeString } from '../yamlfile.js'
import { NO_OBJ, pyStr, Undefined, UndefinedError } from '../template/pyvalues.js'
import { VIEW_READERS } from '../template/runtime.js'

/** How a view templates its values. */
export interface ViewOptions {
  /** Ansible's fail_on_undefined=False (hostvars). */
  lenient?: boolean
  /**
   * Where the lookups in a value search (`file`, `template`, `pipe`'s folder): the task's, as
   * Ansible templates a variable with the task's templar (`x: "{{ lookup('file', 'key.pub') }}"`
   * in role defaults finds the role's files/key.pub). Unset: the sandbox, no controller commands.
   */
  searchPath?: string[]
}

/**
 * A read-only view of `vars` whose string values are templated against the whole view on access.
 * Nested dicts and lists are wrapped too. Values are cached per view.
 */
export function lazyVars(vars: Vars, opts: ViewOptions = {}): Vars {
  return makeView(
    (key) => (Object.prototype.hasOwnProperty.call(vars, key) ? vars[key] : MISSING),
    () => Reflect.ownKeys(vars),
    opts,
  )
}

/**
 * lazyVars over layers (low precedence first) without merging them: a key is looked up from the
 * highest layer down. A task's view is made per host and loop item, and merging its ~20 layers
 * (every role's defaults, the host's facts, inventory variables) copied hundreds of keys each time:
 * the most allocated memory of a mesh task that renders one template per pair of hosts.
 */
export function lazyLayers(layers: ReadonlyArray<Vars | undefined>, opts: ViewOptions = {}): Vars {
  const ls = layers.filter((l): l is Vars => !!l)
  let keys: string[] | undefined
  return makeView(
    (key) => {
      for (let i = ls.length - 1; i >= 0; i--) if (Object.prototype.hasOwnProperty.call(ls[i], key)) return ls[i][key]
      return MISSING
    },
    () => {
      if (!keys) {
        // the merged object's key order: first appearance, low precedence first
        const seen = new Set<string>()
        for (const l of ls) for (const k of Object.keys(l)) seen.add(k)
        keys = [...seen]
      }
      return keys
    },
    opts,
  )
}

const MISSING = Symbol('missing')

/** The traps that keep a view of variables read-only. */
const READ_ONLY: Pick<ProxyHandler<Vars>, 'set' | 'defineProperty' | 'deleteProperty'> = {
  set() {
    throw new Error('variables are read-only here')
  },
  defineProperty() {
    throw new Error('variables are read-only here')
  },
  deleteProperty() {
    throw new Error('variables are read-only here')
  },
}

function makeView(find: (key: string) => unknown, ownKeys: () => (string | symbol)[], opts: ViewOptions): Vars {
  const cache = new Map<string, unknown>()
  const resolving = new Set<string>()
  let root: Vars
  const resolve = (key: string, value: unknown): unknown => {
    if (cache.has(key)) return cache.get(key)
    if (resolving.has(key)) throw new TemplateError(`recursive loop detected in template: variable '${key}' refers to itself`)
    resolving.add(key)
    try {
      const v = deepResolve(value, root, opts)
      cache.set(key, v)
      return v
    } finally {
      resolving.delete(key)
    }
  }
  root = new Proxy({} as Vars, {
    get(_t, key) {
      if (typeof key !== 'string') return undefined
      const v = find(key)
      return v === MISSING ? undefined : resolve(key, v)
    },
    has(_t, key) {
      return typeof key === 'string' && find(key) !== MISSING
    },
    ownKeys() {
      return ownKeys()
    },
    getOwnPropertyDescriptor(_t, key) {
      if (typeof key !== 'string') return undefined
      const v = find(key)
      // the raw value, as the merged object's descriptor gave it (readers take values through get)
      return v === MISSING ? undefined : { value: v, writable: false, enumerable: true, configurable: true }
    },
    ...READ_ONLY,
  })
  OPAQUE.add(root)
  // the template engine reads a name through here: the value templated once, or an Undefined
  // (Ansible's AnsibleJ2Vars) where its template read an undefined variable
  VIEW_READERS.set(root, (key) => {
    try {
      return root[key]
    } catch (e) {
      if (e instanceof TemplateError && e.cause instanceof UndefinedError) {
        const raw = find(key)
        return new Undefined(key, NO_OBJ, 0, 0, `${typeof raw === 'string' ? raw : pyStr(raw)}: ${e.message}`)
      }
      throw e
    }
  })
  return root
}

// Host data (UnsafeString) stays wrapped: the template engine reads it as text and never renders it.
// `lenient` is Ansible's fail_on_undefined=False (hostvars): a string whose template reads an
// undefined variable stays as written.
function deepResolve(value: unknown, root: Vars, opts: ViewOptions): unknown {
  // a view made here (hostvars, a host's variables) templates its own values, with its own variables,
  // on access: walking it here would render every variable of every host, on the first read of
  // `hostvars` in every task's view
  if (value instanceof UnsafeString || (typeof value === 'object' && value !== null && OPAQUE.has(value))) return value
  if (typeof value === 'string') {
    if (!isTemplated(value)) return value
    const to = opts.searchPath ? { searchPath: opts.searchPath } : undefined
    if (!opts.lenient) return templateValue(value, root, to)
    try {
      return templateValue(value, root, to)
    } catch (e) {
      if (e instanceof TemplateError && e.cause instanceof UndefinedError) return value
      throw e
    }
  }
  if (Array.isArray(value)) {
    return value.some(needsWork) ? value.map((v) => deepResolve(v, root, opts)) : value
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (!Object.values(value).some(needsWork)) return value
    const out: Vars = {}
    for (const [k, v] of Object.entries(value)) out[k] = deepResolve(v, root, opts)
    return out
  }
  return value
}

function needsWork(v: unknown): boolean {
  if (typeof v === 'string') return isTemplated(v)
  if (typeof v === 'object' && v !== null && OPAQUE.has(v)) return false
  if (Array.isArray(v)) return v.some(needsWork)
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v).some(needsWork)
  return false
}

/**
 * Ansible's `vars`: every variable of the task as it is stored, not templated — VariableManager puts
 * a copy of all the task's variables there, so in Ansible 2.14 `{{ vars['a'] }}` of `a: "{{ b }}"`
 * is the text "{{ b }}" (checked against ansible-playbook: test/executor/vars-magic.test.ts). Read
 * through the task's own view (`view`, set once the view exists); `vars` is not among its own keys.
 * Host data stays wrapped as stored, so reading it through `vars` taints the render as ever; a key a
 * host chose cannot take a secret out of it (NAME_VIEWS, template/runtime.ts).
 */
export function rawVarsView(view: () => Vars): Vars {
  const raw = (key: string): PropertyDescriptor | undefined => (key === 'vars' ? undefined : Object.getOwnPropertyDescriptor(view(), key))
  const proxy = new Proxy({} as Vars, {
    get(_t, key) {
      return typeof key === 'string' ? raw(key)?.value : undefined
    },
    has(_t, key) {
      return typeof key === 'string' && raw(key) !== undefined
    },
    ownKeys() {
      return Reflect.ownKeys(view()).filter((k) => k !== 'vars')
    },
    getOwnPropertyDescriptor(_t, key) {
      const d = typeof key === 'string' ? raw(key) : undefined
      return d && { value: d.value, writable: false, enumerable: true, configurable: true }
    },
    ...READ_ONLY,
  })
  OPAQUE.add(proxy)
  NAME_VIEWS.add(proxy)
  return proxy
}

/**
 * `hostvars`: every host's variables, built by `build` on each access (the caller keeps what may be
 * kept: a host's variables change as the run goes).
 */
export function hostvarsProxy(hosts: string[], build: (host: string) => Vars): Vars {
  const set = new Set(hosts)
  const proxy = new Proxy({} as Vars, {
    get(_t, key) {
      if (typeof key !== 'string' || !set.has(key)) return undefined
      return build(key)
    },
    has(_t, key) {
      return typeof key === 'string' && set.has(key)
    },
    ownKeys() {
      return [...set]
    },
    getOwnPropertyDescriptor(_t, key) {
      return typeof key === 'string' && set.has(key) ? { enumerable: true, configurable: true } : undefined
    },
  })
  OPAQUE.add(proxy)
  return proxy
}
