import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('hosts').action(() => {
    throw new Error('hosts: not implemented yet')
  })
}
