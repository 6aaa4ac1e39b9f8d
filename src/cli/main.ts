// Entry point. Each command lives in its own file and is imported only when used, so
// `k3sbook --version` loads almost nothing.
import { Command, CommanderError } from 'commander'
import { K3sbookError } from '../errors.js'
import { EXIT } from '../exit.js'
import { trace } from '../trace.js'
import { packageVersion } from '../paths.js'

trace('cli loaded')

export { EXIT }

const program = new Command('k3sbook')
  .description('Declarative playbooks that build and keep K3S clusters over SSH (Ansible-compatible).')
  .version(packageVersion(), '-V, --version')
  .showHelpAfterError('(k3sbook COMMAND --help lists the options)')
  // Positional arguments past what a command takes are a mistake (`validate a.yml b.yml` would
  // otherwise check only a.yml), and every command-line mistake exits as bad input (5).
  .allowExcessArguments(false)
  .exitOverride()

type Loader = () => Promise<{ register(cmd: Command): void }>
const commands: Record<string, [string, Loader]> = {
  run: ['run a playbook', () => import('./run.js')],
  check: ['show what a run would change (run --check --diff); exit 2 when anything would', () => import('./run.js')],
  validate: ['find every mistake in inventories, playbooks and roles without contacting a host', () => import('./validate.js')],
  hosts: ['list the hosts each play would run on', () => import('./hosts.js')],
  tasks: ['list the tasks each play would run, with their source positions', () => import('./tasks.js')],
  doc: ["show a module's arguments", () => import('./doc.js')],
  adhoc: ["run one module on the hosts of a pattern (ansible's ad-hoc command): adhoc PATTERN -m MODULE -a ARGS", () => import('./adhoc.js')],
  lab: ['real SSH test hosts on this machine (network + mount namespaces, root only)', () => import('./lab.js')],
  schema: ['write the JSON Schema of playbooks, task files and inventories (for editors)', () => import('./schema.js')],
  vault: ['encrypt and decrypt Ansible Vault files and strings (ansible-vault compatible)', () => import('./vault.js')],
}

/** `k3sbook PATTERN -m ping` / `k3sbook PATTERN -a 'uptime'`: the ad-hoc short form, as `ansible PATTERN -a …`. */
function adhocShortForm(argv: string[]): boolean {
  const first = argv[0]
  if (!first || first.startsWith('-') || commands[first] || first === 'help') return false
  return argv.some((a) => a === '-m' || a === '-a' || a.startsWith('--module-name') || a.startsWith('--args') || /^-[a-zA-Z]*[ma]$/.test(a))
}

// A reader that goes away (`k3sbook run … | head`) must not crash a run half-way through its
// hosts: output stops, the run finishes and its exit code stands.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e
  })
}

async function main(): Promise<void> {
  if (adhocShortForm(process.argv.slice(2))) process.argv.splice(2, 0, 'adhoc')
  const wanted = process.argv.slice(2).find((a) => !a.startsWith('-'))
  if (wanted && commands[wanted]) {
    const mod = await commands[wanted][1]()
    mod.register(program)
  } else {
    for (const [name, [summary]] of Object.entries(commands)) program.command(name).description(summary)
  }
  try {
    await program.parseAsync(process.argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end this way too (exit 0); everything else is a command-line mistake
      process.exit(e.exitCode === 0 ? 0 : EXIT.invalid)
    }
    if (e instanceof K3sbookError) {
      process.stderr.write(`error: ${e.format()}\n`)
      process.exit(EXIT.invalid)
    }
    throw e
  }
}

// No top-level await: the same code is bundled as CommonJS (dist/k3sbook.cjs, see scripts/bundle.mjs).
export const done = main()
