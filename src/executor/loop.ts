// Loops: the items a `loop:`/`with_*:` yields, the variables each item sees (loop_var, index_var,
// ansible_loop), and how the items' outcomes add up to the task's. The runner and the read-ahead
// both expand loops here, so they see the same items with the same variables.
import { TemplateError } from '../errors.js'
import type { Task, LoopSpec, Vars } from '../model.js'
import { srcPos } from '../model.js'
import { lookupSubdir } from '../modules/registry.js'
import type { StepResult } from '../modules/types.js'
import { isTemplated, templateValue } from '../template/index.js'
import { pyRepr, UndefinedError } from '../template/pyvalues.js'
import { containsHostData, wrapUnsafe } from '../template/taint.js'
import type { HostStatus } from './events.js'
import type { TaskOutcome } from './state.js'

/** The loop's items, templated with the task's variables. */
export function renderLoopItems(task: Task, vars: Vars, searchPath?: string[]): unknown[] {
  const loop = task.loop!
  const opts = { ...srcPos(task.src, [loop.kind]), searchPath }
  const terms = loop.kind === 'with_first_found' ? firstFoundTerms(loop.items, vars, opts) : templateValue(loop.items, vars, opts)
  return loopItems(loop.kind, terms, task, vars, searchPath)
}

const DROPPED = Symbol('undefined candidate')

/**
 * with_first_found's terms: a candidate whose name uses an undefined variable is passed over, as
 * Ansible's first_found does (it templates each name itself and goes on to the next on an
 * undefined one: `"{{ distro_file }}"` then a default). Ansible 2.14 loses a dict term's `skip` when
 * one of its files is undefined (fixed in 2.16, ansible/ansible#81178); this follows the fix.
 * Any other error (a syntax error, a failing filter) is the task's error.
 */
function firstFoundTerms(value: unknown, vars: Vars, opts: Parameters<typeof templateValue>[2]): unknown {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      try {
        return templateValue(v, vars, opts)
      } catch (e) {
        if (isUndefinedError(e)) return DROPPED
        throw e
      }
    }
    if (Array.isArray(v)) return v.map(walk).filter((x) => x !== DROPPED)
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
      return Object.fromEntries(
        Object.entries(v)
          .map(([k, x]) => [k, walk(x)] as const)
          .filter(([, x]) => x !== DROPPED),
      )
    return v
  }
  // the whole value templated at once (`with_first_found: "{{ candidates }}"`) is not a candidate
  return typeof value === 'string' ? templateValue(value, vars, opts) : walk(value)
}

/** An error from a variable (or attribute) that is not defined, as Ansible's AnsibleUndefinedVariable. */
export function isUndefinedError(e: unknown): boolean {
  return e instanceof UndefinedError || (e instanceof TemplateError && e.cause instanceof UndefinedError)
}

/** The loop as it runs on a host: `loop_control.loop_var` may be a template, rendered with the host's variables. */
export function loopOnHost(task: Task, vars: Vars): LoopSpec {
  const loop = task.loop!
  if (!isTemplated(loop.loopVar)) return loop
  return { ...loop, loopVar: String(templateValue(loop.loopVar, vars, srcPos(task.src, ['loop_control', 'loop_var']))) }
}

/** What one item adds to the task's variables: the loop variable, the index, ansible_loop. */
export function loopVars(loop: LoopSpec, items: unknown[], i: number): Vars {
  const item = items[i]
  const out: Vars = { [loop.loopVar]: item, ansible_loop_var: loop.loopVar }
  if (loop.indexVar) {
    out.ansible_index_var = loop.indexVar
    out[loop.indexVar] = i
  }
  if (loop.extended) {
    // As Ansible's TaskExecutor._run_loop: allitems unless extended_allitems is false, nextitem
    // except on the last item, previtem except on the first.
    const info: Vars = {
      index: i + 1,
      index0: i,
      first: i === 0,
      last: i === items.length - 1,
      length: items.length,
      revindex: items.length - i,
      revindex0: items.length - i - 1,
    }
    if (loop.extendedAllitems !== false) info.allitems = items
    if (i + 1 < items.length) info.nextitem = items[i + 1]
    if (i > 0) info.previtem = items[i - 1]
    out.ansible_loop = info
  }
  return out
}

/** One item's turn: its label and its outcome. */
export interface ItemOutcome {
  item: unknown
  label: string
  out: TaskOutcome
}

/** The task's outcome from its items' (registered as `results`, as in Ansible). */
export function loopOutcome(loop: LoopSpec, done: ItemOutcome[]): TaskOutcome {
  const results: Vars[] = []
  let anyChanged = false
  let anyFailed = false
  let anyUnknown = false
  let anyNotRun = false
  const changes: string[] = []
  const diffs: NonNullable<TaskOutcome['diff']> = []
  const msgs: string[] = []
  let lastFailedStep: StepResult | undefined
  for (const [i, { item, label, out }] of done.entries()) {
    // each item's result names its loop variable and index as Ansible's _run_loop does
    const index = loop.indexVar ? { [loop.indexVar]: i, ansible_index_var: loop.indexVar } : {}
    results.push({ ...out.result, [loop.loopVar]: item, ansible_loop_var: loop.loopVar, ...index, item_label: label })
    if (out.status === 'changed') anyChanged = true
    if (out.status === 'unknown') anyUnknown = true
    if (out.notRun) anyNotRun = true
    if (out.status === 'failed') {
      anyFailed = true
      lastFailedStep = out.failedStep ?? lastFailedStep
      msgs.push(`${label}: ${out.msg ?? 'failed'}`)
    }
    for (const c of out.changes) changes.push(`${label}: ${c}`)
    if (out.diff) diffs.push(...out.diff)
  }
  const allSkipped = results.length > 0 && results.every((r) => r.skipped)
  const result: Vars = {
    results,
    changed: anyChanged || anyUnknown,
    msg: anyFailed ? 'One or more items failed' : 'All items completed',
    skipped: allSkipped || results.length === 0,
  }
  if (anyFailed) result.failed = true
  const status: HostStatus = anyFailed ? 'failed' : anyUnknown ? 'unknown' : anyChanged ? 'changed' : allSkipped || results.length === 0 ? 'skipped' : 'ok'
  return {
    status,
    result,
    changes,
    diff: diffs.length ? diffs : undefined,
    msg: anyFailed ? msgs.join('; ') : undefined,
    failedStep: lastFailedStep,
    notRun: anyNotRun,
    fromController: done.length > 0 && done.every((d) => d.out.fromController),
    items: done.map(({ label, out }) => ({
      label,
      status: out.status,
      ...(out.status === 'unknown' || out.status === 'failed' ? { msg: out.msg ?? out.unknownReason } : {}),
    })),
  }
}

/**
 * `loop` and with_items/with_list take their items here; any other with_NAME is the lookup NAME
 * (Ansible runs every with_* through its lookup plugin: the same items and the same errors).
 */
const LEGACY_LOOPS = new Set(['loop', 'with_items', 'with_list'])

export function loopItems(kind: string, value: unknown, task: Task, vars?: Vars, searchPath?: string[]): unknown[] {
  // every with_NAME is a lookup in Ansible, whose items it wraps as unsafe (wrap_var in
  // TaskExecutor._get_loop_items): what is made from them is never templated again; `loop` is not
  if (kind !== 'loop') return wrapUnsafe(lookupLoopItems(kind, value, task, vars, searchPath)) as unknown[]
  return lookupLoopItems(kind, value, task, vars, searchPath)
}

function lookupLoopItems(kind: string, value: unknown, task: Task, vars?: Vars, searchPath?: string[]): unknown[] {
  const pos = srcPos(task.src, [kind])
  if (!LEGACY_LOOPS.has(kind)) {
    // with_NAME: TERMS is lookup('NAME', *TERMS, wantlist=True), as Ansible runs it
    if (!vars) throw new TemplateError(`${kind}: the lookup runs with the task's variables only`, { pos })
    // the terms, already rendered, go in as literals: never templated a second time
    // (Ansible hands a dict to the lookup as it is: indexed_items refuses it)
    if (kind === 'with_indexed_items' && !Array.isArray(value)) throw new TemplateError('with_indexed_items expects a list', { pos })
    const terms = Array.isArray(value) ? value : [value]
    const args = terms.map((t) => `, ${pyRepr(t)}`).join('')
    return asList(
      templateValue(`{{ query(${pyRepr(kind.slice(5))}${args}) }}`, vars, {
        ...pos,
        searchPath,
        loopSubdir: lookupSubdir(task.module ?? ''),
        hostTerms: containsHostData(terms),
      }),
      pos,
    )
  }
  // the list lookup refuses what is not a sequence (a mapping) with its own message
  if (kind === 'with_list' && typeof value === 'object' && value !== null && !Array.isArray(value))
    throw new TemplateError('with_list expects a list', { pos, hint: 'use dict2items to loop over a dict' })
  if (kind === 'with_items')
    // with_items flattens one level, loop does not.
    return asList(value, pos).flatMap((v) => (Array.isArray(v) ? v : [v]))
  return asList(value, pos)
}

function asList(v: unknown, pos: ReturnType<typeof srcPos>): unknown[] {
  if (Array.isArray(v)) return v
  if (v === undefined || v === null) return []
  if (typeof v === 'string') return [v]
  throw new TemplateError(`loop expects a list, got ${typeof v}`, { pos, hint: 'use dict2items to loop over a dict' })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
