// The `config` lookup (ansible.builtin.config, lib/ansible/plugins/lookup/config.py in ansible-core
// 2.14): the value of an Ansible setting as the controller's ansible-core resolves it. Global
// settings are defined by ansible-core's config/base.yml, which is read from the controller's
// installed ansible-core at run time (k3sbook does not carry a copy): each setting is its
// environment variable, else its ansible.cfg entry, else its default, converted to its type.
// Plugin settings: the few that are known here (the ssh connection's remote_user and port, the sh
// shell's remote_tmp), from the task's variables as the plugins' documented precedence says.
// The result is controller data: only configuration values are returned (no environment or file
// content beyond what a setting names).
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { resolve } from 'node:path'
import { parse } from 'yaml'
import { asBool } from '../bool.js'
import { loadAnsibleCfg, type AnsibleCfgFile } from '../config/ansible.js'
import { ansiblePackage } from '../paths.js'
import { hasKey, isStr, PyError, pyStr, sv, typeName } from './pyvalues.js'
import { readVar, type Frame } from './runtime.js'
import { noteRead } from './taint.js'

interface Entry {
  name?: string
  key?: string
  section?: string
}
interface SettingDef {
  default?: unknown
  type?: string
  env?: Entry[]
  ini?: Entry[]
  vars?: Entry[]
}

/** Names in ansible.constants that are callables (functions, classes): Ansible refuses them. */
const CALLABLES = new Set([
  'ConfigManager',
  'to_text',
  'Sequence',
  'add_internal_fqcns',
  '_warning',
  '_deprecated',
  'set_constant',
  '_DeprecatedSequenceConstant',
  '__metaclass__',
])

/** Plain constants of ansible.constants (not settings) that are simple values. */
const CONSTANTS: Record<string, unknown> = {
  DEFAULT_BECOME_PASS: null,
  DEFAULT_REMOTE_PASS: null,
  DEFAULT_SUBSET: null,
  TREE_DIR: null,
  VAULT_VERSION_MIN: 1.0,
  VAULT_VERSION_MAX: 1.0,
  DEFAULT_PASSWORD_CHARS: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:-_',
  LOCALHOST: ['127.0.0.1', 'localhost', '::1'],
  REJECT_EXTS: ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst'],
  SYNTHETIC_COLLECTIONS: ['ansible.builtin', 'ansible.legacy'],
  CONFIGURABLE_PLUGINS: ['become', 'cache', 'callback', 'cliconf', 'connection', 'httpapi', 'inventory', 'lookup', 'netconf', 'shell', 'vars'],
}

/** Other module-level names of ansible.constants: they exist in Ansible but are not modelled here. */
const OTHER_CONSTANTS =
  /^(_ACTION_\w+|COLOR_CODES|BOOL_TRUE|COLLECTION_PTYPE_COMPAT|PYTHON_DOC_EXTENSIONS|YAML_DOC_EXTENSIONS|DOC_EXTENSIONS|DOCUMENTABLE_PLUGINS|IGNORE_FILES|INTERNAL_RESULT_KEYS|MODULE_REQUIRE_ARGS|MODULE_NO_JSON|RESTRICTED_RESULT_KEYS|INVALID_VARIABLE_NAMES|COMMON_CONNECTION_VARS|MAGIC_VARIABLE_MAPPING|config|re|ascii_letters|digits|BOOLEANS_TRUE|__version__|__\w+__)$/

class MissingSetting extends Error {}

let baseYml: Record<string, SettingDef> | null | undefined
/** ansible-core's base.yml from the controller's installed ansible-core (null when there is none). */
function definitions(): Record<string, SettingDef> | null {
  if (baseYml !== undefined) return baseYml
  baseYml = null
  const pkg = ansiblePackage()
  const file = pkg ? resolve(pkg, 'config/base.yml') : undefined
  if (file && existsSync(file)) {
    try {
      baseYml = parse(readFileSync(file, 'utf8'), { uniqueKeys: false }) as Record<string, SettingDef>
    } catch {
      baseYml = null
    }
  }
  return baseYml
}

/** For tests: forget the cached base.yml (or set one). */
export function setConfigDefinitions(defs: Record<string, SettingDef> | null | undefined): void {
  baseYml = defs
}

const NEEDS_ANSIBLE =
  "needs ansible-core on the controller (its config/base.yml defines Ansible's settings): install ansible-core (Debian: apt install ansible-core)"

function expandUser(p: string): string {
  const home = process.env.HOME ?? homedir()
  return p === '~' ? home : p.startsWith('~/') ? home + p.slice(1) : p
}

/** Ansible's ensure_type for the types base.yml and the plugins use (origin: a file's folder for relative paths). */
function ensureType(name: string, value: unknown, type: string | undefined, base: string): unknown {
  if (value === null || value === undefined) return value ?? null
  const t = (type ?? '').toLowerCase()
  const text = () => (isStr(value) ? sv(value) : pyStr(value))
  switch (t) {
    case 'boolean':
    case 'bool':
      return asBool(value) ?? false
    case 'integer':
    case 'int': {
      if (typeof value === 'number' && Number.isInteger(value)) return value
      const s = text().trim()
      if (!/^[-+]?\d+$/.test(s))
        throw new PyError(`Invalid type for configuration option ${name}: invalid literal for int() with base 10: '${s}'`, 'AnsibleOptionsError')
      return Number(s)
    }
    case 'float': {
      const n = Number(isStr(value) ? sv(value).trim() : value)
      if (Number.isNaN(n))
        throw new PyError(`Invalid type for configuration option ${name}: could not convert string to float: '${text()}'`, 'AnsibleOptionsError')
      return n
    }
    case 'list':
      return Array.isArray(value)
        ? value
        : text()
            .split(',')
            .map((x) => x.trim())
    case 'none':
      return value === 'None' ? null : value
    case 'path':
      return resolve(base, expandUser(text()))
    case 'pathspec':
      return (Array.isArray(value) ? value.map((x) => String(x)) : text().split(':')).map((x) => resolve(base, expandUser(x)))
    case 'pathlist':
      return (Array.isArray(value) ? value.map((x) => String(x)) : text().split(',')).map((x) => resolve(base, expandUser(x.trim())))
    case 'tmp':
    case 'temppath':
    case 'tmppath':
      throw new PyError(`lookup('config'): the setting ${name} (a temporary folder Ansible creates) is not supported by k3sbook`, 'AnsibleError')
    case 'dict':
    case 'raw':
      return value
    case 'str':
    case 'string':
      // scalars become their text (Python's to_text: a number's str, True/False)
      return typeof value === 'object' && !isStr(value) ? value : unquote(text())
    default:
      return isStr(value) ? unquote(text()) : value
  }
}

/** Ansible's unquote: the same quote at both ends is removed. */
function unquote(s: string): string {
  return s.length > 1 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") && s[s.length - 2] !== '\\' ? s.slice(1, -1) : s
}

/** The last entry of `entries` set in `source` (Ansible's _loop_entries: later entries win). */
function fromEntries(source: Record<string, unknown>, entries: Entry[] | undefined): { value: unknown } | undefined {
  let found: { value: unknown } | undefined
  for (const e of entries ?? []) if (e.name !== undefined && hasKey(source, e.name) && source[e.name] !== undefined) found = { value: source[e.name] }
  return found
}

function fromIni(cfg: AnsibleCfgFile | undefined, entries: Entry[] | undefined): unknown {
  let found: unknown
  for (const e of entries ?? []) {
    const v = cfg?.values[e.section ?? 'defaults']?.[(e.key ?? '').toLowerCase()]
    if (v !== undefined) found = v
  }
  return found
}

let cfgFile: AnsibleCfgFile | null | undefined
function ansibleCfg(): AnsibleCfgFile | undefined {
  if (cfgFile === undefined) cfgFile = loadAnsibleCfg() ?? null
  return cfgFile ?? undefined
}

const resolving = new Set<string>()
/** A global setting (ansible.constants.NAME): environment, else ansible.cfg, else base.yml's default. */
function globalSetting(name: string): unknown {
  if (CALLABLES.has(name)) throw new PyError(`Invalid setting "${name}" attempted`, 'AnsibleLookupError')
  if (hasKey(CONSTANTS, name)) return CONSTANTS[name]
  if (OTHER_CONSTANTS.test(name)) throw new PyError(`lookup('config'): the constant ${name} is not supported by k3sbook`, 'AnsibleError')
  const defs = definitions()
  if (!defs) throw new PyError(`lookup('config', '${name}') ${NEEDS_ANSIBLE}`, 'AnsibleError')
  if (!hasKey(defs, name)) throw new MissingSetting(`module 'ansible.constants' has no attribute '${name}'`)
  const def = defs[name]
  const env = fromEntries(process.env as Record<string, unknown>, def.env)
  if (env) return ensureType(name, env.value, def.type, process.cwd())
  const cfg = ansibleCfg()
  const ini = fromIni(cfg, def.ini)
  if (ini !== undefined) return ensureType(name, ini, def.type, resolve(cfg!.file, '..'))
  let value = def.default ?? null
  if (typeof value === 'string' && value.startsWith('{{') && value.endsWith('}}')) {
    // the defaults base.yml templates: `{{ OTHER_SETTING ~ "text" }}`
    const m = /^\{\{\s*([A-Z_][A-Z0-9_]*)\s*~\s*(["'])(.*)\2\s*\}\}$/.exec(value)
    if (!m || resolving.has(m[1])) throw new PyError(`lookup('config'): the default of ${name} (${value}) is not supported by k3sbook`, 'AnsibleError')
    resolving.add(m[1])
    try {
      value = String(globalSetting(m[1])) + m[3]
    } finally {
      resolving.delete(m[1])
    }
  }
  const typed = ensureType(name, value, def.type, process.cwd())
  // ansible-playbook resolves the "smart" transport once at start (utils/ssh_functions.py): ssh,
  // whose ControlPersist every supported OpenSSH has
  return name === 'DEFAULT_TRANSPORT' && typed === 'smart' ? 'ssh' : typed
}

/** The plugin settings k3sbook knows: [plugin_type/plugin_name][setting]. */
const PLUGIN_SETTINGS: Record<string, Record<string, SettingDef>> = {
  'connection/ssh': {
    remote_user: {
      ini: [{ section: 'defaults', key: 'remote_user' }],
      env: [{ name: 'ANSIBLE_REMOTE_USER' }],
      vars: [{ name: 'ansible_user' }, { name: 'ansible_ssh_user' }],
    },
    port: {
      type: 'int',
      ini: [{ section: 'defaults', key: 'remote_port' }],
      env: [{ name: 'ANSIBLE_REMOTE_PORT' }],
      vars: [{ name: 'ansible_port' }, { name: 'ansible_ssh_port' }],
    },
  },
  'shell/sh': {
    remote_tmp: {
      default: '~/.ansible/tmp',
      env: [{ name: 'ANSIBLE_REMOTE_TEMP' }, { name: 'ANSIBLE_REMOTE_TMP' }],
      ini: [{ section: 'defaults', key: 'remote_tmp' }],
      vars: [{ name: 'ansible_remote_tmp' }],
    },
  },
}

const PLUGIN_ALIASES: Record<string, string> = {
  'ansible.builtin.ssh': 'ssh',
  'ansible.legacy.ssh': 'ssh',
  'ansible.builtin.sh': 'sh',
  'ansible.legacy.sh': 'sh',
}

function pluginSetting(ptype: string, pname: string, name: string, frame: Frame): unknown {
  const key = `${ptype}/${PLUGIN_ALIASES[pname] ?? pname}`
  const plugin = PLUGIN_SETTINGS[key]
  if (!plugin)
    throw new PyError(
      `lookup('config'): settings of the ${ptype} plugin "${pname}" are not supported by k3sbook (connection/ssh remote_user and port, shell/sh remote_tmp are)`,
      'AnsibleError',
    )
  if (!hasKey(plugin, name))
    throw new PyError(`lookup('config'): the setting "${name}" of the ${ptype} plugin "${pname}" is not supported by k3sbook`, 'AnsibleError')
  const def = plugin[name]
  const env = frame.env
  // the task's variables first (the last of the plugin's names that is defined wins), as Ansible
  let found: { value: unknown } | undefined
  for (const e of def.vars ?? []) if (e.name !== undefined && hasKey(env.vars, e.name)) found = { value: noteRead(env.taint, e.name, readVar(env, e.name)) }
  if (found) return ensureType(name, found.value, def.type, process.cwd())
  const fromEnv = fromEntries(process.env as Record<string, unknown>, def.env)
  if (fromEnv) return ensureType(name, fromEnv.value, def.type, process.cwd())
  const ini = fromIni(ansibleCfg(), def.ini)
  if (ini !== undefined) return ensureType(name, ini, def.type, process.cwd())
  return def.default === undefined ? null : typeof def.default === 'string' ? def.default : ensureType(name, def.default, def.type, process.cwd())
}

/** lookup('config', *names, on_missing='error', plugin_type=None, plugin_name=None). */
export function configLookup(terms: unknown[], k: Record<string, unknown>, { frame }: { frame: Frame }): unknown[] {
  // unknown keywords are ignored, as Ansible's get_plugin_options does
  const missing = k.on_missing ?? 'error'
  const ptype = k.plugin_type ?? null
  const pname = k.plugin_name ?? null
  // set_options checks the option's choices first (its type is str: a number is compared as text)
  const missingText = isStr(missing) ? sv(missing) : pyStr(missing)
  if (!['error', 'warn', 'skip'].includes(missingText))
    throw new PyError(
      `Invalid value "${missingText}" for configuration option "plugin_type: lookup plugin: config setting: on_missing ", valid values are: error, skip, warn`,
      'AnsibleOptionsError',
    )
  if ((ptype || pname) && !(ptype && pname))
    throw new PyError('Both plugin_type and plugin_name are required, cannot use one without the other', 'AnsibleOptionsError')
  const out: unknown[] = []
  for (const term of terms) {
    if (!isStr(term))
      throw new PyError(`Invalid setting identifier, "${pyStr(term)}" is not a string, its a <class '${typeName(term)}'>`, 'AnsibleOptionsError')
    const name = sv(term)
    try {
      out.push(pname ? pluginSetting(pyStr(ptype), pyStr(pname), name, frame) : globalSetting(name))
    } catch (e) {
      if (!(e instanceof MissingSetting)) throw e
      // Ansible's message: its own, then the original exception's (twice, as AnsibleError's orig_exc chaining gives)
      if (missingText === 'error') throw new PyError(`Unable to find setting ${name}. ${e.message}. ${e.message}`, 'AnsibleLookupError')
      if (missingText === 'warn') process.stderr.write(`[WARNING]: Skipping, did not find setting ${name}\n`)
    }
  }
  return out
}
