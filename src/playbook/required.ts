// Required secrets a role declares (meta/argument_specs.yml, entry point `main`: an option with
// `required: true` and `no_log: true`) that are certainly empty on a host the role runs on: set to
// "" or null, or read with `lookup('env', NAME)` from a variable not set in this environment. A run
// with them would start K3S servers without a token or a datastore (each its own one-node
// cluster), so validate refuses it, naming the variable and how to set it.
//
// Narrow on purpose (strict means certainly wrong): only the declared secrets, only values known
// without a host (a literal, or exactly one env lookup); a value any task may set at run time, or a
// role applied under `when`, makes it a warning.
import { join } from 'node:path'
import type { Diagnostics, SourcePos } from '../errors.js'
import { hostInventoryVars, resolvePattern } from '../inventory/index.js'
import type { Inventory, Play, Playbook, RoleContext, Vars } from '../model.js'
import { getModule } from '../modules/registry.js'
import { isTemplated } from '../template/index.js'
import { YamlFile } from '../yamlfile.js'
import { firstFile } from './files.js'
import { isMap, playItems, walkItems } from './load.js'

export interface RequiredSecret {
  name: string
  description?: string
}

/** The `main` entry point's options that are required secrets (required + no_log). */
export function requiredSecrets(roleDir: string): RequiredSecret[] {
  const file = firstFile(['argument_specs.yml', 'argument_specs.yaml', 'main.yml', 'main.yaml'].map((f) => join(roleDir, 'meta', f)))
  if (!file) return []
  let specs: unknown
  try {
    const yf = YamlFile.read(file)
    specs = isMap(yf.value) ? yf.value.argument_specs : undefined
  } catch {
    return [] // the loader reports unreadable role files
  }
  const main = isMap(specs) ? specs.main : undefined
  const options = isMap(main) ? main.options : undefined
  if (!isMap(options)) return []
  return Object.entries(options)
    .filter(([, o]) => isMap(o) && o.required === true && o.no_log === true)
    .map(([name, o]) => ({ name, description: typeof (o as Vars).description === 'string' ? ((o as Vars).description as string) : undefined }))
}

const ENV_LOOKUP = /^\{\{\s*(?:lookup|query|q)\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$/

/** Why a value is certainly empty ('' / null / an unset env variable), or undefined when it may not be. */
export function certainlyEmpty(value: unknown, env: NodeJS.ProcessEnv = process.env): { envVar?: string } | undefined {
  if (value === null || value === undefined || value === '') return {}
  if (typeof value !== 'string' || !isTemplated(value)) return undefined
  const m = ENV_LOOKUP.exec(value.trim())
  if (m && !env[m[1]]) return { envVar: m[1] }
  return undefined
}

export function checkRequiredSecrets(playbook: Playbook, inv: Inventory, extraVars: Vars, diags: Diagnostics): void {
  const setAtRunTime = namesSetByTasks(playbook)
  const reported = new Set<string>() // variable + host: said once, by the first role that needs it
  for (const play of playbook.plays) {
    if (!play.hosts || isTemplated(play.hosts)) continue
    let hosts: string[]
    try {
      hosts = resolvePattern(inv, play.hosts, { baseDir: playbook.dir })
    } catch {
      continue // checkPatterns reports it
    }
    const seen = new Set<string>()
    for (const role of play.roles) {
      if (seen.has(role.path)) continue
      seen.add(role.path)
      for (const secret of requiredSecrets(role.path)) checkOne(play, role, secret, hosts, inv, playbook, extraVars, setAtRunTime, reported, diags)
    }
  }
}

function checkOne(
  play: Play,
  role: RoleContext,
  secret: RequiredSecret,
  hosts: string[],
  inv: Inventory,
  playbook: Playbook,
  extraVars: Vars,
  setAtRunTime: Set<string> | 'any',
  reported: Set<string>,
  diags: Diagnostics,
): void {
  const v = secret.name
  const empty = new Map<string, { envVar?: string }>()
  for (const h of hosts) {
    const value = valueFor(v, h, play, role, inv, playbook, extraVars)
    if (!value.found && value.value === undefined) continue // undefined: the undefined-variable check's business
    const why = certainlyEmpty(value.value)
    if (!why || reported.has(`${v}\0${h}`)) continue
    reported.add(`${v}\0${h}`)
    empty.set(h, why)
  }
  if (!empty.size) return
  const envVars = [...new Set([...empty.values()].map((w) => w.envVar).filter((e): e is string => !!e))]
  const on = [...empty.keys()]
  const where = on.length > 3 ? `${on.slice(0, 3).join(', ')} and ${on.length - 3} more` : on.join(', ')
  const because = envVars.length ? `${envVars.join(', ')} ${envVars.length === 1 ? 'is' : 'are'} not set in the environment` : 'it is set to an empty value'
  const msg = `required secret "${v}" (role ${role.name}) is empty on ${where}: ${because}`
  const hint = envVars.length
    ? `export ${envVars[0]}=… before the run, or pass ${v} in a vault file: -e @secrets.yml`
    : `set ${v} for these hosts (e.g. "{{ lookup('env', 'K3SBOOK_…') }}" in group_vars) or pass it in a vault file: -e @secrets.yml`
  const pos = rolePos(play, role)
  const maybeSet = setAtRunTime === 'any' || setAtRunTime.has(v)
  if (maybeSet || roleUnderWhen(play, role))
    diags.warn(`${msg} (unless ${maybeSet ? 'a task sets it at run time' : "the role's condition skips it"})`, pos, hint)
  else diags.error(msg, pos, hint)
}

/** The variable's value for a host, in Ansible's precedence among what is known before a run. */
function valueFor(
  v: string,
  host: string,
  play: Play,
  role: RoleContext,
  inv: Inventory,
  playbook: Playbook,
  extraVars: Vars,
): { found: boolean; value: unknown } {
  if (v in extraVars) return { found: true, value: extraVars[v] }
  for (const r of [role.params, role.vars]) if (v in r) return { found: true, value: r[v] }
  for (const f of [...play.varsFiles].reverse()) if (v in f.vars) return { found: true, value: f.vars[v] }
  if (v in play.vars) return { found: true, value: play.vars[v] }
  const hv = hostInventoryVars(inv, host, playbook.dir)
  if (v in hv) return { found: true, value: hv[v] }
  if (v in role.defaults) return { found: true, value: role.defaults[v] }
  return { found: false, value: undefined }
}

/** Names some task may set when it runs (register, set_fact, include_vars …); 'any' when unknowable. */
function namesSetByTasks(playbook: Playbook): Set<string> | 'any' {
  const out = new Set<string>()
  for (const play of playbook.plays) {
    for (const it of walkItems([...playItems(play), ...play.handlers])) {
      if (it.kind === 'include' && !it.preloaded) return 'any'
      if (it.kind !== 'task') continue
      if (it.register) out.add(it.register)
      const mod = getModule(it.module)
      if (it.unsupported || mod?.namesAtRun) return 'any'
      if (mod?.setsVars) {
        if (Object.keys(it.args).some(isTemplated)) return 'any'
        for (const k of mod.setsVars(it.args)) out.add(k)
      }
    }
  }
  return out
}

/** The `roles:` entry of the play that applies this role (its position; its `when`). */
function roleEntry(play: Play, role: RoleContext): { index: number; entry: unknown } | undefined {
  const raw = play.src.yf.value
  let cur: unknown = raw
  for (const seg of play.src.path) cur = isMap(cur) || Array.isArray(cur) ? (cur as Record<string | number, unknown>)[seg] : undefined
  const roles = isMap(cur) && Array.isArray(cur.roles) ? cur.roles : []
  const index = roles.findIndex((e) => (typeof e === 'string' ? e : isMap(e) ? (e.role ?? e.name) : undefined) === role.name)
  return index < 0 ? undefined : { index, entry: roles[index] }
}

function roleUnderWhen(play: Play, role: RoleContext): boolean {
  const e = roleEntry(play, role)
  return !!e && isMap(e.entry) && e.entry.when !== undefined
}

function rolePos(play: Play, role: RoleContext): SourcePos {
  const e = roleEntry(play, role)
  return play.src.yf.pos(e ? [...play.src.path, 'roles', e.index] : play.src.path)
}
