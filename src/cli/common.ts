// What several commands share: the inventory when no -i is given (with --lab), Ansible's
// connection and privilege flags (-u, -b, -K, --private-key, ...) merged with ansible.cfg and
// ANSIBLE_* settings, and options Ansible has that k3sbook answers with its own way.
import { Option, type Command } from 'commander'
import { K3sbookError, LabError } from '../errors.js'
import type { Project } from '../executor/run.js'
import type { Vars } from '../model.js'
import { ansibleConfig, ConfigError } from '../config/ansible.js'
import { invalidateInventoryCaches } from '../inventory/vars.js'

export const collect = (v: string, prev: string[] = []) => [...prev, v]

export class CliError extends K3sbookError {}

/**
 * The inventories to use when no -i is given: --lab NAME's, else the configured one
 * (ANSIBLE_INVENTORY, k3sbook.yml, ansible.cfg), else (with `autoLab`, for commands that run) the
 * one running lab.
 */
export async function inventoriesFor(
  o: { inventory?: string[]; lab?: string },
  note: (m: string) => void = (m) => process.stderr.write(m + '\n'),
  { autoLab = true } = {},
): Promise<string[]> {
  if (o.inventory?.length) return o.inventory
  if (!o.lab) {
    const { defaultInventory } = await import('../playbook/project.js')
    const fromConfig = defaultInventory(process.cwd())
    if (fromConfig?.length) return fromConfig
    if (!autoLab) return []
  }
  let lab: typeof import('../lab/index.js')
  try {
    lab = await import('../lab/index.js')
  } catch {
    return [] // no lab support on this machine
  }
  // "several labs are running" and "lab X is not running" are mistakes to report, not a run on no hosts
  const found = lab.findRunningLab(o.lab)
  if (!found) {
    if (o.lab) throw new LabError(`lab "${o.lab}" is not running`, { hint: 'see `k3sbook lab status`, or give -i INVENTORY' })
    return []
  }
  note(`using the inventory of the running lab "${found.name}": ${found.inventoryPath}`)
  return [found.inventoryPath]
}

// ---------------------------------------------------------------- connection and privilege flags

export interface ConnCliOptions {
  user?: string
  privateKey?: string
  connection?: string
  sshCommonArgs?: string
  sshExtraArgs?: string
  timeout?: string
  connectTimeout?: string
  askPass?: boolean
  become?: boolean
  becomeUser?: string
  becomeMethod?: string
  askBecomePass?: boolean
  forks?: string
  acceptNewHostKeys?: boolean
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-u, --user <name>', 'connect as this user (inventory ansible_user wins; also remote_user in ansible.cfg)')
    .addOption(new Option('--private-key <file>', 'SSH private key (inventory ansible_ssh_private_key_file wins; also private_key_file)'))
    .addOption(new Option('--key-file <file>', 'alias of --private-key').hideHelp())
    .option('-c, --connection <type>', 'ssh or local (inventory ansible_connection wins)')
    .option('--ssh-common-args <args>', 'ssh options for every host, e.g. "-o ProxyJump=bastion" (inventory ansible_ssh_common_args wins)')
    .option('--ssh-extra-args <args>', 'more ssh options (inventory ansible_ssh_extra_args wins)')
    .option('-T, --timeout <seconds>', 'SSH connect timeout (default 10; also timeout in ansible.cfg)')
    .addOption(new Option('--connect-timeout <seconds>', 'same as --timeout').hideHelp())
    .option('-k, --ask-pass', 'ask for the SSH password on the terminal')
    .option('-b, --become', 'run tasks as another user (sudo to root by default; a play or task `become:` wins)')
    .option('--become-user <user>', 'the user to become (default root)')
    .option('--become-method <method>', 'sudo or su')
    .option('-K, --ask-become-pass', 'ask for the become (sudo) password on the terminal')
    .option('--accept-new-host-keys', 'trust and record host keys not yet in known_hosts (changed keys are always refused)')
}

/** Ansible options k3sbook does not take, each with what to do instead. Used, they are a bad-input error. */
const UNSUPPORTED: Record<string, string> = {
  '--flush-cache': 'k3sbook keeps no fact cache: facts are gathered fresh on every run',
  '-M, --module-path <path>': 'modules are built in (`k3sbook doc` lists them); Ansible modules cannot be loaded',
  '--scp-extra-args <args>': 'files go over the SSH connection itself: use --ssh-extra-args',
  '--sftp-extra-args <args>': 'files go over the SSH connection itself: use --ssh-extra-args',
  '--become-password-file <file>': 'set ansible_become_password in a vault-encrypted vars file, or use -K',
  '--connection-password-file <file>': 'set ansible_password in a vault-encrypted vars file, or use -k',
  '-P, --poll <seconds>': 'async/poll is not supported: run the command as a normal task (`timeout:` bounds it)',
  '-B, --background <seconds>': 'async/poll is not supported: run the command as a normal task (`timeout:` bounds it)',
  '--playbook-dir <dir>': 'relative paths resolve against the current folder; cd there instead',
}

export function addUnsupportedOptions(cmd: Command, keys: string[] = Object.keys(UNSUPPORTED)): Command {
  for (const flags of keys) {
    const opt = new Option(flags).hideHelp()
    cmd.addOption(opt)
    cmd.on(`option:${opt.name()}`, () => {
      throw new CliError(`${opt.long} is not supported: ${UNSUPPORTED[flags]}`)
    })
  }
  return cmd
}

export interface ConnectionSettings {
  /** Lowest-precedence host variables (below every inventory source), as Ansible's CLI options are. */
  defaults: Vars
  connectTimeoutMs: number
  acceptNewHostKeys: boolean
  forks?: number
  /** Secrets typed at a prompt, to be redacted. */
  secrets: string[]
  warnings: string[]
}

/** Command line over ANSIBLE_* over ansible.cfg, for the connection, privilege and forks settings. */
export async function connectionSettings(o: ConnCliOptions): Promise<ConnectionSettings> {
  const cfg = ansibleConfig()
  const defaults: Vars = {}
  const warnings: string[] = []
  const secrets: string[] = []
  try {
    const user = o.user ?? cfg.get('remoteUser')?.value
    if (user) defaults.ansible_user = user
    const key = o.privateKey ?? cfg.path('privateKeyFile')
    if (key) defaults.ansible_ssh_private_key_file = key
    if (o.connection) {
      if (!['ssh', 'local', 'smart', 'paramiko'].includes(o.connection))
        throw new CliError(`--connection ${o.connection} is not supported`, { hint: 'k3sbook connects with ssh or local' })
      defaults.ansible_connection = o.connection
    }
    const common = [cfg.get('sshArgs')?.value, o.sshCommonArgs ?? cfg.get('sshCommonArgs')?.value].filter(Boolean).join(' ')
    if (common) defaults.ansible_ssh_common_args = common
    const extra = o.sshExtraArgs ?? cfg.get('sshExtraArgs')?.value
    if (extra) defaults.ansible_ssh_extra_args = extra
    const become = o.become || cfg.bool('become')
    if (become) defaults.ansible_become = true
    const becomeUser = o.becomeUser ?? cfg.get('becomeUser')?.value
    if (becomeUser) defaults.ansible_become_user = becomeUser
    const method = o.becomeMethod ?? cfg.get('becomeMethod')?.value
    if (method) {
      if (method !== 'sudo' && method !== 'su') throw new CliError(`become method "${method}" is not supported`, { hint: 'use sudo or su' })
      defaults.ansible_become_method = method
    }
    const timeoutText = o.timeout ?? o.connectTimeout
    let timeout = timeoutText !== undefined ? Number(timeoutText) : cfg.int('timeout')
    if (timeout === undefined) timeout = 10
    if (!Number.isFinite(timeout) || timeout <= 0) throw new CliError(`--timeout must be a number of seconds > 0, got "${timeoutText}"`)
    let forks: number | undefined
    if (o.forks !== undefined) {
      forks = Number(o.forks)
      if (!/^\d+$/.test(o.forks) || forks < 1) throw new CliError(`--forks must be a whole number ≥ 1, got "${o.forks}"`)
    } else forks = cfg.int('forks')
    let acceptNew = !!o.acceptNewHostKeys
    const hkc = cfg.bool('hostKeyChecking')
    if (hkc === false && !acceptNew) {
      acceptNew = true
      warnings.push(
        `${cfg.get('hostKeyChecking')!.origin} is off: k3sbook still refuses changed host keys and records new ones (as StrictHostKeyChecking=accept-new)`,
      )
    }
    if (o.askPass || o.askBecomePass) {
      const { promptSecret } = await import('./vaultopts.js')
      if (o.askPass) {
        const pw = await promptSecret('SSH password: ')
        defaults.ansible_password = pw
        secrets.push(pw)
      }
      if (o.askBecomePass || (!o.askBecomePass && cfg.bool('becomeAskPass'))) {
        const pw = await promptSecret('BECOME password: ')
        defaults.ansible_become_password = pw
        secrets.push(pw)
      }
    } else if (cfg.bool('becomeAskPass')) {
      const { promptSecret } = await import('./vaultopts.js')
      const pw = await promptSecret('BECOME password: ')
      defaults.ansible_become_password = pw
      secrets.push(pw)
    }
    return { defaults, connectTimeoutMs: timeout * 1000, acceptNewHostKeys: acceptNew, forks, secrets, warnings }
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message)
    throw e
  }
}

/**
 * Ansible's command-line connection options sit below every inventory variable: put them under
 * the `all` group's own variables, so an inventory's ansible_user (any level) still wins.
 */
export function applyConnectionDefaults(project: Project, defaults: Vars): void {
  if (Object.keys(defaults).length === 0) return
  const inv = project.inventory
  let all = inv.groups.get('all')
  if (!all) {
    all = { name: 'all', vars: {}, hosts: [], children: [], parents: new Set() }
    inv.groups.set('all', all)
  }
  all.vars = { ...defaults, ...all.vars }
  invalidateInventoryCaches(inv)
}
