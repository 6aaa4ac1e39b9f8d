// Check mode. Whether a task is checked (planned and predicted, never applied) is decided in ONE
// function, checkModeFor; the pipeline (task.ts) takes that answer and either predicts or applies.
// The rest of this file is what a check run makes of outcomes: earlier planned changes live only
// in the host's overlay (see reader.ts), so a later task that reads what they would have made, or
// a result that only a real run produces, is "unknown" rather than ok or failed.
import { TemplateError } from '../errors.js'
import type { Play, Task, Vars } from '../model.js'
import { getModule } from '../modules/registry.js'
import { NO_OBJ, Undefined, UndefinedError } from '../template/pyvalues.js'
import type { HostReader, Module } from '../modules/types.js'
import type { Overlay } from './reader.js'
import type { HostState, Scope, TaskOutcome } from './state.js'

/** The words every unknown-value message carries (how an error is recognised as one). */
export const NOT_KNOWN = 'is not known in check mode'

/**
 * A value check mode cannot know (a result only a run produces, a fact computed from one). It
 * travels through templates like an undefined name and fails only where it is read, with a
 * message that says which task it comes from and why; whatever reads it becomes unknown.
 */
export class CheckUnknown extends Undefined {
  constructor(name: string, why: string) {
    super(name, NO_OBJ, 0, 0, `${name} ${NOT_KNOWN}: ${why}`)
  }
}

/** The error (a template failing on an unknown value) says what is not known, or undefined. */
export function unknownFromMessage(e: unknown): string | undefined {
  let cause: unknown = e
  for (let i = 0; i < 4 && cause; i++) {
    if (cause instanceof UndefinedError && cause.undef instanceof CheckUnknown) return cause.undef.message
    cause = (cause as { cause?: unknown }).cause
  }
  const text = e instanceof Error ? e.message : String(e)
  const at = text.indexOf(NOT_KNOWN)
  if (at < 0) return undefined
  // "… NAME is not known in check mode: why": from the name on
  const start = text.lastIndexOf(' ', text.lastIndexOf(' ', at) - 1)
  return text.slice(start < 0 ? 0 : start + 1)
}

/**
 * A result registered in check mode without running: what is known (changed, what
 * planning learned) reads as itself; any other key is a CheckUnknown saying why.
 */
export function partlyKnown(result: Vars, name: string, why: string): Vars {
  return new Proxy(result, {
    get(t, k, r) {
      if (typeof k !== 'string' || k in t) return Reflect.get(t, k, r)
      return new CheckUnknown(`${name}.${k}`, why)
    },
    has(t, k) {
      return typeof k === 'string' ? true : k in t
    },
    getOwnPropertyDescriptor(t, k) {
      const d = Reflect.getOwnPropertyDescriptor(t, k)
      if (d || typeof k !== 'string') return d
      return { value: new CheckUnknown(`${name}.${k}`, why), writable: true, enumerable: false, configurable: true }
    },
  })
}

/** Why a task's result is not known after a check run, in words. */
export function whyNotKnown(taskLabel: string, outcome: TaskOutcome, task: Task): string {
  const own = outcome.unknownReason ?? outcome.msg
  if (outcome.status === 'unknown' && own) return `the result of "${taskLabel}" (${own.replace(/^depends on /, '')})`
  if (getModule(task.module)?.resultAfterRun) return `"${taskLabel}" (${task.module}) is not run in check mode: its output exists only once it runs`
  return `"${taskLabel}" read the host as it is now, before the changes check mode only predicts; a run may find it otherwise`
}

/** Unknown variables the task reads (by name in its arguments, conditions and loop), with why. */
export function unknownsRead(task: Task, h: HostState): [string, string][] {
  if (h.unknownRegs.size === 0) return []
  const text = JSON.stringify([task.args, task.when, task.loop?.items, task.changedWhen, task.failedWhen, task.until])
  return [...h.unknownRegs].filter(([r]) => new RegExp(`\\b${r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text))
}

/** The words for what a task depends on: "x is not known in check mode: why; …". */
function dependsText(task: Task, h: HostState): string {
  const reads = unknownsRead(task, h)
  return reads.length ? reads.map(([r, why]) => `${r} ${NOT_KNOWN}: ${why}`).join('; ') : 'a result not known in check mode'
}

/**
 * set_fact in check mode, per value: the keys whose expressions read an unknown variable become
 * unknown themselves (CheckUnknown values, with why); the others are set as in a run. Returns the
 * task with only the known keys, and the unknown ones.
 */
export function splitSetFact(task: Task, h: HostState): { task: Task; unknown: [string, string][] } {
  if (h.unknownRegs.size === 0 || !getModule(task.module)?.setsVars || typeof task.args._raw_params === 'string') return { task, unknown: [] }
  const known: Vars = {}
  const unknown: [string, string][] = []
  for (const [k, v] of Object.entries(task.args)) {
    const reads = unknownsRead(
      { ...task, args: { [k]: v }, when: [], loop: undefined, changedWhen: undefined, failedWhen: undefined, until: undefined } as Task,
      h,
    )
    if (reads.length && k !== 'cacheable') unknown.push([k, reads.map(([r, why]) => `computed from ${r}, and ${r} ${NOT_KNOWN}: ${why}`).join('; ')])
    else known[k] = v
  }
  if (unknown.length === 0 || Object.keys(known).filter((k) => k !== 'cacheable').length === 0) return { task, unknown: [] }
  return { task: { ...task, args: known }, unknown }
}

/** Mark set_fact's unknown keys on the host. */
export function setUnknowns(h: HostState, unknown: [string, string][]): void {
  for (const [k, why] of unknown) {
    h.unknownRegs.set(k, why)
    h.hostFacts[k] = new CheckUnknown(k, why)
  }
}

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
  return unknownsRead(task, h).length > 0
}

/** A check run: a template failed on a value that reads a result not produced (a command not run). */
export function unknownFromError(e: unknown, h: HostState, task: Task, _text: string): TaskOutcome | undefined {
  const said = unknownFromMessage(e)
  if (said) return { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on ${said}` }
  if (!(e instanceof TemplateError || e instanceof UndefinedError) || !referencesUnknown(task, h)) return undefined
  return { status: 'unknown', result: { changed: true }, changes: [], diff: undefined, unknownReason: `depends on ${dependsText(task, h)}` }
}

/**
 * A check run: what a task's outcome on a host means, given what earlier tasks only planned.
 * Also notes what a set_fact/include_vars of unknown values leaves unknown.
 */
export function settleChecked(outcome: TaskOutcome, task: Task, h: HostState): TaskOutcome {
  // A task that reads the host and fails after an earlier planned command (whose effects can't be
  // known: it may create the very file this task reads) may well succeed in the real run.
  // (fail/assert/debug read only variables, which unknownRegs tracks.)
  const said = outcome.status === 'failed' ? unknownFromMessage(outcome.msg) : undefined
  if (said) {
    outcome = { ...outcome, status: 'unknown', result: { changed: true, check_mode: true }, msg: undefined, unknownReason: `depends on ${said}` }
  } else if (outcome.status === 'failed' && h.overlay.opaque > 0 && !getModule(task.module)?.controllerOnly) {
    outcome = {
      ...outcome,
      status: 'unknown',
      result: { changed: true, check_mode: true },
      msg: undefined,
      unknownReason: `may succeed once earlier commands have run (${h.overlay.opaqueWhy.join(', ') || 'not run in check mode'}): ${outcome.msg ?? 'failed'}`,
    }
  }
  // Whatever a task makes of a value that only a real run would have produced is unknown (and so
  // is what it registers or sets), not ok and not failed.
  if (outcome.status !== 'skipped' && outcome.status !== 'unknown' && !outcome.settled && !outcome.items && referencesUnknown(task, h)) {
    outcome = {
      status: 'unknown',
      result: { changed: true },
      changes: [],
      diff: undefined,
      unknownReason: `depends on ${dependsText(task, h)}`,
      items: outcome.items,
    }
  }
  const sets = getModule(task.module)?.setsVars
  if (outcome.status === 'unknown' && sets) {
    const why = `set by a task whose values are not known: ${outcome.unknownReason ?? outcome.msg ?? ''}`
    setUnknowns(
      h,
      sets(task.args).map((k) => [k, why]),
    )
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

/** The path a whole-file module (its `writesWholeFile` capability) writes, when the path is known. */
export function writtenPath(mod: Pick<Module, 'writesWholeFile'>, args: Vars): string | undefined {
  const key = mod.writesWholeFile
  const p = key ? args[key] : undefined
  return typeof p === 'string' && p.startsWith('/') && !p.endsWith('/') ? p : undefined
}

/**
 * "Would change, content unknown": a whole-file module whose content cannot be known in check mode
 * (it reads an unknown value) but whose path is known. An absent file is surely written: a predicted
 * change, recorded in the overlay as a file of unknown content; an existing one may or may not
 * differ (unknown). `why` says what is not known.
 */
export async function contentUnknown(path: string, args: Vars, reader: HostReader, overlay: Overlay | undefined, why: string): Promise<TaskOutcome> {
  const info = (await reader.files([path])).get(path)
  if (info && !info.unknown && (!info.exists || info.type === 'file')) {
    const diff = { path, before: '', after: `(content not known in check mode: ${why})\n` }
    if (!info.exists) {
      overlay?.record([{ path, state: 'file', mode: typeof args.mode === 'string' ? args.mode : undefined }])
      return {
        status: 'changed',
        result: { changed: true, check_mode: true },
        changes: [`create ${path} (content not known in check mode)`],
        diff: [diff],
        msg: `would create ${path}; its content depends on ${why}`,
        settled: true,
      }
    }
  }
  return {
    status: 'unknown',
    result: { changed: true, check_mode: true },
    changes: [],
    diff: undefined,
    unknownReason: `${path} exists; whether it changes depends on ${why}`,
  }
}

/** Check mode: the error is a template reading a value not known in check mode; what, in words. */
export function unknownWhy(e: unknown, task: Task, h: HostState): string | undefined {
  const said = unknownFromMessage(e)
  if (said) return said
  if ((e instanceof TemplateError || e instanceof UndefinedError) && referencesUnknown(task, h)) return dependsText(task, h)
  return undefined
}
