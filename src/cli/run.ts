import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('run').action(() => {
    throw new Error('run: not implemented yet')
  })
}
