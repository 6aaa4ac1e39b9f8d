// Test harness for the provisioning modules: plan → (unless check) apply → result, against any
// Connection, with the same "stop at the first failing step" rule the executor uses.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection } from '../../../src/connection/types.js'
import { makeReader, Overlay } from '../../../src/executor/reader.js'
import type { ApplyContext, ControllerFiles, Module, Plan, PlanContext, StepResult, Step } from '../../../src/modules/types.js'
import type { Task, Vars } from '../../../src/model.js'

export interface RunOpts {
  check?: boolean
  diff?: boolean
  controller?: ControllerFiles
  overlay?: Overlay
  vars?: Vars
}

export interface RunResult {
  plan: Plan
  steps?: StepResult[]
  failed?: { step: Step; rc: number; stderr: string }
  result: Vars
}

const task = { kind: 'task', module: 'x', moduleKey: 'x', args: {}, when: [], tags: [], vars: {}, notify: [], baseDir: '.' } as unknown as Task

export const noController: ControllerFiles = {
  async find(name) {
    throw new Error(`no controller file ${name}`)
  },
  render: (t) => t,
}

export function planCtx(conn: Connection, o: RunOpts = {}): PlanContext {
  return { host: conn.host, vars: o.vars ?? {}, reader: makeReader(conn, o.overlay), diff: o.diff ?? false, controller: o.controller ?? noController, task }
}

export function applyCtx(conn: Connection): ApplyContext {
  return {
    host: conn.host,
    task,
    async run(step) {
      const t0 = Date.now()
      const r = await conn.exec(step.script, { stdin: step.stdin, env: step.env, timeoutMs: step.timeoutMs })
      return { ...r, step, durationMs: Date.now() - t0 }
    },
    async upload(src, remotePath, opts) {
      if (typeof src === 'string') return conn.upload(src, remotePath, opts)
      const dir = await mkdtemp(join(tmpdir(), 'k3sbook-up-'))
      try {
        const { writeFile } = await import('node:fs/promises')
        await writeFile(join(dir, 'f'), src)
        await conn.upload(join(dir, 'f'), remotePath, opts)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  }
}

export async function runModule(mod: Module<any>, args: Vars, conn: Connection, o: RunOpts = {}): Promise<RunResult> {
  const plan = await mod.plan(args, planCtx(conn, o))
  if (o.check || !('steps' in plan)) {
    if (o.check && o.overlay && 'steps' in plan) for (const s of plan.steps) o.overlay.record(s.effects)
    return { plan, result: mod.result ? mod.result(plan, undefined, args) : { ...(plan.result ?? {}) } }
  }
  const ctx = applyCtx(conn)
  let steps: StepResult[] = []
  let failed: RunResult['failed']
  if (mod.apply) steps = await mod.apply(plan, args, ctx)
  else
    for (const s of plan.steps) {
      const r = await ctx.run(s)
      steps.push(r)
      if (!(s.okCodes ?? [0]).includes(r.rc)) break
    }
  const last = steps[steps.length - 1]
  if (last && !(last.step.okCodes ?? [0]).includes(last.rc)) failed = { step: last.step, rc: last.rc, stderr: last.stderr.toString() }
  return { plan, steps, failed, result: mod.result ? mod.result(plan, steps, args) : { ...(plan.result ?? {}) } }
}

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'k3sbook-prov-'))
  t.after(() => rm(d, { recursive: true, force: true }))
  return d
}
