// A project = a playbook, its inventories and extra vars, loaded and checked together before any
// host is contacted. Also where defaults come from: the playbook looked up in playbooks/, the
// inventory from k3sbook.yml or ansible.cfg, roles_path from ANSIBLE_ROLES_PATH or ansible.cfg.
import { trace } from '../trace.js'
import { loadAnsibleCfg } from '../config/ansible.js'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { Diagnostics, ValidationError, formatDiagnostic, type SourcePos } from '../errors.js'
import { loadInventory } from '../inventory/index.js'
import type { Include, Inventory, Playbook, TaskItem, Vars } from '../model.js'
import { displayPath, YamlFile } from '../yamlfile.js'
import { checkProject } from './check.js'
import { firstFile, isFile } from './files.js'
import { parseKv } from '../kv.js'
import { isMap, loadPlaybook, loadTaskFileAtRuntime, loadRoleAtRuntime } from './load.js'

export interface ProjectOptions {
  playbook: string
  inventories: string[]
  /** Each `k=v k2=v2`, `@file.yml|json`, or JSON/YAML mapping text (like ansible-playbook -e). */
  extraVars: string[]
  limit?: string
  tags?: string[]
  skipTags?: string[]
  /** Working folder for defaults (ansible.cfg, k3sbook.yml); process.cwd() by default. */
  cwd?: string
}

export interface Project {
  playbook: Playbook
  inventory: Inventory
  extraVars: Vars
  playbookDir: string
}

/**
 * Load everything and run every static check. Problems go to `diags`; the project is returned
 * whenever the playbook could be read at all, so callers decide based on `diags.hasErrors`.
 */
export function loadProject(opts: ProjectOptions, diags: Diagnostics): Project | undefined {
  const cwd = opts.cwd ?? process.cwd()
  const before = diags.errors.length
  const extraVars = parseExtraVars(opts.extraVars, diags, cwd)
  const extraVarsBroken = diags.errors.length > before
  const file = resolvePlaybook(opts.playbook, cwd)
  if (!file) {
    diags.error(`playbook "${opts.playbook}" not found`, undefined, `looked for ${opts.playbook} and playbooks/${opts.playbook}`)
    return undefined
  }
  const beforeInv = diags.errors.length
  const inventory = loadInventory(
    opts.inventories.map((i) => (i.includes(',') && !isFile(resolve(cwd, i)) ? i : resolve(cwd, i))),
    diags,
  )
  const inventoryBroken = diags.errors.length > beforeInv
  trace('inventory loaded')
  const playbook = loadPlaybook(file, diags, { rolesPath: rolesPath(cwd), extraVars })
  if (!playbook) return undefined
  trace('playbook loaded')
  // without an inventory, patterns can't be resolved and inventory variables are unknown
  if (!opts.inventories.length) diags.warn('no inventory given: host patterns and undefined variables are not checked', undefined, 'pass -i INVENTORY')
  checkProject(
    { playbook, inventory: opts.inventories.length && !inventoryBroken ? inventory : undefined, extraVars, varsIncomplete: extraVarsBroken || inventoryBroken },
    diags,
  )
  return { playbook, inventory, extraVars, playbookDir: playbook.dir }
}

/** As given, else with .yml/.yaml added, else under playbooks/. */
export function resolvePlaybook(name: string, cwd = process.cwd()): string | undefined {
  const bases = isAbsolute(name) ? [name] : [resolve(cwd, name), resolve(cwd, 'playbooks', name)]
  return firstFile(bases.flatMap((b) => [b, `${b}.yml`, `${b}.yaml`]))
}

/**
 * Problems in the Nth -e value are reported at `-e#N:line:col` (a position inside that value), so
 * command-line mistakes have the same shape as file ones.
 */
export function parseExtraVars(specs: string[], diags: Diagnostics, cwd = process.cwd()): Vars {
  let out: Vars = {}
  specs.forEach((spec, i) => {
    const label = `-e#${i + 1}`
    const where: SourcePos = { file: label, line: 1, col: 1 }
    const s = spec.trim()
    if (s.startsWith('@')) {
      const file = resolve(cwd, s.slice(1))
      let yf: YamlFile
      try {
        yf = YamlFile.read(file)
      } catch (e) {
        diags.error(`extra vars file "${s.slice(1)}" cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, where)
        return
      }
      if (!yf.check(diags)) return
      if (yf.value === null) return
      if (!isMap(yf.value)) {
        diags.error('an extra vars file must be a mapping', yf.pos([]))
        return
      }
      out = { ...out, ...(yf.value as Vars) }
    } else if (s.startsWith('{') || s.startsWith('[')) {
      const yf = new YamlFile(label, s)
      if (!yf.check(diags)) return
      if (!isMap(yf.value)) {
        diags.error('extra vars must be a mapping', where)
        return
      }
      out = { ...out, ...(yf.value as Vars) }
    } else if (s) {
      const kv = parseKv(s)
      if (kv._raw_params !== undefined) {
        diags.error(`"${kv._raw_params}" is not name=value`, where, 'use -e name=value, -e @vars.yml or -e \'{"name": "value"}\'')
        delete kv._raw_params
      }
      out = { ...out, ...kv }
    }
  })
  return out
}

// ---------------------------------------------------------------- configuration defaults

/**
 * Inventory when no -i is given: ANSIBLE_INVENTORY, then `inventory:` in k3sbook.yml or
 * .k3sbook.yml, then `[defaults] inventory =` in ansible.cfg (ANSIBLE_CONFIG or ./ansible.cfg).
 * Paths are relative to the file that names them.
 */
export function defaultInventory(cwd: string): string[] | undefined {
  const env = process.env.ANSIBLE_INVENTORY
  if (env)
    return env
      .split(',')
      .map((p) => resolve(cwd, p.trim()))
      .filter(Boolean)
  for (const name of ['k3sbook.yml', '.k3sbook.yml']) {
    const f = join(cwd, name)
    if (!isFile(f)) continue
    const yf = YamlFile.read(f)
    const v = yf.check(new Diagnostics()) ? yf.value : undefined
    const inv = isMap(v) ? v.inventory : undefined
    const list = typeof inv === 'string' ? [inv] : Array.isArray(inv) ? inv.filter((x): x is string => typeof x === 'string') : []
    if (list.length) return list.map((p) => resolve(cwd, p))
  }
  const cfg = ansibleCfg(cwd)
  const inv = cfg?.values.defaults?.inventory
  if (cfg && inv) return inv.split(',').map((p) => resolve(dirname(cfg.file), expandHome(p.trim())))
  return undefined
}

/** Role folders from ANSIBLE_ROLES_PATH and ansible.cfg's roles_path (colon-separated). */
export function rolesPath(cwd: string): string[] {
  const env = process.env.ANSIBLE_ROLES_PATH
  if (env)
    return env
      .split(':')
      .filter(Boolean)
      .map((p) => resolve(cwd, expandHome(p)))
  const cfg = ansibleCfg(cwd)
  const rp = cfg?.values.defaults?.roles_path
  return rp
    ? rp
        .split(':')
        .filter(Boolean)
        .map((p) => resolve(dirname(cfg.file), expandHome(p)))
    : []
}

function expandHome(p: string): string {
  return p.startsWith('~/') ? join(process.env.HOME ?? '/', p.slice(2)) : p
}

/** The ansible.cfg Ansible would read (see src/config/ansible.ts); sections → lower-cased keys → values. */
export function ansibleCfg(cwd: string): { file: string; values: Record<string, Record<string, string>> } | undefined {
  return loadAnsibleCfg(cwd)
}

// ---------------------------------------------------------------- run time

/** The executor's hook for include_tasks whose file name is known only at run time. */
export function loadTasksAtRuntime(file: string, include: Include): TaskItem[] {
  const diags = new Diagnostics()
  const items =
    include.what === 'role'
      ? loadRoleAtRuntime(file, include, diags, { rolesPath: rolesPath(process.cwd()) })
      : loadTaskFileAtRuntime(file, include, diags, { rolesPath: rolesPath(process.cwd()) })
  if (diags.hasErrors)
    throw new ValidationError(`${include.what === 'role' ? 'include_role' : 'include_tasks'} ${displayPath(file)}: ${diags.errors.length} problem(s)`, {
      pos: include.src.yf.pos(include.src.path),
      hint: diags
        .sorted()
        .filter((d) => d.severity === 'error')
        .slice(0, 5)
        .map(formatDiagnostic)
        .join('; '),
    })
  return items
}
