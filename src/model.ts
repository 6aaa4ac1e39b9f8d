// The validated model that loaders produce and the executor consumes: plain data plus a source
// reference on everything a user wrote, so any later error can point at its YAML line.
import type { SourcePos } from './errors.js'
import type { YamlFile, YamlPath } from './yamlfile.js'

export type Vars = Record<string, unknown>

/** Where a value was written: its file and the path inside that file's YAML tree. */
export interface SrcRef {
  yf: YamlFile
  path: YamlPath
}

export function srcPos(src: SrcRef, sub: YamlPath = [], opts: { key?: boolean } = {}): SourcePos {
  return src.yf.pos([...src.path, ...sub], opts)
}

// ---------------------------------------------------------------- inventory

export interface InventoryHost {
  name: string
  /** Variables set on the host itself (inventory file, host_vars/), merged across `-i` sources. */
  vars: Vars
  /** Groups that list the host directly. */
  groups: Set<string>
  src?: SrcRef
}

export interface InventoryGroup {
  name: string
  vars: Vars
  /** Hosts listed directly in the group, in file order. */
  hosts: string[]
  children: string[]
  parents: Set<string>
  /** `ansible_group_priority` from the inventory source (default 1): orders sibling groups' vars. */
  priority?: number
  src?: SrcRef
}

export interface Inventory {
  /** Host names in inventory order (the order Ansible lists them in `all`). */
  hostOrder: string[]
  hosts: Map<string, InventoryHost>
  groups: Map<string, InventoryGroup>
  /** Inventory sources, for `group_vars/` / `host_vars/` beside them. */
  sources: string[]
}

// ---------------------------------------------------------------- playbooks

export interface RoleContext {
  name: string
  /** The role's folder (templates/, files/ are looked up here first). */
  path: string
  defaults: Vars
  vars: Vars
  /** Parameters given where the role is invoked (`- role: x` + keys, or `vars:`). */
  params: Vars
  /** The role that pulled this one in (a meta/main.yml dependency, or an include_role/import_role inside it). */
  parent?: RoleContext
  /** Pulled in by a meta/main.yml dependency (not named by the play or an include). */
  dependency?: boolean
  /** Run by include_role without `public`: Ansible never adds it to the play's roles (ansible_play_role_names). */
  unlisted?: boolean
}

/** Keywords every task, block, include and handler may carry. */
export interface TaskCommon {
  name?: string
  /** Conditions as written (ANDed); a block's `when` is evaluated for each task inside it. */
  when: string[]
  /** Effective tags: own plus inherited from play, role and blocks. */
  tags: string[]
  become?: boolean | string
  becomeUser?: string
  becomeMethod?: string
  /** Task-level `vars:` (and a block's, inherited). */
  vars: Vars
  environment?: unknown
  /** `module_defaults` as written (a mapping, a list of them, or a template): arguments a module gets unless the task gives them. */
  moduleDefaults?: unknown
  noLog?: boolean | string
  checkMode?: boolean
  diff?: boolean
  delegateTo?: string
  runOnce?: boolean
  ignoreErrors?: boolean | string
  ignoreUnreachable?: boolean
  anyErrorsFatal?: boolean
  role?: RoleContext
  src: SrcRef
}

export interface LoopSpec {
  /** The list, or a template string that yields it, after with_* forms are normalized. */
  items: unknown
  /** with_dict → dict2items, with_together, ... recorded for faithful item shapes. */
  kind:
    | 'loop'
    | 'with_items'
    | 'with_list'
    | 'with_dict'
    | 'with_indexed_items'
    | 'with_sequence'
    | 'with_fileglob'
    | 'with_subelements'
    | 'with_nested'
    | 'with_together'
    | `with_${string}`
  /** A variable name, or a template rendered per host at run time. */
  loopVar: string
  indexVar?: string
  label?: string
  pause?: number
  extended?: boolean
  /** loop_control.extended_allitems (Ansible's default: true): ansible_loop.allitems is set. */
  extendedAllitems?: boolean
}

export interface Task extends TaskCommon {
  kind: 'task'
  /** Canonical module name (without an `ansible.builtin.` prefix). */
  module: string
  /** The key as written, for messages. */
  moduleKey: string
  /** Arguments: the module's mapping merged with `args:`; free-form text goes to `_raw_params`. */
  args: Vars
  /** A module k3sbook does not implement (it exists in Ansible, or may): the task fails if it runs. */
  unsupported?: boolean
  /**
   * Its arguments fail the module's schema, and validate only warned (the task may not run, or its
   * failure is caught): where it runs, it fails with this message instead of running.
   */
  invalid?: string
  /** For a module k3sbook lacks: the `library/` folders Ansible searches first (the roles', the playbook's). */
  libraryDirs?: string[]
  loop?: LoopSpec
  register?: string
  notify: string[]
  changedWhen?: string[] | boolean
  failedWhen?: string[] | boolean
  until?: string[]
  retries?: number | string
  delay?: number | string
  /** Per-task time limit in seconds. */
  timeout?: number
  /** `async`: the job's longest run in seconds (command, shell: run in the background; executor/async.ts). */
  async?: number | string
  /** `poll`: seconds between looks at an async job; 0 leaves it running (fire and forget). Default 15. */
  poll?: number | string
  /** Folder that relative `src:`/`file` paths resolve against when not in a role. */
  baseDir: string
}

export interface Block extends TaskCommon {
  kind: 'block'
  block: TaskItem[]
  rescue: TaskItem[]
  always: TaskItem[]
}

/** `include_tasks` / `include_role`: resolved at run time per host (file may be templated). */
export interface Include extends TaskCommon {
  kind: 'include'
  what: 'tasks' | 'role'
  /** File (for tasks) or role name, as written (may contain templates). */
  target: string
  /** For include_role: tasks_from etc. */
  options: Vars
  loop?: LoopSpec
  baseDir: string
  /** When the target has no template in it, the loader resolves it up front for validation. */
  preloaded?: TaskItem[]
  /** `apply:`: keywords for the included tasks (the include's own stay on the include). */
  apply?: TaskCommon
}

export type TaskItem = Task | Block | Include

/** A handler: a task, or a dynamic include whose tasks run when it is notified (Ansible 2.14 allows both). */
export type Handler = (Task | Include) & { listen: string[] }

export interface Play {
  name: string
  /** Host pattern as written (templated with extra vars before it is resolved). */
  hosts: string
  vars: Vars
  /** vars_files as written and, once loaded, their variables in order. */
  varsFiles: { path: string; vars: Vars }[]
  preTasks: TaskItem[]
  /** Role tasks, dependencies first, each task carrying its RoleContext. */
  roleTasks: TaskItem[]
  tasks: TaskItem[]
  postTasks: TaskItem[]
  /** Play handlers and the handlers of every role in the play. */
  handlers: Handler[]
  /** Names (and listen topics) of handlers that could not be loaded: notify still finds them. */
  refusedHandlers?: string[]
  roles: RoleContext[]
  become?: boolean | string
  becomeUser?: string
  becomeMethod?: string
  /** A template (`gather_facts: "{{ x }}"`) is decided when the play starts, with play and extra vars. */
  gatherFacts: boolean | string
  serial?: (number | string)[]
  strategy: 'linear' | 'free'
  anyErrorsFatal: boolean
  maxFailPercentage?: number
  tags: string[]
  environment?: unknown
  moduleDefaults?: unknown
  checkMode?: boolean
  diff?: boolean
  src: SrcRef
}

export interface Playbook {
  file: string
  /** Folder of the playbook: its group_vars/, host_vars/, roles/, templates/, files/. */
  dir: string
  plays: Play[]
}
