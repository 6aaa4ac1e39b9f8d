// Entry point. Each command lives in its own file and is imported only when used, so
// `k3sbook --version` loads almost nothing.
import { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { K3sbookError } from '../errors.js'
import { EXIT } from '../exit.js'
import { trace } from '../trace.js'

trace('cli loaded')

export { EXIT }

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }


const program = new Command('k3sbook')
  .description('Declarative playbooks that build and keep K3S clusters over SSH (Ansible-compatible).')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError()

type Loader = () => Promise<{ register(cmd: Command): void }>
const commands: Record<string, [string, Loader]> = {
  run: ['run a playbook', () => import('./run.js')],
  check: ['show what a run would change (run --check --diff); exit 2 when anything would', () => import('./run.js')],
  validate: ['find every mistake in inventories, playbooks and roles without contacting a host', () => import('./validate.js')],
  hosts: ['list the hosts each play would run on', () => import('./hosts.js')],
  tasks: ['list the tasks each play would run, with their source positions', () => import('./tasks.js')],
  doc: ['show a module\'s arguments', () => import('./doc.js')],
  lab: ['real SSH test hosts on this machine (network + mount namespaces, root only)', () => import('./lab.js')],
}

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
  if (e instanceof K3sbookError) {
    process.stderr.write(`error: ${e.format()}\n`)
    process.exit(EXIT.invalid)
  }
  throw e
}
