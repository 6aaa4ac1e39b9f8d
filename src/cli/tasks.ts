// `k3sbook tasks`: the tasks each play would run (after --tags/--skip-tags), in ansible-playbook
// --list-tasks' format with each task's `file:line:col` at the end of its line; `--list-tags`
// prints each play's tags as ansible-playbook --list-tags does.
import type { Command } from 'commander'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'
import type { Playbook } from '../model.js'
import { collect } from './common.js'
import { addVaultOptions, type VaultCliOptions } from './vaultopts.js'
import { loadForListing } from './hosts.js'

const split = (s: string | undefined) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : []

export interface TasksOptions extends VaultCliOptions {
  inventory?: string[]
  tags?: string
  skipTags?: string
  extraVars?: string[]
  positions: boolean
  lab?: string
  listTags?: boolean
}

export function register(program: Command): void {
  addVaultOptions(program.command('tasks'))
    .description('list the tasks each play would run, with their source positions')
    .argument('<playbook>', 'playbook file (a bare name is also looked up in playbooks/)')
    .option('-i, --inventory <path>', 'inventory file, directory or host list (repeatable)', collect)
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated)')
    .option('--skip-tags <tags>', 'leave out tasks with these tags (comma-separated)')
    .option('-e, --extra-vars <vars>', 'k=v pairs, @file.yml or JSON (repeatable)', collect)
    .option('--no-positions', 'leave out file:line:col (output as ansible-playbook --list-tasks)')
    .option('--list-tags', 'print the tags of each play and its tasks instead (as ansible-playbook --list-tags)')
    .option('--lab <name>', 'use the inventory of this running lab when no -i is given')
    .action(async (playbook: string, o: TasksOptions) => {
      process.exitCode = await tasksCommand(playbook, o)
    })
}

export async function tasksCommand(playbook: string, o: TasksOptions): Promise<number> {
  const { listTasks } = await import('../playbook/report.js')
  const project = await loadForListing(playbook, o, { errorsOnly: true })
  if (typeof project === 'number') return project
  if (o.listTags) {
    process.stdout.write(await listTags(project.playbook, split(o.tags), split(o.skipTags)))
    return EXIT.ok
  }
  process.stdout.write(listTasks(project.playbook, { tags: split(o.tags), skipTags: split(o.skipTags), positions: o.positions }))
  return EXIT.ok
}

/** ansible-playbook --list-tags: per play, its own tags and the tags of the tasks that would run. */
async function listTags(pb: Playbook, only: string[], skip: string[]): Promise<string> {
  const { selectByTags, playTaskLists } = await import('../playbook/tags.js')
  const { displayPath } = await import('../yamlfile.js')
  const list = (t: Iterable<string>) => `[${[...new Set(t)].sort().join(', ')}]`
  const lines = ['', `playbook: ${displayPath(pb.file)}`]
  pb.plays.forEach((play, i) => {
    const tags = new Set<string>()
    for (const t of selectByTags(playTaskLists(play), only, skip)) for (const x of t.tags) tags.add(x)
    lines.push('', `  play #${i + 1} (${play.hosts}): ${play.name}\tTAGS: ${list(play.tags)}`, `      TASK TAGS: ${list(tags)}`)
  })
  return lines.join('\n') + '\n'
}
