// `k3sbook vault encrypt|decrypt|view|edit|encrypt_string`: ansible-vault's commands on the same
// format (1.1, or 1.2 with the --vault-id label), so files and `!vault` values go both ways
// between the two tools. The password comes from the same options as everywhere (and ansible.cfg's
// vault_password_file / ANSIBLE_VAULT_PASSWORD_FILE).
import type { Command } from 'commander'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, renameSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import {
  decryptAndGetSecret,
  decryptWithSecrets,
  encryptVault,
  isVaulted,
  setVaultSecrets,
  vaultHeaderId,
  vaultSecretList,
  VaultError,
  VAULT_PASSWORD_HINT,
} from '../vault.js'
import { addVaultOptions, promptSecret, setupVault, type VaultCliOptions } from './vaultopts.js'

interface VaultCmdOptions extends VaultCliOptions {
  encryptVaultId?: string
  output?: string
  name?: string[]
  stdinName?: string
}

/** The secrets for reading vaulted text: the options', else a prompt at a terminal. */
async function readSecrets(o: VaultCliOptions): Promise<void> {
  await setupVault(o)
  if (vaultSecretList().length) return
  if (!process.stdin.isTTY) throw new VaultError('no vault password given', { hint: VAULT_PASSWORD_HINT })
  setVaultSecrets([{ id: 'default', password: await promptSecret('Vault password: ') }])
}

/**
 * The secret that encrypts, as ansible-vault picks it: --encrypt-vault-id names one of those given;
 * otherwise there must be only one (several need --encrypt-vault-id); none: asked (twice) at a terminal.
 */
async function encryptSecret(o: VaultCmdOptions, confirmNew = false): Promise<{ pw: string; label?: string }> {
  await setupVault(o)
  const list = vaultSecretList()
  const labelOf = (id: string) => (id !== 'default' ? id : undefined)
  if (o.encryptVaultId) {
    const s = list.find((x) => x.id === o.encryptVaultId)
    if (!s) throw new VaultError(`--encrypt-vault-id ${o.encryptVaultId}: no such vault id was given (given: ${list.map((x) => x.id).join(', ') || 'none'})`)
    return { pw: s.password, label: labelOf(s.id) }
  }
  if (list.length > 1)
    throw new VaultError(`${list.length} vault ids were given (${list.map((x) => x.id).join(', ')}): say which one encrypts`, {
      hint: 'add --encrypt-vault-id LABEL',
    })
  if (list.length === 1) return { pw: list[0].password, label: labelOf(list[0].id) }
  if (!process.stdin.isTTY) throw new VaultError('no vault password given', { hint: VAULT_PASSWORD_HINT })
  const pw = await promptSecret(confirmNew ? 'New Vault password: ' : 'Vault password: ')
  if (confirmNew && (await promptSecret('Confirm New Vault password: ')) !== pw) throw new VaultError('the passwords do not match')
  return { pw }
}

/** ansible-vault writes 1.2 with the label when a vault id names one. */
function encrypt(plain: string, pw: string, label?: string): string {
  const text = encryptVault(plain, pw)
  return label ? text.replace(/^\$ANSIBLE_VAULT;1\.1;AES256/, `$ANSIBLE_VAULT;1.2;AES256;${label}`) : text
}

/** The vault id a file's header names (format 1.2); "default" is no label, as in ansible-vault. */
function headerLabel(text: string): string | undefined {
  const label = vaultHeaderId(text)
  return label && label !== 'default' ? label : undefined
}

/**
 * Writes beside the file and renames over it, keeping its mode (a half-written secret file is
 * never left). A symlink is followed, as ansible-vault does: the link stays, its target changes.
 */
function replaceFile(link: string, text: string): void {
  const file = realpathSync(link)
  const mode = statSync(file).mode & 0o7777
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  writeFileSync(tmp, text, { mode: 0o600 })
  chmodSync(tmp, mode)
  renameSync(tmp, file)
}

function readInput(file: string): string {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8')
}

function writeOutput(o: VaultCmdOptions, file: string, text: string): void {
  if (o.output === '-' || (file === '-' && !o.output)) process.stdout.write(text)
  else if (o.output) writeFileSync(o.output, text, { mode: 0o600 })
  else replaceFile(file, text)
}

export function register(program: Command): void {
  const vault = program.command('vault').description('encrypt and decrypt Ansible Vault files and strings (ansible-vault compatible)')

  addVaultOptions(vault.command('encrypt'))
    .description('encrypt files in place (or to --output)')
    .argument('<files...>', 'files ("-" reads stdin)')
    .option('--output <file>', 'write here instead of in place ("-" for stdout)')
    .option('--encrypt-vault-id <label>', 'the vault id that encrypts, when several are given')
    .action(async (files: string[], o: VaultCmdOptions) => {
      const { pw, label } = await encryptSecret(o, true)
      for (const f of files) {
        const text = readInput(f)
        if (isVaulted(text)) throw new VaultError(`${f} is already vault-encrypted`)
        writeOutput(o, f, encrypt(text, pw, label))
        if (f !== '-' && !o.output) process.stderr.write(`Encryption successful: ${f}\n`)
      }
    })

  addVaultOptions(vault.command('decrypt'))
    .description('decrypt files in place (or to --output)')
    .argument('<files...>', 'files ("-" reads stdin)')
    .option('--output <file>', 'write here instead of in place ("-" for stdout)')
    .action(async (files: string[], o: VaultCmdOptions) => {
      await readSecrets(o)
      for (const f of files) {
        const text = readInput(f)
        if (!isVaulted(text)) throw new VaultError(`${f} is not vault-encrypted`)
        writeOutput(o, f, decryptWithSecrets(text))
        if (f !== '-' && !o.output) process.stderr.write(`Decryption successful: ${f}\n`)
      }
    })

  addVaultOptions(vault.command('view'))
    .description('print the decrypted content of files')
    .argument('<files...>', 'files')
    .action(async (files: string[], o: VaultCmdOptions) => {
      await readSecrets(o)
      for (const f of files) process.stdout.write(decryptWithSecrets(readInput(f)))
    })

  addVaultOptions(vault.command('edit'))
    .description('decrypt into a private temp file, open $EDITOR, encrypt the result back (unchanged content: file untouched)')
    .argument('<file>', 'file (created when missing)')
    .option('--encrypt-vault-id <label>', 'the vault id that encrypts a new file, when several are given')
    .action(async (file: string, o: VaultCmdOptions) => {
      let text: string | undefined
      try {
        text = readFileSync(file, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      }
      // an existing file is encrypted back with the secret that decrypted it, keeping the vault id
      // (and format) of its header, as ansible-vault's edit does; a new one as encrypt would
      let plain = ''
      let pw: string
      let label: string | undefined
      if (text !== undefined) {
        await readSecrets(o)
        const got = decryptAndGetSecret(text)
        plain = got.plain
        pw = got.secret.password
        label = headerLabel(text)
      } else ({ pw, label } = await encryptSecret(o, true))
      const dir = mkdtempSync(join(tmpdir(), 'k3sbook-vault-'))
      const tmp = join(dir, basename(file))
      try {
        writeFileSync(tmp, plain, { mode: 0o600 })
        const editor = process.env.EDITOR || process.env.VISUAL || 'vi'
        const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', tmp], { stdio: 'inherit' })
        if (r.status !== 0) throw new VaultError(`the editor (${editor}) exited with ${r.status ?? r.signal}: ${file} left as it was`)
        const edited = readFileSync(tmp, 'utf8')
        if (text !== undefined && edited === plain) return
        if (text !== undefined) replaceFile(file, encrypt(edited, pw, label))
        else writeFileSync(file, encrypt(edited, pw, label), { mode: 0o600 })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })

  addVaultOptions(vault.command('encrypt_string').alias('encrypt-string'))
    .description('encrypt a value for a `!vault |` variable in YAML')
    .argument('[strings...]', 'values (none: read one from stdin)')
    .option('-n, --name <name>', 'variable name for each value (repeatable, in order)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--stdin-name <name>', 'variable name for the value read from stdin')
    .option('--output <file>', 'write here instead of stdout')
    .option('--encrypt-vault-id <label>', 'the vault id that encrypts, when several are given')
    .action(async (strings: string[], o: VaultCmdOptions) => {
      const { pw, label } = await encryptSecret(o, true)
      const values = strings.length ? strings.map((v, i) => ({ name: o.name?.[i], v })) : [{ name: o.stdinName ?? o.name?.[0], v: readFileSync(0, 'utf8') }]
      const out = values
        .map(({ name, v }) => {
          const body = encrypt(v, pw, label)
            .trimEnd()
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n')
          return `${name ? `${name}: ` : ''}!vault |\n${body}\n`
        })
        .join('')
      if (o.output && o.output !== '-') writeFileSync(o.output, out, { mode: 0o600 })
      else process.stdout.write(out)
      if (process.stdin.isTTY) process.stderr.write('Encryption successful\n')
    })
}
