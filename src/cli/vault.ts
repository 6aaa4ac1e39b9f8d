// `k3sbook vault encrypt|decrypt|view|edit|encrypt_string`: ansible-vault's commands on the same
// format (1.1, or 1.2 with the --vault-id label), so files and `!vault` values go both ways
// between the two tools. The password comes from the same options as everywhere (and ansible.cfg's
// vault_password_file / ANSIBLE_VAULT_PASSWORD_FILE).
import type { Command } from 'commander'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, renameSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { decryptVault, encryptVault, isVaulted, vaultPassword, VaultError, VAULT_PASSWORD_HINT } from '../vault.js'
import { addVaultOptions, promptSecret, setupVault, type VaultCliOptions } from './vaultopts.js'

interface VaultCmdOptions extends VaultCliOptions {
  output?: string
  name?: string[]
  stdinName?: string
}

async function password(o: VaultCliOptions, confirmNew = false): Promise<{ pw: string; label?: string }> {
  await setupVault(o)
  let pw = vaultPassword()
  if (pw === undefined) {
    if (!process.stdin.isTTY) throw new VaultError('no vault password given', { hint: VAULT_PASSWORD_HINT })
    pw = await promptSecret(confirmNew ? 'New Vault password: ' : 'Vault password: ')
    if (confirmNew && (await promptSecret('Confirm New Vault password: ')) !== pw) throw new VaultError('the passwords do not match')
  }
  const id = o.vaultId?.[0]
  const label = id && /^[^@/]*@/.test(id) ? id.slice(0, id.indexOf('@')) : undefined
  return { pw, label: label && label !== 'default' ? label : undefined }
}

/** ansible-vault writes 1.2 with the label when a vault id names one. */
function encrypt(plain: string, pw: string, label?: string): string {
  const text = encryptVault(plain, pw)
  return label ? text.replace(/^\$ANSIBLE_VAULT;1\.1;AES256/, `$ANSIBLE_VAULT;1.2;AES256;${label}`) : text
}

/** The vault id a file's header names (format 1.2); "default" is no label, as in ansible-vault. */
function headerLabel(text: string): string | undefined {
  const label = /^\$ANSIBLE_VAULT;1\.2;AES256;([^;\r\n]+)/.exec(text)?.[1]
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
    .action(async (files: string[], o: VaultCmdOptions) => {
      const { pw, label } = await password(o, true)
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
      const { pw } = await password(o)
      for (const f of files) {
        const text = readInput(f)
        if (!isVaulted(text)) throw new VaultError(`${f} is not vault-encrypted`)
        writeOutput(o, f, decryptVault(text, pw))
        if (f !== '-' && !o.output) process.stderr.write(`Decryption successful: ${f}\n`)
      }
    })

  addVaultOptions(vault.command('view'))
    .description('print the decrypted content of files')
    .argument('<files...>', 'files')
    .action(async (files: string[], o: VaultCmdOptions) => {
      const { pw } = await password(o)
      for (const f of files) process.stdout.write(decryptVault(readInput(f), pw))
    })

  addVaultOptions(vault.command('edit'))
    .description('decrypt into a private temp file, open $EDITOR, encrypt the result back (unchanged content: file untouched)')
    .argument('<file>', 'file (created when missing)')
    .action(async (file: string, o: VaultCmdOptions) => {
      const { pw, label } = await password(o)
      let plain = ''
      let exists = true
      // an existing file keeps the vault id (and format) of its header, as ansible-vault's edit does
      let keep: string | undefined
      try {
        const text = readFileSync(file, 'utf8')
        plain = decryptVault(text, pw)
        keep = headerLabel(text)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
        exists = false
      }
      const dir = mkdtempSync(join(tmpdir(), 'k3sbook-vault-'))
      const tmp = join(dir, basename(file))
      try {
        writeFileSync(tmp, plain, { mode: 0o600 })
        const editor = process.env.EDITOR || process.env.VISUAL || 'vi'
        const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', tmp], { stdio: 'inherit' })
        if (r.status !== 0) throw new VaultError(`the editor (${editor}) exited with ${r.status ?? r.signal}: ${file} left as it was`)
        const edited = readFileSync(tmp, 'utf8')
        if (exists && edited === plain) return
        if (exists) replaceFile(file, encrypt(edited, pw, keep))
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
    .action(async (strings: string[], o: VaultCmdOptions) => {
      const { pw, label } = await password(o, true)
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
