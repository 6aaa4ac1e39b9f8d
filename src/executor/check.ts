// Check mode. Whether a task is checked (planned and predicted, never applied) is decided in ONE
// function, checkModeFor; the pipeline (task.ts) takes that answer and either predicts or applies.
// The rest of this file is what a check run makes of outcomes: earlier planned changes live only
// in the host's overlay (see reader.ts), so a later task that reads what they would have made, or
// a result that only a real run produces, is "unknown" rather than ok or failed.
import { TemplateError } from '../errors.js'
import type { Play, Task } from '../model.js'
import { getModule } from '../modules/registry.js'
import type { HostState, Scope, TaskOutcome } from './state.js'

/** Whether this task is checked: `check_mode:` on the task, its blocks, its play, else --check. */
export function checkModeFor(task: Task, scope: Scope, play: Play, runIsCheck: boolean): boolean {
  return task.checkMode ?? scope.checkMode ?? play.checkMode ?? runIsCheck
}

/** A checked module that was not run has no result of its own (stdout, rc) to judge. */
export function resultOnlyAfterRun(task: Task): boolean {
  return !!getModule(task.module)?.resultAfterRun
}

/** The task reads a registered result or fact that check mode could not produce. */
export function referencesUnknown(task: Task, h: HostState): boolean {
  if (h.unknownRegs.size === 0) return false
  const text = JSON.stringify([task.args, task.when, task.loop?.items, task.changedWhen, task.failedWhen, task.until])
  return [...h.unknownRegs].some((r) => new RegExp(`\\b${r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text))
}

/** A check run: a template failed on a value that reads a result not produced (a command not run). */
export function unknownFromError(e: unknown, h: HostState, task: Task, text: string): TaskOutcome | undefined {
  if (!(e instanceof TemplateError) || !referencesUnknown(task, h)) return undefined
  return { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on a result not known in check mode: ${text}` }
}

/**
 * A check run: what a task's outcome on a host means, given what earlier tasks only planned.
 * Also notes what a set_fact/include_vars of unknown values leaves unknown.
 */
export function settleChecked(outcome: TaskOutcome, task: Task, h: HostState): TaskOutcome {
  // A task that reads the host and fails after an earlier planned command (whose effects can't be
  // known: it may create the very file this task reads) may well succeed in the real run.
  // (fail/assert/debug read only variables, which unknownRegs tracks.)
  if (outcome.status === 'failed' && h.overlay.opaque > 0 && !getModule(task.module)?.controllerOnly) {
    outcome = {
      ...outcome,
      status: 'unknown',
      result: { changed: true, check_mode: true },
      unknownReason: `may succeed once earlier commands have run: ${outcome.msg ?? 'failed'}`,
    }
  }
  // Whatever a task makes of a value that only a real run would have produced is unknown (and so
  // is what it registers or sets), not ok and not failed.
  if (outcome.status !== 'skipped' && outcome.status !== 'unknown' && referencesUnknown(task, h)) {
    const why = outcome.status === 'failed' ? `: ${outcome.msg ?? ''}` : ''
    outcome = { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on a result not known in check mode${why}` }
  }
  const sets = getModule(task.module)?.setsVars
  if (outcome.status === 'unknown' && sets) {
    for (const k of sets(task.args)) h.unknownRegs.add(k)
  }
  return outcome
}

/**
 * A check run, a task run for real (`check_mode: false`) on a host where earlier changes are only
 * planned: it observed the host as it is now, not as it will be. Failed, it may well succeed once
 * they are applied (unknown, not failed); what it registers may differ in the real run (stale).
 */
export function realRunInCheck(outcome: TaskOutcome, target: HostState): { outcome?: TaskOutcome; stale: boolean } {
  if (!target.overlay.hasAny) return { stale: false }
  if (outcome.status === 'failed') {
    return {
      outcome: {
        status: 'unknown',
        result: { changed: true, check_mode: true },
        changes: outcome.changes,
        diff: undefined,
        msg: `may succeed once earlier changes are applied: ${outcome.msg ?? 'failed'}`,
        notRun: true,
      },
      stale: true,
    }
  }
  return { stale: true }
}

/** A check run retrying `until`: a checked attempt that would change something is not retried. */
export function stopRetrying(outcome: TaskOutcome): boolean {
  return outcome.status !== 'ok' && outcome.status !== 'failed'
}
