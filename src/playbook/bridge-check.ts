// Validate's part for modules k3sbook does not implement (they run through Ansible's own module
// code, src/modules/bridge/): the controller's Ansible resolves each one (FQCN, short names and
// redirects by its plugin loader, role and playbook `library/` folders) and gives its real
// argument_spec, against which the task's literal arguments are checked. Strict means certainly
// wrong: an unknown or missing argument or a literal value outside `choices` fails wherever the task
// runs, so it is an error unless the task is guarded (when, ignore_errors, failed_when, rescue, a
// handler); anything templated is left to run time. Asynchronous: the Python helper runs beside
// the event loop, one question per module.
import { didYouMean, type Diagnostics, type SourcePos } from '../errors.js'
import type { Playbook, Task, TaskItem } from '../model.js'
import { srcPos } from '../model.js'
import { NoAnsibleError, resolveModule, type ArgSpec, type Resolved } from '../modules/bridge/controller.js'
import { isTemplated } from '../template/index.js'
import { argPos } from './check.js'
import { isMap, playItems } from './load.js'

interface Use {
  task: Task
  guarded: boolean
}

function bridgedTasks(playbook: Playbook): Use[] {
  const out: Use[] = []
  const visit = (items: TaskItem[], guarded: boolean): void => {
    for (const it of items) {
      const ignored = it.ignoreErrors !== undefined && it.ignoreErrors !== false
      const g = guarded || it.when.length > 0 || ignored || (it.kind === 'task' && it.failedWhen !== undefined)
      if (it.kind === 'task' && it.unsupported && !isTemplated(it.moduleKey)) out.push({ task: it, guarded: g })
      if (it.kind === 'block') {
        visit(it.block, g || it.rescue.length > 0)
        visit(it.rescue, true)
        visit(it.always, g)
      }
      if (it.kind === 'include' && it.preloaded) visit(it.preloaded, true)
    }
  }
  for (const play of playbook.plays) {
    visit(playItems(play), false)
    visit(play.handlers, true)
  }
  return out
}

/** Resolve every bridged module of the playbook with the controller's Ansible and check its tasks' arguments. */
export async function checkBridged(playbook: Playbook, diags: Diagnostics): Promise<void> {
  const uses = bridgedTasks(playbook)
  const answers = await Promise.all(
    uses.map(({ task }) =>
      resolveModule(task.moduleKey, { libraryDirs: task.libraryDirs, spec: true }).then(
        (r): Resolved | Error => r,
        (e: Error) => e,
      ),
    ),
  )
  uses.forEach(({ task, guarded }, i) => {
    const r = answers[i]
    const keyPos = srcPos(task.src, [task.moduleKey], { key: true })
    const report = (msg: string, pos: SourcePos, hint?: string) => (guarded ? diags.warn(`${msg} (where it runs)`, pos, hint) : diags.error(msg, pos, hint))
    if (r instanceof NoAnsibleError) {
      report(
        `module "${task.moduleKey}" needs ansible-core on the controller: k3sbook does not implement it`,
        keyPos,
        `${r.message}; install ansible-core (Debian: apt install ansible-core) or set K3SBOOK_ANSIBLE_PYTHON to a Python that has it`,
      )
      return
    }
    if (r instanceof Error) {
      diags.warn(`module "${task.moduleKey}": Ansible could not resolve it (${r.message})`, keyPos)
      return
    }
    if (!r.found) {
      diags.warn(`module "${task.moduleKey}" is not found by Ansible's plugin loader on the controller: the task fails if it runs`, keyPos)
      return
    }
    if (r.stub) {
      diags.warn(
        `module "${task.moduleKey}" is an Ansible action plugin (controller code, no module to run on the host): k3sbook cannot run it; the task fails if it runs`,
        keyPos,
      )
      return
    }
    if (!r.python) {
      diags.warn(`module "${task.moduleKey}" (${r.path}) is not a Python module: the bridge cannot run it; the task fails if it runs`, keyPos)
      return
    }
    if (r.action)
      diags.warn(
        `module "${task.moduleKey}" has an action plugin of its own that k3sbook does not run: its module runs alone, which may differ from Ansible`,
        keyPos,
      )
    if (r.spec) checkArgs(task, r.spec, report)
  })
}

/** The task's written arguments against the module's argument_spec: only what is certain. */
export function checkArgs(task: Task, spec: ArgSpec, report: (msg: string, pos: SourcePos, hint?: string) => void): void {
  // `args: "{{ some_dict }}"` or free-form text: the arguments are known only at run time
  const { yf, path } = task.src
  const argsNode = valueAt(yf.value, [...path, 'args'])
  if (argsNode !== undefined && !isMap(argsNode)) return
  if (task.args._raw_params !== undefined) return
  const names = new Map<string, string>()
  for (const [name, o] of Object.entries(spec.options)) {
    names.set(name, name)
    for (const a of o.aliases ?? []) names.set(a, name)
  }
  const given = new Set<string>()
  for (const k of Object.keys(task.args)) {
    if (isTemplated(k) || k.startsWith('_ansible_')) continue
    const canon = names.get(k)
    if (!canon) {
      report(
        `${task.moduleKey}: unsupported parameter "${k}"`,
        keyPos(task, k),
        didYouMean(k, [...names.keys()]) ?? `supported: ${[...names.keys()].sort().join(', ')}`,
      )
      continue
    }
    given.add(canon)
  }
  for (const [name, o] of Object.entries(spec.options)) {
    if (o.required && !given.has(name)) report(`${task.moduleKey}: missing required argument "${name}"`, srcPos(task.src, [task.moduleKey], { key: true }))
    const v = [name, ...(o.aliases ?? [])].map((k) => task.args[k]).find((x) => x !== undefined)
    const key = [name, ...(o.aliases ?? [])].find((k) => task.args[k] !== undefined)
    if (
      key &&
      o.choices &&
      o.type === 'str' &&
      typeof v === 'string' &&
      !isTemplated(v) &&
      o.choices.every((c) => typeof c === 'string') &&
      !o.choices.includes(v)
    )
      report(`${task.moduleKey}: "${key}" must be one of ${o.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(v)}`, argPos(task, [key]))
  }
  for (const group of spec.mutually_exclusive) {
    // a templated value may render to `omit`: only literal values count as given
    const lit = group.filter((k) => {
      const v = task.args[k]
      return v !== undefined && !(typeof v === 'string' && isTemplated(v))
    })
    if (lit.length > 1) report(`${task.moduleKey}: parameters are mutually exclusive: ${lit.join(', ')}`, argPos(task, [lit[1]]))
  }
}

/** Position of an argument's key (inline mapping or `args:`), else of its value (k=v text). */
function keyPos(task: Task, k: string): SourcePos {
  const { yf, path } = task.src
  for (const base of [task.moduleKey, 'args']) if (yf.node([...path, base, k])) return yf.pos([...path, base, k], { key: true })
  return argPos(task, [k])
}

function valueAt(v: unknown, path: (string | number)[]): unknown {
  let cur = v
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  return cur
}
