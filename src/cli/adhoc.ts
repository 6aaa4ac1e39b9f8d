// `k3sbook adhoc PATTERN -m MODULE -a ARGS` (and the short form `k3sbook PATTERN -a 'uptime'`):
// Ansible's ad-hoc command. It builds a one-task play in memory and runs it through exactly the
// path `run` takes (validation before any host is contacted, --check, --become, --forks, the
// reporters and the recap), then prints each host's output as `ansible` does.
import type { Command } from 'commander'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { HostResultEvent, RunEvent } from '../executor/events.js'
import type { Reporter } from '../output/common.js'
import { addExecOptions, runCommand, type RunCliOptions } from './run.js'
import { ADHOC_MODULE, getModule } from '../modules/registry.js'

export interface AdhocOptions extends RunCliOptions {
  moduleName?: string
  args?: string
}

export function register(program: Command): void {
  addExecOptions(
    program
      .command('adhoc')
      .description("run one module on the hosts of a pattern (ansible's ad-hoc command); the default module is command")
      .argument('<pattern>', "Ansible host pattern: all, a group, 'web*:!web3', …")
      .option('-m, --module-name <module>', 'module to run (default command; `k3sbook doc` lists them)')
      .option('-a, --args <args>', "the module's arguments: key=value pairs, free-form text for command/shell, or a YAML/JSON mapping"),
  ).action(async (pattern: string, o: AdhocOptions) => {
    process.exitCode = await adhocCommand(pattern, o)
  })
}

/** The one-play playbook an ad-hoc command means (throws on a mapping that does not parse). */
export function adhocPlaybook(pattern: string, module: string, args: string | undefined): string {
  let value: unknown = args ?? null
  const t = args?.trim()
  // a mapping given as YAML/JSON text, as `ansible -a '{"path": "/x"}'` takes it
  if (t && t.startsWith('{')) value = parse(t)
  const name = `${module}${args ? ` ${args}` : ''}`
  return stringify([{ name: `Ad-hoc: ${name}`, hosts: pattern, gather_facts: false, tasks: [{ name, [module]: value }] }], { lineWidth: 0 })
}

export async function adhocCommand(pattern: string, o: AdhocOptions): Promise<number> {
  const module = o.moduleName ?? ADHOC_MODULE
  if (getModule(module)?.requiresArgs && !o.args) {
    process.stderr.write(`error: the ${module} module needs -a 'COMMAND'\n`)
    return 5
  }
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-adhoc-'))
  const file = join(dir, 'adhoc.yml')
  try {
    try {
      writeFileSync(file, adhocPlaybook(pattern, module, o.args))
    } catch (e) {
      process.stderr.write(`error: -a: ${(e as Error).message.split('\n')[0]}\nno host was contacted\n`)
      return 5
    }
    const display = `-a`
    return await runCommand(file, o, false, {
      display: { file, as: display },
      requireHosts: true,
      // the output of each host is the point of an ad-hoc command: results carry it (verbosity ≥ 1)
      executorVerbosity: Math.max(1, o.verbose ?? 0),
      wrapReporter: (inner, mode) => new AdhocOutput(inner, mode !== 'json'),
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Shows each host's result as `ansible` does (`host | CHANGED | rc=0 >>` and its output), through
 * the chosen reporter's own debug lines so that redaction and layout stay the reporter's.
 */
class AdhocOutput implements Reporter {
  constructor(
    private readonly inner: Reporter,
    private readonly showOutput: boolean,
  ) {}
  handle(e: RunEvent): void {
    // positions would point into the generated playbook, which is gone once the run ends
    if ('pos' in e && e.pos) e = { ...e, pos: undefined }
    this.inner.handle(e)
    if (e.type === 'host:result' && this.showOutput) {
      const text = adhocText(e)
      if (text !== undefined) this.inner.handle({ type: 'debug', host: e.host, task: e.task, msg: text })
    }
  }
  close(): Promise<void> {
    return this.inner.close()
  }
}

/** The host's output under its status line (`rc=N >>` first when the module ran a command). */
function adhocText(e: HostResultEvent): string | undefined {
  if (e.status === 'failed' || e.status === 'unreachable' || e.status === 'skipped') return undefined
  const body = [e.stdout, e.stderr]
    .filter((x) => x && x.length)
    .join('\n')
    .replace(/\n$/, '')
  if (!body && e.rc === undefined) return undefined
  return `${e.rc !== undefined ? `rc=${e.rc} ` : ''}>>${body ? '\n' + body : ''}`
}
