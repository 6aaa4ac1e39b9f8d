import type { Command } from 'commander'

export function register(program: Command): void {
  program.command('doc').action(() => {
    throw new Error('doc: not implemented yet')
  })
}
