import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('validate').action(() => {
    throw new Error('validate: not implemented yet')
  })
}
