// `fail`: fails the host with a message (usually under `when:`). Controller only.
import type { Vars } from '../model.js'
import type { Module } from './types.js'
import { moduleSchema, defineModule } from './lib/index.js'

export const fail = defineModule<{ msg?: unknown }>({
  name: 'fail',
  description: 'Fail the host with a custom message (usually with `when:`).',
  controllerOnly: true,
  schema: moduleSchema({
    msg: { description: "The failure message (default 'Failed as requested from task')." },
  }),
  async plan(args) {
    const msg = args.msg ?? 'Failed as requested from task'
    return { status: 'fail', msg: typeof msg === 'string' ? msg : JSON.stringify(msg), result: { msg } }
  },
  result: (plan) => ({ changed: false, failed: true, ...((plan.result ?? {}) as Vars) }),
})
