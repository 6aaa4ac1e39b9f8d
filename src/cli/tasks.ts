// `k3sbook tasks`: the tasks each play would run (after --tags/--skip-tags), in ansible-playbook
// --list-tasks' format with each task's `file:line:col` at the end of its line.
import type { Command } from 'commander'
import { Diagnostics, formatDiagnostic } from '../errors.js'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'

const collect = (v: string, prev: string[] = []) => [...prev, v]
const split = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : [])

export function register(program: Command): void {
  program
    .command('tasks')
    .description('list the tasks each play would run, with their source positions')
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'leave out tasks with these tags (comma-separated)')
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON (repeatable)', collect)
    .option('--no-positions', 'leave out file:line:col (output as ansible-playbook --list-tasks)')
    .action(async (playbook: string, o: { inventory?: string[]; tags?: string; skipTags?: string; extraVars?: string[]; positions: boolean }) => {
      const { loadProject, defaultInventory } = await import('../playbook/project.js')
      const { listTasks } = await import('../playbook/report.js')
      const diags = new Diagnostics()
      const inventories = o.inventory?.length ? o.inventory : (defaultInventory(process.cwd()) ?? [])
      const project = loadProject({ playbook, inventories, extraVars: o.extraVars ?? [] }, diags)
      for (const d of diags.sorted()) if (d.severity === 'error') process.stderr.write(formatDiagnostic(d) + '\n')
      if (!project || diags.hasErrors) {
        process.exitCode = EXIT.invalid
        return
      }
      process.stdout.write(listTasks(project.playbook, { tags: split(o.tags), skipTags: split(o.skipTags), positions: o.positions }))
    })
}
