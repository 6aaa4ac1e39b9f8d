// The vault password for a command: --vault-password-file, --ask-vault-pass (a prompt on the
// terminal, not echoed) or ANSIBLE_VAULT_PASSWORD_FILE, set before anything is loaded so encrypted
// files and `!vault` values decrypt while they are read.
import { Option, type Command } from 'commander'
import { ansibleConfig } from '../config/ansible.js'
import { readVaultPasswordFile, setVaultPassword, VaultError } from '../vault.js'

export interface VaultCliOptions {
  vaultPasswordFile?: string
  askVaultPass?: boolean
  askVaultPassword?: boolean
  /** Ansible's --vault-id [LABEL@]FILE|prompt (repeatable; k3sbook takes one password). */
  vaultId?: string[]
}

export function addVaultOptions(cmd: Command): Command {
  return cmd
    .option('--vault-password-file <file>', 'Ansible Vault password: a file (or an executable that prints it); also ANSIBLE_VAULT_PASSWORD_FILE')
    .option('-J, --ask-vault-pass', 'ask for the Ansible Vault password on the terminal')
    .addOption(new Option('--ask-vault-password', 'alias of --ask-vault-pass').hideHelp())
    .option(
      '--vault-id <[label@]source>',
      'Ansible Vault identity: a password file or "prompt" (the label is accepted and not needed: one password)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
}

/** Sets the process's vault password from the options; throws VaultError with a clear message. */
export async function setupVault(o: VaultCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const ids = (o.vaultId ?? []).map((id) => (/^[^@/]*@/.test(id) ? id.slice(id.indexOf('@') + 1) : id))
  const sources = new Set(ids)
  if (sources.size > 1)
    throw new VaultError(`${sources.size} different --vault-id sources given: k3sbook decrypts with one password`, { hint: 'give one --vault-id' })
  const [id] = [...sources]
  if (o.askVaultPass || o.askVaultPassword || id === 'prompt') {
    setVaultPassword(await promptSecret(`Vault password${o.vaultId?.[0]?.includes('@') ? ` (${o.vaultId[0].split('@')[0]})` : ''}: `))
    return
  }
  const file = o.vaultPasswordFile ?? id ?? (env === process.env ? ansibleConfig().path('vaultPasswordFile') : env.ANSIBLE_VAULT_PASSWORD_FILE)
  setVaultPassword(file ? readVaultPasswordFile(file) : undefined)
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
