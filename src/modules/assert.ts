// `assert`: evaluates conditions (`that`) against the host's variables on the controller and fails
// the host when one is false. Never contacts the host, never a change.
import type { Vars } from '../model.js'
import type { Module, Plan } from './types.js'
import { bool, moduleSchema, optBool, defineModule } from './lib/index.js'

export interface AssertArgs {
  that?: unknown
  fail_msg?: unknown
  msg?: unknown
  success_msg?: unknown
  quiet?: unknown
}

const listOrStr = (description: string) => ({
  description,
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: ['string', 'boolean'] } }, { type: 'boolean' }],
})
const msgSchema = (description: string) => ({ description, anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] })

/**
 * Ansible's assert on plain data: the first false condition fails with its text as `assertion`.
 * `evaluate` decides one condition (the executor's Jinja2 evaluator in the module).
 */
export function runAssert(args: AssertArgs, evaluate: (cond: string) => boolean): Plan {
  const that = args.that
  if (that === undefined || that === null) return { status: 'fail', msg: 'conditional required in "that" string' }
  const conds = (Array.isArray(that) ? that : [that]).map((c) => (typeof c === 'boolean' ? (c ? 'True' : 'False') : String(c)))
  const quiet = optBool(args.quiet, false, 'quiet')
  for (const cond of conds) {
    if (!evaluate(cond)) {
      const msg = args.fail_msg ?? args.msg ?? 'Assertion failed'
      return { status: 'fail', msg: typeof msg === 'string' ? msg : JSON.stringify(msg), result: { msg, assertion: cond, evaluated_to: false } }
    }
  }
  const msg = args.success_msg ?? 'All assertions passed'
  return { status: 'ok', result: quiet ? { msg, _ansible_verbose_always: false } : { msg, _ansible_verbose_always: true } }
}

export const assert = defineModule<AssertArgs>({
  name: 'assert',
  description: 'Fail the host unless every condition in `that` is true (conditions are Jinja2 expressions, as in `when:`).',
  controllerOnly: true,
  conditionArgs: ['that'],
  schema: moduleSchema({
    that: listOrStr('A condition or list of conditions, written like `when:` (no {{ }}): all must be true.'),
    fail_msg: msgSchema('Message when an assertion fails. Alias: msg.'),
    msg: msgSchema('Alias of fail_msg.'),
    success_msg: msgSchema("Message when all assertions pass (default 'All assertions passed')."),
    quiet: bool('Print less when assertions pass.'),
  }),
  async plan(args, ctx) {
    // Loaded on use so the module registry never depends on the template engine being loadable.
    const { evalCondition } = await import('../template/index.js')
    try {
      return runAssert(args, (c) => evalCondition(c, ctx.vars, { searchPath: ctx.controller.searchPath }))
    } catch (e) {
      // An undefined name or a syntax error in `that` fails the host, as in Ansible, with the reason.
      return { status: 'fail', msg: `The conditional check failed. The error was: ${(e as Error).message}` }
    }
  },
  result(plan) {
    const base = (plan.result ?? {}) as Vars
    if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: base.msg ?? plan.msg }
    return { changed: false, failed: false, ...base }
  },
})
