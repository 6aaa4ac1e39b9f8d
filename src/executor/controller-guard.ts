// Host data is data: what came from a managed host (a registered result, a fact, a file it
// returned) is never run as a command on the control machine nor sets the environment of its
// commands, never names a file there for a task to read (and send to a host) outside the
// playbook's and roles' own folders, and never leads a write there out of its folder. Ansible's
// unsafe marking only stops templating, so `shell: "{{ r.stdout }}"` with `delegate_to: localhost`
// runs whatever the host printed, and `copy: src: "{{ r.stdout }}"` sends the host any file it
// names (`/root/.ssh/id_ed25519`); here the task fails before anything runs. Choosing among the
// role's own files, as `include_vars: "{{ ansible_os_family }}.yml"` does, is what real roles do
// and stays allowed. Which arguments are commands (Module.commandArgs) or
// controller files (Module.controllerFiles) each module declares; the check renders them with their
// taint kept (HostString: unsafe text from a host, not a `with_*` item, a lookup's result or what
// the control machine's own tasks returned).
import type { Task, Vars } from '../model.js'
import { shlexSplit } from '../modules/command.js'
import type { Module } from '../modules/types.js'
import { isTemplated, templateValue, type TemplateOptions } from '../template/index.js'
import { containsHostData } from '../template/taint.js'
import { ownFileName } from '../hostfiles.js'

/**
 * Why this task may not run: host data names a file on the control machine for it to read (copy's
 * and template's src, a script, include_vars) outside the playbook's folders, or climbs out of the
 * folder it writes to (fetch's dest with '..'); or, when the task runs on the control machine (`onController`), an argument the
 * target runs as a command holds host data. undefined when nothing does (or when an argument cannot
 * be rendered: the pipeline reports that).
 */
export function hostDataRefusal(task: Task, mod: Module, vars: Vars, pos: TemplateOptions | undefined, onController: boolean): string | undefined {
  return hostDataInFiles(task, mod, vars, pos) ?? (onController ? hostDataAsCommand(task, mod, vars, pos) : undefined)
}

/**
 * Why a task on the control machine may not run with its `environment` (play, blocks and task):
 * host data in it would set the environment of the controller's commands (PATH, LD_PRELOAD,
 * BASH_ENV: a way to run code there). undefined when none does, or when it cannot be rendered (the
 * run reports that).
 */
export function hostDataInEnvironment(parts: unknown[], vars: Vars, searchPath?: string[]): string | undefined {
  const host = (v: unknown): boolean => containsHostData(templateValue(v, vars, { searchPath }))
  for (const p of parts) {
    try {
      // a name made from host data is a variable the host chose; a value, what it is set to
      const found =
        p !== null && typeof p === 'object' && !Array.isArray(p) ? Object.entries(p).some(([k, v]) => (isTemplated(k) && host(k)) || host(v)) : host(p)
      if (found)
        return (
          '`environment` is made from host data (a result registered on a managed host, its facts, or a file fetched from it), and this task runs on the control machine: ' +
          "k3sbook never lets host data set the environment of the control machine's commands. Instead, pass host data as a module argument."
        )
    } catch {
      return undefined
    }
  }
  return undefined
}

/**
 * The declared arguments the task sets, rendered with their taint kept; stops at one that cannot be
 * rendered (the pipeline reports that error itself).
 */
function* rendered<K extends string>(task: Task, kinds: Readonly<Record<string, K>>, vars: Vars, pos?: TemplateOptions): Generator<[string, K, unknown]> {
  for (const [key, kind] of Object.entries(kinds)) {
    const raw = task.args[key]
    if (raw === undefined || raw === null) continue
    let value: unknown
    try {
      value = templateValue(raw, vars, pos)
    } catch {
      return
    }
    yield [key, kind, value]
  }
}

function hostDataInFiles(task: Task, mod: Module, vars: Vars, pos?: TemplateOptions): string | undefined {
  const files = mod.controllerFiles?.(task.args)
  if (!files) return undefined
  for (const [key, how, value] of rendered(task, files, vars, pos)) {
    if (!containsHostData(value)) continue
    const text = String(value)
    const name = key === '_raw_params' ? `${mod.name}'s file` : `\`${key}\``
    // a URL is fetched by the host, not read here; a relative name without "..", or a path inside
    // the task's folders, is one of the playbook's or its roles' own files (`include_vars:
    // "{{ ansible_os_family }}.yml"`, as real roles do)
    if (how === 'read' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !ownFileName(mod.commandArgs?.[key] === 'shell' ? firstWord(text) : text, pos?.searchPath))
      return `${name} is made from host data (a result registered on a managed host, its facts, or a file fetched from it) and names a file on the control machine outside the playbook's folders: k3sbook never lets host data choose a file there (it may choose among the playbook's and roles' own files: a relative name without "..", or a path inside the task's folders).`
    if (how === 'write' && text.split('/').includes('..'))
      return `${name} is made from host data (a result registered on a managed host, its facts, or a file fetched from it) and climbs out of its folder with "..": k3sbook never lets host data choose where on the control machine it writes.`
  }
  return undefined
}

/** A script's file: the first word of its command line. */
function firstWord(text: string): string {
  try {
    return shlexSplit(text)[0] ?? ''
  } catch {
    return text
  }
}

function hostDataAsCommand(task: Task, mod: Module, vars: Vars, pos?: TemplateOptions): string | undefined {
  if (!mod.commandArgs) return undefined
  for (const [key, kind, value] of rendered(task, mod.commandArgs, vars, pos)) {
    const raw = task.args[key]
    const name = key === '_raw_params' ? `${mod.name}'s command line` : `\`${key}\``
    if (kind === 'argv') {
      // the program is the first item: host data after it is passed as arguments, not run
      if (Array.isArray(value) ? containsHostData(value[0]) : containsHostData(value))
        return refusal(mod, `the program (the first item of ${name})`, 'write the program in the playbook; host data may follow it as argv items')
    } else if (containsHostData(value)) {
      // `command` cuts its line into words with no shell: host data after a program written in
      // the playbook stays arguments
      if (kind === 'words' && typeof raw === 'string' && literalProgram(raw)) continue
      return refusal(
        mod,
        name,
        kind === 'words'
          ? 'write the program in the playbook, with host data only in the words after it, or use argv'
          : "pass host data as data (a file's content, the arguments of a command run without a shell), not in a shell line",
      )
    }
  }
  return undefined
}

/** The command line's first word is written in the playbook, not templated. */
function literalProgram(text: string): boolean {
  try {
    const first = shlexSplit(text)[0]
    return first !== undefined && !isTemplated(first)
  } catch {
    return false
  }
}

function refusal(mod: Module, what: string, instead: string): string {
  return (
    `${what} is made from host data (a result registered on a managed host, its facts, or a file fetched from it), and this ${mod.name} task runs on the ` +
    `control machine: k3sbook never runs host data there. Instead, ${instead}.`
  )
}
