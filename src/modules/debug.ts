// `debug`: prints a message or a variable's value on the controller; never contacts the host and
// never changes anything. `var` is evaluated as an expression, as Ansible does.
import type { Vars } from '../model.js'
import type { Module } from './types.js'
import { int, moduleSchema, scalar, defineModule } from './lib/index.js'

export interface DebugArgs {
  msg?: unknown
  var?: string
  verbosity?: number | string
}

export const debug = defineModule<DebugArgs>({
  printsResult: true,
  name: 'debug',
  description: "Print a message (`msg`) or a variable (`var`) in the run's output. Changes nothing.",
  controllerOnly: true,
  schema: moduleSchema({
    msg: { description: "The message to print (any value: text, list, mapping). Default 'Hello world!'." },
    var: scalar('A variable name or expression whose value is printed, e.g. `result.stdout_lines` (no {{ }} needed).'),
    verbosity: int('Print only when the run is at least this verbose (-v = 1). Default 0.'),
  }),
  async plan(args, ctx) {
    if (args.msg !== undefined && args.var !== undefined) return { status: 'fail', msg: 'parameters are mutually exclusive: msg|var' }
    const level = Number(args.verbosity ?? 0)
    const current = Number(ctx.vars.ansible_verbosity ?? 0)
    if (level > current)
      return {
        status: 'skip',
        reason: `verbosity threshold not met (${level} > ${current})`,
        result: { skipped_reason: 'Verbosity threshold not met.', skipped: true },
      }
    if (args.var !== undefined) {
      const name = String(args.var)
      // Loaded on use so the module registry never depends on the template engine being loadable.
      const { evaluate } = await import('../template/index.js')
      let value: unknown
      try {
        value = evaluate(name, ctx.vars)
      } catch (e) {
        // as Ansible's debug: an undefined variable prints a note, any other error fails the task
        const cause = (e as { cause?: unknown }).cause
        if (
          !(e instanceof Error) ||
          !(/is undefined|has no attribute/.test(e.message) || (cause instanceof Error && cause.constructor.name === 'UndefinedError'))
        )
          return { status: 'fail', msg: e instanceof Error ? e.message : String(e) }
        value = 'VARIABLE IS NOT DEFINED!'
      }
      // `_var` tells the executor which key holds the value (printed as Ansible does: `name: value`)
      return { status: 'ok', result: { [name]: value, _var: name } }
    }
    return { status: 'ok', result: { msg: args.msg ?? 'Hello world!' } }
  },
  result: (plan) => ({ changed: false, failed: false, ...((plan.result ?? {}) as Vars) }),
})
