// `k3sbook hosts`: the hosts each play would run on, in ansible-playbook --list-hosts' format.
import type { Command } from 'commander'
import { Diagnostics, formatDiagnostic, K3sbookError } from '../errors.js'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'
import { collect, inventoriesFor } from './common.js'
import { addVaultOptions, setupVault, type VaultCliOptions } from './vaultopts.js'
import { closest } from './select.js'

export interface HostsOptions extends VaultCliOptions {
  inventory?: string[]
  limit?: string
  extraVars?: string[]
  lab?: string
}

export function register(program: Command): void {
  addVaultOptions(program.command('hosts'))
    .description('list the hosts each play would run on')
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-l, --limit <pattern>', 'further limit the hosts with an Ansible host pattern')
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON (repeatable)', collect)
    .option('--lab <name>', 'use the inventory of this running lab when no -i is given')
    .action(async (playbook: string, o: HostsOptions) => {
      process.exitCode = await hostsCommand(playbook, o)
    })
}

export async function hostsCommand(playbook: string, o: HostsOptions): Promise<number> {
  const { listHosts } = await import('../playbook/report.js')
  const project = await loadForListing(playbook, o, { limit: o.limit })
  if (typeof project === 'number') return project
  try {
    const warn = (m: string) => process.stderr.write(`warning: ${m}\n`)
    const { text, total } = listHosts(project.playbook, project.inventory, project.extraVars, { limit: o.limit, warn })
    if (o.limit !== undefined && total === 0) {
      // as ansible-playbook: a limit that leaves nothing to run on is a mistake, not an empty run
      const names = [...project.inventory.hostOrder, ...project.inventory.groups.keys()]
      const near = closest(o.limit.replace(/^[&!~]/, ''), names)
      process.stderr.write(
        `error: --limit "${o.limit}" leaves no hosts to run on${near.length ? ` (closest names: ${near.map((n) => `"${n}"`).join(', ')})` : ''}\n`,
      )
      return EXIT.invalid
    }
    process.stdout.write(text)
    return EXIT.ok
  } catch (e) {
    const diags = new Diagnostics()
    diags.add(e)
    for (const d of diags.errors) process.stderr.write(formatDiagnostic(d) + '\n')
    return EXIT.invalid
  }
}

/**
 * `hosts` and `tasks`: the vault, the inventories (no lab picked by itself) and the project, with
 * its diagnostics printed (only errors when `errorsOnly`). A number is the exit code to stop with.
 */
export async function loadForListing(
  playbook: string,
  o: VaultCliOptions & { inventory?: string[]; extraVars?: string[]; lab?: string },
  opts: { limit?: string; errorsOnly?: boolean } = {},
): Promise<NonNullable<ReturnType<typeof import('../playbook/project.js').loadProject>> | number> {
  const { loadProject } = await import('../playbook/project.js')
  const diags = new Diagnostics()
  let inventories: string[]
  try {
    await setupVault(o)
    inventories = await inventoriesFor(o, undefined, { autoLab: false })
  } catch (e) {
    process.stderr.write(`error: ${e instanceof K3sbookError ? e.format() : (e as Error).message}\n`)
    return EXIT.invalid
  }
  const project = loadProject({ playbook, inventories, extraVars: o.extraVars ?? [], limit: opts.limit }, diags)
  for (const d of diags.sorted()) if (!opts.errorsOnly || d.severity === 'error') process.stderr.write(formatDiagnostic(d) + '\n')
  if (!project || diags.hasErrors) return EXIT.invalid
  return project
}
