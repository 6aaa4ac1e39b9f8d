// `k3sbook validate`: load inventories, playbook, roles, vars files and templates, report every
// problem as `file:line:col: message (hint)`, and contact no host.
import type { Command } from 'commander'
import { Diagnostics, formatDiagnostic } from '../errors.js'
import { addVaultOptions, type VaultCliOptions } from './vaultopts.js'
import { collect, inventoriesFor } from './common.js'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'

export interface ValidateOptions extends VaultCliOptions {
  inventory?: string[]
  extraVars?: string[]
  lab?: string
}

export function register(program: Command): void {
  addVaultOptions(program.command('validate'))
    .description('find every mistake in inventories, playbooks and roles without contacting a host')
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON (repeatable)', collect)
    .option('--lab <name>', 'use the inventory of this running lab when no -i is given')
    .action(async (playbook: string, o: ValidateOptions) => {
      process.exitCode = await validateCommand(playbook, o, (s) => process.stdout.write(s))
    })
}

export async function validateCommand(playbook: string, o: ValidateOptions, write: (s: string) => void): Promise<number> {
  const { loadProject } = await import('../playbook/project.js')
  const { summarize, summaryLine } = await import('../playbook/report.js')
  const diags = new Diagnostics()
  const { setupVault } = await import('./vaultopts.js')
  let inventories: string[]
  try {
    await setupVault(o)
    inventories = await inventoriesFor(o, (m) => process.stderr.write(m + '\n'), { autoLab: false })
  } catch (e) {
    write(`error: ${(e as Error).message}\n`)
    return EXIT.invalid
  }
  const project = loadProject({ playbook, inventories, extraVars: o.extraVars ?? [] }, diags)
  // modules run through Ansible's code: resolved and their arguments checked by the controller's Ansible
  if (project) await (await import('../playbook/bridge-check.js')).checkBridged(project.playbook, diags)
  // A message may quote a value that came out of a vault: mask those as the run reporters do.
  const { vaultSecrets } = await import('../vault.js')
  const secrets = [...vaultSecrets()].filter((v) => v.length >= 4).sort((x, y) => y.length - x.length)
  const mask = (t: string) => secrets.reduce((acc, v) => acc.split(v).join('********'), t)
  for (const d of diags.sorted()) write(mask(formatDiagnostic(d)) + '\n')
  if (!project || diags.hasErrors) {
    const n = diags.errors.length
    write(`${n} error${n === 1 ? '' : 's'}\n`)
    return EXIT.invalid
  }
  write(summaryLine(summarize(project.playbook, project.inventory)) + '\n')
  return EXIT.ok
}
