// `pause`: waits a number of seconds or minutes on the control machine, as Ansible's pause action.
// k3sbook never reads the terminal from inside a task: a pause without a duration returns at once
// with a warning, which is what Ansible does when its stdin is not interactive. The wait is a
// timer, so signals (Ctrl+C) still stop the run.
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import { bool, defineModule, guardPlan, int, moduleSchema, optBool, str, toInt } from './lib/index.js'

/** Python's str(datetime.now()): `2024-01-02 03:04:05.678901`, local time. */
function pyNow(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`
}

/** Ansible's round(x, 2) as printed by Python (`5.0`, `0.08`). */
export function pyRound2(x: number): string {
  const r = Math.round(x * 100) / 100
  return Number.isInteger(r) ? `${r}.0` : String(r)
}

export const pauseModule = defineModule({
  name: 'pause',
  description: 'Wait a number of seconds or minutes (on the control machine). Without a duration k3sbook does not wait for input: it warns and goes on.',
  controllerOnly: true,
  schema: moduleSchema({
    seconds: int('How many seconds to wait (at least 1).'),
    minutes: int('How many minutes to wait.'),
    prompt: str('The text Ansible shows while waiting (shown by k3sbook as the task note).'),
    echo: bool('Ansible: show what is typed (default true). Accepted; k3sbook reads no input.'),
  }),
  plan: (args) =>
    guardPlan(async (): Promise<Plan> => {
      if (args.seconds !== undefined && args.minutes !== undefined) return { status: 'fail', msg: 'parameters are mutually exclusive: minutes|seconds' }
      const echo = optBool(args.echo, true, 'echo')
      const unit = args.seconds !== undefined ? 'seconds' : 'minutes'
      let seconds = args.minutes !== undefined ? toInt(args.minutes, 0) * 60 : toInt(args.seconds)
      const start = Date.now()
      const result: Vars = { changed: false, rc: 0, stderr: '', stdout: '', start: pyNow(), stop: null, delta: null, echo, user_input: '' }
      const warnings: string[] = []
      if (seconds !== undefined) {
        if (seconds < 1) seconds = 1
        await new Promise((r) => setTimeout(r, seconds! * 1000))
      } else warnings.push('Not waiting for response to prompt as stdin is not interactive')
      const took = (Date.now() - start) / 1000
      result.stop = pyNow()
      result.delta = Math.trunc(took)
      result.stdout = `Paused for ${pyRound2(unit === 'minutes' ? took / 60 : took)} ${unit}`
      if (warnings.length) result.warnings = warnings
      return { status: 'ok', note: args.prompt === undefined ? undefined : String(args.prompt), result }
    }),
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})
