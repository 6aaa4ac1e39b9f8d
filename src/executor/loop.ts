// Loops: the items a `loop:`/`with_*:` yields, the variables each item sees (loop_var, index_var,
// ansible_loop), and how the items' outcomes add up to the task's. The runner and the read-ahead
// both expand loops here, so they see the same items with the same variables.
import { TemplateError } from '../errors.js'
import type { Task, LoopSpec, Vars } from '../model.js'
import { srcPos } from '../model.js'
import type { StepResult } from '../modules/types.js'
import { isTemplated, templateValue } from '../template/index.js'
import { pyRepr } from '../template/pyvalues.js'
import type { HostStatus } from './events.js'
import type { TaskOutcome } from './state.js'

/** The loop's items, templated with the task's variables. */
export function renderLoopItems(task: Task, vars: Vars, searchPath?: string[]): unknown[] {
  const loop = task.loop!
  return loopItems(loop.kind, templateValue(loop.items, vars, { ...srcPos(task.src, [loop.kind]), searchPath }), task, vars, searchPath)
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
  if (loop.indexVar) out[loop.indexVar] = i
  if (loop.extended)
    out.ansible_loop = {
      index: i + 1,
      index0: i,
      first: i === 0,
      last: i === items.length - 1,
      length: items.length,
      revindex: items.length - i,
      revindex0: items.length - i - 1,
      allitems: items,
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
  for (const { item, label, out } of done) {
    results.push({ ...out.result, [loop.loopVar]: item, ansible_loop_var: loop.loopVar, item_label: label })
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
    items: done.map(({ label, out }) => ({
      label,
      status: out.status,
      ...(out.status === 'unknown' || out.status === 'failed' ? { msg: out.msg ?? out.unknownReason } : {}),
    })),
  }
}

/** The with_* forms with their own item shapes here; any other with_NAME is the lookup NAME. */
const LEGACY_LOOPS = new Set([
  'loop',
  'with_items',
  'with_list',
  'with_dict',
  'with_indexed_items',
  'with_sequence',
  'with_fileglob',
  'with_subelements',
  'with_nested',
  'with_together',
])

export function loopItems(kind: string, value: unknown, task: Task, vars?: Vars, searchPath?: string[]): unknown[] {
  const pos = srcPos(task.src, [kind])
  if (!LEGACY_LOOPS.has(kind)) {
    // with_NAME: TERMS is lookup('NAME', *TERMS, wantlist=True), as Ansible runs it
    if (!vars) throw new TemplateError(`${kind}: the lookup runs with the task's variables only`, { pos })
    // the terms, already rendered, go in as literals: never templated a second time
    const terms = Array.isArray(value) ? value : [value]
    const args = terms.map((t) => `, ${pyRepr(t)}`).join('')
    return asList(templateValue(`{{ query(${pyRepr(kind.slice(5))}${args}) }}`, vars, { ...pos, searchPath }), pos)
  }
  switch (kind) {
    case 'with_dict': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TemplateError('with_dict expects a dict', { pos })
      return Object.entries(value as Vars).map(([key, v]) => ({ key, value: v }))
    }
    case 'with_indexed_items':
      return asList(value, pos)
        .flat()
        .map((v, i) => [i, v])
    case 'with_items':
      // with_items flattens one level, loop does not.
      return asList(value, pos).flatMap((v) => (Array.isArray(v) ? v : [v]))
    case 'with_together': {
      const lists = asList(value, pos) as unknown[][]
      const n = Math.max(...lists.map((l) => l.length))
      return Array.from({ length: n }, (_, i) => lists.map((l) => l[i] ?? null))
    }
    case 'with_nested': {
      const lists = asList(value, pos) as unknown[][]
      return lists.reduce<unknown[][]>((acc, l) => acc.flatMap((a) => asList(l, pos).map((x) => [...a, x])), [[]])
    }
    case 'with_sequence': {
      const spec = String(value)
      const m = /^(?:start=)?(-?\d+)?\s*(?:end=|-)?(-?\d+)(?:\s*stride=(-?\d+))?(?:\s*format=(.*))?$/.exec(spec)
      const kv: Record<string, string> = {}
      for (const part of spec.split(/\s+/)) {
        const [k, v] = part.split('=')
        if (v !== undefined) kv[k] = v
      }
      const start = Number(kv.start ?? m?.[1] ?? 1)
      const end = Number(kv.end ?? (kv.count !== undefined ? start + Number(kv.count) - 1 : m?.[2]))
      const stride = Number(kv.stride ?? 1)
      const fmt = kv.format
      const out: unknown[] = []
      for (let i = start; stride > 0 ? i <= end : i >= end; i += stride)
        out.push(fmt ? fmt.replace(/%0?(\d*)d/, (_s, w) => String(i).padStart(Number(w) || 0, '0')) : String(i))
      return out
    }
    default:
      return asList(value, pos)
  }
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
