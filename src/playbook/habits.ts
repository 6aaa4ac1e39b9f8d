// Warnings for mistakes Ansible lets through (they run, and do something else than meant):
// `mode: 644` (a YAML integer: the decimal 644 is 0o1204, sticky bit and odd permissions),
// `when: "{{ x }}"` (conditions are expressions already; Ansible warns at run time), and a
// variable that shadows one of Ansible's magic variables (the magic one silently loses or wins,
// depending on where it is set). Warnings, not errors: each may be meant, and each still runs.
import type { Diagnostics, SourcePos } from '../errors.js'
import type { Playbook, TaskItem, Vars } from '../model.js'
import type { YamlFile, YamlPath } from '../yamlfile.js'
import { getModule } from '../modules/registry.js'
import { playItems, walkItems } from './load.js'

/** Ansible's magic variables (docs: "Special Variables"), which a playbook must not define itself. */
export const MAGIC_VARS = new Set([
  'hostvars',
  'vars',
  'groups',
  'group_names',
  'inventory_hostname',
  'inventory_hostname_short',
  'inventory_dir',
  'inventory_file',
  'play_hosts',
  'ansible_play_hosts',
  'ansible_play_hosts_all',
  'ansible_play_batch',
  'ansible_play_name',
  'playbook_dir',
  'role_name',
  'role_path',
  'role_names',
  'ansible_role_names',
  'ansible_play_role_names',
  'ansible_check_mode',
  'ansible_diff_mode',
  'ansible_forks',
  'ansible_limit',
  'ansible_run_tags',
  'ansible_skip_tags',
  'ansible_verbosity',
  'ansible_version',
  'ansible_facts',
  'ansible_loop',
  'ansible_loop_var',
  'ansible_index_var',
  'ansible_parent_role_names',
  'ansible_parent_role_paths',
  'ansible_search_path',
  'ansible_config_file',
  'ansible_collection_name',
  'omit',
  'environment',
])

function textAt(yf: YamlFile, path: YamlPath): string | undefined {
  const node = yf.node(path) as { range?: [number, number, number] } | undefined
  return node?.range ? yf.text.slice(node.range[0], node.range[1]) : undefined
}

export function checkAnsibleHabits(playbook: Playbook, diags: Diagnostics): void {
  const seen = new Set<string>()
  const once = (pos: SourcePos, f: () => void) => {
    const k = `${pos.file}:${pos.line}:${pos.col}`
    if (!seen.has(k)) {
      seen.add(k)
      f()
    }
  }
  const shadow = (vars: Vars | undefined, where: (name: string) => SourcePos | undefined, what: string) => {
    for (const name of Object.keys(vars ?? {})) {
      if (!MAGIC_VARS.has(name)) continue
      const pos = where(name)
      if (pos)
        once(pos, () =>
          diags.warn(`${what} "${name}" shadows Ansible's magic variable of that name`, pos, `rename it (e.g. my_${name}); Ansible sets ${name} itself`),
        )
    }
  }
  for (const play of playbook.plays) {
    const pyf = play.src.yf
    shadow(play.vars, (n) => pyf.pos([...play.src.path, 'vars', n], { key: true }), 'play variable')
    for (const role of play.roles) {
      shadow(role.defaults, () => undefined, 'role default')
      shadow(role.vars, () => undefined, 'role variable')
    }
    for (const it of walkItems([...playItems(play), ...play.handlers])) checkItem(it, shadow, once, diags)
  }
}

function checkItem(
  it: TaskItem,
  shadow: (vars: Vars | undefined, where: (name: string) => SourcePos | undefined, what: string) => void,
  once: (pos: SourcePos, f: () => void) => void,
  diags: Diagnostics,
): void {
  const { yf, path } = it.src
  const own = yf.node(path) as { toJSON?: () => unknown } | undefined
  const raw = (own?.toJSON?.() ?? {}) as Record<string, unknown>
  // when: "{{ … }}"
  const when = raw.when
  for (const [i, c] of (Array.isArray(when) ? when : when === undefined ? [] : [when]).entries()) {
    if (typeof c === 'string' && /\{\{|\{%/.test(c)) {
      const pos = yf.pos(Array.isArray(when) ? [...path, 'when', i] : [...path, 'when'])
      const inner = c.replace(/^\s*\{\{\s*/, '').trimEnd()
      const bare = inner.endsWith('}}') ? inner.slice(0, -2).trimEnd() : inner
      once(pos, () => diags.warn('`when:` is an expression already: {{ }} in it is templated twice', pos, `write when: ${bare}`))
    }
  }
  shadow(raw.vars as Vars | undefined, (n) => yf.pos([...path, 'vars', n], { key: true }), 'task variable')
  if (it.kind !== 'task') return
  if (it.register && MAGIC_VARS.has(it.register)) {
    const pos = yf.pos([...path, 'register'])
    once(pos, () => diags.warn(`register: "${it.register}" shadows Ansible's magic variable of that name`, pos, `rename it (e.g. ${it.register}_result)`))
  }
  const moduleKey = it.moduleKey
  const args = raw[moduleKey]
  if (getModule(it.module)?.setsVars && args && typeof args === 'object') shadow(args as Vars, (n) => yf.pos([...path, moduleKey, n], { key: true }), it.module)
  // mode: 644
  const modeArgs: [unknown, YamlPath][] = []
  if (args && typeof args === 'object' && 'mode' in args) modeArgs.push([(args as Vars).mode, [...path, moduleKey, 'mode']])
  const extra = raw.args
  if (extra && typeof extra === 'object' && 'mode' in extra) modeArgs.push([(extra as Vars).mode, [...path, 'args', 'mode']])
  for (const [v, p] of modeArgs) {
    if (typeof v !== 'number') continue
    const text = textAt(yf, p)?.trim()
    // 0644 and 0o644 are octal in YAML 1.1 (Ansible) and what was meant; 644 is decimal
    if (!text || !/^[1-7][0-7]{2,3}$/.test(text)) continue
    const pos = yf.pos(p)
    once(pos, () =>
      diags.warn(
        `mode: ${text} is the decimal number ${text} (octal 0${(Number(text) >>> 0).toString(8)}), not the permissions 0${text}`,
        pos,
        `quote it: mode: "0${text}"`,
      ),
    )
  }
}
