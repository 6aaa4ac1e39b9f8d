// The vault secrets for a command, built as ansible-core's CLI builds its vault ids: ansible.cfg's
// vault_identity_list, then each --vault-id [LABEL@]SOURCE, then each --vault-password-file and
// ansible.cfg's vault_password_file (id "default"), then --ask-vault-pass ("default@prompt").
// SOURCE is a password file, an executable that prints it (a "-client" script is passed
// --vault-id LABEL) or "prompt" (asked on the terminal, not echoed). They are set before anything
// is loaded, so encrypted files and `!vault` values decrypt while they are read, each with the
// secret its header names first, then with every other (as Ansible).
import { Option, type Command } from 'commander'
import { ansibleConfig } from '../config/ansible.js'
import { readVaultPasswordFile, setVaultSecrets, VaultError, type VaultSecret } from '../vault.js'

export interface VaultCliOptions {
  vaultPasswordFile?: string[]
  askVaultPass?: boolean
  askVaultPassword?: boolean
  /** Ansible's --vault-id [LABEL@]SOURCE (repeatable). */
  vaultId?: string[]
}

const repeat = (v: string, prev: string[] = []) => [...prev, v]

export function addVaultOptions(cmd: Command): Command {
  return cmd
    .option(
      '--vault-password-file <file>',
      'Ansible Vault password: a file (or an executable that prints it); repeatable; also ANSIBLE_VAULT_PASSWORD_FILE',
      repeat,
    )
    .addOption(new Option('--vault-pass-file <file>', 'alias of --vault-password-file').hideHelp().argParser(repeat))
    .option('-J, --ask-vault-pass', 'ask for the Ansible Vault password on the terminal')
    .addOption(new Option('--ask-vault-password', 'alias of --ask-vault-pass').hideHelp())
    .option(
      '--vault-id <[label@]source>',
      'Ansible Vault identity: a password file, an executable, or "prompt"; repeatable (each is tried, the one the file names first)',
      repeat,
    )
}

/** A vault id's label and source, as Ansible splits "label@source" (no @: the default id). */
export function parseVaultId(id: string): { label: string; source: string } {
  const at = id.indexOf('@')
  return at > 0 ? { label: id.slice(0, at), source: id.slice(at + 1) } : { label: 'default', source: at === 0 ? id.slice(1) : id }
}

/** Sets the process's vault secrets from the options; throws VaultError with a clear message. */
export async function setupVault(o: VaultCliOptions & { vaultPassFile?: string[] }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const cfg = env === process.env ? ansibleConfig() : undefined
  const fromCfg = (cfg?.get('vaultIdentityList')?.value ?? (env === process.env ? '' : (env.ANSIBLE_VAULT_IDENTITY_LIST ?? '')))
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
  const ids = [...fromCfg, ...(o.vaultId ?? [])].map(parseVaultId)
  const cfgFile = cfg ? cfg.path('vaultPasswordFile') : env.ANSIBLE_VAULT_PASSWORD_FILE
  for (const f of [...(o.vaultPasswordFile ?? []), ...(o.vaultPassFile ?? []), ...(cfgFile ? [cfgFile] : [])]) ids.push({ label: 'default', source: f })
  if (o.askVaultPass || o.askVaultPassword) ids.push({ label: 'default', source: 'prompt' })
  const secrets: VaultSecret[] = []
  const seen = new Set<string>()
  for (const { label, source } of ids) {
    // the same id and source twice (a file given on the command line and in ansible.cfg) is one secret
    const key = `${label}@${source}`
    if (seen.has(key)) continue
    seen.add(key)
    if (source === 'prompt' || source === 'prompt_ask_vault_pass') {
      secrets.push({ id: label, password: await promptSecret(`Vault password${label === 'default' ? '' : ` (${label})`}: `) })
    } else secrets.push({ id: label, password: readVaultPasswordFile(source, label) })
  }
  setVaultSecrets(secrets)
}

/** Asks on the terminal without echoing (vault, SSH and become passwords). */
export async function promptSecret(question: string): Promise<string> {
  const input = process.stdin
  if (!input.isTTY)
    throw new VaultError(`a password prompt ("${question.replace(/: $/, '')}") needs a terminal`, {
      hint: 'pass the password in a file instead (--vault-password-file, or a vault-encrypted vars file)',
    })
  // echo off before the question shows: what is typed as soon as it shows is never echoed
  input.setRawMode(true)
  process.stderr.write(question)
  input.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let pw = ''
      const onData = (b: Buffer) => {
        for (const ch of b.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            input.off('data', onData)
            process.stderr.write('\n')
            return resolve(pw)
          }
          if (ch === '\u0003') {
            input.off('data', onData)
            process.stderr.write('\n')
            return reject(new VaultError('no password: interrupted'))
          }
          if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1)
          else pw += ch
        }
      }
      input.on('data', onData)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
  }
}
