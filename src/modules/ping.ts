// `ping`: checks that a host can be reached, logged into and run a shell; returns `ping: pong`
// (or `data`). Reads nothing and changes nothing, so it is always ok; `data: crash` fails on
// purpose, as in Ansible. One round trip: the probe's echo is the answer.
import { shQuote } from '../connection/quote.js'
import { defineModule, moduleSchema, str } from './lib/index.js'

export interface PingArgs {
  data?: string
}

export const ping = defineModule<PingArgs>({
  name: 'ping',
  description: 'Check that the host answers: connects, logs in, runs a shell, returns `ping: pong`. Changes nothing.',
  schema: moduleSchema({
    data: str("What to return as `ping` (default 'pong'); 'crash' makes the task fail, to test failure handling."),
  }),
  readAhead: true,
  probeIsLast: true,
  async plan(args, ctx) {
    const data = args.data ?? 'pong'
    if (data === 'crash') {
      // Ansible's ping raises Exception("boom"): a module failure, the traceback on stderr
      const trace = 'Traceback (most recent call last):\n  File "ansible/modules/ping.py", line 79, in main\nException: boom\n'
      return {
        status: 'fail',
        msg: 'MODULE FAILURE\nSee stdout/stderr for the exact error',
        result: { module_stdout: '', module_stderr: trace, exception: trace, rc: 1 },
      }
    }
    const r = await ctx.reader.probe(`printf '%s' ${shQuote(data)}`)
    const got = r.stdout.toString()
    if (r.rc !== 0 || got !== data) return { status: 'fail', msg: `the host's shell did not answer (exit ${r.rc}): ${r.stderr.toString().trim()}` }
    return { status: 'ok', result: { ping: got } }
  },
  result: (plan) => ({ changed: false, failed: false, ...(plan.result ?? {}) }),
})
