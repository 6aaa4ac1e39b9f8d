// Variable views for the template engine: names looked up only when a template reads them.
import type { Vars } from '../model.js'
import { OPAQUE } from '../secrets.js'
import { NOT_READ, VIEW_READERS } from './runtime.js'

/**
 * `base` with a few names below it (`under`: used only where `base` has no such name) and above it
 * (`over`), without reading `base`: a name is looked up in `base` only when it is read. Spreading
 * a lazy view (`{ ...vars }`) instead templates every variable it holds — a template task did that
 * for every host and loop item (issue 18: the tinc mesh task at 150 hosts, 22,500 items).
 */
export function layeredView(base: Vars, over: Vars, under: Vars = {}): Vars {
  const own = Object.prototype.hasOwnProperty
  const has = (key: string) => own.call(over, key) || own.call(base, key) || own.call(under, key)
  const proxy = new Proxy({} as Vars, {
    get(_t, key) {
      if (typeof key !== 'string') return undefined
      if (own.call(over, key)) return over[key]
      if (own.call(base, key)) return base[key]
      return own.call(under, key) ? under[key] : undefined
    },
    has(_t, key) {
      return typeof key === 'string' && has(key)
    },
    ownKeys() {
      return [...new Set([...Object.keys(under), ...Reflect.ownKeys(base).filter((k): k is string => typeof k === 'string'), ...Object.keys(over)])]
    },
    getOwnPropertyDescriptor(_t, key) {
      return typeof key === 'string' && has(key) ? { enumerable: true, configurable: true } : undefined
    },
    set() {
      throw new Error('variables are read-only here')
    },
  })
  OPAQUE.add(proxy)
  // the base view's values are templated once, by the base (see VIEW_READERS)
  const baseRead = VIEW_READERS.get(base)
  if (baseRead) VIEW_READERS.set(proxy, (key) => (own.call(over, key) ? NOT_READ : own.call(base, key) ? baseRead(key) : NOT_READ))
  return proxy
}
