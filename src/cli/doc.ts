// `k3sbook doc [MODULE]`: a module's description and arguments, printed from its JSON Schema
// (the same text that validates tasks), or the list of modules.
import type { Command } from 'commander'
import { didYouMean } from '../errors.js'
// main.ts is the entry module and awaits this one: importing EXIT from it would deadlock the
// top-level await, so the codes it defines are repeated here.
import { EXIT } from '../exit.js'

export function register(program: Command): void {
  program
    .command('doc')
    .description("show a module's arguments, or list the modules")
    .argument('[module]', 'module name (ansible.builtin. prefix allowed)')
    .action(async (name: string | undefined) => {
      const { getModule, moduleNames } = await import('../modules/registry.js')
      const { moduleDoc, moduleList } = await import('../playbook/doc.js')
      if (!name) {
        process.stdout.write(moduleList())
        return
      }
      const mod = getModule(name)
      if (!mod) {
        const hint = didYouMean(name, moduleNames())
        process.stderr.write(`error: unknown module "${name}"${hint ? ` (${hint})` : ''}\n`)
        process.exitCode = EXIT.invalid
        return
      }
      process.stdout.write(moduleDoc(mod))
    })
}
