// `k3sbook run` and `k3sbook check`: load and validate everything (no host is contacted when
// anything is wrong), then execute with the chosen reporter.
import type { Command } from 'commander'
import { createInterface } from 'node:readline/promises'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, extname, join, resolve } from 'node:path'
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
import { addVaultOptions, setupVault, type VaultCliOptions } from './vaultopts.js'

export interface RunCliOptions extends VaultCliOptions {
  retryFailed?: boolean
  inventory?: string[]
  limit?: string
  check?: boolean
  diff?: boolean
  tags?: string
  skipTags?: string
  forks?: string
  extraVars?: string[]
  startAtTask?: string
  output?: 'auto' | 'tty' | 'plain' | 'json'
  verbose?: number
  confirm?: boolean
  acceptNewHostKeys?: boolean
  connectTimeout?: string
  lab?: string
}

const collect = (v: string, prev: string[] = []) => [...prev, v]
const count = (_v: string, prev = 0) => prev + 1

function addRunOptions(cmd: Command): Command {
  return cmd
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-l, --limit <pattern>', 'further limit the hosts with an Ansible host pattern')
    .option('-C, --check', 'plan only: show what would change, change nothing')
    .option('-D, --diff', 'show the differences in files that change')
    .option('-t, --tags <tags>', 'only run tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'skip tasks with these tags (comma-separated)')
    .option('-f, --forks <n>', 'hosts run in parallel (default 50)')
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON; highest precedence (repeatable)', collect)
    .option('--start-at-task <name>', 'start at the first task whose name matches (globs allowed)')
    .option('-o, --output <mode>', 'auto | tty | plain | json', 'auto')
    .option('-v, --verbose', 'more output (repeat: -vv, -vvv)', count)
    .option('--confirm', 'check first on every host, show the changes, ask once, then apply')
    .option('--accept-new-host-keys', 'trust and record host keys not yet in known_hosts (changed keys are always refused)')
    .option('--connect-timeout <seconds>', 'SSH connect timeout', '10')
    .option('--lab <name>', 'use the inventory of this running lab when no -i is given')
    .option('--retry-failed', 'run only the hosts that failed or were unreachable in the last run of this playbook (from .k3sbook/retry/)')
    .addHelpText('after', '\nFailed and unreachable hosts of a run are listed in .k3sbook/retry/<playbook>.retry (also usable as --limit @FILE).')
}

export function register(program: Command): void {
  addRunOptions(addVaultOptions(program.command('run')).description('run a playbook')).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runCommand(playbook, o)
  })
  addRunOptions(
    addVaultOptions(program.command('check')).description('show what a run would change (= run --check --diff); exit 2 when anything would change, 0 when nothing would'),
  ).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runCommand(playbook, { ...o, check: true, diff: true }, true)
  })
}

function splitList(s: string | undefined): string[] {
  return s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []
}

export async function runCommand(playbook: string, o: RunCliOptions, isCheckCommand = false): Promise<number> {
  trace('run command')
  const { loadProject } = await import('../playbook/project.js')
  trace('loader loaded')
  const diags = new Diagnostics()
  try {
    await setupVault(o)
  } catch (e) {
    process.stderr.write(`error: ${e instanceof K3sbookError ? e.format() : (e as Error).message}\nno host was contacted\n`)
    return EXIT.invalid
  }
  const retryFile = retryPath(playbook)
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
  let inventories = o.inventory
  if (!inventories?.length) inventories = await defaultInventories(o.lab)
  const project = (await loadProject(
    { playbook, inventories: inventories ?? [], extraVars: o.extraVars ?? [], limit: o.limit, tags: splitList(o.tags), skipTags: splitList(o.skipTags) },
    diags,
  )) as Project | undefined
  trace('project loaded and validated')
  // Diagnostics may quote a decrypted value: mask what is known so far (vault values, secret names).
  const early = project && !diags.hasErrors ? undefined : vaultRedactor()
  const mask = (t: string) => (early ?? secretsOf(project!)).text(t)
  for (const d of diags.sorted()) process.stderr.write(mask(formatDiagnostic(d)) + '\n')
  if (!project || diags.hasErrors) {
    process.stderr.write(`${diags.errors.length} error(s); no host was contacted\n`)
    return EXIT.invalid
  }

  const redactor = secretsOf(project)
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts > 1) process.exit(EXIT.interrupted)
    process.stderr.write('\ninterrupted: finishing the steps in flight (Ctrl-C again to force exit)\n')
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const { makeConnectionFactory } = await import('../connection/index.js')
    const connect = makeConnectionFactory({
      acceptNewHostKeys: !!o.acceptNewHostKeys,
      connectTimeoutMs: Number(o.connectTimeout ?? 10) * 1000,
    })
    const base: RunOptions = {
      check: !!o.check,
      diff: !!o.diff,
      limit: o.limit,
      tags: splitList(o.tags),
      skipTags: splitList(o.skipTags),
      forks: o.forks ? Number(o.forks) : undefined,
      startAtTask: o.startAtTask,
      verbosity: o.verbose ?? 0,
      connect,
      signal: controller.signal,
      loadTasks: await taskLoader(),
    }
    let lastPlanned: Map<string, string[][]> | undefined
    if (o.confirm && !o.check) {
      const planned = new Map<string, string[][]>()
      const preview = await execute(project, { ...base, check: true, diff: true, record: planned }, o, redactor)
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
    const summary = await execute(project, o.confirm && !o.check ? { ...base, expect: lastPlanned } : base, o, redactor)
    if (!base.check) await recordRetry(retryFile, summary.recap, redactor)
    if (isCheckCommand && summary.exitCode === 0) return summary.changed ? EXIT.changes : EXIT.ok
    if (isCheckCommand && summary.exitCode === EXIT.failed) return EXIT.checkFailed
    return summary.exitCode
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function execute(project: Project, opts: RunOptions, o: RunCliOptions, redactor: Redactor) {
  const reporter = await makeReporter(o, redactor)
  const emit = (e: RunEvent) => reporter.handle(e)
  try {
    trace('executor loaded')
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

export async function makeReporter(o: Pick<RunCliOptions, 'output' | 'diff' | 'verbose'>, redactor: Redactor): Promise<Reporter> {
  const mode = o.output === 'auto' || !o.output ? (process.stdout.isTTY ? 'tty' : 'plain') : o.output
  const out = mode === 'tty' ? undefined : bufferedStdout()
  const write = out ? out.write : (s: string) => process.stdout.write(s)
  if (mode === 'json') return withFlush(new JsonReporter(write, redactor), out!)
  if (mode === 'tty') {
    // A pseudo-terminal that never had its size set reports 0 columns: listr2 would wrap every character.
    if (!process.stdout.columns) Object.defineProperty(process.stdout, 'columns', { value: 80, configurable: true })
    // listr2 is loaded only for a terminal: plain and JSON runs start faster without it.
    const { TtyReporter } = await import('../output/tty.js')
    return new TtyReporter(write, { diff: o.diff, verbosity: o.verbose, redactor })
  }
  return withFlush(new PlainReporter(write, { diff: o.diff, verbosity: o.verbose, redactor }), out!)
}

function vaultRedactor(): Redactor {
  const r = new Redactor()
  for (const v of vaultSecrets()) r.add(v)
  return r
}

/** Values of variables whose names mark them secret, anywhere in the inventory, play vars or extra vars. */
export function secretsOf(project: Project): Redactor {
  const r = new Redactor()
  const scan = (vars: Vars | undefined) => {
    for (const [k, v] of Object.entries(vars ?? {})) {
      if (SECRET_NAME.test(k) && typeof v === 'string' && !v.includes('{{')) r.add(v)
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
  const bad = Object.keys(recap).filter((h) => recap[h].failed > 0 || recap[h].unreachable > 0).sort()
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

async function defaultInventories(lab?: string): Promise<string[] | undefined> {
  const { defaultInventory } = await import('../playbook/project.js')
  const fromConfig = defaultInventory(process.cwd())
  if (fromConfig?.length && !lab) return fromConfig
  try {
    const { findRunningLab } = await import('../lab/index.js')
    const found = await findRunningLab(lab)
    if (found) {
      process.stderr.write(`using the inventory of the running lab "${found.name}": ${found.inventoryPath}\n`)
      return [found.inventoryPath]
    }
  } catch {
    /* no lab support on this machine */
  }
  return undefined
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
