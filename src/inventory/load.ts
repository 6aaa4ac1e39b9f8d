// Reads `-i` sources into one Inventory: YAML or INI files, folders of them (as Ansible walks
// them), and `host1,host2,` lists; then loads the group_vars/ and host_vars/ beside each source
// once, so every problem is reported before any host is contacted.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import { didYouMean, Diagnostics } from '../errors.js'
import type { Inventory } from '../model.js'
import { displayPath, YamlFile } from '../yamlfile.js'
import { parseAddress } from './address.js'
import { InventoryBuilder } from './builder.js'
import { parseIniInventory } from './ini.js'
import { sourceDirs } from './vars.js'
import { parseYamlInventory, yamlAsMaps } from './yaml.js'

// Ansible's IGNORED for folder sources: hidden files, vars folders, and INVENTORY_IGNORE_EXTS.
const IGNORED = /^\.|^host_vars$|^group_vars$|^vars_plugins$|\.pyc$|\.pyo$|\.swp$|\.bak$|~$|\.rpm$|\.md$|\.txt$|\.rst$|\.orig$|\.ini$|\.cfg$|\.retry$/
const YAML_EXTS = ['.yml', '.yaml', '.json']

export function loadInventory(sources: string[], diags: Diagnostics): Inventory {
  const b = new InventoryBuilder(diags)
  const kept: string[] = []
  for (const source of sources) {
    if (!source) continue
    if (source.includes(',') && !existsSync(source)) {
      kept.push(source)
      parseHostList(b, source)
      continue
    }
    const abs = resolve(source)
    kept.push(abs)
    parseSource(b, abs, true)
  }
  const inv = b.finish(kept)
  preloadVarsFiles(inv, diags)
  return inv
}

function parseSource(b: InventoryBuilder, path: string, top: boolean): void {
  let st
  try {
    st = statSync(path)
  } catch {
    b.diags.error(`inventory source not found: ${displayPath(path)}`, undefined, 'give a file, a folder, or a comma-separated host list such as "host1,host2,"')
    return
  }
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name)
      if (IGNORED.test(name)) {
        if (name.endsWith('.ini') && top)
          b.diags.warn(`${displayPath(full)} skipped: Ansible ignores *.ini files in an inventory folder`, undefined, `pass it with -i ${displayPath(full)}, or rename it`)
        continue
      }
      parseSource(b, full, false)
    }
    return
  }
  b.currentSource = { file: path, dir: dirname(path) }
  parseFile(b, path)
  b.currentSource = { file: null, dir: null }
}

function parseFile(b: InventoryBuilder, file: string): void {
  const display = displayPath(file)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    b.diags.error(`cannot read inventory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: display, line: 1, col: 1 })
    return
  }
  const ext = extname(file)
  if (ext === '.toml') {
    b.diags.error('TOML inventories are not supported', { file: display, line: 1, col: 1 }, 'use the YAML or INI inventory format')
    return
  }
  if (YAML_EXTS.includes(ext)) {
    const yf = new YamlFile(file, text)
    if (!yf.check(b.diags)) return
    parseYamlInventory(b, yf, yamlAsMaps(yf))
    return
  }
  if (ext === '') {
    // Ansible tries the YAML plugin first for files without an extension, then INI.
    const trial = new Diagnostics()
    const yf = new YamlFile(file, text)
    if (yf.check(trial)) {
      const data = yamlAsMaps(yf)
      if (data instanceof Map && data.size > 0) {
        for (const d of trial.items) b.diags.items.push(d)
        parseYamlInventory(b, yf, data)
        return
      }
    }
  }
  parseIniInventory(b, file, text)
}

function parseHostList(b: InventoryBuilder, list: string): void {
  b.currentSource = { file: list, dir: null }
  for (const raw of list.split(',')) {
    const h = raw.trim()
    if (!h) continue
    const addr = parseAddress(h, false)
    const name = addr ? addr.host : h
    if (!b.hosts.has(name)) b.addHost(name, 'ungrouped', addr?.port)
  }
  b.currentSource = { file: null, dir: null }
}

/**
 * Parse the vars files that apply to this inventory's groups and hosts now, so their errors are
 * reported by validate; a group_vars/ entry that matches no group but nearly matches one is a warning.
 */
function preloadVarsFiles(inv: Inventory, diags: Diagnostics): void {
  for (const d of sourceDirs(inv)) {
    for (const g of inv.groups.keys()) d.varsFor('group_vars', g, diags)
    for (const h of inv.hosts.keys()) d.varsFor('host_vars', h, diags)
    for (const [kind, names] of [
      ['group_vars', [...inv.groups.keys()]],
      ['host_vars', [...inv.hosts.keys()]],
    ] as const) {
      const l = d.listing(kind)
      if (!l) continue
      const known = new Set(names)
      for (const entry of l.keys()) {
        if (entry.startsWith('.')) continue
        const stem = YAML_EXTS.includes(extname(entry)) ? entry.slice(0, -extname(entry).length) : entry
        if (known.has(stem) || known.has(entry)) continue
        const hint = didYouMean(stem, names)
        if (hint)
          diags.warn(
            `${kind}/${entry} matches no ${kind === 'group_vars' ? 'group' : 'host'} in the inventory`,
            { file: displayPath(join(d.base, kind, entry)), line: 1, col: 1 },
            hint,
          )
      }
    }
  }
}
