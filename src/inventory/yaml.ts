// The YAML inventory format (Ansible's `yaml` inventory plugin): top-level groups, each with
// `hosts`, `vars` and `children`, recursive. Walks the document with Maps so key order and key
// types are those written in the file, and points every problem at its YAML line.
import { didYouMean } from '../errors.js'
import type { YamlFile, YamlPath } from '../yamlfile.js'
import { YAML_LIMITS } from '../yamlfile.js'
import { expandHostRange, parseAddress } from './address.js'
import type { InventoryBuilder } from './builder.js'

const SECTIONS = ['hosts', 'vars', 'children']

/** Document as Maps (keys in file order, with their YAML types); nested vars become plain objects later. */
export function yamlAsMaps(yf: YamlFile): unknown {
  return yf.doc.toJS({ mapAsMap: true, maxAliasCount: YAML_LIMITS.maxAliasCount })
}

/** Maps (from mapAsMap) back to plain objects for variable values. */
export function toPlain(v: unknown): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {}
    for (const [k, x] of v) o[keyText(k)] = toPlain(x)
    return o
  }
  if (Array.isArray(v)) return v.map(toPlain)
  return v
}

function keyText(k: unknown): string {
  return typeof k === 'string' ? k : k === null ? 'null' : String(k)
}

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (v instanceof Map) return 'mapping'
  if (Array.isArray(v)) return 'list'
  return typeof v === 'object' ? 'object' : typeof v
}

export function parseYamlInventory(b: InventoryBuilder, yf: YamlFile, data: unknown): void {
  const diags = b.diags
  const at = (path: YamlPath, key = false) => () => yf.pos(path, { key })
  if (data === null || data === undefined || (data instanceof Map && data.size === 0)) {
    diags.warn('inventory file is empty', at([])())
    return
  }
  if (!(data instanceof Map)) {
    diags.error(`YAML inventory must be a mapping of group names, found a ${typeName(data)}`, at([])(), 'e.g. "all: {hosts: {web1: }}"')
    return
  }
  if (data.has('plugin')) {
    diags.error('inventory plugin configuration files are not supported', at(['plugin'], true)(), 'list hosts and groups in the YAML inventory format')
    return
  }

  const parseGroup = (name: unknown, gdata: unknown, path: (string | number)[]): string | undefined => {
    if (typeof name !== 'string' || name === '') {
      diags.error(`group name must be a non-empty string, found ${JSON.stringify(name)}`, at(path, true)(), 'quote it')
      return undefined
    }
    if (!(gdata instanceof Map) && gdata !== null && gdata !== undefined) {
      diags.error(
        `group "${name}" must be a mapping with hosts, vars or children, found a ${typeName(gdata)}`,
        at(path)(),
        Array.isArray(gdata) ? 'hosts go under "hosts:" as a mapping: "hosts: {web1: , web2: }"' : undefined,
      )
      return undefined
    }
    b.addGroup(name, { yf, path }, at(path, true))
    if (!(gdata instanceof Map)) return name
    for (const [key, raw] of gdata) {
      const kpath = [...path, keyText(key)]
      if (typeof key !== 'string' || !SECTIONS.includes(key)) {
        const k = keyText(key)
        diags.error(
          `unknown key "${k}" in group "${name}"`,
          at(kpath, true)(),
          didYouMean(k, SECTIONS) ?? 'a group holds only "hosts", "vars" and "children"; put a host under "hosts:"',
        )
        continue
      }
      // Ansible accepts a single name as a string: `hosts: web1`
      const value = typeof raw === 'string' ? new Map([[raw, null]]) : raw
      if (value === null || value === undefined) continue
      if (!(value instanceof Map)) {
        diags.error(
          `"${key}" of group "${name}" must be a mapping, found a ${typeName(value)}`,
          at(kpath)(),
          Array.isArray(value) ? `write one entry per line: "${key}:\\n  name1:\\n  name2:"` : undefined,
        )
        continue
      }
      if (key === 'vars') {
        for (const [vk, vv] of value) b.setGroupVar(name, keyText(vk), toPlain(vv), at([...kpath, keyText(vk)]))
      } else if (key === 'children') {
        for (const [ck, cv] of value) {
          const cpath = [...kpath, keyText(ck)]
          const child = parseGroup(ck, cv, cpath)
          if (child !== undefined) b.addChild(name, child, at(cpath, true))
        }
      } else {
        for (const [hk, hv] of value) {
          const hpath = [...kpath, keyText(hk)]
          if (typeof hk !== 'string') {
            diags.error(`host name ${keyText(hk)} must be a string`, at(hpath, true)(), 'enclose numbers in quotes')
            continue
          }
          if (hv !== null && hv !== undefined && !(hv instanceof Map)) {
            diags.error(
              `variables of host "${hk}" must be a mapping, found a ${typeName(hv)}`,
              at(hpath)(),
              'write "host:" alone, or "host: {var: value}"',
            )
            continue
          }
          const names = expandHost(hk, at(hpath, true), b)
          for (const h of names.hosts) {
            b.addHost(h, name, names.port, { yf, path: hpath })
            if (hv instanceof Map) for (const [vk, vv] of hv) b.setHostVar(h, keyText(vk), toPlain(vv))
          }
        }
      }
    }
    return name
  }

  for (const [name, gdata] of data) parseGroup(name, gdata, [keyText(name)])
}

/** Host key → names (ranges expanded) and an optional `:port`, as _expand_hostpattern does. */
export function expandHost(pattern: string, where: () => import('../errors.js').SourcePos, b: InventoryBuilder): { hosts: string[]; port?: number } {
  const addr = parseAddress(pattern, true)
  const host = addr ? addr.host : pattern
  if (!host.includes('[')) return { hosts: [host], port: addr?.port }
  try {
    const hosts = expandHostRange(host)
    if (hosts.length === 0) b.diags.warn(`host range "${host}" is empty`, where(), 'the end is smaller than the begin')
    return { hosts, port: addr?.port }
  } catch (e) {
    b.diags.error(`bad host range "${pattern}": ${(e as Error).message}`, where(), 'ranges look like node[01:10], node[1:9:2] or db-[a:f]')
    return { hosts: [] }
  }
}
