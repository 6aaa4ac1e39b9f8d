// What the executor keeps while it runs: the project and options it was given, each host's state
// through the plays, what a block passes down to the tasks inside it, and one task's outcome on
// one host. Plain types: the functions that use them live beside the job they do.
import type { Connection } from '../connection/types.js'
import type { Block, Include, Inventory, Play, Playbook, TaskItem, Vars } from '../model.js'
import type { StepResult } from '../modules/types.js'
import { emptyCounts, type HostCounts, type HostResultEvent, type HostStatus } from './events.js'
import { Overlay } from './reader.js'

export interface Project {
  playbook: Playbook
  inventory: Inventory
  extraVars: Vars
}

export type ConnectionFactory = (host: string, vars: Vars) => Connection | Promise<Connection>

export interface RunOptions {
  check?: boolean
  diff?: boolean
  limit?: string
  tags?: string[]
  skipTags?: string[]
  /** Concurrent hosts (default 50). */
  forks?: number
  startAtTask?: string
  verbosity?: number
  /** Opens a connection for a host from its variables (ansible_host, ansible_port, ...). */
  connect: ConnectionFactory
  /**
   * Aborting stops scheduling new tasks; the steps in flight get `interruptGraceMs` (default 5000)
   * to finish, then what still runs is killed on the hosts; the recap says interrupted.
   */
  signal?: AbortSignal
  interruptGraceMs?: number
  /** Aborting kills what runs on the hosts at once (a second Ctrl-C). */
  forceSignal?: AbortSignal
  /**
   * Plan pinning for `--confirm`: a check pass fills `record` with the changes it planned (per host
   * and task); the apply pass given them as `expect` applies exactly those and stops before
   * anything that differs (the host changed in between). See confirm.ts.
   */
  record?: Map<string, string[][]>
  expect?: Map<string, string[][]>
  /** Loads the tasks of a dynamic include_tasks file at run time. */
  loadTasks?: (file: string, include: Include) => TaskItem[]
  /** --step: asked before each task starts; false skips the task. */
  beforeTask?: (task: string) => Promise<boolean>
  /** --force-handlers: notified handlers run at the end of the play even on hosts that failed later. */
  forceHandlers?: boolean
}

export interface RunSummary {
  recap: Record<string, HostCounts>
  /** Anything changed (or, in check mode, would change). */
  changed: boolean
  failed: boolean
  unreachable: boolean
  interrupted: boolean
  roundTrips: Record<string, number>
  exitCode: number
}

export interface HostState {
  name: string
  /** Gathered facts (ansible_*), below play vars in precedence. */
  facts: Vars
  /** set_fact and register results: above play, role and task vars. */
  hostFacts: Vars
  /**
   * The facts the play's gather_facts found: plain data for the rest of the run, even after meta
   * clear_facts (see markNoLogResult's `known`).
   */
  gathered?: Vars
  failed: boolean
  unreachable: boolean
  /** end_host / end_play: out of this play only. */
  ended: boolean
  notified: Set<string>
  overlay: Overlay
  counts: HostCounts
  /**
   * Check mode: variables (registered results, set_fact keys) whose values are not known, each
   * with why in words (which task, and why check mode cannot know it).
   */
  unknownRegs: Map<string, string>
  /** The last failure not ignored: a rescue sees it as ansible_failed_task/ansible_failed_result. */
  lastFailure?: { task: Vars; result: Vars }
}

/**
 * Bumped whenever any host's `failed` or `unreachable` changes: what is derived from them for every
 * host of a task (`play_hosts`, `ansible_play_hosts`) is rebuilt only when this moved.
 */
let statusVersion = 0
export function hostStatusVersion(): number {
  return statusVersion
}

export function newHostState(name: string): HostState {
  let failed = false
  let unreachable = false
  return {
    name,
    facts: {},
    hostFacts: {},
    get failed() {
      return failed
    },
    set failed(v: boolean) {
      if (v !== failed) statusVersion++
      failed = v
    },
    get unreachable() {
      return unreachable
    },
    set unreachable(v: boolean) {
      if (v !== unreachable) statusVersion++
      unreachable = v
    },
    ended: false,
    notified: new Set(),
    overlay: new Overlay(),
    counts: emptyCounts(),
    unknownRegs: new Map(),
  }
}

/** What a block passes down to the tasks inside it. */
export interface Scope {
  when: string[]
  vars: Vars
  become?: boolean | string
  becomeUser?: string
  environment: unknown[]
  /** `module_defaults` of the enclosing blocks (and an include's `apply`), outermost first. */
  moduleDefaults?: unknown[]
  ignoreErrors?: boolean | string
  delegateTo?: string
  noLog?: boolean | string
  checkMode?: boolean
  /** Inside a block with `rescue` or `always`: a failure here is not yet the host's end in the play. */
  recovers?: boolean
}

export const ROOT_SCOPE: Scope = { when: [], vars: {}, environment: [] }

/**
 * The scope of a dynamic include's tasks, as Ansible builds it: a task skips a parent that is not
 * statically loaded when it inherits keywords (Task._get_parent_attribute), so the include's own
 * become, ignore_errors, environment, no_log, check_mode and delegate_to stay on the include; its
 * vars reach the tasks, and so does what `apply:` sets (build_parent_block). Its `when` was decided
 * on the include.
 */
export function includeScope(scope: Scope, inc: Include): Scope {
  const a = inc.apply
  return {
    ...scope,
    vars: { ...scope.vars, ...inc.vars, ...(a?.vars ?? {}) },
    become: a?.become ?? scope.become,
    becomeUser: a?.becomeUser ?? scope.becomeUser,
    environment: a?.environment !== undefined ? [...scope.environment, a.environment] : scope.environment,
    moduleDefaults: a?.moduleDefaults !== undefined ? [...(scope.moduleDefaults ?? []), a.moduleDefaults] : scope.moduleDefaults,
    ignoreErrors: a?.ignoreErrors ?? scope.ignoreErrors,
    delegateTo: a?.delegateTo ?? scope.delegateTo,
    noLog: a?.noLog ?? scope.noLog,
    checkMode: a?.checkMode ?? scope.checkMode,
  }
}

export function childScope(scope: Scope, b: Block | Include): Scope {
  return {
    when: [...scope.when, ...b.when],
    vars: { ...scope.vars, ...b.vars },
    become: b.become ?? scope.become,
    becomeUser: b.becomeUser ?? scope.becomeUser,
    environment: b.environment !== undefined ? [...scope.environment, b.environment] : scope.environment,
    moduleDefaults: b.moduleDefaults !== undefined ? [...(scope.moduleDefaults ?? []), b.moduleDefaults] : scope.moduleDefaults,
    ignoreErrors: b.ignoreErrors ?? scope.ignoreErrors,
    delegateTo: b.delegateTo ?? scope.delegateTo,
    noLog: b.noLog ?? scope.noLog,
    checkMode: b.checkMode ?? scope.checkMode,
    recovers: scope.recovers || ('rescue' in b && (b.rescue.length > 0 || b.always.length > 0)),
  }
}

/** The play being run and the batch of hosts it runs on now (serial). */
export interface PlayCtx {
  play: Play
  batch: HostState[]
  allHosts: string[]
}

/** One task's outcome on one host. */
export interface TaskOutcome {
  status: HostStatus
  result: Vars
  changes: string[]
  diff: HostResultEvent['diff']
  msg?: string
  failedStep?: StepResult
  unknownReason?: string
  /** Check mode: the module's result (stdout, rc, content) only exists once it runs. */
  notRun?: boolean
  /** Check mode: already judged with the unknowns it reads in mind (a file predicted with unknown content). */
  settled?: boolean
  /** A loop's items and their statuses (the host:result event's `items`). */
  items?: HostResultEvent['items']
  /** It ran on the control machine (Connection.controller): what it returned is not host data. */
  fromController?: boolean
}

/** any_errors_fatal / max_fail_percentage: the rest of this play's batch is skipped. */
export class PlayAbort extends Error {}

/** Hosts still running in this play (among the given ones, or the batch). */
export function activeHosts(ctx: PlayCtx, among?: HostState[]): HostState[] {
  return (among ?? ctx.batch).filter((s) => !s.failed && !s.unreachable && !s.ended)
}
