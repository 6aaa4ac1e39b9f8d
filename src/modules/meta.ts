// `meta`: asks the executor to act on the play itself (run notified handlers now, end the play or the
// host, ...). The plan only names the action in `result._meta`; the executor carries it out.
import type { Module } from './types.js'
import { moduleSchema, str, defineModule } from './lib/index.js'

export const META_ACTIONS = [
  'flush_handlers',
  'end_play',
  'end_host',
  'end_batch',
  'noop',
  'clear_facts',
  'clear_host_errors',
  'refresh_inventory',
  'reset_connection',
  'role_complete',
] as const

export const meta = defineModule<{ _raw_params?: string }>({
  playControl: true,
  name: 'meta',
  description: `Act on the play: ${META_ACTIONS.join(', ')} (e.g. \`meta: flush_handlers\`).`,
  controllerOnly: true,
  freeForm: true,
  schema: moduleSchema({ _raw_params: str(`The action (free form): ${META_ACTIONS.join(', ')}.`, { enum: [...META_ACTIONS] }) }, { required: ['_raw_params'] }),
  async plan(args) {
    const action = String(args._raw_params ?? '').trim()
    if (!(META_ACTIONS as readonly string[]).includes(action)) return { status: 'fail', msg: `invalid meta action requested: ${action}` }
    return { status: 'ok', result: { _meta: action } }
  },
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}) }),
})
