import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('lab').action(() => {
    throw new Error('lab: not implemented yet')
  })
}
