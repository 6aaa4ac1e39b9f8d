// Ansible's configuration, read the way ansible-core reads it, for the keys people set: one file
// (ANSIBLE_CONFIG, else ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg: the first that
// exists, the others are not merged), each key overridden by its ANSIBLE_* environment variable;
// command-line options override both. The parser is Python's configparser as Ansible configures
// it (own code: Ansible's exact rules): full-line comments start with `#` or `;`, inline comments
// only with `;` after whitespace (`forks = 10 # ten` keeps "10 # ten"), `=` or `:` separates,
// keys are case-insensitive, indented lines continue the previous value.
import { readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { asBool } from '../bool.js'
import { splitAssignment } from '../text.js'

export interface AnsibleCfgFile {
  file: string
  /** section → lower-cased key → value */
  values: Record<string, Record<string, string>>
}

export function parseAnsibleCfg(text: string): Record<string, Record<string, string>> {
  const values: Record<string, Record<string, string>> = {}
  let section = ''
  let last: { sec: string; key: string } | undefined
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || /^\s*[#;]/.test(raw)) {
      last = undefined
      continue
    }
    if (/^\s/.test(raw) && last) {
      // a continuation line
      values[last.sec][last.key] += '\n' + stripInline(raw.trim())
      continue
    }
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(raw)
    if (sec) {
      section = sec[1].trim()
      last = undefined
      continue
    }
    const kv = splitAssignment(raw.trim())
    if (!kv) continue
    const key = kv[0].trim().toLowerCase()
    ;(values[section] ??= {})[key] = stripInline(kv[1])
    last = { sec: section, key }
  }
  return values
}

/** configparser's inline_comment_prefixes=(';',): a `;` preceded by whitespace starts a comment. */
function stripInline(v: string): string {
  const m = /\s;/.exec(v)
  return (m ? v.slice(0, m.index) : v).trim()
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/** The one file Ansible reads, in its search order. */
export function findAnsibleCfg(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = []
  if (env.ANSIBLE_CONFIG) {
    const p = resolve(cwd, expandHome(env.ANSIBLE_CONFIG, env))
    // as Ansible: a folder means the ansible.cfg in it
    candidates.push(isDir(p) ? join(p, 'ansible.cfg') : p)
  }
  candidates.push(join(cwd, 'ansible.cfg'), join(env.HOME ?? homedir(), '.ansible.cfg'), '/etc/ansible/ansible.cfg')
  return candidates.find(isFile)
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

export function loadAnsibleCfg(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): AnsibleCfgFile | undefined {
  const file = findAnsibleCfg(cwd, env)
  if (!file) return undefined
  try {
    return { file, values: parseAnsibleCfg(readFileSync(file, 'utf8')) }
  } catch {
    return undefined
  }
}

export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  return p === '~' ? (env.HOME ?? homedir()) : p.startsWith('~/') ? join(env.HOME ?? homedir(), p.slice(2)) : p
}

/** The settings k3sbook honours: [section, key, environment variable], as in Ansible's base.yml. */
const KEYS = {
  forks: ['defaults', 'forks', 'ANSIBLE_FORKS'],
  remoteUser: ['defaults', 'remote_user', 'ANSIBLE_REMOTE_USER'],
  privateKeyFile: ['defaults', 'private_key_file', 'ANSIBLE_PRIVATE_KEY_FILE'],
  hostKeyChecking: ['defaults', 'host_key_checking', 'ANSIBLE_HOST_KEY_CHECKING'],
  timeout: ['defaults', 'timeout', 'ANSIBLE_TIMEOUT'],
  rolesPath: ['defaults', 'roles_path', 'ANSIBLE_ROLES_PATH'],
  inventory: ['defaults', 'inventory', 'ANSIBLE_INVENTORY'],
  vaultPasswordFile: ['defaults', 'vault_password_file', 'ANSIBLE_VAULT_PASSWORD_FILE'],
  vaultIdentityList: ['defaults', 'vault_identity_list', 'ANSIBLE_VAULT_IDENTITY_LIST'],
  become: ['privilege_escalation', 'become', 'ANSIBLE_BECOME'],
  becomeUser: ['privilege_escalation', 'become_user', 'ANSIBLE_BECOME_USER'],
  becomeMethod: ['privilege_escalation', 'become_method', 'ANSIBLE_BECOME_METHOD'],
  becomeAskPass: ['privilege_escalation', 'become_ask_pass', 'ANSIBLE_BECOME_ASK_PASS'],
  sshArgs: ['ssh_connection', 'ssh_args', 'ANSIBLE_SSH_ARGS'],
  sshCommonArgs: ['ssh_connection', 'ssh_common_args', 'ANSIBLE_SSH_COMMON_ARGS'],
  sshExtraArgs: ['ssh_connection', 'ssh_extra_args', 'ANSIBLE_SSH_EXTRA_ARGS'],
} as const

export type ConfigKey = keyof typeof KEYS

export interface ConfigValue {
  value: string
  /** "ANSIBLE_FORKS" or "/path/ansible.cfg [defaults] forks": where a bad value came from. */
  origin: string
  /** Folder relative paths in the value are resolved against (the cfg file's, or the cwd). */
  base: string
}

export class AnsibleConfig {
  constructor(
    readonly file: AnsibleCfgFile | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string,
  ) {}

  static load(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): AnsibleConfig {
    return new AnsibleConfig(loadAnsibleCfg(cwd, env), env, cwd)
  }

  get(key: ConfigKey): ConfigValue | undefined {
    const [section, name, envName] = KEYS[key]
    const e = this.env[envName]
    if (e !== undefined && e !== '') return { value: e, origin: envName, base: this.cwd }
    const v = this.file?.values[section]?.[name]
    if (v !== undefined && v !== '') return { value: v, origin: `${this.file!.file} [${section}] ${name}`, base: dirname(this.file!.file) }
    return undefined
  }

  /** Ansible's boolean(): yes/on/true/1/y/t; undefined when unset; throws on anything else. */
  bool(key: ConfigKey): boolean | undefined {
    const v = this.get(key)
    if (!v) return undefined
    const b = asBool(v.value)
    if (b !== undefined) return b
    throw new ConfigError(`${v.origin}: "${v.value}" is not a boolean (use true or false)`)
  }

  int(key: ConfigKey): number | undefined {
    const v = this.get(key)
    if (!v) return undefined
    if (!/^\s*\d+\s*$/.test(v.value) || Number(v.value) < 1) throw new ConfigError(`${v.origin}: "${v.value}" is not a whole number ≥ 1`)
    return Number(v.value)
  }

  /** A path-list setting (`:` for roles_path, `,` for inventory), each resolved against its origin. */
  paths(key: ConfigKey, sep: string): string[] | undefined {
    const v = this.get(key)
    if (!v) return undefined
    return v.value
      .split(sep)
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => resolve(v.base, expandHome(p, this.env)))
  }

  path(key: ConfigKey): string | undefined {
    const v = this.get(key)
    return v ? resolve(v.base, expandHome(v.value.trim(), this.env)) : undefined
  }
}

export class ConfigError extends Error {}

/** One config per process and folder: loading is cheap but commands ask several times. */
const cache = new Map<string, AnsibleConfig>()
export function ansibleConfig(cwd = process.cwd()): AnsibleConfig {
  let c = cache.get(cwd)
  if (!c) cache.set(cwd, (c = AnsibleConfig.load(cwd)))
  return c
}
