// Test harness for the provisioning modules: the executor's own pipeline (executeModule: plan →
// predict or apply → result) against any Connection.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Connection } from '../../../src/connection/types.js'
import { makeReader, Overlay } from '../../../src/executor/reader.js'
import { executeModule, runStep, uploadTo } from '../../../src/executor/task.js'
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

/** What the executor gives apply(): its own step runner, upload and streamed run. */
export function applyCtx(conn: Connection): ApplyContext {
  return {
    host: conn.host,
    task,
    run: (step) => runStep(conn, step),
    upload: (src, remote, o) => uploadTo(conn, src, remote, o),
    stream: (step, stdout) => runStep(conn, step, stdout),
  }
}

/** One module call through executeModule; check mode predicts into `overlay` (a fresh one when none is given). */
export async function runModule(mod: Module, args: Vars, conn: Connection, o: RunOpts = {}): Promise<RunResult> {
  const out = await executeModule({
    mod,
    args,
    host: conn.host,
    task,
    vars: o.vars ?? {},
    conn: mod.controllerOnly ? undefined : conn,
    check: !!o.check,
    diff: o.diff ?? false,
    controller: o.controller ?? noController,
    overlay: o.overlay ?? (o.check ? new Overlay() : undefined),
  })
  const f = out.failedStep
  return { plan: out.plan, steps: out.steps, failed: f && { step: f.step, rc: f.rc, stderr: f.stderr.toString() }, result: out.result }
}

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'k3sbook-prov-'))
  t.after(() => rm(d, { recursive: true, force: true }))
  return d
}
