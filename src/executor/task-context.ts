// Everything a task on a host is run with: its variables in Ansible's precedence order, the
// conditions it runs under, whether tags select it, become and environment, check and diff, where
// it runs (delegate_to), controller files. RunContext holds what the whole run shares; TaskContext
// is one task under one block scope in one play: the runner and the read-ahead both ask it.
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { Connection } from '../connection/types.js'
import { asBool } from '../bool.js'
import { findAnsibleCfg } from '../config/ansible.js'
import { K3sbookError } from '../errors.js'
import type { Include, RoleContext, Task, TaskItem, Vars } from '../model.js'
import { srcPos } from '../model.js'
import type { ControllerFiles } from '../modules/types.js'
import { groupsMap, hostInventoryVars } from '../inventory/index.js'
import { tagsMatch } from '../playbook/tags.js'
import { markSecret, NAME_VIEWS } from '../secrets.js'
import { isTemplated, render, templateValue } from '../template/index.js'
import { canonicalModuleName } from '../modules/registry.js'
import { refuseHostTemplate } from '../template/runtime.js'
import { checkModeFor } from './check.js'
import { Pinning } from './confirm.js'
import { Connections, type ExecContext } from './connections.js'
import { ControllerCache } from './ctlfiles.js'
import type { Emit } from './events.js'
import type { ProbeCache } from './probe-cache.js'
import type { Overlay } from './reader.js'
import { hostStatusVersion, newHostState, type HostState, type PlayCtx, type Project, type RunOptions, type Scope } from './state.js'
import { hostvarsProxy, lazyLayers, rawVarsView } from './vars.js'

export class RunContext {
  readonly hosts = new Map<string, HostState>()
  readonly conns: Connections
  readonly ctl = new ControllerCache()
  readonly pinning: Pinning
  /** Set once the run is interrupted (signal) or stopped (--confirm saw a different plan). */
  interrupted = false
  private readonly invVarsCache = new Map<string, Vars>()
  /** `hostvars`: one view for every host and task of the run (see hostView). */
  private hostvarsShared?: Vars
  private readonly hostViews = new Map<string, HostView>()
  /** `play_hosts` and `ansible_play_batch` of a batch: one array for every host and task. */
  private readonly batchMagic = new WeakMap<HostState[], BatchMagic>()
  private readonly searchPaths = new WeakMap<object, string[]>()
  private readonly playRoleNames = new WeakMap<object, Vars>()
  private runVars?: Vars

  /** Where a task's lookups (file, first_found, pipe's folder …) look: its roles, its file's folder, the playbook's. */
  lookupPath(task: Pick<Task, 'role' | 'baseDir'>): string[] {
    const out: string[] = []
    for (let r = task.role; r; r = r.parent) out.push(r.path)
    out.push(task.baseDir, this.project.playbook.dir)
    return [...new Set(out)]
  }

  constructor(
    readonly project: Project,
    readonly opts: RunOptions,
    readonly emit: Emit,
    /** The read-ahead's answers (prefetch.ts), consulted by plan() and dropped when a step runs. */
    readonly probes: ProbeCache,
  ) {
    this.conns = new Connections(project, opts.connect, (h) => this.invVars(h), opts.forks)
    this.pinning = new Pinning(opts.record, opts.expect, () => (this.interrupted = true))
    let killing: NodeJS.Timeout | undefined
    opts.signal?.addEventListener('abort', () => {
      this.interrupted = true
      killing = setTimeout(() => void this.conns.interruptAll(), opts.interruptGraceMs ?? 5000)
      killing.unref()
    })
    opts.forceSignal?.addEventListener('abort', () => {
      this.interrupted = true
      if (killing) clearTimeout(killing)
      void this.conns.interruptAll()
    })
  }

  /** `groups`: recomputed (and cached by the inventory) after add_host/group_by change it. */
  get groups(): Record<string, string[]> {
    return groupsMap(this.project.inventory)
  }

  /** add_host/group_by changed the inventory in place: forget what was derived from it. */
  inventoryChanged(): void {
    this.invVarsCache.clear()
    this.hostvarsShared = undefined
  }

  /** The run is a check (--check). Whether one task is checked is checkModeFor's to say. */
  get check(): boolean {
    return !!this.opts.check
  }

  state(host: string): HostState {
    let s = this.hosts.get(host)
    if (!s) {
      this.hosts.set(host, (s = newHostState(host)))
      // a host outside the inventory (delegate_to) joins hostvars
      if (!this.project.inventory.hosts.has(host)) this.hostvarsShared = undefined
    }
    return s
  }

  invVars(host: string): Vars {
    let v = this.invVarsCache.get(host)
    if (!v) {
      v = this.project.inventory.hosts.has(host)
        ? hostInventoryVars(this.project.inventory, host, this.project.playbook.dir)
        : { inventory_hostname: host, inventory_hostname_short: host.split('.')[0], group_names: [] }
      this.invVarsCache.set(host, v)
    }
    return v
  }

  /** Chosen by --tags / --skip-tags. */
  selected(task: Task): boolean {
    return tagsMatch(task.tags, this.opts.tags ?? [], this.opts.skipTags ?? [])
  }

  /** One task under one block scope in one play. */
  at(ctx: PlayCtx, scope: Scope, task: Task): TaskContext {
    return new TaskContext(this, ctx, scope, task)
  }

  /** All variables for one task on one host, in Ansible's precedence order, templated lazily. */
  taskVars(ctx: PlayCtx, task: TaskItem | Include, h: HostState, scope: Scope, extra?: Vars): Vars {
    const play = ctx.play
    const role = task.role
    const roleDefaults: Vars[] = []
    const roleVars: Vars[] = []
    for (const r of play.roles) {
      roleDefaults.push(r.defaults)
      roleVars.push(r.vars)
    }
    // The task's own role chain wins over other roles of the play.
    const chain: NonNullable<typeof role>[] = []
    for (let r = role; r; r = r.parent) chain.unshift(r)
    for (const r of chain) roleDefaults.push(r.defaults)
    for (const r of chain) roleVars.push(r.vars)
    const batch = this.playMagic(ctx)
    let view: Vars | undefined
    const magic: Vars = {
      inventory_hostname: h.name,
      groups: this.groups,
      play_hosts: batch.playHosts,
      ansible_play_hosts: batch.playHosts,
      ansible_play_batch: batch.names,
      ansible_play_hosts_all: ctx.allHosts,
      ansible_play_name: play.name,
      playbook_dir: this.project.playbook.dir,
      inventory_dir: this.project.inventory.sources[0] ? resolve(this.project.inventory.sources[0], '..') : undefined,
      ansible_check_mode: this.check,
      ansible_diff_mode: !!this.opts.diff,
      ansible_run_tags: this.opts.tags?.length ? this.opts.tags : ['all'],
      ansible_skip_tags: this.opts.skipTags ?? [],
      ansible_verbosity: this.opts.verbosity ?? 0,
      ansible_limit: this.opts.limit,
      ansible_version: { full: '2.14.0', major: 2, minor: 14, revision: 0, string: '2.14.0 (k3sbook)' },
      role_name: role?.name,
      role_path: role?.path,
      // where this task's lookups search (Ansible's task.get_search_path())
      ansible_search_path: 'baseDir' in task ? this.searchPath(task) : undefined,
      hostvars: this.hostvars(),
      vars: rawVarsView(() => view!),
    }
    const layers: (Vars | undefined)[] = [
      // Ansible's play context puts the connection in every task's variables ("ssh" unless set)
      CONNECTION_DEFAULTS,
      ...roleDefaults,
      this.invVars(h.name),
      h.facts,
      play.vars,
      ...play.varsFiles.map((f) => f.vars),
      ...roleVars,
      scope.vars,
      task.vars,
      h.hostFacts,
      ...chain.map((r) => r.params),
      extra,
      this.project.extraVars,
      // magic variables shared by every host and task of the run, the play, the role: layers of
      // their own, read through, not copied into each host's and task's view
      this.runMagic(),
      this.playRoles(play),
      role ? roleMagic(role) : undefined,
      magic,
    ]
    view = lazyLayers(layers, 'baseDir' in task ? { searchPath: this.searchPath(task) } : {})
    return view
  }

  /**
   * `play_hosts` / `ansible_play_hosts` (the batch's hosts not failed or unreachable, as of now) and
   * `ansible_play_batch`: built once per batch and shared by every host and task, rebuilt only when
   * a host's failed or unreachable changed since (hostStatusVersion). Built per host and task they
   * cost O(hosts²) per task.
   */
  playMagic(ctx: PlayCtx): BatchMagic {
    const version = hostStatusVersion()
    let m = this.batchMagic.get(ctx.batch)
    if (!m || m.batchSize !== ctx.batch.length) {
      m = { version: -1, batchSize: ctx.batch.length, names: ctx.batch.map((s) => s.name), playHosts: [] }
      this.batchMagic.set(ctx.batch, m)
    }
    if (m.version !== version) {
      m.playHosts = ctx.batch.filter((s) => !s.failed && !s.unreachable).map((s) => s.name)
      m.version = version
    }
    return m
  }

  /**
   * Ansible's play-level role names (vars/manager.py): the roles the play names (its `roles:` and
   * its include/import_role), those pulled in as dependencies, and both; built once per play.
   */
  private playRoles(play: PlayCtx['play']): Vars {
    let v = this.playRoleNames.get(play)
    if (!v) {
      const listed = play.roles.filter((r) => !r.unlisted && !(r.parent?.unlisted && r.dependency))
      const named = [...new Set(listed.filter((r) => !r.dependency).map((r) => r.name))]
      const deps = [...new Set(listed.filter((r) => r.dependency).map((r) => r.name))]
      v = { ansible_play_role_names: named, role_names: named, ansible_dependent_role_names: deps, ansible_role_names: [...new Set([...deps, ...named])] }
      this.playRoleNames.set(play, v)
    }
    return v
  }

  /** What Ansible knows of the run itself: inventory sources, forks, its configuration file, its Python. */
  private runMagic(): Vars {
    if (!this.runVars) {
      const sources = this.project.inventory.sources.map((s) => resolve(s))
      this.runVars = {
        ansible_inventory_sources: sources,
        inventory_file: sources[0],
        ansible_forks: this.opts.forks ?? 5,
        ansible_config_file: findAnsibleCfg(),
        ansible_playbook_python: process.env.K3SBOOK_ANSIBLE_PYTHON ?? '/usr/bin/python3',
      }
    }
    return this.runVars
  }

  /** `ansible_search_path` of a task: the same for every host. */
  private searchPath(task: Pick<Task, 'role' | 'baseDir'>): string[] {
    let p = this.searchPaths.get(task)
    if (!p) this.searchPaths.set(task, (p = this.lookupPath(task)))
    return p
  }

  /**
   * `hostvars`: one view shared by every host and task (rebuilt when the inventory or the set of
   * hosts changes); each host's variables in it are built on first access and kept while that
   * host's variables are the same (hostView).
   */
  private hostvars(): Vars {
    if (!this.hostvarsShared) {
      const inv = this.project.inventory
      const names = [...inv.hostOrder, ...[...this.hosts.keys()].filter((k) => !inv.hosts.has(k))]
      this.hostvarsShared = hostvarsProxy(names, (other) => this.hostView(other))
    }
    return this.hostvarsShared
  }

  /**
   * One host's variables as `hostvars[host]` shows them — as Ansible's HostVarsVars: templated with
   * the host's own variables, fail_on_undefined=False. Kept while its inventory variables, facts
   * and set_fact/register results are the same objects (registering replaces a key's value, so a
   * shallow comparison of hostFacts sees it); built again otherwise.
   */
  private hostView(other: string): Vars {
    const inv = this.invVars(other)
    const s = this.hosts.get(other)
    const c = this.hostViews.get(other)
    if (c && c.inv === inv && c.facts === s?.facts && c.hostFacts === s?.hostFacts && sameShallow(c.hostFactsSeen, s?.hostFacts)) return c.view
    // templated as Ansible's HostVarsVars: lookups search the playbook's folder
    const view = lazyLayers([inv, s?.facts, s?.hostFacts, { inventory_hostname: other }], { lenient: true, searchPath: [this.project.playbook.dir] })
    NAME_VIEWS.add(view)
    this.hostViews.set(other, { inv, facts: s?.facts, hostFacts: s?.hostFacts, hostFactsSeen: s ? { ...s.hostFacts } : undefined, view })
    return view
  }

  /** Templates and files on the controller, looked up the way Ansible does (role first). */
  controllerFiles(task: Task, vars: Vars): ControllerFiles {
    const dirs = (kind: 'templates' | 'files'): string[] => {
      const out: string[] = []
      for (let r = task.role; r; r = r.parent) out.push(join(r.path, kind), r.path)
      out.push(join(task.baseDir, kind), task.baseDir, join(this.project.playbook.dir, kind), this.project.playbook.dir)
      return out
    }
    const ctl = this.ctl
    return {
      searchPath: this.lookupPath(task),
      async find(name, kind) {
        const candidates = isAbsolute(name) ? [name] : dirs(kind).map((d) => join(d, name))
        for (const p of candidates) {
          const content = ctl.read(p)
          if (content) return { path: p, content }
        }
        throw new K3sbookError(`could not find ${kind === 'templates' ? 'template' : 'file'} "${name}"`, {
          pos: srcPos(task.src),
          hint: `looked in ${dirs(kind).slice(0, 4).join(', ')}`,
        })
      },
      render(text, v, file) {
        // a file a host wrote here (fetch's copy) is host data: never rendered as a template
        if (file) refuseHostTemplate(file)
        return ctl.render(text, v ?? vars, file, () =>
          render(text, v ?? vars, { file, source: 'file', searchPath: templateSearchPath(dirs('templates'), file) }),
        )
      },
    }
  }
}

interface BatchMagic {
  /** hostStatusVersion() when playHosts was built. */
  version: number
  batchSize: number
  /** ansible_play_batch */
  names: string[]
  /** play_hosts, ansible_play_hosts */
  playHosts: string[]
}

interface HostView {
  inv: Vars
  facts: Vars | undefined
  hostFacts: Vars | undefined
  /** hostFacts' keys and values when the view was built. */
  hostFactsSeen: Vars | undefined
  view: Vars
}

function sameShallow(seen: Vars | undefined, now: Vars | undefined): boolean {
  if (!seen || !now) return seen === now
  let n = 0
  for (const k in now) {
    if (!Object.prototype.hasOwnProperty.call(now, k)) continue
    if (!Object.prototype.hasOwnProperty.call(seen, k) || seen[k] !== now[k]) return false
    n++
  }
  return n === Object.keys(seen).length
}

/**
 * The folders a template's include/import/extends search (each `<dir>/templates`, then `<dir>`):
 * the role's and playbook's folders, and as in Ansible's template action the template's own folder
 * (kept before the playbook's folder, which stays last: the controller commands' working folder).
 */
function templateSearchPath(dirs: string[], file: string | undefined): string[] {
  const sp = dirs.filter((d) => !d.endsWith('/templates'))
  if (file && !sp.includes(dirname(file))) sp.splice(Math.max(0, sp.length - 1), 0, dirname(file))
  return sp
}

/** One task under one block scope in one play: what the runner and the read-ahead plan it with. */
export class TaskContext {
  constructor(
    readonly rc: RunContext,
    readonly ctx: PlayCtx,
    readonly scope: Scope,
    readonly task: Task,
  ) {}

  vars(host: string, extra?: Vars): Vars {
    return this.rc.taskVars(this.ctx, this.task, this.rc.state(host), this.scope, extra)
  }

  /** Conditions the task runs under (its blocks' and its own). */
  get conditions(): string[] {
    return [...this.scope.when, ...this.task.when]
  }

  get selected(): boolean {
    return this.rc.selected(this.task)
  }

  /** Planned and predicted, never applied (see check.ts). */
  get check(): boolean {
    return checkModeFor(this.task, this.scope, this.ctx.play, this.rc.check)
  }

  /** Checked by `check_mode: true` in the playbook (task, block or play), whatever the run. */
  get checkForced(): boolean {
    return (this.task.checkMode ?? this.scope.checkMode ?? this.ctx.play.checkMode) === true
  }

  get diff(): boolean {
    return this.task.diff ?? this.ctx.play.diff ?? !!this.rc.opts.diff
  }

  get delegated(): boolean {
    return (this.task.delegateTo ?? this.scope.delegateTo) !== undefined
  }

  /** The host the task's steps run on: its own, or the one it is delegated to. */
  target(host: string, vars: Vars): string {
    const delegate = this.task.delegateTo ?? this.scope.delegateTo
    return delegate ? String(templateValue(delegate, vars)) : host
  }

  /** The `environment` keywords the task runs under (play, blocks, task), as written. */
  get environment(): unknown[] {
    return environmentParts(this.task, this.scope, this.ctx)
  }

  /**
   * The arguments `module_defaults` give module `mod` here (the task's own arguments win), as
   * ansible-core 2.14's get_action_args_with_defaults: the play's, the blocks' and the task's
   * mappings merged in that order (a later entry for a module replaces an earlier one whole), the
   * values rendered, then the entry named by the module's short name or its ansible.builtin /
   * ansible.legacy name. `group/…` entries (action groups of collections) are not applied.
   */
  moduleDefaults(vars: Vars, mod: string): Vars | undefined {
    const parts = [this.ctx.play.moduleDefaults, ...(this.scope.moduleDefaults ?? []), this.task.moduleDefaults].filter((e) => e !== undefined && e !== null)
    if (parts.length === 0) return undefined
    const merged: Vars = {}
    for (const p of parts) {
      const v = templateValue(p, vars, p === this.task.moduleDefaults ? srcPos(this.task.src, ['module_defaults']) : {})
      for (const d of Array.isArray(v) ? v : [v])
        if (d && typeof d === 'object' && !Array.isArray(d)) for (const [k, x] of Object.entries(d as Vars)) merged[canonicalModuleName(k)] = x
    }
    const mine = merged[mod]
    return mine && typeof mine === 'object' && !Array.isArray(mine) ? (mine as Vars) : undefined
  }

  exec(vars: Vars): ExecContext {
    const task = this.task
    return {
      become: becomeFor(task, this.scope, this.ctx, vars),
      env: environmentFor(task, this.scope, this.ctx, vars, this.rc.lookupPath(task)),
      timeoutMs: task.timeout ? task.timeout * 1000 : undefined,
    }
  }

  overlay(host: string): Overlay {
    return this.rc.state(host).overlay
  }

  controller(vars: Vars): ControllerFiles {
    return this.rc.controllerFiles(this.task, vars)
  }

  conn(host: string): Promise<Connection> {
    return this.rc.conns.get(host)
  }
}

function becomeFor(task: Task, scope: Scope, { play }: PlayCtx, vars: Vars): ExecContext['become'] {
  // the keywords are templates as any other (`become_user: "{{ postgresql_user }}"`), rendered per
  // host; the ansible_become* variables come rendered by the view (rendering them again would render
  // a password holding "{{" a second time)
  const keyword = (v: unknown): unknown => (typeof v === 'string' && isTemplated(v) ? templateValue(v, vars) : v)
  const flag = task.become ?? scope.become ?? play.become
  const on = flag !== undefined ? (typeof flag === 'boolean' ? flag : isTrue(String(keyword(flag)))) : isTrue(vars.ansible_become as never)
  if (!on) return undefined
  const user = keyword(task.becomeUser ?? scope.becomeUser ?? play.becomeUser) ?? vars.ansible_become_user ?? 'root'
  const password = vars.ansible_become_password ?? vars.ansible_become_pass
  const method = String(keyword(task.becomeMethod ?? play.becomeMethod) ?? vars.ansible_become_method ?? 'sudo') as 'sudo' | 'su'
  const secret = password === undefined || password === null ? undefined : String(password)
  // made from a variable of any name, it is the become password: masked wherever it would show
  if (secret !== undefined) markSecret(secret)
  return { user: String(user), password: secret, method }
}

/** The `environment` keywords a task runs under, outermost first: the play's, its blocks', its own. */
function environmentParts(task: Task, scope: Scope, { play }: PlayCtx): unknown[] {
  return [play.environment, ...scope.environment, task.environment].filter((e) => e !== undefined)
}

function environmentFor(task: Task, scope: Scope, ctx: PlayCtx, vars: Vars, searchPath: string[]): Record<string, string> | undefined {
  const parts = environmentParts(task, scope, ctx)
  if (parts.length === 0) return undefined
  const env: Record<string, string> = {}
  for (const p of parts) {
    // with the task's search path (a file lookup in it), and the task's own keyword's position
    const pos = p === task.environment ? srcPos(task.src, ['environment']) : {}
    const v = templateValue(p, vars, { ...pos, searchPath })
    if (v && typeof v === 'object') for (const [k, x] of Object.entries(v as Vars)) env[k] = String(x)
  }
  return env
}

/** The name a task is shown under: its own, else the module (and role). */
/** A task's name for a host's variables (the first host's, as Ansible shows it); as written when it cannot be rendered. */
export function renderTaskName(rc: RunContext, task: Task, h: HostState | undefined, ctx: PlayCtx, scope: Scope): string {
  const raw = taskName(task)
  if (!h || !raw.includes('{')) return raw
  try {
    return String(templateValue(raw, rc.taskVars(ctx, task, h, scope)))
  } catch {
    return raw
  }
}

export function taskName(task: Task | Include): string {
  if (task.name) return task.name
  if (task.kind === 'task') return task.module + (task.role ? ` (${task.role.name})` : '')
  return `include_${task.what}`
}

/** An Ansible boolean keyword's value (no_log, become): anything but a boolean word is false. */
export function isTrue(v: boolean | string | undefined): boolean {
  return asBool(v) ?? false
}

/** no_log's value; a template is rendered with the task's variables, and one that can't be hides (fails closed). */
export function noLogOn(v: boolean | string | undefined, vars: Vars): boolean {
  if (typeof v !== 'string' || asBool(v) !== undefined) return isTrue(v)
  try {
    return isTrue(String(templateValue(v, vars)))
  } catch {
    return true
  }
}

const CONNECTION_DEFAULTS: Vars = { ansible_connection: 'ssh' }

const roleMagicCache = new WeakMap<RoleContext, Vars>()

/**
 * A role task's magic variables beyond role_name/role_path (Ansible's vars/manager.py and
 * role_include.py): ansible_role_name, ansible_collection_name (None outside a collection), and for
 * a role included from inside another, its includers, most recent first.
 */
function roleMagic(role: RoleContext): Vars {
  let v = roleMagicCache.get(role)
  if (v) return v
  v = { ansible_role_name: role.name, ansible_collection_name: null }
  roleMagicCache.set(role, v)
  if (role.parent && !role.dependency) {
    const names: string[] = []
    const paths: string[] = []
    for (let r: RoleContext | undefined = role.parent; r; r = r.dependency ? undefined : r.parent) {
      names.push(r.name)
      paths.push(r.path)
    }
    v.ansible_parent_role_names = names
    v.ansible_parent_role_paths = paths
  }
  return v
}
