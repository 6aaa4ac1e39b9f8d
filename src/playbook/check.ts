// Checks that need the whole loaded project (playbook + inventory + extra vars) and still touch no
// host: host patterns, notify targets, template/file sources, template syntax, and variables that
// no source defines anywhere. Conservative by design: a valid Ansible playbook must pass.
import { checkAnsibleHabits } from './habits.js'
import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { didYouMean, K3sbookError, type Diagnostics, type SourcePos } from '../errors.js'
import { hostInventoryVars, resolvePattern } from '../inventory/index.js'
import type { Include, Inventory, Play, Playbook, Task, TaskItem, Vars } from '../model.js'
import { getModule } from '../modules/registry.js'
import { LOOKUPS } from '../template/filters.js'
import { analyzeTemplate, isTemplated } from '../template/index.js'
import { hasFilter, hasLookup } from '../template/plugins.js'
import { displayPath, type YamlFile, type YamlPath } from '../yamlfile.js'
import { firstFile, isDir, shownList } from './files.js'
import { isMap, optBool, playItems, toCond, walkItems } from './load.js'
import { checkRequiredSecrets } from './required.js'
import { jinjaSpans } from '../text.js'

export interface CheckInput {
  playbook: Playbook
  inventory?: Inventory
  extraVars: Vars
  /** Some variable source could not be read (e.g. a broken -e): undefined names are not reported. */
  varsIncomplete?: boolean
}

/** Names Ansible (or Jinja) defines without any user source. */
export const MAGIC_VARS = new Set([
  'inventory_hostname',
  'inventory_hostname_short',
  'hostvars',
  // every variable of the task as stored (executor/vars.ts rawVarsView)
  'vars',
  'groups',
  'group_names',
  'play_hosts',
  'ansible_play_hosts',
  'ansible_play_hosts_all',
  'ansible_play_batch',
  'ansible_play_name',
  'ansible_play_role_names',
  'ansible_role_names',
  'ansible_dependent_role_names',
  'ansible_parent_role_names',
  'ansible_parent_role_paths',
  'role_path',
  'role_name',
  'role_names',
  'playbook_dir',
  'inventory_dir',
  'inventory_file',
  'ansible_inventory_sources',
  'ansible_check_mode',
  'ansible_diff_mode',
  'ansible_version',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_limit',
  'ansible_forks',
  'ansible_verbosity',
  'ansible_config_file',
  'ansible_playbook_python',
  'ansible_search_path',
  'ansible_loop',
  'ansible_loop_var',
  'ansible_index_var',
  'ansible_failed_task',
  'ansible_failed_result',
  'ansible_local',
  'ansible_collection_name',
  'ansible_role_name',
  'omit',
  'item',
  'environment',
  // connection variables, given defaults by the connection even when no source sets them
  'ansible_host',
  'ansible_port',
  'ansible_user',
  'ansible_connection',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
  'ansible_become_password',
  'ansible_password',
  'ansible_ssh_private_key_file',
  'ansible_python_interpreter',
  'ansible_shell_executable',
  // Jinja and Ansible globals
  'range',
  'lookup',
  'query',
  'q',
  'dict',
  'lipsum',
  'cycler',
  'joiner',
  'namespace',
  'now',
  'undef',
  'true',
  'false',
  'none',
  'True',
  'False',
  'None',
  'loop',
  'varargs',
  'kwargs',
  'caller',
  'super',
  'self',
])

/** Set inside a template module's file only. */
const TEMPLATE_FILE_VARS = ['template_host', 'template_path', 'template_fullpath', 'template_destpath', 'template_run_date', 'template_uid', 'ansible_managed']

interface TextUse {
  text: string
  pos: SourcePos
  expression: boolean
  /** Under `when`, `ignore_errors`, `failed_when`, a rescue, a handler or a dynamic include: may never be evaluated. */
  guarded?: boolean
  /** The keyword a condition came from (when, changed_when, …). */
  cond?: string
  /** A with_first_found candidate: first_found passes over one whose variables are undefined. */
  candidate?: boolean
}

export function checkProject(input: CheckInput, diags: Diagnostics): void {
  const { playbook } = input
  if (input.inventory) checkPatterns(input.playbook, input.inventory, diags)
  for (const play of playbook.plays) checkNotify(play, diags)
  checkAnsibleHabits(playbook, diags)
  const texts: TextUse[] = []
  const templateFiles: { file: string; pos: SourcePos; guarded?: boolean }[] = []
  let dynamic = false
  // a task that ran on the control machine before may have made a `src:` that is not there yet
  let controllerRan = false
  for (const play of playbook.plays) {
    for (const f of play.varsFiles) if (isTemplated(f.path)) dynamic = true
    const localPlay = play.hosts === 'localhost' || play.hosts === '127.0.0.1' || play.vars.ansible_connection === 'local'
    const visit = (items: TaskItem[], guarded: boolean): void => {
      for (const it of items) {
        if (it.kind === 'include' && !it.preloaded) dynamic = true
        // variables some task sets under names not known before it runs
        if (
          it.kind === 'task' &&
          (it.unsupported || getModule(it.module)?.namesAtRun || (!!getModule(it.module)?.setsVars && Object.keys(it.args).some(isTemplated)))
        )
          dynamic = true
        const ignored = it.ignoreErrors !== undefined && it.ignoreErrors !== false
        const g = guarded || it.when.length > 0 || ignored || (it.kind === 'task' && it.failedWhen !== undefined)
        const n = texts.length
        collectTexts(it, texts)
        // a task's own `when` is evaluated whenever the task is reached: guarded only from outside
        for (let i = n; i < texts.length; i++)
          texts[i].guarded = texts[i].candidate || (texts[i].cond === 'when' ? guarded || ignored || inheritedWhen(it, texts[i].text) : g)
        // a missing src under a guard (ignore_errors, when, rescue …) may be the point of the task
        const sink = g
          ? ({ error: (m: string, p?: SourcePos, h?: string) => diags.warn(`${m} (where it runs)`, p, h) } as Diagnostics)
          : controllerRan
            ? ({
                error: (m: string, p?: SourcePos, h?: string) => diags.warn(`${m} (unless an earlier task on the control machine makes it)`, p, h),
              } as Diagnostics)
            : diags
        if (it.kind === 'task') templateFiles.push(...checkSources(it, playbook.dir, sink).map((f) => ({ ...f, guarded: g })))
        if (it.kind === 'task' && (localPlay || isControllerName(it.delegateTo) || it.vars.ansible_connection === 'local')) controllerRan = true
        if (it.kind === 'block') {
          visit(it.block, g || it.rescue.length > 0)
          visit(it.rescue, true)
          visit(it.always, g)
        }
        if (it.kind === 'include' && it.preloaded) visit(it.preloaded, true)
      }
    }
    visit(playItems(play), false)
    visit(play.handlers, true)
  }
  const used: { name: string; pos: SourcePos; guarded?: boolean }[] = []
  for (const t of texts) {
    let a: ReturnType<typeof analyzeTemplate>
    try {
      a = analyzeTemplate(t.text, { expression: t.expression, file: t.pos.file, line: t.pos.line, col: t.pos.col, source: 'yaml' })
    } catch (e) {
      reportTemplateError(e, t.pos, undefined, diags, t.guarded)
      continue
    }
    for (const n of a.required.keys()) used.push({ name: n, pos: t.pos, guarded: t.guarded })
    checkPlugins(a, t.pos, !!t.guarded, diags)
  }
  const fileTexts: string[] = []
  const seenFiles = new Set<string>()
  for (const tf of templateFiles) {
    if (seenFiles.has(tf.file)) continue
    seenFiles.add(tf.file)
    let text: string
    try {
      text = readFileSync(tf.file, 'utf8')
    } catch {
      continue
    }
    fileTexts.push(text)
    let a: ReturnType<typeof analyzeTemplate>
    try {
      a = analyzeTemplate(text, { file: displayPath(tf.file), source: 'file' })
    } catch (e) {
      reportTemplateError(e, { file: displayPath(tf.file), line: 1, col: 1 }, displayPath(tf.file), diags, tf.guarded)
      continue
    }
    checkPlugins(a, tf.pos, !!tf.guarded, diags)
    for (const n of a.required.keys()) {
      if (TEMPLATE_FILE_VARS.includes(n)) continue
      used.push({ name: n, pos: namePos(text, n, displayPath(tf.file)), guarded: tf.guarded })
    }
  }
  if (!input.inventory || input.varsIncomplete) return // an unknown inventory may define anything
  checkRequiredSecrets(playbook, input.inventory, input.extraVars, diags)
  const defined = definedNames(input, diags)
  const guarded = guardedNames([...texts.map((t) => t.text), ...fileTexts])
  for (const u of used) {
    if (defined.has(u.name) || guarded.has(u.name) || MAGIC_VARS.has(u.name)) continue
    if (u.name.startsWith('ansible_') && defined.has('ansible_facts')) continue
    const hint = didYouMean(u.name, defined) ?? `no inventory, group_vars, role defaults, play vars, register or -e defines "${u.name}"`
    // certainly wrong only when nothing can define it at run time and the use is always evaluated
    if (dynamic || u.guarded)
      diags.warn(`undefined variable "${u.name}"${dynamic ? ' (unless a task defines it at run time)' : ' (where it is evaluated)'}`, u.pos, hint)
    else diags.error(`undefined variable "${u.name}"`, u.pos, hint)
  }
}

/** A condition the item inherits from a block, role or import around it (those guard it). */
function inheritedWhen(it: TaskItem, text: string): boolean {
  const own = toCond(valueAt(it.src.yf, [...it.src.path, 'when']))
  return !own.includes(text) || it.when.indexOf(text) < it.when.length - own.length
}

/** A filter or lookup k3sbook refuses is reported before any host (an error when always evaluated). */
function checkPlugins(a: ReturnType<typeof analyzeTemplate>, pos: SourcePos, guarded: boolean, diags: Diagnostics): void {
  const report = (msg: string, hint: string) => (guarded ? diags.warn(`${msg} (where it is evaluated)`, pos, hint) : diags.error(msg, pos, hint))
  for (const f of a.filters ?? []) if (!hasFilter(f)) report(`filter "${f}" is not supported by k3sbook`, 'see docs/TEMPLATES.md for the filters k3sbook has')
  for (const l of a.lookups ?? [])
    if (!hasLookup(l)) report(`lookup "${l}" is not supported by k3sbook`, `supported: ${Object.keys(LOOKUPS).sort().join(', ')}`)
}

// ---------------------------------------------------------------- host patterns

function checkPatterns(playbook: Playbook, inv: Inventory, diags: Diagnostics): void {
  for (const play of playbook.plays) {
    if (!play.hosts || isTemplated(play.hosts)) continue
    const pos = play.src.yf.pos([...play.src.path, 'hosts'])
    try {
      resolvePattern(inv, play.hosts, { warn: (msg: string) => diags.warn(msg, pos), baseDir: playbook.dir })
    } catch (e) {
      if (e instanceof K3sbookError) diags.error(e.message, e.pos ?? pos, e.hint)
      else diags.error(`bad host pattern "${play.hosts}": ${(e as Error).message}`, pos)
    }
  }
}

// ---------------------------------------------------------------- notify

function checkNotify(play: Play, diags: Diagnostics): void {
  const names = new Set<string>()
  for (const h of play.handlers) {
    if (h.name) {
      names.add(h.name)
      if (h.role) names.add(`${h.role.name} : ${h.name}`)
    }
    for (const l of h.listen) names.add(l)
  }
  for (const n of play.refusedHandlers ?? []) names.add(n)
  const dynamicNames = play.handlers.some((h) => (h.name && isTemplated(h.name)) || h.listen.some(isTemplated))
  for (const it of walkItems([...playItems(play), ...play.handlers])) {
    if (it.kind !== 'task') continue
    it.notify.forEach((n, i) => {
      if (isTemplated(n) || names.has(n) || dynamicNames) return
      const yf = it.src.yf
      const p: YamlPath = [...it.src.path, 'notify']
      const pos = isSeqAt(yf, p) ? yf.pos([...p, i]) : yf.pos(p)
      diags.error(
        `notify: no handler named "${n}" in this play`,
        pos,
        didYouMean(n, names) ??
          (names.size
            ? `handlers: ${[...names]
                .slice(0, 6)
                .map((x) => `"${x}"`)
                .join(', ')}`
            : 'the play has no handlers'),
      )
    })
  }
}

// ---------------------------------------------------------------- controller-side sources

/** A delegate_to naming the control machine itself. */
function isControllerName(h: string | undefined): boolean {
  return h === 'localhost' || h === '127.0.0.1' || h === '::1'
}

/** Where a relative `src:` is looked for, in order (the executor's order). */
export function sourceDirs(task: Task, playbookDir: string, kind: 'templates' | 'files'): string[] {
  const out: string[] = []
  for (let r = task.role; r; r = r.parent) out.push(join(r.path, kind), r.path)
  out.push(join(task.baseDir, kind), task.baseDir, join(playbookDir, kind), playbookDir)
  return [...new Set(out)]
}

function checkSources(task: Task, playbookDir: string, diags: Diagnostics): { file: string; pos: SourcePos }[] {
  const mod = getModule(task.module)
  if (!mod?.sourceArgs) return []
  const found: { file: string; pos: SourcePos }[] = []
  if (optBool(task.args.remote_src)) return []
  for (const [arg, kind] of Object.entries(mod.sourceArgs)) {
    const v = task.args[arg]
    if (typeof v !== 'string' || v === '' || isTemplated(v)) continue
    const pos = argPos(task, [arg])
    const dirs = sourceDirs(task, playbookDir, kind)
    const file = isAbsolute(v)
      ? (firstFile([v]) ?? (existsDir(v) ? v : undefined))
      : dirs.map((d) => join(d, v)).find((p) => firstFile([p]) || (kind === 'files' && existsDir(p)))
    if (!file) {
      diags.error(`${task.moduleKey}: ${arg} "${v}" not found`, pos, `looked in ${shownList(dirs)}`)
      continue
    }
    if (kind === 'templates' && firstFile([file])) found.push({ file, pos })
  }
  return found
}

const existsDir = isDir

// ---------------------------------------------------------------- template texts

function collectTexts(it: TaskItem, out: TextUse[]): void {
  const { yf, path } = it.src
  const raw = valueAt(yf, path)
  if (!isMap(raw)) return
  for (const key of ['when', 'changed_when', 'failed_when', 'until']) {
    if (!(key in raw) || typeof raw[key] === 'boolean') continue
    const conds = toCond(raw[key])
    const list = Array.isArray(raw[key])
    conds.forEach((c, i) => {
      const pos = yf.pos(list ? [...path, key, i] : [...path, key])
      out.push({ text: c, pos, expression: !isTemplated(c), cond: key })
    })
  }
  if (it.kind === 'block') return
  for (const key of Object.keys(raw)) {
    if (key === 'loop' || key.startsWith('with_') || key === 'delegate_to' || key === 'notify' || key === 'environment') {
      const n = out.length
      deepStrings(raw[key], [...path, key], yf, out)
      // (a whole templated list is evaluated as a whole: only its candidates are passed over)
      if (key === 'with_first_found' && typeof raw[key] !== 'string') for (let i = n; i < out.length; i++) out[i].candidate = true
    }
  }
  if (isMap(raw.loop_control) && typeof raw.loop_control.label === 'string')
    out.push({ text: raw.loop_control.label, pos: yf.pos([...path, 'loop_control', 'label']), expression: false })
  if (it.kind === 'task') {
    for (const [k, v] of Object.entries(it.args)) deepArg(v, [k], it, out)
  } else includeTexts(it, out)
}

function includeTexts(it: Include, out: TextUse[]): void {
  if (isTemplated(it.target)) out.push({ text: it.target, pos: srcPosOf(it), expression: false })
}

function srcPosOf(it: TaskItem): SourcePos {
  return it.src.yf.pos(it.src.path)
}

function deepStrings(v: unknown, path: YamlPath, yf: YamlFile, out: TextUse[]): void {
  if (typeof v === 'string') {
    if (isTemplated(v)) out.push({ text: v, pos: yf.pos(path), expression: false })
  } else if (Array.isArray(v)) v.forEach((x, i) => deepStrings(x, [...path, i], yf, out))
  else if (isMap(v)) for (const [k, x] of Object.entries(v)) deepStrings(x, [...path, k], yf, out)
}

function deepArg(v: unknown, keyPath: (string | number)[], task: Task, out: TextUse[]): void {
  if (typeof v === 'string') {
    if (isTemplated(v)) out.push({ text: v, pos: argPos(task, keyPath), expression: false })
  } else if (Array.isArray(v)) v.forEach((x, i) => deepArg(x, [...keyPath, i], task, out))
  else if (isMap(v)) for (const [k, x] of Object.entries(v)) deepArg(x, [...keyPath, k], task, out)
}

/** Position of a module argument: inline mapping, then `args:`, then the module's value (k=v text). */
export function argPos(task: Task, keyPath: (string | number)[]): SourcePos {
  const { yf, path } = task.src
  for (const base of [task.moduleKey, 'action', 'local_action', 'args']) {
    if (yf.node([...path, base, ...keyPath])) return yf.pos([...path, base, ...keyPath])
  }
  for (const base of [task.moduleKey, 'action', 'local_action']) if (yf.node([...path, base])) return yf.pos([...path, base])
  return yf.pos(path)
}

function valueAt(yf: YamlFile, path: YamlPath): unknown {
  let cur: unknown = yf.value
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string | number, unknown>)[seg]
  }
  return cur
}

function isSeqAt(yf: YamlFile, path: YamlPath): boolean {
  return Array.isArray(valueAt(yf, path))
}

/** A syntax error fails the task where it is rendered: a refusal only when nothing (when, ignore_errors, rescue) guards it. */
function reportTemplateError(e: unknown, base: SourcePos, file: string | undefined, diags: Diagnostics, guarded = false): void {
  const err = e as K3sbookError
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(e)
  let pos = base
  if (err.pos && err.pos.line > 0) pos = { file: err.pos.file || file || base.file, line: err.pos.line, col: err.pos.col }
  const text = /^template syntax error/i.test(msg) ? msg : `template syntax error: ${msg}`
  if (guarded) diags.warn(`${text} (the task fails where it is evaluated)`, pos, err.hint)
  else diags.error(text, pos, err.hint)
}

/** First place a name is read inside `{{ }}` or `{% %}` in a template file. */
function namePos(text: string, name: string, file: string): SourcePos {
  const word = new RegExp(`(?<![\\w.'"])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w'"])`)
  for (const m of jinjaSpans(text)) {
    const w = word.exec(m.text)
    if (w) return offsetPos(text, m.index + w.index, file)
  }
  return { file, line: 1, col: 1 }
}

function offsetPos(text: string, offset: number, file: string): SourcePos {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  const col = offset - (before.lastIndexOf('\n') + 1) + 1
  return { file, line, col }
}

/** Names tested with `is defined`, given a `default(...)`, or otherwise guarded somewhere: never reported. */
function guardedNames(texts: string[]): Set<string> {
  const out = new Set<string>()
  const guards = [
    /\b([A-Za-z_]\w*)(?:\.\w+|\[[^\]]*\])*\s+is\s+(?:not\s+)?(?:defined|undefined|none)\b/g,
    /\b([A-Za-z_]\w*)(?:\.\w+|\[[^\]]*\])*\s*\|\s*(?:default|d)\b/g,
    /\b([A-Za-z_]\w*)\s+in\s+(?:vars|hostvars\[[^\]]*\])/g,
    /(?:vars|hostvars\[[^\]]*\])\s*\[\s*['"]([A-Za-z_]\w*)['"]\s*\]/g,
  ]
  for (const t of texts) for (const re of guards) for (const m of t.matchAll(re)) out.add(m[1])
  return out
}

// ---------------------------------------------------------------- defined names

function definedNames(input: CheckInput, diags: Diagnostics): Set<string> {
  const out = new Set<string>(Object.keys(input.extraVars))
  const inv = input.inventory
  if (inv) {
    for (const g of inv.groups.values()) for (const k of Object.keys(g.vars)) out.add(k)
    for (const h of inv.hostOrder) {
      try {
        for (const k of Object.keys(hostInventoryVars(inv, h, input.playbook.dir, diags))) out.add(k)
      } catch (e) {
        diags.add(e)
      }
    }
  }
  for (const play of input.playbook.plays) {
    if (play.gatherFacts) out.add('ansible_facts')
    for (const k of Object.keys(play.vars)) out.add(k)
    for (const f of play.varsFiles) for (const k of Object.keys(f.vars)) out.add(k)
    for (const r of play.roles) for (const k of [...Object.keys(r.defaults), ...Object.keys(r.vars), ...Object.keys(r.params)]) out.add(k)
    for (const it of walkItems([...playItems(play), ...play.handlers])) {
      for (const k of Object.keys(it.vars)) out.add(k)
      if (it.kind === 'include') {
        if (it.loop) (out.add(it.loop.loopVar), it.loop.indexVar && out.add(it.loop.indexVar))
        continue
      }
      if (it.kind !== 'task') continue
      if (it.register) out.add(it.register)
      if (it.loop) {
        out.add(it.loop.loopVar)
        if (it.loop.indexVar) out.add(it.loop.indexVar)
      }
      for (const k of getModule(it.module)?.setsVars?.(it.args) ?? []) out.add(k)
    }
  }
  return out
}
