// The module contract: plan() reads the host (it is given a reader, never a writer) and returns
// what must change as data; applying is separate. Check mode is "plan, don't apply", decided in
// exactly one place (the executor), so no module can forget it.
import type { SchemaObject } from 'ajv'
import type { Become, ExecResult } from '../connection/types.js'
import type { Task, Vars } from '../model.js'
import type { EffectKey } from './lib/effects.js'

export type FileType = 'file' | 'directory' | 'link' | 'other'

export interface FileInfo {
  path: string
  exists: boolean
  type?: FileType
  /** Octal, four digits: '0644'. */
  mode?: string
  owner?: string
  group?: string
  uid?: number
  gid?: number
  size?: number
  mtime?: number
  /** Present when asked for (files only). */
  sha256?: string
  /** Present when asked for (files only). */
  content?: Buffer
  /** For links. */
  linkTarget?: string
  /** Set by the check-mode overlay when an earlier step's effect on this path can't be known. */
  unknown?: string
}

/** What a step does to the host, declared so check mode can predict later plans. */
export type PathEffect =
  | { path: string; state: 'file'; content?: Buffer; sha256?: string; mode?: string; owner?: string; group?: string }
  | { path: string; state: 'directory'; mode?: string; owner?: string; group?: string }
  | { path: string; state: 'link'; target: string }
  | { path: string; state: 'absent' }
  | { path: string; state: 'unknown'; reason: string }

export type Effect =
  | PathEffect
  /** Anything else (a package installed, a service state): keys are built with lib/effects.ts's effectKey. */
  | { key: EffectKey; value: unknown }

export interface Step {
  /** One line for -v output and errors: "write /etc/hosts", "apt-get install curl". */
  describe: string
  /** POSIX sh script run on the host. Every value in it must be quoted with shQuote(). */
  script: string
  stdin?: Buffer | string
  env?: Record<string, string>
  /** Exit codes that count as success (default [0]). */
  okCodes?: number[]
  timeoutMs?: number
  /** Keep at most this many bytes of each of stdout and stderr (head and tail, a note between); unset: all of it. */
  maxOutput?: number
  effects?: Effect[]
}

export interface FileDiff {
  path: string
  before: string
  after: string
  /** Set instead of before/after when a side is larger than MAX_DIFF_SIZE: Ansible's "diff skipped: … size is greater than 104448". */
  skipped?: string
}

export interface Change {
  /** "content", "mode 0644 → 0600", "create directory", ... */
  summary: string
  diff?: FileDiff
}

export type Plan =
  | { status: 'ok'; note?: string; result?: Vars }
  | { status: 'change'; changes: Change[]; steps: Step[]; result?: Vars; data?: unknown }
  /** Can't tell without running (e.g. a command with no creates/removes). Applied like 'change'. */
  | { status: 'unknown'; reason: string; changes?: Change[]; steps: Step[]; result?: Vars; data?: unknown }
  /** The module decided not to act (e.g. `creates` exists) and says why. */
  | { status: 'skip'; reason: string; result?: Vars }
  /** The module itself fails (assert, fail, a bad combination found only at run time). */
  | { status: 'fail'; msg: string; result?: Vars }

export type ActionablePlan = Extract<Plan, { steps: Step[] }>
// `data`: what plan() hands the module's own apply()/result() (lib/plan-data.ts); the executor never reads it.

export interface StepResult extends ExecResult {
  step: Step
  durationMs: number
}

/** Read-only view of one host. */
export interface HostReader {
  readonly host: string
  /** Runs a probe script. Probes must not change the host. */
  probe(script: string, opts?: { stdin?: Buffer | string; env?: Record<string, string>; become?: Become; maxOutput?: number }): Promise<ExecResult>
  /** Facts about paths in one round trip; in check mode overlaid with what earlier planned steps would write. */
  files(paths: string[], opts?: { sha256?: boolean; content?: boolean | number; follow?: boolean }): Promise<Map<string, FileInfo>>
  /** A non-file effect recorded by an earlier planned step in check mode (e.g. 'pkg:curl'). */
  pending(key: EffectKey): unknown
  /**
   * True when earlier planned steps on this host were not applied (check mode): state the module
   * is about to wait for or compare against may be about to change. A module that would wait
   * (wait_for) or fail on missing state should then plan 'unknown' instead.
   */
  hasPending(): boolean
}

/** Files on the control machine, resolved the way Ansible does (role's templates/ or files/, then the playbook's). */
export interface ControllerFiles {
  find(name: string, kind: 'templates' | 'files'): Promise<{ path: string; content: Buffer }>
  render(text: string, vars: Vars, file?: string): string
  /** Folders lookup('file'/'template') search from this task (as for its arguments). */
  searchPath?: string[]
}

export interface PlanContext {
  host: string
  /** All variables visible to the task on this host (for templates). */
  vars: Vars
  reader: HostReader
  /** Build content diffs only when asked. */
  diff: boolean
  controller: ControllerFiles
  become?: Become
  task: Task
  /** The task is checked (check mode): only the bridge reads it, to run Ansible's module in its own check mode. */
  check?: boolean
  /**
   * Whether anything reads the task's result beyond its status (it is registered, or retried with
   * `until`). False lets a module leave out work done only to fill the result (copy and file's
   * stat after a change: a program fewer on the host per change). Undefined counts as read.
   */
  resultRead?: boolean
}

export interface ApplyContext {
  host: string
  run(step: Step): Promise<StepResult>
  task: Task
  /**
   * Streams a control-machine file (path) or bytes to a path on the host, with the task's become.
   * Used by get_url (download: controller) and unarchive; when absent, those modules send the
   * bytes through a step's stdin instead.
   */
  upload?(src: string | Buffer, remotePath: string, opts?: { mode?: string }): Promise<void>
  /**
   * Runs a step with its stdout streamed into `stdout` (with backpressure), not kept: the result's
   * stdout is empty. For transfers from the host of any size (fetch).
   */
  stream?(step: Step, stdout: NodeJS.WritableStream): Promise<StepResult>
  /**
   * Drops the host's connection and opens a new one (reboot, wait_for_connection); throws
   * ConnectionError while the host cannot be reached. Later tasks use the new connection.
   */
  reconnect?(): Promise<void>
}

export interface Module<A = Vars> {
  /** The YAML key. */
  readonly name: string
  readonly aliases?: readonly string[]
  /** One or two lines, shown by `k3sbook doc`. */
  readonly description: string
  /** JSON Schema of the arguments; `description` on each property is the user-facing doc. */
  readonly schema: SchemaObject
  /** Accepts Ansible's free-form string (`command: ls -l`), stored in `_raw_params`. */
  readonly freeForm?: boolean
  /**
   * With freeForm: the only `key=value` words taken out of the free-form text as options (command's
   * creates, chdir, ...); every other word stays in the text. Not given: every `key=value` word is
   * an option (set_fact, meta).
   */
  readonly freeFormOptions?: ReadonlySet<string>
  /**
   * With freeForm: the text is `name=value` words, each a variable to set (set_fact), split before
   * anything is rendered so a value keeps its type. Otherwise the text is one value (include_vars' file).
   */
  readonly freeFormVars?: boolean
  /** Runs on the control machine only (debug, set_fact, assert, fail, meta): no host is contacted. */
  readonly controllerOnly?: boolean
  /** Relative `src:` files (kind) that must exist on the controller, for validate. */
  readonly sourceArgs?: Readonly<Record<string, 'templates' | 'files'>>
  /**
   * plan() asks nothing after a probe() is answered (its files() questions come before or beside
   * it): once a read-ahead has fetched that probe, planning again could only repeat the work.
   */
  readonly probeIsLast?: boolean

  // What the executor and the checker need to know about a module: they read these properties,
  // never a module's name.

  /** plan() only reads files and package/state listings: safe and useful to plan ahead (read-ahead). */
  readonly readAhead?: boolean
  /**
   * What it registers is only known after a run (a command's output, a response, a download):
   * in check mode a planned run's result is "not run", and failed_when/changed_when can't judge it.
   */
  readonly resultAfterRun?: boolean
  /**
   * Its result() without step results is Ansible's check-mode result (command: "Command would have
   * run if not in check mode", skipped unless creates/removes). A task with `check_mode: true` of its
   * own (or its block's, its play's) registers exactly that in every run: it is final, not "not run".
   */
  readonly checkModeResult?: boolean
  /**
   * The read-ahead's guess for a path it has not fetched yet, when this module knows better than
   * "a plain file" (file with state=link manages a link): so the plan goes on to ask its next
   * question in the same round trip. A wrong guess costs only a round trip.
   */
  readAheadGuess?(path: string, args: A, follow: boolean): FileInfo | undefined
  /**
   * The variables a task of this module defines for later tasks (set_fact): the checker knows
   * them, the result's ansible_facts become host variables, and in check mode an unknown outcome
   * makes them unknown.
   */
  setsVars?(args: A): string[]
  /**
   * The variables it defines are named only when it runs (include_vars, setup, add_host, group_by,
   * the *_facts modules): after it, the checker cannot call a variable certainly undefined.
   */
  readonly namesAtRun?: boolean
  /**
   * Its result's `ansible_facts` are gathered facts named as Ansible's setup returns them
   * (`ansible_X`, `gather_subset`, `module_setup`): they are merged into the host's facts, read as
   * `ansible_facts.X` and as the variables `ansible_X` (setup, gather_facts).
   */
  readonly gathersFacts?: boolean
  /**
   * Arguments that hold conditions written like `when:` (assert's `that`): their list items are
   * expression texts, so a YAML boolean or null in them is read as Python prints it.
   */
  readonly conditionArgs?: readonly string[]
  /**
   * Arguments the target runs as commands, and how: 'shell' (a shell runs the whole value: shell's
   * command line, raw, script, `validate`, a cron job), 'words' (a command line cut into words with
   * no shell: command's; the first word is the program), 'argv' (a list whose first item is the
   * program). On the control machine none of them may carry host data (executor/controller-guard.ts).
   */
  readonly commandArgs?: Readonly<Record<string, 'shell' | 'words' | 'argv'>>
  /**
   * Arguments that name a file on the control machine, whatever the target (copy's and template's
   * `src`, a script, include_vars' file): 'read' (the file is read, and usually sent to the host) or
   * 'write' (fetch's `dest`). Given the task's arguments as written, since `remote_src` moves `src`
   * to the host. Host data names a file to read there only among the playbook's and roles' own (a
   * relative name, no ".."), and never climbs out of a folder to write.
   */
  controllerFiles?(args: Vars): Readonly<Record<string, 'read' | 'write'>>
  /** Refuses to run without arguments (command, shell): an ad-hoc call needs -a. */
  readonly requiresArgs?: boolean
  /**
   * Its result changes the inventory (add_host: `add_host`, group_by: `add_group`), applied by the
   * executor (executor/inventory-change.ts), which decides `changed`. 'once': like Ansible's
   * BYPASS_HOST_LOOP, it runs on the first host of the play only and its result is shared (add_host).
   */
  readonly changesInventory?: 'once' | 'per-host'
  /** Acts on the play (meta): its result's `_meta` is carried out; it is not a result line. */
  readonly playControl?: boolean
  /**
   * Ansible's own module code run through the bridge (src/modules/bridge/): its result's
   * `skipped: true` skips the task (a module without check mode support, in check mode), and its
   * `ansible_facts` become host variables, as in Ansible.
   */
  readonly bridged?: boolean
  /** Its result is a message for the user (debug): the executor emits a `debug` event. */
  readonly printsResult?: boolean
  /**
   * It writes one whole file, at the path this argument names (copy's and template's `dest`): in
   * check mode, a file whose content cannot be known but whose path is absent is surely written.
   */
  readonly writesWholeFile?: string
  /**
   * Its plan's one step may run as a background job on the host (`async`/`poll`: executor/async.ts),
   * whose result is built again from the job's exit code and output by resultOfJob(): command, shell.
   */
  readonly asyncJob?: {
    resultOfJob(plan: Plan, step: StepResult, args: A, times: { start: string; end: string; delta: string }): Vars
  }
  plan(args: A, ctx: PlanContext): Promise<Plan>
  /** Default: run plan.steps in order, stopping at the first failing step. */
  apply?(plan: ActionablePlan, args: A, ctx: ApplyContext): Promise<StepResult[]>
  /** The registered value after apply (Ansible's shape: rc, stdout, changed, ...). */
  result?(plan: Plan, steps: StepResult[] | undefined, args: A): Vars
}
