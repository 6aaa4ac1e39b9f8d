// `k3sbook run` and `k3sbook check`: load and validate everything (no host is contacted when
// anything is wrong), then execute with the chosen reporter.
import type { Command } from 'commander'
import { createInterface } from 'node:readline/promises'
import { Diagnostics, formatDiagnostic } from '../errors.js'
import type { RunEvent } from '../executor/events.js'
import { runPlaybook, type Project, type RunOptions } from '../executor/run.js'
import type { Vars } from '../model.js'
import { Redactor, SECRET_NAME, type Reporter } from '../output/common.js'
import { JsonReporter } from '../output/json.js'
import { PlainReporter } from '../output/plain.js'
import { TtyReporter } from '../output/tty.js'
import { EXIT } from './exit.js'

export interface RunCliOptions {
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
}

export function register(program: Command): void {
  addRunOptions(program.command('run').description('run a playbook')).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runCommand(playbook, o)
  })
  addRunOptions(
    program.command('check').description('show what a run would change (= run --check --diff); exit 2 when anything would change, 0 when nothing would'),
  ).action(async (playbook: string, o: RunCliOptions) => {
    process.exitCode = await runCommand(playbook, { ...o, check: true, diff: true }, true)
  })
}

function splitList(s: string | undefined): string[] {
  return s ? s.split(',').map((x) => x.trim()).filter(Boolean) : []
}

export async function runCommand(playbook: string, o: RunCliOptions, isCheckCommand = false): Promise<number> {
  const { loadProject } = await import('../playbook/project.js')
  const diags = new Diagnostics()
  let inventories = o.inventory
  if (!inventories?.length) inventories = await defaultInventories(o.lab)
  const project = (await loadProject(
    { playbook, inventories: inventories ?? [], extraVars: o.extraVars ?? [], limit: o.limit, tags: splitList(o.tags), skipTags: splitList(o.skipTags) },
    diags,
  )) as Project | undefined
  for (const d of diags.sorted()) process.stderr.write(formatDiagnostic(d) + '\n')
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
    if (o.confirm && !o.check) {
      const preview = await execute(project, { ...base, check: true, diff: true }, o, redactor)
      if (preview.interrupted) return EXIT.interrupted
      if (!preview.changed) {
        process.stdout.write('nothing to change\n')
        return preview.exitCode
      }
      if (preview.exitCode !== 0) return preview.exitCode
      if (!(await ask('Apply these changes? [y/N] '))) {
        process.stdout.write('aborted: nothing was changed\n')
        return EXIT.ok
      }
    }
    const summary = await execute(project, base, o, redactor)
    if (isCheckCommand && summary.exitCode === 0) return summary.changed ? EXIT.changes : EXIT.ok
    if (isCheckCommand && summary.exitCode === EXIT.failed) return EXIT.checkFailed
    return summary.exitCode
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function execute(project: Project, opts: RunOptions, o: RunCliOptions, redactor: Redactor) {
  const reporter = makeReporter(o, redactor)
  const emit = (e: RunEvent) => reporter.handle(e)
  try {
    return await runPlaybook(project, opts, emit)
  } finally {
    await reporter.close()
  }
}

export function makeReporter(o: Pick<RunCliOptions, 'output' | 'diff' | 'verbose'>, redactor: Redactor): Reporter {
  const write = (s: string) => process.stdout.write(s)
  const mode = o.output === 'auto' || !o.output ? (process.stdout.isTTY ? 'tty' : 'plain') : o.output
  if (mode === 'json') return new JsonReporter(write, redactor)
  if (mode === 'tty') return new TtyReporter(write, { diff: o.diff, verbosity: o.verbose, redactor })
  return new PlainReporter(write, { diff: o.diff, verbosity: o.verbose, redactor })
}

/** Values of variables whose names mark them secret, anywhere in the inventory, play vars or extra vars. */
export function secretsOf(project: Project): Redactor {
  const r = new Redactor()
  const scan = (vars: Vars | undefined) => {
    for (const [k, v] of Object.entries(vars ?? {})) {
      if (SECRET_NAME.test(k) && typeof v === 'string' && !v.includes('{{')) r.add(v)
    }
  }
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
