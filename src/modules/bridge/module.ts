// The module bridge: a module k3sbook does not implement runs through Ansible's own code. The
// controller's Ansible builds the module's payload (AnsiballZ, arguments inside, check and diff mode
// as `_ansible_check_mode`/`_ansible_diff`); the host's python3 runs it from stdin over the task's
// existing connection (Ansible's pipelining), and its JSON result becomes the task's result.
// One round trip per bridged task: in check mode the module's own check run is the plan (read-only
// by Ansible's contract); for real, plan() asks nothing and the one step runs the module.
import { asBool } from '../../bool.js'
import type { Vars } from '../../model.js'
import type { FileDiff, Module, Plan, Step, StepResult } from '../types.js'
import { buildPayload, NoAnsibleError, resolveModule, type Resolved } from './controller.js'

/** Any exit code: the module's JSON says whether it failed. */
const ANY_RC = Array.from({ length: 256 }, (_, i) => i)

/** The host's python3, as Ansible's interpreter discovery finds it on Debian and the RedHat family. */
function runScript(vars: Vars): string {
  const py = vars.ansible_python_interpreter
  if (typeof py === 'string' && py && !py.startsWith('auto')) return `exec ${py}`
  return 'if [ -x /usr/bin/python3 ]; then exec /usr/bin/python3; else exec python3; fi'
}

/** Ansible's `_filter_non_json_lines`: the module's JSON object, with anything printed around it dropped. */
export function parseModuleOutput(stdout: string, stderr: string, rc: number): Vars {
  const lines = stdout.split('\n')
  const start = lines.findIndex((l) => l.trimStart().startsWith('{'))
  let end = -1
  for (let i = lines.length - 1; i >= 0; i--)
    if (lines[i].trimEnd().endsWith('}')) {
      end = i
      break
    }
  if (start >= 0 && end >= start) {
    try {
      const data = JSON.parse(lines.slice(start, end + 1).join('\n')) as unknown
      if (data && typeof data === 'object' && !Array.isArray(data)) return data as Vars
    } catch {
      /* not JSON: a module failure below */
    }
  }
  const out: Vars = { failed: true, msg: 'MODULE FAILURE\nSee stdout/stderr for the exact error', module_stdout: stdout, module_stderr: stderr, rc }
  if (stderr.startsWith('Traceback')) out.exception = stderr
  return out
}

/**
 * The module's result as Ansible registers it: without the `_ansible_*` keys it passes to the
 * controller; `changed`/`failed`/`skipped` as booleans, false when the module leaves them out.
 */
export function clean(res: Vars): Vars {
  const out = Object.fromEntries(Object.entries(res).filter(([k]) => !k.startsWith('_ansible')))
  for (const k of ['changed', 'failed', 'skipped']) if (k in out || k === 'changed') out[k] = asBool(out[k]) ?? false
  if (out.skipped === false) delete out.skipped
  return out
}

function text(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (typeof v === 'string') return v
  return JSON.stringify(v, null, 4) + '\n'
}

/** The module's `diff` (a mapping, a list of them, or `prepared` text) as k3sbook's diffs. */
export function moduleDiffs(diff: unknown, name: string): FileDiff[] {
  const list = Array.isArray(diff) ? diff : diff && typeof diff === 'object' ? [diff] : []
  const out: FileDiff[] = []
  for (const d of list as Vars[]) {
    if (!d || typeof d !== 'object') continue
    if (typeof d.prepared === 'string') out.push({ path: name, before: '', after: d.prepared })
    else if ('before' in d || 'after' in d) out.push({ path: String(d.before_header ?? d.after_header ?? name), before: text(d.before), after: text(d.after) })
  }
  return out
}

export interface BridgeOptions {
  /** Role `library/` folders (and the playbook's) where Ansible looks for modules first. */
  libraryDirs?: string[]
}

const made = new Map<string, Module>()

/** The module `key` (as written: `dnf`, `community.general.alternatives`, a role's library module) run by Ansible's code. */
export function bridgedModule(key: string, opts: BridgeOptions = {}): Module {
  const id = JSON.stringify([key, opts.libraryDirs ?? []])
  let m = made.get(id)
  if (m) return m
  const where = async (): Promise<Extract<Resolved, { found: true }> | { fail: string }> => {
    let r: Resolved
    try {
      r = await resolveModule(key, { libraryDirs: opts.libraryDirs })
    } catch (e) {
      if (e instanceof NoAnsibleError) return { fail: `module "${key}" is not implemented by k3sbook and needs ansible-core on the controller: ${e.message}` }
      throw e
    }
    if (!r.found) return { fail: `module "${key}" was not found by Ansible on the controller` }
    if (r.stub)
      return { fail: `module "${key}" is an Ansible action plugin (it runs on the controller, its module file is documentation only): k3sbook cannot run it` }
    if (!r.python) return { fail: `module "${key}" (${r.path}) is not a Python module: only Python modules run through the bridge` }
    return r
  }
  m = {
    name: key,
    description: `Ansible's module ${key}, run through the bridge`,
    schema: { type: 'object' },
    bridged: true,
    async plan(args: Vars, ctx): Promise<Plan> {
      const r = await where()
      if ('fail' in r) return { status: 'fail', msg: r.fail }
      const noLog = ctx.task.noLog === true || ctx.task.noLog === 'true'
      const p = await buildPayload({ name: r.fqcn, path: r.path, args, check: !!ctx.check, diff: ctx.diff, noLog, interpreter: '/usr/bin/python3' })
      if (p.style !== 'new')
        return { status: 'fail', msg: `module "${key}" is a ${p.style} style module: only AnsibleModule (new style) modules run through the bridge` }
      const step: Step = { describe: `${r.fqcn} (Ansible's module)`, script: runScript(ctx.vars), stdin: p.payload, okCodes: ANY_RC }
      if (!ctx.check) return { status: 'unknown', reason: `runs Ansible's ${r.fqcn}`, steps: [step] }
      // check mode: the module's own check run (read-only by Ansible's contract) is the plan
      const out = await ctx.reader.probe(step.script, { stdin: p.payload })
      const res = clean(parseModuleOutput(out.stdout.toString(), out.stderr.toString(), out.rc))
      if (res.failed === true) return { status: 'fail', msg: String(res.msg ?? 'failed'), result: res }
      if (res.changed === true) {
        const diffs = ctx.diff ? moduleDiffs(res.diff, r.fqcn) : []
        const changes = diffs.length ? diffs.map((d) => ({ summary: r.fqcn, diff: d })) : [{ summary: r.fqcn }]
        // what it would change is unknown to k3sbook: the step declares no effects (later reads are opaque)
        return { status: 'change', changes, steps: [{ ...step, script: 'true', stdin: undefined }], result: res }
      }
      return { status: 'ok', result: res }
    },
    result(plan: Plan, steps: StepResult[] | undefined): Vars {
      const s = steps?.[0]
      if (!s) return plan.result ?? {}
      return clean(parseModuleOutput(s.stdout.toString(), s.stderr.toString(), s.rc))
    },
  } as Module
  made.set(id, m)
  return m
}
