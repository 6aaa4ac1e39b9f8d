import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('tasks').action(() => {
    throw new Error('tasks: not implemented yet')
  })
}
