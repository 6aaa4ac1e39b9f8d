// `--confirm` as a layer around the pipeline: the check pass records, per host and task, the
// changes each plan showed; the apply pass, given those, lets a plan through only when it shows the
// same changes, and stops the run before anything that differs (the host changed in between).
// The pipeline knows nothing of this: it calls the gate it is given between plan and apply.
import { K3sbookError, formatPos } from '../errors.js'
import type { Task } from '../model.js'
import { srcPos } from '../model.js'

const UNKNOWN_MARK = '\u0000unknown'

function planKey(host: string, task: Task): string {
  return `${host}\u0000${formatPos(srcPos(task.src))}`
}

/** Called with a plan that would change something, before it is predicted or applied. */
export type PlanGate = (status: 'change' | 'unknown', changes: string[]) => void

export class Pinning {
  constructor(
    private readonly record: Map<string, string[][]> | undefined,
    private readonly expect: Map<string, string[][]> | undefined,
    /** The run stops: nothing more is scheduled. */
    private readonly stop: () => void,
  ) {}

  /** Whether this layer has anything to do at all. */
  get active(): boolean {
    return !!(this.record || this.expect)
  }

  /** The gate for one task on one host; `checked`: the task is planned only (see checkModeFor). */
  gate(host: string, task: Task, checked: boolean): PlanGate | undefined {
    if (!this.active) return undefined
    return (status, changes) => {
      const key = planKey(host, task)
      if (this.record) this.record.set(key, [...(this.record.get(key) ?? []), changes])
      if (checked || !this.expect) return
      const queue = this.expect.get(key)
      // '?': the check could not know what this task would do and said so ("unknown").
      const wasUnknown = !!queue?.some((q) => q[0] === UNKNOWN_MARK)
      const shown = wasUnknown ? changes : queue?.shift()
      if (!shown || JSON.stringify(shown) !== JSON.stringify(changes)) {
        this.stop()
        throw new K3sbookError(
          `not applied: this change was not among those shown before confirmation (${changes.join(', ') || status}); the host changed since the check, so the run stops here`,
          { pos: srcPos(task.src), hint: 'run --confirm again to see the current changes' },
        )
      }
    }
  }

  /** The check could not tell what this task would do on this host: the apply pass takes what comes. */
  unknown(host: string, task: Task): void {
    if (!this.record) return
    const key = planKey(host, task)
    this.record.set(key, [...(this.record.get(key) ?? []), [UNKNOWN_MARK]])
  }
}
