// `k3sbook run` and `k3sbook check`: load and validate everything (no host is contacted when
// anything is wrong), then execute with the chosen reporter.
import type { Command } from 'commander'
import { createInterface } from 'node:readline/promises'
import { setFlagsFromString } from 'node:v8'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, extname, join, relative, resolve } from 'node:path'
import { Diagnostics, K3sbookError, formatDiagnostic } from '../errors.js'
import type { RunEvent } from '../executor/events.js'
import { runPlaybook, type Project, type RunOptions } from '../executor/run.js'
import type { Vars } from '../model.js'
import { Redactor, SECRET_NAME, type Reporter } from '../output/common.js'
import { JsonReporter } from '../output/json.js'
import { PlainReporter } from '../output/plain.js'
import { vaultSecrets } from '../vault.js'
import { EXIT } from '../exit.js'
import { trace } from '../trace.js'
import { useHostFileRegistry } from '../hostfiles.js'
import { addVaultOptions, setupVault, type VaultCliOptions } from './vaultopts.js'
import {
  addConnectionOptions,
  addUnsupportedOptions,
  applyConnectionDefaults,
  CliError,
  collect,
  connectionSettings,
  inventoriesFor,
  type ConnCliOptions,
  type ConnectionSettings,
} from './common.js'
import { checkSelection } from './select.js'

export interface RunCliOptions extends VaultCliOptions, ConnCliOptions {
  retryFailed?: boolean
  inventory?: string[]
  limit?: string
  check?: boolean
  diff?: boolean
  tags?: string
  skipTags?: string
  extraVars?: string[]
  startAtTask?: string
  output?: 'auto' | 'tty' | 'plain' | 'json'
  verbose?: number
  confirm?: boolean
  lab?: string
  step?: boolean
  forceHandlers?: boolean
  listHosts?: boolean
  listTasks?: boolean
  listTags?: boolean
  syntaxCheck?: boolean
  /** The check pass of --confirm: the view lists every change and diff before the question. */
  confirmPreview?: boolean
}

/** What an ad-hoc run changes in the run path: its play is generated, not a file the user wrote. */
export interface RunExtras {
  /** Replaces the generated playbook's path in messages. */
  display?: { file: string; as: string }
  /** The executor's verbosity when it differs from the view's (ad-hoc results carry their output). */
  executorVerbosity?: number
  /** A pattern that matches no host is bad input (exit 5), not an empty run. */
  requireHosts?: boolean
  /** Wraps the reporter the output mode chose. */
  wrapReporter?: (r: Reporter, mode: OutputMode) => Reporter
}

export type OutputMode = 'tty' | 'plain' | 'json'

const count = (_v: string, prev = 0) => prev + 1

/** Options of every command that runs tasks on hosts (run, check, adhoc). */
export function addExecOptions(cmd: Command): Command {
  return addUnsupportedOptions(
    addConnectionOptions(
      addVaultOptions(cmd)
        .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
        .option('-l, --limit <pattern>', 'further limit the hosts with an Ansible host pattern')
        .option('-C, --check', 'plan only: show what would change, change nothing')
        .option('-D, --diff', 'show the differences in files that change')
        .option('-f, --forks <n>', 'hosts run in parallel (default 50; also forks in ansible.cfg)')
        .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON; highest precedence (repeatable)', collect)
        .option('-o, --output <mode>', 'auto | tty | plain | json', 'auto')
        .option('-v, --verbose', 'more output (repeat: -vv, -vvv)', count)
        .option('--lab <name>', 'use the inventory of this running lab when no -i is given'),
    ),
  )
}

function addRunOptions(cmd: Command): Command {
  return addExecOptions(cmd)
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-t, --tags <tags>', 'only run tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags (comma-separated)')
    .option('--start-at-task <name>', 'start at the first task whose name matches (globs allowed)')
    .option('--step', 'ask before each task: (y)es, (n)o, (c)ontinue without asking')
    .option('--force-handlers', 'run notified handlers even on hosts where a later task failed')
    .option('--confirm', 'check first on every host, show the changes, ask once, then apply')
    .option('--retry-failed', 'run only the hosts that failed or were unreachable in the last run of this playbook (from .k3sbook/retry/)')
    .option('--list-hosts', 'list the hosts each play would run on and stop (= k3sbook hosts)')
    .option('--list-tasks', 'list the tasks each play would run and stop (= k3sbook tasks)')
    .option('--list-tags', 'list the tags of each play and its tasks and stop')
    .option('--syntax-check', 'check everything without contacting a host and stop (= k3sbook validate)')
    .addHelpText('after', '\nFailed and unreachable hosts of a run are listed in .k3sbook/retry/<playbook>.retry (also usable as --limit @FILE).')
}

export function register(program: Command): void {
  addRunOptions(program.command('run').description('run a playbook')).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runOrList(playbook, o)
  })
  addRunOptions(
    program.command('check').description('show what a run would change (= run --check --diff); exit 2 when anything would change, 0 when nothing would'),
  ).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runOrList(playbook, { ...o, check: true, diff: true }, true)
  })
}

/** ansible-playbook's --list-hosts, --list-tasks, --list-tags and --syntax-check lead to the k3sbook commands that do it. */
async function runOrList(playbook: string, o: RunCliOptions, isCheckCommand = false): Promise<number> {
  if (o.syntaxCheck) {
    const { validateCommand } = await import('./validate.js')
    return validateCommand(playbook, o, (s) => process.stdout.write(s))
  }
  if (o.listHosts) {
    const { hostsCommand } = await import('./hosts.js')
    return hostsCommand(playbook, o)
  }
  if (o.listTasks || o.listTags) {
    const { tasksCommand } = await import('./tasks.js')
    return tasksCommand(playbook, { ...o, positions: true, listTags: o.listTags })
  }
  return runCommand(playbook, o, isCheckCommand)
}

function splitList(s: string | undefined): string[] {
  return s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : []
}

export async function runCommand(playbook: string, o: RunCliOptions, isCheckCommand = false, extras: RunExtras = {}): Promise<number> {
  trace('run command')
  const { loadProject } = await import('../playbook/project.js')
  trace('loader loaded')
  const diags = new Diagnostics()
  const shown = (t: string) => {
    const d = extras.display
    return d ? t.split(d.file).join(d.as).split(relative(process.cwd(), d.file)).join(d.as) : t
  }
  let settings: ConnectionSettings
  let inventories: string[]
  try {
    await setupVault(o)
    settings = await connectionSettings(o)
    inventories = await inventoriesFor(o)
  } catch (e) {
    process.stderr.write(`error: ${e instanceof K3sbookError ? e.format() : (e as Error).message}\nno host was contacted\n`)
    return EXIT.invalid
  }
  for (const w of settings.warnings) process.stderr.write(`warning: ${w}\n`)
  const retryFile = retryPath(playbook)
  // files earlier runs fetched from hosts stay host data (hostfiles.ts)
  useHostFileRegistry(resolve(dirname(retryFile), '..', 'host-files'))
  let limit = o.limit
  if (o.retryFailed) {
    if (o.limit) {
      process.stderr.write('error: --retry-failed and --limit cannot be combined (use --limit @' + retryFile + ')\n')
      return EXIT.invalid
    }
    if (!existsSync(retryFile)) {
      process.stderr.write(`error: no failed hosts recorded for this playbook (${retryFile} does not exist): the last run succeeded or never ran\n`)
      return EXIT.invalid
    }
    limit = '@' + retryFile
  }
  o = { ...o, limit }
  const project = (await loadProject(
    { playbook, inventories, extraVars: o.extraVars ?? [], limit: o.limit, tags: splitList(o.tags), skipTags: splitList(o.skipTags) },
    diags,
  )) as Project | undefined
  if (project) await (await import('../playbook/bridge-check.js')).checkBridged(project.playbook, diags)
  trace('project loaded and validated')
  // Diagnostics may quote a decrypted value: mask what is known so far (vault values, secret names).
  const early = project && !diags.hasErrors ? undefined : vaultRedactor()
  const mask = (t: string) => shown((early ?? secretsOf(project!)).text(t))
  for (const d of diags.sorted()) process.stderr.write(mask(formatDiagnostic(d)) + '\n')
  if (!project || diags.hasErrors) {
    process.stderr.write(`${diags.errors.length} error(s); no host was contacted\n`)
    return EXIT.invalid
  }
  const selection = checkSelection(project, {
    limit: o.limit,
    tags: splitList(o.tags),
    skipTags: splitList(o.skipTags),
    startAtTask: o.startAtTask,
    noInventory: inventories.length === 0,
    requireHosts: extras.requireHosts,
  })
  for (const w of selection.warnings) process.stderr.write(mask(`warning: ${w}`) + '\n')
  if (selection.errors.length) {
    for (const e of selection.errors) process.stderr.write(mask(`error: ${e}`) + '\n')
    process.stderr.write('nothing would run; no host was contacted\n')
    return EXIT.invalid
  }
  applyConnectionDefaults(project, settings.defaults)

  const redactor = secretsOf(project)
  for (const s of settings.secrets) redactor.add(s)
  const controller = new AbortController()
  const force = new AbortController()
  const graceMs = interruptGraceMs()
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts > 2) process.exit(EXIT.interrupted)
    if (interrupts > 1) {
      // Kill what runs on the hosts (one round trip each): the steps in flight then fail at once
      // and the run ends with its recap. 5 s is only a backstop for a host that does not answer (at
      // 1 s, a kill slower than that at high load would have been dropped with the connection).
      force.abort()
      setTimeout(() => process.exit(EXIT.interrupted), 5000).unref()
      return
    }
    process.stderr.write(
      `\ninterrupted: finishing the steps in flight; what still runs in ${graceMs / 1000} s is killed on the hosts (Ctrl-C again to force exit)\n`,
    )
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const { makeConnectionFactory } = await import('../connection/index.js')
    const connect = makeConnectionFactory({
      acceptNewHostKeys: settings.acceptNewHostKeys,
      connectTimeoutMs: settings.connectTimeoutMs,
    })
    const base: RunOptions = {
      check: !!o.check,
      diff: !!o.diff,
      limit: o.limit,
      tags: splitList(o.tags),
      skipTags: splitList(o.skipTags),
      forks: settings.forks,
      startAtTask: o.startAtTask,
      verbosity: extras.executorVerbosity ?? o.verbose ?? 0,
      connect,
      signal: controller.signal,
      forceSignal: force.signal,
      interruptGraceMs: graceMs,
      loadTasks: await taskLoader(),
    }
    if (o.step) {
      base.beforeTask = stepper()
      // the terminal view redraws over the question (and holds what is written while it runs):
      // plain lines, with the question between them, as ansible-playbook shows it
      if (!o.output || o.output === 'auto' || o.output === 'tty') o.output = 'plain'
    }
    if (o.forceHandlers) base.forceHandlers = true
    let lastPlanned: Map<string, string[][]> | undefined
    if (o.confirm && !o.check) {
      const planned = new Map<string, string[][]>()
      const preview = await execute(
        project,
        { ...base, check: true, diff: true, record: planned },
        { ...o, diff: true, confirmPreview: true },
        redactor,
        extras,
      )
      if (preview.interrupted) return EXIT.interrupted
      if (!preview.changed) {
        process.stdout.write('nothing to change\n')
        return preview.exitCode
      }
      if (preview.exitCode !== 0) return preview.exitCode
      lastPlanned = planned
      if (!(await ask('Apply these changes? [y/N] '))) {
        process.stdout.write('aborted: nothing was changed\n')
        return EXIT.ok
      }
    }
    const summary = await execute(project, o.confirm && !o.check ? { ...base, expect: lastPlanned } : base, o, redactor, extras)
    if (!base.check && !extras.display) await recordRetry(retryFile, summary.recap, redactor)
    if (isCheckCommand && summary.exitCode === 0) return summary.changed ? EXIT.changes : EXIT.ok
    if (isCheckCommand && summary.exitCode === EXIT.failed) return EXIT.checkFailed
    return summary.exitCode
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** How long the steps in flight may run on after a first SIGINT/SIGTERM: K3SBOOK_INTERRUPT_GRACE seconds, 5 by default. */
function interruptGraceMs(): number {
  const v = Number(process.env.K3SBOOK_INTERRUPT_GRACE)
  return process.env.K3SBOOK_INTERRUPT_GRACE && Number.isFinite(v) && v >= 0 ? v * 1000 : 5000
}

/** --step: asks on the terminal before each task, as ansible-playbook does. */
function stepper(): (task: string) => Promise<boolean> {
  let all = false
  return async (task) => {
    if (all) return true
    if (!process.stdin.isTTY) throw new CliError('--step needs a terminal to ask on')
    const rl = createInterface({ input: process.stdin, output: process.stderr })
    try {
      for (;;) {
        const a = (await rl.question(`Perform task: ${task} (N)o/(y)es/(c)ontinue: `)).trim().toLowerCase()
        if (a === 'c' || a === 'continue') {
          all = true
          return true
        }
        if (a === 'y' || a === 'yes') return true
        if (a === '' || a === 'n' || a === 'no') return false
      }
    } finally {
      rl.close()
    }
  }
}

/**
 * A run makes much short-lived garbage (a mesh task renders one template per host pair: 22,500 at
 * 150 hosts) while its live heap stays small (~30 MB at 50 hosts). V8 lets the old generation grow
 * up to 4× its live size between full collections when allocation is fast, so the peak RSS was
 * mostly garbage not yet collected (222 MB at 50 hosts). A growing factor of 1.25 collects sooner:
 * 149–151 MB at 50 hosts, 250 MB at 150 (256 MB with 1.5, 325–387 MB before), with no CPU cost
 * the measurements could separate from the load (test/bench/RESULTS.md). K3SBOOK_HEAP_GROWING_PERCENT
 * sets another percentage; 0 keeps V8's own.
 */
function keepHeapSmall(): void {
  const pct = Number(process.env.K3SBOOK_HEAP_GROWING_PERCENT ?? '25')
  if (Number.isInteger(pct) && pct > 0) setFlagsFromString(`--heap-growing-percent=${pct}`)
}

async function execute(project: Project, opts: RunOptions, o: RunCliOptions, redactor: Redactor, extras: RunExtras) {
  const reporter = await makeReporter(o, redactor, extras.wrapReporter)
  const emit = (e: RunEvent) => reporter.handle(e)
  try {
    trace('executor loaded')
    keepHeapSmall()
    return await runPlaybook(project, opts, emit)
  } finally {
    await reporter.close()
    trace('run done')
  }
}

/**
 * Output for the plain and JSON reporters, written once per turn of the event loop: a line per
 * host per task would otherwise be a write(2) each (stdout to a pipe or file is synchronous).
 */
function bufferedStdout(): { write(s: string): void; flush(): void } {
  let buf: string[] = []
  let scheduled = false
  const flush = () => {
    scheduled = false
    if (buf.length === 0) return
    const text = buf.join('')
    buf = []
    process.stdout.write(text)
  }
  // A forced exit (a second Ctrl-C) or a crash still prints what was reported.
  process.once('exit', flush)
  return {
    write(s) {
      buf.push(s)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush,
  }
}

function withFlush(r: Reporter, out: { flush(): void }): Reporter {
  return {
    handle: (e) => r.handle(e),
    close: async () => {
      try {
        await r.close()
      } finally {
        out.flush()
      }
    },
  }
}

export async function makeReporter(
  o: Pick<RunCliOptions, 'output' | 'diff' | 'verbose' | 'confirmPreview'>,
  redactor: Redactor,
  wrap: (r: Reporter, mode: OutputMode) => Reporter = (r) => r,
): Promise<Reporter> {
  const mode: OutputMode = o.output === 'auto' || !o.output ? (process.stdout.isTTY ? 'tty' : 'plain') : o.output
  if (!['tty', 'plain', 'json'].includes(mode)) throw new CliError(`--output ${mode}: use auto, tty, plain or json`)
  const out = mode === 'tty' ? undefined : bufferedStdout()
  const write = out ? out.write : (s: string) => process.stdout.write(s)
  if (mode === 'json') return withFlush(wrap(new JsonReporter(write, redactor), mode), out!)
  if (mode === 'tty') {
    // A pseudo-terminal that never had its size set reports 0 columns: listr2 would wrap every character.
    if (!process.stdout.columns) Object.defineProperty(process.stdout, 'columns', { value: 80, configurable: true })
    // listr2 is loaded only for a terminal: plain and JSON runs start faster without it.
    const { TtyReporter } = await import('../output/tty.js')
    return wrap(new TtyReporter(write, { diff: o.diff, verbosity: o.verbose, redactor, rows: process.stdout.rows, columns: process.stdout.columns }), mode)
  }
  return withFlush(wrap(new PlainReporter(write, { diff: o.diff, verbosity: o.verbose, redactor }), mode), out!)
}

function vaultRedactor(): Redactor {
  const r = new Redactor()
  for (const v of vaultSecrets()) r.add(v)
  return r
}

const FILE_NAME = /_(file|path|dir)$/i

/** Values of variables whose names mark them secret, anywhere in the inventory, play vars or extra vars. */
export function secretsOf(project: Project): Redactor {
  const r = new Redactor()
  const scan = (vars: Vars | undefined) => {
    for (const [k, v] of Object.entries(vars ?? {})) {
      // a key file's or password file's path names where the secret is; it is not the secret
      if (SECRET_NAME.test(k) && !FILE_NAME.test(k) && typeof v === 'string' && !v.includes('{{')) r.add(v)
    }
  }
  for (const v of vaultSecrets()) r.add(v)
  scan(project.extraVars)
  for (const h of project.inventory.hosts.values()) scan(h.vars)
  for (const g of project.inventory.groups.values()) scan(g.vars)
  for (const p of project.playbook.plays) {
    scan(p.vars)
    for (const f of p.varsFiles) scan(f.vars)
    for (const role of p.roles) {
      scan(role.defaults)
      scan(role.vars)
    }
  }
  return r
}

/** Where the hosts that failed in the last run of a playbook are listed (cwd-relative, like .k3sbook/). */
export function retryPath(playbook: string, cwd = process.cwd()): string {
  const name = basename(playbook, extname(playbook)) || 'playbook'
  return resolve(cwd, '.k3sbook', 'retry', `${name}.retry`)
}

/**
 * Lists failed and unreachable hosts, one per line (Ansible's .retry format), written atomically
 * with mode 0600; a run where every host succeeded removes the file.
 */
export async function recordRetry(file: string, recap: Record<string, { failed: number; unreachable: number }>, redactor?: Redactor): Promise<void> {
  const bad = Object.keys(recap)
    .filter((h) => recap[h].failed > 0 || recap[h].unreachable > 0)
    .sort()
  try {
    if (bad.length === 0) {
      await rm(file, { force: true })
      return
    }
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, bad.map((h) => (redactor ? redactor.text(h) : h)).join('\n') + '\n', { mode: 0o600 })
    await rename(tmp, file)
    process.stderr.write(`failed hosts listed in ${file} (rerun them with --retry-failed)\n`)
  } catch (e) {
    process.stderr.write(`warning: could not write the retry file ${file}: ${(e as Error).message}\n`)
  }
}

async function taskLoader(): Promise<RunOptions['loadTasks']> {
  const mod = (await import('../playbook/project.js')) as { loadTasksAtRuntime?: RunOptions['loadTasks'] }
  return mod.loadTasksAtRuntime
}

async function ask(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    process.stderr.write('--confirm needs a terminal to ask on; nothing was changed\n')
    return false
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  try {
    const a = await rl.question(question)
    return /^y(es)?$/i.test(a.trim())
  } finally {
    rl.close()
  }
}
