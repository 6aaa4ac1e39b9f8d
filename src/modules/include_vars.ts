// `include_vars`: loads variables from YAML/JSON files on the control machine (one file, or every
// file of a directory) into the host's variables, as Ansible's include_vars action does: a file is
// looked up in the role's vars/ first (then the role, the task file's folder, the playbook's), a
// directory is taken under the role's vars/ (or beside the task file), walked in sorted order.
// Controller only; never a change. The variables' names are known only once the files are read.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { extname, isAbsolute, join, normalize } from 'node:path'
import { Diagnostics } from '../errors.js'
import type { Vars } from '../model.js'
import { isHostFile } from '../hostfiles.js'
import { wrapHostData } from '../template/taint.js'
import { loadYaml } from '../yamlfile.js'
import type { Plan, PlanContext } from './types.js'
import { ArgError, bool, choice, defineModule, guardPlan, int, moduleSchema, optBool, pyRegex, str, strList, toInt, toList } from './lib/index.js'
import { trimEndOf } from '../text.js'
import { unwrapUnsafe } from '../template/taint.js'

const VALID_EXT = ['yaml', 'yml', 'json']

/** Where a relative vars file is looked for, in Ansible's order (_find_needle('vars', name)). */
export function varsCandidates(name: string, ctx: Pick<PlanContext, 'task' | 'vars'>): string[] {
  if (isAbsolute(name)) return [name]
  const out: string[] = []
  for (let r = ctx.task.role; r; r = r.parent) out.push(join(r.path, 'vars', name), join(r.path, name))
  out.push(join(ctx.task.baseDir, 'vars', name), join(ctx.task.baseDir, name))
  const pb = ctx.vars.playbook_dir
  if (typeof pb === 'string') out.push(join(pb, 'vars', name), join(pb, name))
  return [...new Set(out.map((p) => normalize(p)))]
}

/** The directory `dir:` names (Ansible's _set_root_dir). */
export function varsDir(dir: string, ctx: Pick<PlanContext, 'task'>): string {
  const role = ctx.task.role
  if (role) {
    if (dir.split('/')[0] === 'vars') {
      const p = join(role.path, dir)
      return existsSync(p) ? p : dir
    }
    return join(role.path, 'vars', dir)
  }
  return isAbsolute(dir) ? dir : join(ctx.task.baseDir, dir)
}

/** os.walk(top) sorted by root, each root's files sorted, limited to `depth` roots deep (0: all), as Ansible's _traverse_dir_depth. */
export function walkSorted(top: string, depth: number): { root: string; files: string[] }[] {
  const all: { root: string; files: string[] }[] = []
  const walk = (dir: string) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    const files: string[] = []
    const dirs: string[] = []
    for (const e of entries) {
      let isDir = e.isDirectory()
      if (e.isSymbolicLink())
        try {
          isDir = statSync(join(dir, e.name)).isDirectory()
        } catch {
          isDir = false
        }
      if (isDir) dirs.push(e.name)
      else files.push(e.name)
    }
    all.push({ root: dir, files })
    // os.walk does not follow links to directories by default
    for (const d of dirs) if (!entries.find((e) => e.name === d)?.isSymbolicLink()) walk(join(dir, d))
  }
  walk(top)
  // Python sorts the (root, dirs, files) tuples by root: plain code-point order
  all.sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0))
  const out: typeof all = []
  let n = 0
  for (const r of all) {
    n++
    if (depth !== 0 && n > depth) break
    out.push({ root: r.root, files: [...r.files].sort() })
  }
  return out
}

/** Ansible's combine_vars with hash_behaviour=merge (recursive dict merge) or replace. */
function combine(a: unknown, b: unknown, merge: boolean): unknown {
  if (!merge || !isDict(a) || !isDict(b)) return b
  const out: Vars = { ...a }
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? combine(out[k], v, true) : v
  return out
}
const isDict = (v: unknown): v is Vars => typeof v === 'object' && v !== null && !Array.isArray(v)

class LoadFail extends Error {}

function loadFile(file: string, included: string[], secret: { hidden: boolean }, validExt?: string[]): Vars {
  if (validExt && !validExt.includes(extname(file).slice(1))) throw new LoadFail(`${file} does not have a valid extension: ${validExt.join(', ')}`)
  const diags = new Diagnostics()
  const loaded = loadYaml(file, diags)
  if (!loaded) throw new LoadFail(diags.errors.map((d) => d.message + (d.hint ? ` (${d.hint})` : '')).join('; ') || `cannot load ${file}`)
  if (loaded.yf.encrypted) secret.hidden = true
  let data = loaded.value
  if (data === null || data === undefined || data === '' || data === false) data = {}
  if (!isDict(data)) throw new LoadFail(`${file} must be stored as a dictionary/hash`)
  included.push(file)
  // a file a host wrote here (fetch's copy): its values are host data, never templates
  return isHostFile(file) ? (wrapHostData(data) as Vars) : data
}

const DIR_ARGS = ['dir', 'depth', 'files_matching', 'ignore_files', 'extensions', 'ignore_unknown_extensions']
const FILE_ARGS = ['file', '_raw_params']

export const includeVarsModule = defineModule({
  name: 'include_vars',
  controllerFiles: () => ({ _raw_params: 'read', file: 'read', dir: 'read' }),
  description:
    "Load variables from a YAML/JSON file (or every file of a directory) on the control machine into the host's variables. Changes nothing on the host.",
  controllerOnly: true,
  freeForm: true,
  namesAtRun: true,
  schema: moduleSchema({
    _raw_params: str('The file (free form: `include_vars: vars/debian.yml`).'),
    file: str("The file: relative paths are looked up in the role's vars/, the role, beside the task file, then the playbook's folder."),
    dir: str("A directory whose files are all loaded, in sorted order (relative: under the role's vars/, or beside the task file)."),
    name: str('Put the loaded variables under this one variable (a dictionary) instead of at the top level.'),
    depth: int('With dir: how many directory levels to walk (0, the default: all).'),
    files_matching: str('With dir: only file names this (Python) regular expression matches (re.search).'),
    ignore_files: strList('With dir: file names to skip (regular expressions, anchored at the end).'),
    extensions: strList('With dir: the file extensions that are loaded (default yaml, yml, json).'),
    ignore_unknown_extensions: bool('With dir: skip files with another extension instead of failing.'),
    hash_behaviour: choice(['replace', 'merge'], 'merge: dictionaries are merged recursively into the variables they replace.'),
  }),
  setsVars: (args) => (typeof args.name === 'string' ? [args.name] : []),
  // its arguments come rendered as set_fact's (a with_* item stays unsafe): here they are only names
  plan: (taintedArgs, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      const args = unwrapUnsafe(taintedArgs) as typeof taintedArgs
      const given = Object.keys(args).filter((k) => (args as Vars)[k] !== undefined)
      const dirs = given.filter((k) => DIR_ARGS.includes(k)).length
      const files = given.filter((k) => FILE_ARGS.includes(k)).length
      if (dirs && files) return { status: 'fail', msg: 'You are mixing file only and dir only arguments, these are incompatible' }
      const included: string[] = []
      const secret = { hidden: false }
      let results: Vars = {}
      let err: string | undefined
      try {
        if (args.dir !== undefined) {
          const dir = varsDir(String(args.dir), ctx)
          const depth = toInt(args.depth, 0)
          const matcher = args.files_matching !== undefined ? pyRegex(String(args.files_matching)) : undefined
          const ignore =
            args.ignore_files === undefined
              ? []
              : typeof args.ignore_files === 'string'
                ? args.ignore_files.split(/\s+/).filter(Boolean)
                : toList(args.ignore_files)
          const ignoreRes = ignore.map((p) => pyRegex(`(?:${p})$`))
          const validExt = args.extensions === undefined ? VALID_EXT : toList(args.extensions)
          const ignoreUnknown = optBool(args.ignore_unknown_extensions, false, 'ignore_unknown_extensions')
          if (!existsSync(dir)) throw new LoadFail(`${dir} directory does not exist`)
          if (!statSync(dir).isDirectory()) throw new LoadFail(`${dir} is not a directory`)
          for (const { root, files: names } of walkSorted(dir, depth)) {
            for (const f of names) {
              // a role's vars/main.yml is already loaded with the role
              if (ctx.task.role && join(ctx.task.role.path, f) === join(root, 'vars', 'main.yml')) continue
              if (matcher && !matcher.test(f)) continue
              const p = join(root, f)
              if (!existsSync(p) || ignoreRes.some((r) => r.test(f))) continue
              if (ignoreUnknown && !validExt.includes(extname(f).slice(1))) continue
              Object.assign(results, loadFile(p, included, secret, validExt))
            }
          }
        } else {
          const raw = args.file ?? (typeof args._raw_params === 'string' ? trimEndOf(args._raw_params, '\n') : undefined)
          if (raw === undefined || raw === '') throw new ArgError('include_vars needs a file (free form or file:) or dir:')
          const name = String(raw)
          const found = varsCandidates(name, ctx).find((p) => existsSync(p) && statSync(p).isFile())
          if (!found) throw new LoadFail(`Could not find or access '${name}'\nSearched in:\n\t${varsCandidates(name, ctx).join('\n\t')}`)
          results = loadFile(found, included, secret)
        }
      } catch (e) {
        if (!(e instanceof LoadFail)) throw e
        err = e.message
      }
      if (err !== undefined) return { status: 'fail', msg: err, result: { message: err, ansible_included_var_files: included } }
      if (args.name !== undefined) results = { [String(args.name)]: results }
      if (args.hash_behaviour === 'merge') for (const [k, v] of Object.entries(results)) results[k] = combine(ctx.vars[k], v, true)
      return { status: 'ok', result: { ansible_facts: results, ansible_included_var_files: included, _ansible_no_log: secret.hidden } }
    }),
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})
