// Turns a host's connection settings (inventory variables, ~/.ssh/config, the -o options of
// ansible_ssh_common_args/extra_args, CLI flags) into a Connection, with the precedence that
// Ansible + OpenSSH give them, so inventories written for Ansible connect the same way.
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { Vars } from '../model.js'
import type { Connection } from './types.js'
import { LocalConnection } from './local.js'
import { SshConnection, type AuthMethod, type SshEndpoint, type SshTarget } from './ssh.js'
import { parseStrictHostKeyChecking, type StrictHostKeyChecking } from './knownhosts.js'
import {
  addOption,
  loadSshConfig,
  parseJumpHop,
  parseSshArgs,
  resolveSshConfig,
  settingsFrom,
  type SshConfig,
  type SshOptionMap,
  type SshSettings,
} from './sshconfig.js'

export { SshConnection, LocalConnection }
export type { SshTarget, SshEndpoint, AuthMethod }
export { ExecTimeoutError } from './types.js'
export type { Connection, ExecOptions, ExecResult, Become } from './types.js'

/** How to reach one host, as the inventory says it (field names match inventory's connectionSpec). */
export interface ConnSpec {
  /** ansible_host (default: the inventory name). */
  host: string
  /** ansible_port; undefined lets ~/.ssh/config or 22 decide. */
  port?: number
  /** ansible_user; undefined lets ~/.ssh/config or the local user decide. */
  user?: string
  privateKeyFile?: string
  password?: string
  connection: 'ssh' | 'local'
  /** ansible_ssh_common_args / ansible_ssh_extra_args: ssh command-line options. */
  commonArgs?: string
  extraArgs?: string
  becomePassword?: string
}

export interface ConnectOptions {
  /** --accept-new-host-keys: StrictHostKeyChecking=accept-new whatever the config says. */
  acceptNewHostKeys?: boolean
  /** Overrides StrictHostKeyChecking from every other source. */
  strictHostKeyChecking?: StrictHostKeyChecking
  /** A known_hosts file used instead of UserKnownHostsFile (also where accepted keys go). */
  knownHostsFile?: string
  connectTimeoutMs?: number
  keepaliveIntervalMs?: number
  keepaliveCountMax?: number
  /** User ssh config; default ~/.ssh/config; false: none. */
  sshConfigFile?: string | false
  /** System ssh config; default /etc/ssh/ssh_config; false: none. */
  systemSshConfigFile?: string | false
  home?: string
  env?: NodeJS.ProcessEnv
}

const DEFAULT_KEYS = ['id_rsa', 'id_ecdsa', 'id_ed25519']

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined
  return String(v)
}

/** The ConnSpec from a host's (rendered) variables, with Ansible's aliases for each setting. */
export function connSpecFromVars(host: string, vars: Vars): ConnSpec {
  const pick = (...names: string[]) => {
    for (const n of names) {
      const v = str(vars[n])
      if (v !== undefined) return v
    }
    return undefined
  }
  const port = pick('ansible_port', 'ansible_ssh_port')
  const conn = pick('ansible_connection') ?? 'ssh'
  if (conn !== 'ssh' && conn !== 'local' && conn !== 'smart' && conn !== 'paramiko' && conn !== 'paramiko_ssh') {
    throw new Error(`ansible_connection=${conn} is not supported for ${host} (use ssh or local)`)
  }
  return {
    host: pick('ansible_host', 'ansible_ssh_host') ?? host,
    port: port === undefined ? undefined : Number(port),
    user: pick('ansible_user', 'ansible_ssh_user'),
    privateKeyFile: pick('ansible_ssh_private_key_file', 'ansible_private_key_file'),
    password: pick('ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'),
    connection: conn === 'local' ? 'local' : 'ssh',
    commonArgs: pick('ansible_ssh_common_args'),
    extraArgs: pick('ansible_ssh_extra_args'),
    becomePassword: pick('ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass'),
  }
}

function loadConfigs(opts: ConnectOptions, argsConfig: string | undefined, home: string): Array<SshConfig | undefined> {
  // As ssh: -F replaces both the user and the system file.
  if (argsConfig) return [loadSshConfig(argsConfig.replace(/^~(?=\/)/, home), { home })]
  const user = opts.sshConfigFile === false ? undefined : loadSshConfig(opts.sshConfigFile ?? join(home, '.ssh', 'config'), { home })
  const sys = opts.systemSshConfigFile === false ? undefined : loadSshConfig(opts.systemSshConfigFile ?? '/etc/ssh/ssh_config', { home })
  return [user, sys]
}

function resolveAll(configs: Array<SshConfig | undefined>, host: string, seed: SshOptionMap): SshOptionMap {
  let options = seed
  for (const c of configs) options = resolveSshConfig(c, host, options).options
  return options
}

function endpointFrom(s: SshSettings, opts: ConnectOptions, home: string, explicitKeys: boolean, password?: string): SshEndpoint {
  const strict =
    opts.strictHostKeyChecking ??
    (opts.acceptNewHostKeys ? 'accept-new' : undefined) ??
    (s.strictHostKeyChecking === undefined ? 'yes' : parseStrictHostKeyChecking(s.strictHostKeyChecking))
  if (!strict) throw new Error(`bad StrictHostKeyChecking value: ${s.strictHostKeyChecking}`)
  const auth: AuthMethod[] = []
  const defaults = DEFAULT_KEYS.map((k) => join(home, '.ssh', k))
  for (const f of s.identityFiles) auth.push({ type: 'key', file: f })
  if (s.identityAgent && !(s.identitiesOnly && explicitKeys)) auth.push({ type: 'agent', socket: s.identityAgent })
  if (!explicitKeys) for (const f of defaults) auth.push({ type: 'key', file: f })
  if (password !== undefined && s.passwordAuthentication) auth.push({ type: 'password', password })
  return {
    hostName: s.hostName,
    port: s.port,
    user: s.user,
    auth,
    hostKeys: {
      strict,
      userFiles: opts.knownHostsFile
        ? [opts.knownHostsFile]
        : (s.userKnownHostsFiles ?? [join(home, '.ssh', 'known_hosts'), join(home, '.ssh', 'known_hosts2')]),
      globalFiles: s.globalKnownHostsFiles ?? ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      alias: s.hostKeyAlias,
    },
    connectTimeoutMs: opts.connectTimeoutMs ?? (s.connectTimeout ? s.connectTimeout * 1000 : 10_000),
    keepaliveIntervalMs: opts.keepaliveIntervalMs ?? (s.serverAliveInterval ? s.serverAliveInterval * 1000 : 5000),
    keepaliveCountMax: opts.keepaliveCountMax ?? s.serverAliveCountMax ?? 3,
  }
}

/** Every setting for reaching `spec`, resolved: what SshConnection needs, with nothing left to look up. */
export function resolveSshTarget(spec: ConnSpec, opts: ConnectOptions = {}): SshTarget {
  const home = opts.home ?? homedir()
  const env = opts.env ?? process.env
  // Ansible puts Port, IdentityFile and User before the user's args on the ssh command line; first wins.
  const seed: SshOptionMap = new Map()
  if (spec.port !== undefined) addOption(seed, 'Port', String(spec.port))
  if (spec.privateKeyFile) addOption(seed, 'IdentityFile', spec.privateKeyFile)
  if (spec.user) addOption(seed, 'User', spec.user)
  const args = parseSshArgs(spec.commonArgs, spec.extraArgs)
  for (const [k, vs] of args.options) for (const v of vs) addOption(seed, k, v)
  const configs = loadConfigs(opts, args.configFile, home)
  const options = resolveAll(configs, spec.host, seed)
  const s = settingsFrom(options, spec.host, env, home)
  const target: SshTarget = {
    ...endpointFrom(s, opts, home, s.identityFiles.length > 0, spec.password),
    jumps: [],
    proxyCommand: s.proxyJump ? undefined : s.proxyCommand,
    becomePassword: spec.becomePassword,
  }
  if (s.proxyJump) {
    for (const hop of s.proxyJump.split(',')) {
      const h = parseJumpHop(hop)
      const hopSeed: SshOptionMap = new Map()
      if (h.port !== undefined) addOption(hopSeed, 'Port', String(h.port))
      if (h.user) addOption(hopSeed, 'User', h.user)
      // A hop's own ProxyJump would recurse; the hop list already spells the path out.
      hopSeed.set('proxyjump', ['none'])
      const hs = settingsFrom(resolveAll(configs, h.host, hopSeed), h.host, env, home)
      target.jumps.push(endpointFrom(hs, opts, home, hs.identityFiles.length > 0))
    }
  }
  return target
}

/** A Connection for `host` (not yet connected: call connect(), which reports UNREACHABLE causes). */
export function openConnection(host: string, spec: ConnSpec, opts: ConnectOptions = {}): Connection {
  if (spec.connection === 'local') return new LocalConnection(host)
  return new SshConnection(host, async () => resolveSshTarget(spec, opts), isLoopback(spec.host))
}

/** A name or address of the control machine itself: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopback(address: string): boolean {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  return a === 'localhost' || a === 'localhost.localdomain' || a === 'ip6-localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1' || /^127(\.\d{1,3}){3}$/.test(a)
}

/** The executor's factory: host variables → Connection. */
export function makeConnectionFactory(opts: ConnectOptions = {}): (host: string, vars: Vars) => Connection {
  return (host, vars) => openConnection(host, connSpecFromVars(host, vars), opts)
}
