// The vault password for a command: --vault-password-file, --ask-vault-pass (a prompt on the
// terminal, not echoed) or ANSIBLE_VAULT_PASSWORD_FILE, set before anything is loaded so encrypted
// files and `!vault` values decrypt while they are read.
import type { Command } from 'commander'
import { readVaultPasswordFile, setVaultPassword, VaultError } from '../vault.js'

export interface VaultCliOptions {
  vaultPasswordFile?: string
  askVaultPass?: boolean
}

export function addVaultOptions(cmd: Command): Command {
  return cmd
    .option('--vault-password-file <file>', 'Ansible Vault password: a file (or an executable that prints it); also ANSIBLE_VAULT_PASSWORD_FILE')
    .option('-J, --ask-vault-pass', 'ask for the Ansible Vault password on the terminal')
}

/** Sets the process's vault password from the options; throws VaultError with a clear message. */
export async function setupVault(o: VaultCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (o.askVaultPass) {
    setVaultPassword(await promptPassword('Vault password: '))
    return
  }
  const file = o.vaultPasswordFile ?? env.ANSIBLE_VAULT_PASSWORD_FILE
  setVaultPassword(file ? readVaultPasswordFile(file) : undefined)
}

async function promptPassword(question: string): Promise<string> {
  const input = process.stdin
  if (!input.isTTY) throw new VaultError('--ask-vault-pass needs a terminal', { hint: 'use --vault-password-file FILE instead' })
  process.stderr.write(question)
  input.setRawMode(true)
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
            return reject(new VaultError('no vault password: interrupted'))
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
