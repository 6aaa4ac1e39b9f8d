// `k3sbook hosts`: the hosts each play would run on, in ansible-playbook --list-hosts' format.
import type { Command } from 'commander'
import { Diagnostics, formatDiagnostic } from '../errors.js'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'

const collect = (v: string, prev: string[] = []) => [...prev, v]

export function register(program: Command): void {
  program
    .command('hosts')
    .description('list the hosts each play would run on')
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-l, --limit <pattern>', 'further limit the hosts with an Ansible host pattern')
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON (repeatable)', collect)
    .action(async (playbook: string, o: { inventory?: string[]; limit?: string; extraVars?: string[] }) => {
      const { loadProject, defaultInventory } = await import('../playbook/project.js')
      const { listHosts } = await import('../playbook/report.js')
      const diags = new Diagnostics()
      const inventories = o.inventory?.length ? o.inventory : (defaultInventory(process.cwd()) ?? [])
      const project = loadProject({ playbook, inventories, extraVars: o.extraVars ?? [], limit: o.limit }, diags)
      for (const d of diags.sorted()) process.stderr.write(formatDiagnostic(d) + '\n')
      if (!project || diags.hasErrors) {
        process.exitCode = EXIT.invalid
        return
      }
      try {
        const warn = (m: string) => process.stderr.write(`warning: ${m}\n`)
        const { text, total } = listHosts(project.playbook, project.inventory, project.extraVars, { limit: o.limit, warn })
        if (o.limit !== undefined && total === 0) {
          // as ansible-playbook: a limit that leaves nothing to run on is a mistake, not an empty run
          process.stderr.write(`error: --limit "${o.limit}" leaves no hosts to run on\n`)
          process.exitCode = EXIT.invalid
          return
        }
        process.stdout.write(text)
      } catch (e) {
        diags.add(e)
        for (const d of diags.errors) process.stderr.write(formatDiagnostic(d) + '\n')
        process.exitCode = EXIT.invalid
      }
    })
}
