// Loads a playbook and everything it pulls in statically (imported playbooks and task files, roles
// and their dependencies, vars_files) into the model, reporting every problem with its position
// instead of stopping at the first. Templated parts (include_tasks with a "{{ }}" file) stay dynamic.
import { isHostFile } from '../hostfiles.js'
import { wrapHostData } from '../template/taint.js'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { asBool } from '../bool.js'
import { Diagnostics, didYouMean, type SourcePos } from '../errors.js'
import type { Block, Handler, Include, LoopSpec, Play, Playbook, RoleContext, Task, TaskItem, Vars } from '../model.js'
import { canonicalModuleName, getModule, moduleNames } from '../modules/registry.js'
import type { Module } from '../modules/types.js'
import { LOOKUPS } from '../template/filters.js'
import { hasLookup, lookupName } from '../template/plugins.js'
import { isTemplated, templateValue } from '../template/index.js'
import type { YamlFile, YamlPath } from '../yamlfile.js'
import { FileCache, findRole, firstFile, knownRoles, roleEscape, roleMainFiles, roleSearchDirs, shown, shownList } from './files.js'
import { ansibleModuleWhere } from './ansiblemods.js'
import { COMMAND_OPTIONS as RAW_OPTION_KEYS } from '../modules/command.js'
import { parseKv } from '../kv.js'
import { roleArgSpecTask } from '../modules/validate_argument_spec.js'
import {
  blockValidator,
  compile,
  HANDLER_KEYWORDS,
  jsType,
  playValidator,
  reportSchema,
  ROLE_ENTRY_KEYWORDS,
  roleMetaValidator,
  TASK_KEYWORDS,
  yamlPosOf,
  type PosOf,
} from './schema.js'

export interface LoadOptions {
  /** Extra folders searched for roles (ANSIBLE_ROLES_PATH, ansible.cfg roles_path). */
  rolesPath?: string[]
  /** Known before any play (extra vars): used to resolve templated import/vars_files names. */
  extraVars?: Vars
}

/** Statement keys that are not modules. */
const INCLUDES = new Set(['include_tasks', 'import_tasks', 'include_role', 'import_role'])
const LOOP_KINDS = new Set(['items', 'list', 'dict', 'indexed_items', 'sequence', 'fileglob', 'subelements', 'nested', 'together'])

interface PlayBuild {
  handlers: Handler[]
  /** Handlers refused by an error of their own: a notify naming them is not a second error. */
  refusedHandlers?: string[]
  roles: RoleContext[]
  /** name + params → already included in this play (a role runs once unless allow_duplicates). */
  seenRoles: Set<string>
  vars: Vars
}

interface Ctx {
  /** Folder of the playbook file holding the play: roles/ is searched beside it. */
  playDir: string
  /** Folder of the file being read: relative task files resolve here first. */
  fileDir: string
  role?: RoleContext
  tags: string[]
  when: string[]
  vars: Vars
  become?: boolean | string
  becomeUser?: string
  becomeMethod?: string
  /** A block's `notify`, taken by tasks inside that set none. */
  notify?: string[]
  handlers: boolean
  /** Inside a block with a `when`, ignore_errors or a rescue, or in a rescue: a failure here may never happen or is caught. */
  guarded?: boolean
  play: PlayBuild
  /** Files being imported (cycle detection). */
  stack: string[]
  /** `module_defaults` of the play and the enclosing blocks, as written, outermost first. */
  moduleDefaults?: unknown[]
}

export function loadPlaybook(file: string, diags: Diagnostics, opts: LoadOptions = {}): Playbook | undefined {
  const loader = new Loader(diags, opts)
  const abs = resolve(file)
  const plays = loader.playbookFile(abs, [], undefined)
  if (!plays) return undefined
  return { file: abs, dir: dirname(abs), plays }
}

/**
 * Tasks of a file an include_tasks names only at run time, loaded in the include's context
 * (its role, its inherited tags). Problems go to `diags`.
 */
export function loadTaskFileAtRuntime(file: string, include: Include, diags: Diagnostics, opts: LoadOptions = {}): TaskItem[] {
  const loader = new Loader(diags, opts)
  const playDir = dirname(include.src.yf.file)
  const build: PlayBuild = { handlers: [], roles: [], seenRoles: new Set(), vars: {} }
  const ctx: Ctx = { playDir, fileDir: include.baseDir, role: include.role, tags: include.tags, when: [], vars: {}, handlers: false, play: build, stack: [] }
  const abs = isAbsolute(file) ? file : resolve(include.baseDir, file)
  if (!firstFile([abs])) {
    diags.error(`include_tasks: file "${file}" not found`, include.src.yf.pos(include.src.path))
    return []
  }
  return loader.taskFile(abs, ctx, include.src.yf.pos(include.src.path))
}

/** include_role with a templated name: the role, loaded when the name is known (at run time). */
/** include_role's options that name files or decide what is loaded: templates are rendered per host when it runs. */
export const ROLE_FILE_OPTIONS = ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'public', 'allow_duplicates']

/** Does an include_role have an option that is a template (`tasks_from: "{{ x | default('main') }}"`)? Then it is loaded when it runs. */
export function templatedRoleOptions(options: Vars): boolean {
  return ROLE_FILE_OPTIONS.some((k) => typeof options[k] === 'string' && isTemplated(options[k] as string))
}

/** Tasks of a role loaded when it runs, with what it adds to the play. */
export type RuntimeItems = TaskItem[] & { handlers?: Handler[]; roles?: RoleContext[] }

export function loadRoleAtRuntime(name: string, include: Include, diags: Diagnostics, opts: LoadOptions = {}): TaskItem[] {
  const loader = new Loader(diags, opts)
  const playDir = dirname(include.src.yf.file)
  const build: PlayBuild = { handlers: [], roles: [], seenRoles: new Set(), vars: {} }
  const ctx: Ctx = { playDir, fileDir: include.baseDir, role: include.role, tags: include.tags, when: [], vars: {}, handlers: false, play: build, stack: [] }
  const items: RuntimeItems = loader.roleInclude(name, include.options, include.src.yf.pos(include.src.path), ctx, false)
  // the role's handlers, and with `public: true` its variables, join the play that included it
  // (executor/run.ts), as Ansible's include_role does
  items.handlers = build.handlers
  items.roles = build.roles.filter((r) => !r.unlisted)
  return items
}

class Loader {
  readonly files: FileCache
  readonly rolesPath: string[]
  constructor(
    readonly diags: Diagnostics,
    readonly opts: LoadOptions,
  ) {
    this.files = new FileCache(diags)
    this.rolesPath = opts.rolesPath ?? []
  }

  // ---------------------------------------------------------------- playbooks and plays

  playbookFile(abs: string, stack: string[], from: SourcePos | undefined): Play[] | undefined {
    if (stack.includes(abs)) {
      this.diags.error(`import_playbook cycle: ${[...stack, abs].map(shown).join(' → ')}`, from)
      return []
    }
    const loaded = this.files.load(abs)
    if (!loaded) return undefined
    const { yf, value } = loaded
    if (value === null || value === undefined) return []
    if (!Array.isArray(value)) {
      this.diags.error('a playbook must be a list of plays', yf.pos([]), `got ${jsType(value)}`)
      return []
    }
    const plays: Play[] = []
    value.forEach((item, i) => {
      const path = [i]
      if (!isMap(item)) {
        this.diags.error('a play must be a mapping', yf.pos(path), `got ${jsType(item)}`)
        return
      }
      if ('import_playbook' in item || 'include' in item) {
        plays.push(...this.importPlaybook(item, yf, path, stack.concat(abs)))
        return
      }
      const play = this.play(item, yf, path)
      if (play) plays.push(play)
    })
    return plays
  }

  importPlaybook(item: Vars, yf: YamlFile, path: YamlPath, stack: string[]): Play[] {
    if ('include' in item && !('import_playbook' in item)) {
      this.diags.error('"include" was removed from Ansible', yf.pos([...path, 'include'], { key: true }), 'use import_playbook')
      return []
    }
    const allowed = new Set(['import_playbook', 'name', 'vars', 'tags', 'when'])
    for (const k of Object.keys(item))
      if (!allowed.has(k)) this.diags.error(`unknown import_playbook keyword "${k}"`, yf.pos([...path, k], { key: true }), didYouMean(k, allowed))
    const target = item.import_playbook
    if (typeof target !== 'string' || !target) {
      this.diags.error('"import_playbook" must be a file name', yf.pos([...path, 'import_playbook']), `got ${jsType(target)}`)
      return []
    }
    const name = this.staticName(target, yf.pos([...path, 'import_playbook']), {})
    if (name === undefined) return []
    const base = dirname(yf.file)
    const abs = isAbsolute(name) ? name : (firstFile([resolve(base, name), resolve(base, 'playbooks', name)]) ?? resolve(base, name))
    if (!firstFile([abs])) {
      this.diags.error(`import_playbook: file "${name}" not found`, yf.pos([...path, 'import_playbook']), `looked in ${shown(base)}`)
      return []
    }
    const plays = this.playbookFile(abs, stack, yf.pos([...path, 'import_playbook'])) ?? []
    const tags = toStrList(item.tags)
    const vars = varsOf(item.vars)
    const when = toCond(item.when)
    for (const p of plays) {
      if (tags.length) {
        p.tags = uniq([...tags, ...p.tags])
        for (const t of allItems(p)) t.tags = uniq([...tags, ...t.tags])
      }
      p.vars = { ...vars, ...p.vars }
      if (Array.isArray(when) && when.length) for (const t of topItems(p)) t.when = [...when, ...t.when]
    }
    return plays
  }

  play(item: Vars, yf: YamlFile, path: YamlPath): Play | undefined {
    const diags = this.diags
    reportSchema(playValidator(), withoutInvalidKeys(item), yamlPosOf(yf, path), diags, { noun: 'play keyword' })
    if ('vars_prompt' in item)
      diags.error(
        'vars_prompt is not supported: k3sbook runs without prompting',
        yf.pos([...path, 'vars_prompt'], { key: true }),
        'pass the values with -e NAME=VALUE',
      )
    let hosts = ''
    if (item.hosts === undefined || item.hosts === null || item.hosts === '')
      diags.error('play has no "hosts"', yf.pos(path), 'every play needs a host pattern, e.g. hosts: all')
    else if (Array.isArray(item.hosts)) hosts = item.hosts.map(String).join(',')
    else if (typeof item.hosts === 'string') hosts = item.hosts
    const playDir = dirname(yf.file)
    const tags = toStrList(item.tags)
    const build: PlayBuild = { handlers: [], roles: [], seenRoles: new Set(), vars: varsOf(item.vars) }
    const ctx: Ctx = {
      playDir,
      fileDir: playDir,
      tags,
      when: [],
      vars: {},
      handlers: false,
      play: build,
      stack: [yf.file],
      moduleDefaults: item.module_defaults !== undefined ? [item.module_defaults] : [],
    }
    const play: Play = {
      name: typeof item.name === 'string' || typeof item.name === 'number' ? String(item.name) : hosts,
      hosts,
      vars: build.vars,
      varsFiles: this.varsFiles(item.vars_files, yf, [...path, 'vars_files'], playDir, build.vars),
      preTasks: [],
      roleTasks: [],
      tasks: [],
      postTasks: [],
      handlers: build.handlers,
      get refusedHandlers() {
        return build.refusedHandlers
      },
      roles: build.roles,
      become: keywordBool(item.become),
      becomeUser: optStr(item.become_user),
      becomeMethod: optStr(item.become_method),
      gatherFacts: this.playBool(item.gather_facts, build.vars) ?? true,
      serial:
        item.serial === undefined || item.serial === null
          ? undefined
          : (Array.isArray(item.serial) ? item.serial : [item.serial])
              .filter((s): s is number | string => typeof s === 'number' || typeof s === 'string')
              .map((s) => (typeof s === 'string' ? this.playTemplate(s, build.vars) : s)),
      strategy: ['free', 'host_pinned'].includes(typeof item.strategy === 'string' ? this.playTemplate(item.strategy, build.vars) : '') ? 'free' : 'linear',
      anyErrorsFatal: optBool(item.any_errors_fatal) ?? false,
      maxFailPercentage:
        typeof item.max_fail_percentage === 'number'
          ? item.max_fail_percentage
          : typeof item.max_fail_percentage === 'string' && /^\s*[\d.]+\s*$/.test(item.max_fail_percentage)
            ? Number(item.max_fail_percentage)
            : undefined,
      tags,
      environment: item.environment,
      moduleDefaults: item.module_defaults,
      checkMode: optBool(item.check_mode),
      diff: optBool(item.diff),
      src: { yf, path },
    }
    if (item.strategy === 'debug') diags.warn('strategy "debug" is run as "linear"', yf.pos([...path, 'strategy']))
    if (Array.isArray(item.roles)) play.roleTasks = this.roleList(item.roles, yf, [...path, 'roles'], ctx)
    if (Array.isArray(item.pre_tasks)) play.preTasks = this.taskList(item.pre_tasks, yf, [...path, 'pre_tasks'], ctx)
    if (Array.isArray(item.tasks)) play.tasks = this.taskList(item.tasks, yf, [...path, 'tasks'], ctx)
    if (Array.isArray(item.post_tasks)) play.postTasks = this.taskList(item.post_tasks, yf, [...path, 'post_tasks'], ctx)
    if (Array.isArray(item.handlers)) build.handlers.push(...(this.taskList(item.handlers, yf, [...path, 'handlers'], { ...ctx, handlers: true }) as Handler[]))
    return play
  }

  varsFiles(spec: unknown, yf: YamlFile, path: YamlPath, playDir: string, playVars: Vars): Play['varsFiles'] {
    if (spec === undefined || spec === null) return []
    const list = Array.isArray(spec) ? spec : [spec]
    const out: Play['varsFiles'] = []
    list.forEach((entry, i) => {
      const p = Array.isArray(spec) ? [...path, i] : path
      // a list inside the list: the first file that exists wins
      const names = Array.isArray(entry) ? entry : [entry]
      if (!names.every((n) => typeof n === 'string')) return
      if (names.some((n) => isTemplated(n))) {
        const rendered = names.map((n) => this.staticName(n, undefined, playVars))
        if (rendered.some((r) => r === undefined)) {
          out.push({ path: names[0] as string, vars: {} })
          return
        }
        names.splice(0, names.length, ...(rendered as string[]))
      }
      const found = names.map((n) => resolve(playDir, n as string)).find((f) => firstFile([f]))
      if (!found) {
        this.diags.error(`vars file ${names.map((n) => `"${n}"`).join(' or ')} not found`, yf.pos(p), `looked in ${shown(playDir)}`)
        return
      }
      const loaded = this.files.load(found)
      if (!loaded) return
      if (loaded.value !== null && !isMap(loaded.value)) {
        this.diags.error('a vars file must be a mapping of variable names to values', loaded.yf.pos([]), `got ${jsType(loaded.value)}`)
        return
      }
      // a file an earlier run fetched from a host (hostfiles.ts): its values are host data, never templates
      const vars = (loaded.value as Vars) ?? {}
      out.push({ path: found, vars: isHostFile(found) ? (wrapHostData(vars) as Vars) : vars })
    })
    return out
  }

  /**
   * A file or role name that may be templated: rendered with what is known before any host
   * (extra vars and play vars). undefined (and an error at `pos` when given) if it can't be.
   */
  staticName(name: string, pos: SourcePos | undefined, vars: Vars): string | undefined {
    if (!isTemplated(name)) return name
    try {
      const v = templateValue(name, { ...vars, ...(this.opts.extraVars ?? {}) }, pos ? { file: pos.file, line: pos.line, col: pos.col } : {})
      return typeof v === 'string' ? v : String(v)
    } catch (e) {
      if (pos)
        this.diags.error(
          `cannot resolve "${name}" before the play runs: ${(e as Error).message.split('\n')[0]}`,
          pos,
          'static imports may use only extra vars and play vars',
        )
      return undefined
    }
  }

  /** A templated play keyword rendered with play and extra vars, as Ansible does when the play starts; as written when that needs more. */
  playTemplate(v: string, vars: Vars): string {
    return isTemplated(v) ? (this.staticName(v, undefined, vars) ?? v) : v
  }

  /** A play's boolean keyword: a template that needs more than play and extra vars stays a template (the executor decides). */
  playBool(v: unknown, vars: Vars): boolean | string | undefined {
    if (typeof v !== 'string' || !isTemplated(v)) return optBool(v)
    const r = this.playTemplate(v, vars)
    return isTemplated(r) ? r : (optBool(r) ?? r !== '')
  }

  // ---------------------------------------------------------------- roles

  roleList(list: unknown[], yf: YamlFile, path: YamlPath, ctx: Ctx): TaskItem[] {
    const out: TaskItem[] = []
    list.forEach((entry, i) => out.push(...this.roleEntry(entry, yf, [...path, i], ctx, undefined)))
    return out
  }

  /** One `roles:` entry or meta dependency: the role's dependencies' tasks, then its own. */
  roleEntry(entry: unknown, yf: YamlFile, path: YamlPath, ctx: Ctx, parent: RoleContext | undefined, chain: string[] = []): TaskItem[] {
    let name: unknown
    let params: Vars = {}
    let kw: Vars = {}
    if (typeof entry === 'string') name = entry
    else if (isMap(entry)) {
      name = entry.role ?? entry.name
      for (const [k, v] of Object.entries(entry)) {
        if (k === 'role' || k === 'name') continue
        if (k in ROLE_ENTRY_KEYWORDS && k !== 'vars') kw[k] = v
        else if (k === 'vars') {
          if (isMap(v) || (Array.isArray(v) && v.every(isMap))) params = { ...params, ...varsOf(v) }
          else this.diags.error('"vars" must be a mapping', yf.pos([...path, k]), `got ${jsType(v)}`)
        } else params[k] = v
      }
    }
    if (typeof name !== 'string' || !name) {
      this.diags.error('a role must be a name or a mapping with "role:"', yf.pos(path), `got ${jsType(entry)}`)
      return []
    }
    const namePos = yf.pos(typeof entry === 'string' ? path : [...path, 'role' in (entry as Vars) ? 'role' : 'name'])
    const resolvedName = this.staticName(name, namePos, ctx.play.vars)
    if (resolvedName === undefined) return []
    const dir = this.roleDir(resolvedName, namePos, ctx.playDir)
    if (!dir) return []
    if (chain.includes(dir)) {
      this.diags.error(`role dependency cycle: ${[...chain, dir].map((d) => d.split('/').pop()).join(' → ')}`, namePos)
      return []
    }
    const posOf = yamlPosOf(yf, path)
    if (isMap(entry)) {
      reportSchema(compile(ROLE_ENTRY_SCHEMA), kw, posOf, this.diags, { noun: 'role keyword' })
    }
    const role = this.loadRoleData(resolvedName, dir, params, parent)
    // called with a parent only for meta/main.yml dependencies
    if (parent) role.dependency = true
    const meta = this.roleMeta(dir)
    const key = `${dir}\0${JSON.stringify(params)}`
    if (ctx.play.seenRoles.has(key) && !meta.allowDuplicates) return []
    ctx.play.seenRoles.add(key)
    const sub: Ctx = {
      ...ctx,
      tags: uniq([...ctx.tags, ...toStrList(kw.tags)]),
      when: [...ctx.when, ...(toCond(kw.when) as string[])],
      become: keywordBool(kw.become) ?? ctx.become,
      becomeUser: optStr(kw.become_user) ?? ctx.becomeUser,
      becomeMethod: optStr(kw.become_method) ?? ctx.becomeMethod,
    }
    const out: TaskItem[] = []
    meta.deps.forEach((d) => out.push(...this.roleEntry(d.entry, d.yf, d.path, sub, role, [...chain, dir])))
    ctx.play.roles.push(role)
    out.push(...this.roleTasks(role, sub, 'main', 'main'))
    return out
  }

  /** `guarded`: the include may never run (see Ctx.guarded): a missing role is a warning, and fails where it runs. */
  roleDir(name: string, pos: SourcePos, playDir: string, guarded = false): string | undefined {
    const dir = findRole(name, playDir, this.rolesPath)
    if (!dir) {
      const hint = didYouMean(name, knownRoles(playDir, this.rolesPath))
      const msg = `role "${name}" not found (searched: ${shownList(roleSearchDirs(playDir, this.rolesPath))})`
      if (guarded) this.diags.warn(`${msg} (an include_role that may not run: it fails where it runs)`, pos, hint)
      else this.diags.error(msg, pos, hint)
    } else {
      const outside = roleEscape(name, dir, playDir, this.rolesPath)
      if (outside)
        this.diags.warn(
          `role "${name}" resolves to ${outside}, outside the role folders (through ".." or a symbolic link)`,
          pos,
          'name it by an absolute path or add its folder to roles_path if that is intended',
        )
    }
    return dir
  }

  loadRoleData(name: string, dir: string, params: Vars, parent: RoleContext | undefined, from: { defaults?: string; vars?: string } = {}): RoleContext {
    return {
      name: name.split('/').pop() as string,
      path: dir,
      defaults: this.roleVars(dir, 'defaults', from.defaults ?? 'main'),
      vars: this.roleVars(dir, 'vars', from.vars ?? 'main'),
      params,
      parent,
    }
  }

  roleVars(dir: string, sub: string, base: string): Vars {
    let vars: Vars = {}
    for (const f of roleMainFiles(dir, sub, base)) {
      const l = this.files.load(f)
      if (!l || l.value === null || l.value === undefined) continue
      if (!isMap(l.value)) {
        this.diags.error(`role ${sub} must be a mapping of variable names to values`, l.yf.pos([]), `got ${jsType(l.value)}`)
        continue
      }
      vars = { ...vars, ...(l.value as Vars) }
    }
    return vars
  }

  roleMeta(dir: string): { deps: { entry: unknown; yf: YamlFile; path: YamlPath }[]; allowDuplicates: boolean } {
    const f = roleMainFiles(dir, 'meta')[0]
    if (!f) return { deps: [], allowDuplicates: false }
    const l = this.files.load(f)
    if (!l || l.value === null) return { deps: [], allowDuplicates: false }
    if (!isMap(l.value)) {
      this.diags.error('role meta must be a mapping', l.yf.pos([]), `got ${jsType(l.value)}`)
      return { deps: [], allowDuplicates: false }
    }
    const ok = reportSchema(roleMetaValidator(), l.value, yamlPosOf(l.yf, []), this.diags, { noun: 'role meta key' })
    const meta = l.value as Vars
    const deps = Array.isArray(meta.dependencies) && ok ? meta.dependencies.map((entry, i) => ({ entry, yf: l.yf, path: ['dependencies', i] as YamlPath })) : []
    return { deps, allowDuplicates: optBool(meta.allow_duplicates) ?? false }
  }

  roleTasks(role: RoleContext, ctx: Ctx, tasksFrom: string, handlersFrom: string): TaskItem[] {
    const sub: Ctx = { ...ctx, role, fileDir: join(role.path, 'tasks') }
    const out: TaskItem[] = []
    const tf = roleMainFiles(role.path, 'tasks', stripYml(tasksFrom))[0]
    out.push(...this.argSpecTask(role, sub, stripYml(tasksFrom)))
    if (tf) out.push(...this.taskFile(tf, sub, undefined))
    const hf = roleMainFiles(role.path, 'handlers', stripYml(handlersFrom))[0]
    if (hf) ctx.play.handlers.push(...(this.taskFile(hf, { ...sub, fileDir: join(role.path, 'handlers'), handlers: true }, undefined) as Handler[]))
    return out
  }

  /**
   * Ansible's role argument validation (Role._prepend_validation_task): when the role's
   * meta/argument_specs.yml (else meta/main.yml's `argument_specs`) has a spec for the entry point,
   * a validate_argument_spec task tagged `always` runs first, with the role's parameters.
   */
  argSpecTask(role: RoleContext, ctx: Ctx, entry: string): TaskItem[] {
    const own = firstFile(['argument_specs.yml', 'argument_specs.yaml'].map((f) => join(role.path, 'meta', f)))
    const file = own ?? roleMainFiles(role.path, 'meta')[0]
    if (!file) return []
    const l = this.files.load(file)
    const specs = l && isMap(l.value) ? l.value.argument_specs : undefined
    const spec = isMap(specs) ? specs[entry] : undefined
    if (!l || !isMap(spec)) return []
    const task = roleArgSpecTask(entry, spec, role.params, { type: 'role', name: role.name, argument_spec_name: entry, path: role.path })
    return this.taskList([task], l.yf, ['argument_specs', entry], ctx)
  }

  // ---------------------------------------------------------------- task files and lists

  taskFile(file: string, ctx: Ctx, from: SourcePos | undefined): TaskItem[] {
    if (ctx.stack.includes(file)) {
      this.diags.error(`import cycle: ${[...ctx.stack, file].map(shown).join(' → ')}`, from)
      return []
    }
    const l = this.files.load(file)
    if (!l || l.value === null || l.value === undefined) return []
    if (!Array.isArray(l.value)) {
      this.diags.error('a tasks file must be a list of tasks', l.yf.pos([]), `got ${jsType(l.value)}`)
      return []
    }
    return this.taskList(l.value, l.yf, [], { ...ctx, fileDir: dirname(file), stack: [...ctx.stack, file] })
  }

  taskList(list: unknown[], yf: YamlFile, path: YamlPath, ctx: Ctx): TaskItem[] {
    const out: TaskItem[] = []
    list.forEach((item, i) => {
      const p = [...path, i]
      if (!isMap(item)) {
        this.diags.error(`a ${ctx.handlers ? 'handler' : 'task'} must be a mapping`, yf.pos(p), `got ${jsType(item)}`)
        return
      }
      if ('block' in item || 'rescue' in item || 'always' in item) {
        if (ctx.handlers) {
          // Ansible: each task of a block in handlers is a handler of its own, with the block's keywords
          if ('rescue' in item || 'always' in item)
            this.diags.warn(
              'rescue/always of a block in handlers are not run by k3sbook',
              yf.pos([...p, 'rescue' in item ? 'rescue' : 'always'], { key: true }),
              'write each handler as its own task',
            )
          const common = this.common(item, yf, p, ctx)
          const inner = passDown(ctx, common, common.when)
          if (Array.isArray(item.block)) out.push(...this.taskList(item.block, yf, [...p, 'block'], inner))
          return
        }
        const b = this.block(item, yf, p, ctx)
        if (b) out.push(b)
        return
      }
      const got = this.task(item, yf, p, ctx)
      if (ctx.handlers && !got.length)
        (ctx.play.refusedHandlers ??= []).push(...[item.name, ...toStrList(item.listen)].filter((n): n is string => typeof n === 'string'))
      out.push(...got)
    })
    return out
  }

  common(item: Vars, yf: YamlFile, path: YamlPath, ctx: Ctx): Omit<Task, 'kind' | 'module' | 'moduleKey' | 'args' | 'notify' | 'baseDir'> {
    return {
      name: item.name === undefined || item.name === null ? undefined : String(item.name),
      when: [...ctx.when, ...(toCond(item.when) as string[])],
      tags: uniq([...ctx.tags, ...toStrList(item.tags)]),
      become: keywordBool(item.become) ?? ctx.become,
      becomeUser: optStr(item.become_user) ?? ctx.becomeUser,
      becomeMethod: optStr(item.become_method) ?? ctx.becomeMethod,
      vars: { ...ctx.vars, ...varsOf(item.vars) },
      environment: item.environment,
      moduleDefaults: item.module_defaults,
      noLog: typeof item.no_log === 'string' && isTemplated(item.no_log) ? item.no_log : optBool(item.no_log),
      checkMode: optBool(item.check_mode),
      diff: optBool(item.diff),
      delegateTo: optStr(item.delegate_to),
      runOnce: optBool(item.run_once),
      ignoreErrors: typeof item.ignore_errors === 'string' && isTemplated(item.ignore_errors) ? item.ignore_errors : optBool(item.ignore_errors),
      ignoreUnreachable: optBool(item.ignore_unreachable),
      anyErrorsFatal: optBool(item.any_errors_fatal),
      role: ctx.role,
      src: { yf, path },
    }
  }

  block(item: Vars, yf: YamlFile, path: YamlPath, ctx: Ctx): Block | undefined {
    reportSchema(blockValidator(), withoutInvalidKeys(item), yamlPosOf(yf, path), this.diags, { noun: 'block keyword' })
    const common = this.common(item, yf, path, ctx)
    // tags/when/become inherit through the block itself: inner items keep only their own additions
    const notify = toStrList(item.notify)
    const inner: Ctx = {
      ...passDown(ctx, common, []),
      notify: notify.length ? notify : ctx.notify,
      moduleDefaults: item.module_defaults !== undefined ? [...(ctx.moduleDefaults ?? []), item.module_defaults] : ctx.moduleDefaults,
    }
    // what validate may only warn about inside: the block may not run, or its failures are caught
    const ignored = common.ignoreErrors !== undefined && common.ignoreErrors !== false
    const mayNotRun = ctx.guarded || common.when.length > 0 || ignored
    const rescued = Array.isArray(item.rescue) && item.rescue.length > 0
    const list = (k: string, guarded: boolean) => (Array.isArray(item[k]) ? this.taskList(item[k] as unknown[], yf, [...path, k], { ...inner, guarded }) : [])
    if (!('block' in item)) this.diags.error('"rescue"/"always" without "block"', yf.pos(path))
    return { kind: 'block', ...common, block: list('block', mayNotRun || rescued), rescue: list('rescue', true), always: list('always', mayNotRun) }
  }

  task(item: Vars, yf: YamlFile, path: YamlPath, ctx: Ctx): TaskItem[] {
    const keywords = ctx.handlers ? HANDLER_KEYWORDS : TASK_KEYWORDS
    const keys = Object.keys(item)
    const moduleKeys = keys.filter((k) => !(k in keywords) && !k.startsWith('with_'))
    const posOf = yamlPosOf(yf, path)
    const kw: Vars = {}
    for (const k of keys) if (!moduleKeys.includes(k)) kw[k] = item[k]
    reportSchema(compile(keywordSchema(ctx.handlers)), kw, posOf, this.diags, { noun: ctx.handlers ? 'handler keyword' : 'task keyword' })

    // which module: the one non-keyword key, or the legacy action:/local_action: forms
    let modKey: string | undefined
    let rawArgs: unknown
    let argsPath: YamlPath = path
    let delegate: string | undefined
    const action = item.action ?? item.local_action
    if (action !== undefined && (item.action !== undefined) === (item.local_action !== undefined)) {
      this.diags.error('a task has either "action" or "local_action", not both', posOf(['local_action'], { key: true }))
      return []
    }
    if (action !== undefined) {
      const actKey = item.action !== undefined ? 'action' : 'local_action'
      if (item.local_action !== undefined) delegate = 'localhost'
      if (moduleKeys.length) {
        this.diags.error(`a task with "${actKey}" can't also have "${moduleKeys[0]}"`, posOf([moduleKeys[0]], { key: true }), 'a task calls exactly one module')
        return []
      }
      argsPath = [...path, actKey]
      if (typeof action === 'string') {
        const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(action)
        modKey = m?.[1]
        rawArgs = m?.[2] ?? ''
      } else if (isMap(action)) {
        modKey = typeof action.module === 'string' ? action.module : undefined
        const { module: _m, ...rest } = action
        rawArgs = rest
        if (!modKey) {
          this.diags.error(`"${actKey}" needs "module:"`, posOf([actKey], {}))
          return []
        }
      }
    } else {
      if (moduleKeys.length === 0) {
        this.diags.error(`${ctx.handlers ? 'handler' : 'task'} has no module`, posOf([], {}), 'a task needs exactly one module key, e.g. "command:" or "copy:"')
        return []
      }
      if (moduleKeys.length > 1) {
        const known = moduleKeys.filter((k) => INCLUDES.has(canonicalModuleName(k)) || getModule(k))
        const unknown = moduleKeys.filter((k) => !known.includes(k))
        for (const k of unknown) {
          const hint = didYouMean(k, Object.keys(keywords)) ?? didYouMean(k, [...moduleNames(), ...INCLUDES])
          this.diags.error(`unknown ${ctx.handlers ? 'handler' : 'task'} keyword "${k}"`, posOf([k], { key: true }), hint)
        }
        if (known.length > 1)
          this.diags.error(
            `a task calls exactly one module, but this one has ${known.length}: ${known.join(', ')}`,
            posOf([known[1]], { key: true }),
            'split it into separate tasks',
          )
        if (known.length !== 1) return []
        modKey = known[0]
      } else modKey = moduleKeys[0]
      rawArgs = item[modKey]
      argsPath = [...path, modKey]
    }
    if (!modKey) {
      this.diags.error('task has no module', posOf([], {}))
      return []
    }
    const canon = canonicalModuleName(modKey)
    const modPos: PosOf = (p, o) => (p.length === 0 && action === undefined ? posOf([modKey as string], { key: true }) : yf.pos([...argsPath, ...p], o))

    if (INCLUDES.has(canon)) return this.include(canon as IncludeKind, modKey, rawArgs, item, yf, path, argsPath, ctx)
    if (canon === 'include') {
      this.diags.error('"include" was removed from Ansible', posOf([modKey], { key: true }), 'use include_tasks or import_tasks')
      return []
    }
    if (canon === 'import_playbook') {
      this.diags.error('import_playbook is only allowed at the top level of a playbook', posOf([modKey], { key: true }))
      return []
    }
    let mod = getModule(modKey)
    let templatedModule = false
    if (!mod && isTemplated(modKey)) {
      // `action: {module: "{{ m }}"}`: known before any host when play or extra vars say
      const name = this.staticName(modKey, undefined, ctx.play.vars)
      if (name !== undefined && getModule(name)) mod = getModule(name)
      else templatedModule = true
    }
    const keyPos = posOf([modKey], { key: true })
    let args: Vars | undefined
    let invalid: string | undefined
    if (mod) {
      // strict means certainly wrong: a bad argument of a task that may not run, or whose failure is
      // caught, is a warning; the task fails with it where it runs (as Ansible's argument check does)
      const guarded =
        !!ctx.guarded ||
        ctx.handlers ||
        ctx.when.length > 0 ||
        item.when !== undefined ||
        item.failed_when !== undefined ||
        (item.ignore_errors !== undefined && item.ignore_errors !== false)
      // module_defaults give arguments the task does not: checked with them (a template among them: unknown, so only warned about)
      const defaults = staticModuleDefaults([...(ctx.moduleDefaults ?? []), item.module_defaults], canon)
      const r = this.moduleArgs(
        mod,
        modKey,
        rawArgs,
        item.args,
        yf,
        argsPath,
        path,
        modPos,
        guarded || defaults === 'unknown',
        defaults === 'unknown' ? undefined : defaults,
      )
      if (!r) return []
      ;({ args, invalid } = r)
    } else {
      // the roles' library/ folders, then the playbook's (Ansible's adjacent library/), as at run time
      const where = templatedModule ? 'unknown' : ansibleModuleWhere(modKey, [...roleDirs(ctx.role), ctx.playDir])
      if (where === 'nowhere') {
        const hint = didYouMean(canon, [...moduleNames(), ...INCLUDES]) ?? didYouMean(modKey, Object.keys(keywords))
        this.diags.error(`unknown module "${modKey}"`, keyPos, hint ?? 'run "k3sbook doc" for the list of modules')
        return []
      }
      this.diags.warn(
        templatedModule
          ? `module name "${modKey}" is known only at run time: its arguments are not checked`
          : `module "${modKey}" is not implemented by k3sbook: it runs through Ansible's own module code (the bridge)`,
        keyPos,
        templatedModule ? undefined : 'this needs ansible-core on the controller',
      )
      args = this.rawArgs(rawArgs, item.args)
    }

    const common = this.common(item, yf, path, ctx)
    const task: Task = {
      kind: 'task',
      ...common,
      delegateTo: delegate ?? common.delegateTo,
      module: mod ? mod.name : canon,
      moduleKey: modKey,
      args,
      unsupported: mod ? undefined : true,
      invalid,
      // where Ansible looks for a module first: the roles' library/ folders, then the playbook's
      libraryDirs: mod ? undefined : [...roleDirs(ctx.role), ctx.playDir].map((d) => join(d, 'library')),
      loop: this.loop(item, yf, path, ctx.play.vars),
      register: typeof item.register === 'string' ? item.register : undefined,
      notify: item.notify !== undefined ? toStrList(item.notify) : (ctx.notify ?? []),
      changedWhen: condOrBool(item.changed_when),
      failedWhen: condOrBool(item.failed_when),
      until: item.until === undefined ? undefined : (toCond(item.until) as string[]),
      retries: numOrStr(item.retries),
      delay: numOrStr(item.delay),
      timeout: typeof item.timeout === 'number' ? item.timeout : undefined,
      async: numOrStr(item.async),
      poll: numOrStr(item.poll),
      baseDir: ctx.fileDir,
    }
    if (ctx.handlers) (task as Handler).listen = toStrList(item.listen)
    // command and shell run as background jobs (Module.asyncJob, executor/async.ts); any other module runs to the end
    if ((item.async !== undefined || item.poll !== undefined) && !getModule(task.module)?.asyncJob)
      this.diags.warn(
        `"async"/"poll" are supported for command and shell only: this ${task.module} task runs to completion`,
        posOf([item.async !== undefined ? 'async' : 'poll'], { key: true }),
      )
    return [task]
  }

  /** Arguments of a module k3sbook does not know, unchecked: a mapping or `k=v` text, merged with `args:`. */
  rawArgs(raw: unknown, extra: unknown): Vars {
    let args: Vars = {}
    if (typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean') args = parseKv(String(raw))
    else if (isMap(raw)) args = { ...raw }
    if (isMap(extra)) args = { ...extra, ...args }
    return args
  }

  /** The module's arguments from a mapping or a `k=v` string, merged with `args:`, checked against its schema. */
  moduleArgs(
    mod: Module,
    modKey: string,
    raw: unknown,
    extra: unknown,
    yf: YamlFile,
    argsPath: YamlPath,
    taskPath: YamlPath,
    modPos: PosOf,
    guarded = false,
    defaults?: Vars,
  ): { args: Vars; invalid?: string } | undefined {
    let args: Vars = {}
    const fromString = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean'
    if (raw === null || raw === undefined) args = {}
    else if (fromString) {
      const text = String(raw)
      args = parseKv(text, mod.freeFormOptions)
      if (args._raw_params !== undefined && !mod.freeForm) {
        this.diags.error(
          `${modKey}: takes no free-form text, got "${args._raw_params}"`,
          modPos([], {}),
          'write its arguments as a mapping or as key=value pairs',
        )
        return undefined
      }
    } else if (isMap(raw)) args = { ...raw }
    else {
      this.diags.error(`${modKey}: arguments must be a mapping or key=value text`, modPos([], {}), `got ${jsType(raw)}`)
      return undefined
    }
    if (isMap(extra)) args = { ...extra, ...args }
    args = coerceStrings(mod, args)
    const inline = isMap(raw) ? raw : {}
    const posOf: PosOf = (p, o) => {
      if (p.length === 0) return modPos([], o)
      if (fromString) return modPos([], {})
      const first = p[0]
      if (typeof first === 'string' && !(first in inline) && isMap(extra) && first in extra) return yf.pos([...taskPath, 'args', ...p], o)
      return yf.pos([...argsPath, ...p], o)
    }
    // set_fact's variable names may be templates (`"path_{{ idx }}": …`): known only at run time
    const own = mod.setsVars ? Object.fromEntries(Object.entries(args).filter(([k]) => !isTemplated(k))) : args
    const checked = defaults ? { ...defaults, ...own } : own
    const found = new Diagnostics()
    const ok = reportSchema(compile(mod.schema), checked, posOf, found, { prefix: `${modKey}: `, noun: 'argument', templatesUnknown: true })
    for (const d of found.items)
      if (d.severity === 'error' && guarded) this.diags.warn(`${d.message} (the task fails where it runs)`, d.pos, d.hint)
      else this.diags.items.push(d)
    if (ok) return { args }
    return guarded ? { args, invalid: found.errors.map((d) => d.message).join('; ') } : undefined
  }

  loop(item: Vars, yf: YamlFile, path: YamlPath, playVars: Vars = {}): LoopSpec | undefined {
    const withKeys = Object.keys(item).filter((k) => k.startsWith('with_'))
    const hasLoop = 'loop' in item
    if (withKeys.length + (hasLoop ? 1 : 0) > 1) {
      this.diags.error('a task may have only one loop ("loop" or one "with_*")', yf.pos([...path, withKeys[hasLoop ? 0 : 1]], { key: true }))
      return undefined
    }
    let kind: LoopSpec['kind'] = 'loop'
    let items: unknown
    if (hasLoop) items = item.loop
    else if (withKeys.length) {
      // with_FQCN is the lookup of that name (with_ansible.builtin.items, with_community.general.flattened)
      const lookup = LOOP_KINDS.has(withKeys[0].slice(5)) ? withKeys[0].slice(5) : lookupName(withKeys[0].slice(5))
      // with_NAME is the lookup NAME: any lookup k3sbook's templates have
      if (!LOOP_KINDS.has(lookup) && !hasLookup(lookup)) {
        const known = [...new Set([...LOOP_KINDS, ...Object.keys(LOOKUPS)])].map((k) => `with_${k}`)
        const hint = didYouMean(withKeys[0], known)
        this.diags.error(`unknown loop "${withKeys[0]}"`, yf.pos([...path, withKeys[0]], { key: true }), hint ?? `supported: ${known.join(', ')}`)
        return undefined
      }
      kind = `with_${lookup}` as LoopSpec['kind']
      items = item[withKeys[0]]
    } else {
      if (item.loop_control !== undefined) this.diags.warn('"loop_control" without a loop has no effect', yf.pos([...path, 'loop_control'], { key: true }))
      return undefined
    }
    const lc = isMap(item.loop_control) ? item.loop_control : {}
    return {
      items,
      kind,
      loopVar: typeof lc.loop_var === 'string' ? this.playTemplate(lc.loop_var, playVars) : 'item',
      indexVar: typeof lc.index_var === 'string' ? lc.index_var : undefined,
      label: typeof lc.label === 'string' ? lc.label : undefined,
      pause: typeof lc.pause === 'number' ? lc.pause : undefined,
      extended: optBool(lc.extended),
      extendedAllitems: optBool(lc.extended_allitems),
    }
  }

  // ---------------------------------------------------------------- include_* / import_*

  include(kind: IncludeKind, modKey: string, raw: unknown, item: Vars, yf: YamlFile, path: YamlPath, argsPath: YamlPath, ctx: Ctx): TaskItem[] {
    const opts: Vars = typeof raw === 'string' ? parseKv(raw) : isMap(raw) ? { ...raw } : {}
    if (isMap(item.args)) Object.assign(opts, item.args)
    const isRole = kind.endsWith('_role')
    const targetKey = isRole ? 'name' : 'file'
    let target = opts[targetKey] ?? opts._raw_params
    delete opts._raw_params
    delete opts[targetKey]
    const targetPos = yf.pos(isMap(raw) ? [...argsPath, targetKey] : argsPath)
    if (typeof target !== 'string' || !target) {
      this.diags.error(`${modKey}: needs a ${isRole ? 'role name ("name:")' : 'file name'}`, targetPos, `got ${jsType(target)}`)
      return []
    }
    const allowedOpts = isRole
      ? ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'apply', 'public', 'allow_duplicates', 'rolespec_validate']
      : kind === 'include_tasks'
        ? ['apply']
        : []
    for (const k of Object.keys(opts))
      if (!allowedOpts.includes(k))
        this.diags.error(
          `${modKey}: unknown argument "${k}"`,
          yf.pos(isMap(raw) ? [...argsPath, k] : argsPath, { key: true }),
          didYouMean(k, [targetKey, ...allowedOpts]),
        )

    const fakeItem = { ...item }
    delete fakeItem[modKey]
    const common = this.common(fakeItem, yf, path, ctx)
    const isImport = kind.startsWith('import_')
    if (!isImport) {
      // ansible-core 2.14 refuses every other keyword on include_tasks/include_role (TaskInclude's
      // VALID_INCLUDE_KEYWORDS; a handler's include may also listen): "'become' is not a valid
      // attribute for a TaskInclude". Keywords meant for the included tasks go under `apply:`.
      const valid = new Set([...INCLUDE_KEYWORDS, ...(ctx.handlers ? ['listen'] : [])])
      for (const k of Object.keys(item))
        if (k !== modKey && !k.startsWith('with_') && !valid.has(k))
          this.diags.error(
            `"${k}" is not a valid keyword on ${modKey} (Ansible: '${k}' is not a valid attribute for a ${isRole ? 'IncludeRole' : 'TaskInclude'})`,
            yf.pos([...path, k], { key: true }),
            APPLY_KEYWORDS.has(k) ? `to set it on the included tasks, write it under ${modKey}'s apply: (apply: { ${k}: … })` : undefined,
          )
    }
    if (isImport) {
      for (const k of ['loop', 'with_items', 'with_list', 'with_dict', 'register', 'notify'])
        if (k in item)
          this.diags.error(
            `${modKey}: "${k}" can't be used with a static import`,
            yf.pos([...path, k], { key: true }),
            `use ${kind.replace('import_', 'include_')} instead`,
          )
      const name = this.staticName(target, targetPos, ctx.play.vars)
      if (name === undefined) return []
      // keywords on an import apply to every task it brings in
      const sub = passDown(ctx, common, common.when)
      if (isRole) return this.roleInclude(name, opts, targetPos, sub, true)
      const file = this.findTaskFile(name, ctx, targetPos, modKey)
      return file ? this.taskFile(file, sub, targetPos) : []
    }
    const inc: Include = {
      kind: 'include',
      ...common,
      what: isRole ? 'role' : 'tasks',
      target,
      options: opts,
      loop: this.loop(item, yf, path, ctx.play.vars),
      baseDir: ctx.fileDir,
    }
    // `apply:` is what reaches the included tasks (Ansible's build_parent_block): tags, when,
    // become… as an import's keywords do; the include's own keywords stay on the include
    // what is inside may never run when the include may not (its own when, ignore_errors, a guarded
    // block around it): validate warns there; what is certainly reached stays an error (a handler's
    // include too: a handler is there to be notified)
    const mayNotRun = !!ctx.guarded || ctx.when.length > 0 || common.when.length > 0 || (common.ignoreErrors !== undefined && common.ignoreErrors !== false)
    let sub: Ctx = { ...ctx, when: [], vars: {}, handlers: false, guarded: mayNotRun }
    if (isMap(opts.apply)) {
      const a = this.common(opts.apply as Vars, yf, [...argsPath, 'apply'], sub)
      inc.apply = a
      sub = passDown(sub, a, a.when)
    } else if (opts.apply !== undefined)
      this.diags.error(`${modKey}: "apply" must be a mapping of task keywords`, yf.pos([...argsPath, 'apply']), `got ${jsType(opts.apply)}`)
    // an include_role whose tasks_from (or another file option) is a template is loaded when it runs,
    // with the option rendered for each host (before, the template text was taken as a file name and
    // the role ran no task at all)
    if (!isTemplated(target) && !(isRole && !isImport && templatedRoleOptions(opts))) {
      // dynamic includes don't pass their own tags/when down (Ansible): inner tasks keep only inherited ones;
      // a handler's include brings in plain tasks, run when the handler is notified
      // (not found: left to load where it runs, which fails there)
      if (isRole) inc.preloaded = this.roleIncludeOrMissing(target, opts, targetPos, sub, false, mayNotRun)
      else {
        const file = this.findTaskFile(target, ctx, targetPos, modKey, mayNotRun)
        if (file) inc.preloaded = this.taskFile(file, sub, targetPos)
      }
    }
    if (ctx.handlers) return [{ ...inc, listen: toStrList(item.listen) } as Handler as TaskItem]
    return [inc]
  }

  roleInclude(name: string, opts: Vars, pos: SourcePos, ctx: Ctx, isImport: boolean): TaskItem[] {
    return this.roleIncludeOrMissing(name, opts, pos, ctx, isImport) ?? []
  }

  /** roleInclude; undefined when the role is not found (a dynamic include then loads it, and fails, where it runs). */
  roleIncludeOrMissing(name: string, opts: Vars, pos: SourcePos, ctx: Ctx, isImport: boolean, guarded = false): TaskItem[] | undefined {
    const dir = this.roleDir(name, pos, ctx.playDir, guarded)
    if (!dir) return undefined
    const str = (k: string) => (typeof opts[k] === 'string' ? (opts[k] as string) : undefined)
    const role = this.loadRoleData(name, dir, {}, ctx.role, { defaults: str('defaults_from'), vars: str('vars_from') })
    for (const k of ['tasks_from', 'vars_from', 'defaults_from', 'handlers_from']) {
      const v = str(k)
      if (
        v &&
        !isTemplated(v) &&
        !roleMainFiles(dir, k.split('_')[0] === 'tasks' ? 'tasks' : k.split('_')[0] === 'handlers' ? 'handlers' : k.split('_')[0], stripYml(v)).length
      )
        this.diags.error(`role "${name}" has no ${k.split('_')[0]} file "${v}"`, pos)
    }
    // Ansible adds an import_role, or a public include_role, to the play's roles (role_include.py)
    if (!isImport && !asBool(opts.public)) role.unlisted = true
    const meta = this.roleMeta(dir)
    const out: TaskItem[] = []
    meta.deps.forEach((d) => out.push(...this.roleEntry(d.entry, d.yf, d.path, ctx, role, [dir])))
    ctx.play.roles.push(role)
    out.push(...this.roleTasks(role, ctx, str('tasks_from') ?? 'main', str('handlers_from') ?? 'main'))
    return out
  }

  /** `guarded`: the include may never run: a missing file is a warning, and fails where it runs. */
  findTaskFile(name: string, ctx: Ctx, pos: SourcePos, modKey: string, guarded = false): string | undefined {
    const report = (msg: string) =>
      guarded ? this.diags.warn(`${msg} (an include that may not run: it fails where it runs)`, pos) : this.diags.error(msg, pos)
    if (isAbsolute(name)) {
      if (firstFile([name])) return name
      report(`${modKey}: file "${name}" not found`)
      return undefined
    }
    const dirs = [ctx.fileDir]
    if (ctx.role) dirs.push(join(ctx.role.path, 'tasks'), ctx.role.path)
    dirs.push(ctx.playDir)
    const uniqDirs = uniq(dirs)
    const f = firstFile(uniqDirs.map((d) => resolve(d, name)))
    if (!f) report(`${modKey}: file "${name}" not found (searched: ${shownList(uniqDirs)})`)
    return f
  }
}

type IncludeKind = 'include_tasks' | 'import_tasks' | 'include_role' | 'import_role'

const ROLE_ENTRY_SCHEMA = { type: 'object', properties: ROLE_ENTRY_KEYWORDS }
const keywordSchemas = new Map<boolean, object>()
function keywordSchema(handlers: boolean): object {
  let s = keywordSchemas.get(handlers)
  if (!s) {
    s = { type: 'object', properties: handlers ? HANDLER_KEYWORDS : TASK_KEYWORDS }
    keywordSchemas.set(handlers, s)
  }
  return s
}

// ---------------------------------------------------------------- value helpers

export function isMap(v: unknown): v is Vars {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
}

/** `vars:` as a mapping, or (as Ansible also reads it) a list of mappings merged in order. */
export function varsOf(v: unknown): Vars {
  if (isMap(v)) return v
  if (Array.isArray(v)) return Object.assign({}, ...v.filter(isMap))
  return {}
}

function withoutInvalidKeys(v: Vars): Vars {
  return v
}

export function toStrList(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').map(String)
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  if (typeof v === 'number') return [String(v)]
  return []
}

/** Conditions as a list of strings; booleans become "True"/"False" expressions. */
export function toCond(v: unknown): string[] {
  if (v === undefined || v === null) return []
  const list = Array.isArray(v) ? v : [v]
  return list.filter((x) => x !== null && x !== undefined && typeof x !== 'object').map((x) => (typeof x === 'boolean' ? (x ? 'True' : 'False') : String(x)))
}

function condOrBool(v: unknown): string[] | boolean | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'boolean') return v
  return toCond(v)
}

/** A boolean keyword's value (Ansible's boolean(), src/bool.ts); undefined when not given or not a boolean. */
export function optBool(v: unknown): boolean | undefined {
  return asBool(v)
}

/** A boolean keyword that may be a template (`become: "{{ use_sudo }}"`): kept to be rendered per host. */
function keywordBool(v: unknown): boolean | string | undefined {
  return typeof v === 'string' && isTemplated(v) ? v : optBool(v)
}

function optStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined
}

function numOrStr(v: unknown): number | string | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined
}

/** Does a (sub)schema accept this JSON type? */
function accepts(schema: unknown, type: string): boolean {
  if (!schema || typeof schema !== 'object') return false
  const sc = schema as { type?: string | string[]; anyOf?: unknown[]; oneOf?: unknown[] }
  if (sc.type !== undefined) return ([sc.type].flat() as string[]).includes(type) || (type === 'integer' && ([sc.type].flat() as string[]).includes('number'))
  return [...(sc.anyOf ?? []), ...(sc.oneOf ?? [])].some((b) => accepts(b, type))
}

function pyScalar(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'number' ? String(v) : v
}

/**
 * Ansible turns a literal boolean or number given to a string argument into its text
 * (`creates: yes` is the path "True"), so only certainly wrong types are refused.
 * assert's `that:` items are conditions: a null one is true (Ansible's Conditional).
 */
function coerceStrings(mod: Module, args: Vars): Vars {
  const props = (mod.schema as { properties?: Record<string, unknown> }).properties ?? {}
  const out: Vars = { ...args }
  for (const [k, v] of Object.entries(args)) {
    const p = props[k] as { items?: unknown } | undefined
    if (!p) continue
    if (
      (typeof v === 'boolean' || typeof v === 'number') &&
      accepts(p, 'string') &&
      !accepts(p, typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : 'boolean')
    )
      out[k] = pyScalar(v)
    else if (Array.isArray(v)) {
      const items = (p.items ?? (p as { anyOf?: { items?: unknown }[] }).anyOf?.find((b) => b.items)?.items) as unknown
      if (mod.conditionArgs?.includes(k)) out[k] = v.map((x) => (x === null ? 'True' : pyScalar(x)))
      else if (items && accepts(items, 'string'))
        out[k] = v.map((x) =>
          (typeof x === 'boolean' || typeof x === 'number') && !accepts(items, typeof x === 'number' ? 'number' : 'boolean') ? pyScalar(x) : x,
        )
    }
  }
  return out
}

function roleDirs(role: RoleContext | undefined): string[] {
  const out: string[] = []
  for (let r = role; r; r = r.parent) out.push(r.path)
  return out
}

function uniq<T>(a: T[]): T[] {
  return [...new Set(a)]
}

function stripYml(n: string): string {
  return n.replace(/\.ya?ml$/, '')
}

/** Every task, block and include in a play, recursively (blocks' children and preloaded includes too). */
export function* walkItems(items: TaskItem[]): Generator<TaskItem> {
  for (const it of items) {
    yield it
    if (it.kind === 'block') yield* walkItems([...it.block, ...it.rescue, ...it.always])
    if (it.kind === 'include' && it.preloaded) yield* walkItems(it.preloaded)
  }
}

export function playItems(p: Play): TaskItem[] {
  return [...p.preTasks, ...p.roleTasks, ...p.tasks, ...p.postTasks]
}

function* allItems(p: Play): Generator<TaskItem> {
  yield* walkItems([...playItems(p), ...p.handlers])
}

function topItems(p: Play): TaskItem[] {
  return [...playItems(p), ...p.handlers]
}

/** The context a block or an import hands its tasks: its tags, vars and become, and the `when` given. */
/** The keywords ansible-core 2.14 accepts on a dynamic include (TaskInclude.VALID_INCLUDE_KEYWORDS). */
const INCLUDE_KEYWORDS = [
  'action',
  'args',
  'collections',
  'debugger',
  'ignore_errors',
  'loop',
  'loop_control',
  'name',
  'no_log',
  'register',
  'run_once',
  'tags',
  'timeout',
  'vars',
  'when',
]
/**
 * The arguments `module_defaults` (as written, outermost first) give module `canon`, for the
 * argument check; 'unknown' when a part is a template (known only at run time).
 */
function staticModuleDefaults(parts: unknown[], canon: string): Vars | 'unknown' | undefined {
  let mine: Vars | undefined
  for (const p of parts) {
    if (p === undefined || p === null) continue
    for (const d of Array.isArray(p) ? p : [p]) {
      if (!isMap(d)) return 'unknown'
      for (const [k, v] of Object.entries(d)) {
        if (isTemplated(k)) return 'unknown'
        if (canonicalModuleName(k) !== canon) continue
        if (!isMap(v)) return 'unknown'
        mine = v
      }
    }
  }
  return mine
}

/** Keywords that `apply:` can give the included tasks instead. */
const APPLY_KEYWORDS = new Set([
  'become',
  'become_user',
  'become_method',
  'become_flags',
  'environment',
  'delegate_to',
  'check_mode',
  'diff',
  'any_errors_fatal',
  'ignore_unreachable',
  'module_defaults',
  'throttle',
])

function passDown(ctx: Ctx, common: Pick<Ctx, 'tags' | 'vars' | 'become' | 'becomeUser' | 'becomeMethod'>, when: Ctx['when']): Ctx {
  return { ...ctx, tags: common.tags, when, vars: common.vars, become: common.become, becomeUser: common.becomeUser, becomeMethod: common.becomeMethod }
}
