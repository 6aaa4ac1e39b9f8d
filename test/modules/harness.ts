// Runs a module through the executor's own pipeline (executeModule: plan → predict or apply →
// result) against a real LocalConnection in a temp directory, plus a tree hash that proves what
// plan() and check mode left alone.
import { createHash } from 'node:crypto'
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalConnection } from '../../src/connection/local.js'
import { makeReader, Overlay } from '../../src/executor/reader.js'
import { executeModule, type ModuleOutcome } from '../../src/executor/task.js'
import type { Task, Vars } from '../../src/model.js'
import { getModule } from '../../src/modules/registry.js'
import type { ControllerFiles, Module, Plan, PlanContext, Step, StepResult } from '../../src/modules/types.js'

export const conn = new LocalConnection('localhost')

export async function tempDir(prefix = 'k3sbook-mod-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** Controller files from `<base>/templates` and `<base>/files`, rendered with the project's engine. */
export function controllerFor(base: string): ControllerFiles {
  return {
    async find(name, kind) {
      for (const p of name.startsWith('/') ? [name] : [join(base, kind, name), join(base, name)]) {
        try {
          return { path: p, content: await readFile(p) }
        } catch {
          /* next */
        }
      }
      throw new Error(`could not find ${kind === 'templates' ? 'template' : 'file'} "${name}"`)
    },
    render(text, vars, file) {
      // Imported lazily: the template engine is a separate area of the project.
      return renderSync(text, vars, file)
    },
  }
}

let renderImpl: ((text: string, vars: Vars, opts?: { file?: string }) => string) | undefined
export async function loadTemplateEngine(): Promise<void> {
  renderImpl = (await import('../../src/template/index.js')).render
}
function renderSync(text: string, vars: Vars, file?: string): string {
  if (!renderImpl) throw new Error('call loadTemplateEngine() first')
  return renderImpl(text, vars, { file })
}

export interface Ctx {
  overlay?: Overlay
  diff?: boolean
  vars?: Vars
  base?: string
}

export function planContext(o: Ctx = {}): PlanContext {
  return {
    host: 'localhost',
    vars: o.vars ?? {},
    reader: makeReader(conn, o.overlay),
    diff: o.diff ?? false,
    controller: controllerFor(o.base ?? '/nonexistent'),
    task: { baseDir: o.base ?? '/nonexistent' } as unknown as Task,
  }
}

export async function runStep(step: Step): Promise<StepResult> {
  const t0 = Date.now()
  const r = await conn.exec(step.script, { stdin: step.stdin, env: step.env, timeoutMs: step.timeoutMs })
  return { ...r, step, durationMs: Date.now() - t0 }
}

export interface Outcome {
  plan: Plan
  steps?: StepResult[]
  result: Vars
  /** Steps that exited outside their okCodes. */
  failedStep?: StepResult
}

function mod(name: string | Module): Module {
  const m = typeof name === 'string' ? getModule(name) : name
  if (!m) throw new Error(`no module ${String(name)}`)
  return m
}

/** The executor's pipeline below rendering (executeModule), on this machine. */
function execute(name: string | Module, args: Vars, o: Ctx, check: boolean): Promise<ModuleOutcome> {
  const m = mod(name)
  return executeModule({
    mod: m,
    args,
    host: 'localhost',
    // the tests here read the whole result, as a registered task's reader does
    task: { baseDir: o.base ?? '/nonexistent', register: 'result' } as unknown as Task,
    vars: o.vars ?? {},
    conn: m.controllerOnly ? undefined : conn,
    check,
    diff: o.diff ?? false,
    controller: controllerFor(o.base ?? '/nonexistent'),
    overlay: o.overlay,
  })
}

/** plan → apply → result, as the executor runs it; a step that fails throws (with its script). */
export async function run(name: string | Module, args: Vars, o: Ctx = {}): Promise<Outcome> {
  const out = await execute(name, args, o, false)
  const failedStep = out.failedStep
  if (failedStep)
    throw new Error(`step failed: ${failedStep.step.describe}: rc=${failedStep.rc}: ${failedStep.stderr.toString()}\n--- script:\n${failedStep.step.script}`)
  return { plan: out.plan, steps: out.steps, result: out.result, failedStep }
}

/** Check mode, as the executor runs it: plan, record the declared effects into the overlay, apply nothing. */
export async function check(name: string | Module, args: Vars, overlay: Overlay, o: Ctx = {}): Promise<Outcome> {
  const out = await execute(name, args, { ...o, overlay }, true)
  return { plan: out.plan, result: out.result }
}

export async function planOnly(name: string | Module, args: Vars, o: Ctx = {}): Promise<Plan> {
  return mod(name).plan(args, planContext(o))
}

/** Hash of a tree: names, types, modes, owners, sizes, contents, link targets, and mtimes (touch shows). */
export async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256')
  async function walk(p: string, rel: string): Promise<void> {
    const st = await lstat(p)
    h.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.mtimeMs}\0`)
    if (st.isSymbolicLink()) h.update(`L${await readlink(p)}\0`)
    else if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(join(p, n), `${rel}/${n}`)
    else if (st.isFile()) h.update(await readFile(p))
  }
  await walk(dir, '.')
  return h.digest('hex')
}

export { Overlay }
