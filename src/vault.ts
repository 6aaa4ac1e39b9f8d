// Ansible Vault (format 1.1 / 1.2, AES256), so secrets encrypted with `ansible-vault` work as they
// are: PBKDF2-HMAC-SHA256 (10000 rounds) derives an AES-256-CTR key, an HMAC-SHA256 key and the
// counter; the HMAC over the ciphertext is checked before anything is decrypted.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { K3sbookError } from './errors.js'
import { markSecret } from './secrets.js'
import { trimOf } from './text.js'

export class VaultError extends K3sbookError {}

const HEADER = '$ANSIBLE_VAULT'

export function isVaulted(text: string): boolean {
  return text.trimStart().startsWith(HEADER + ';')
}

function keys(password: string, salt: Buffer): { cipherKey: Buffer; hmacKey: Buffer; iv: Buffer } {
  const d = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 10000, 80, 'sha256')
  return { cipherKey: d.subarray(0, 32), hmacKey: d.subarray(32, 64), iv: d.subarray(64, 80) }
}

/** Decrypts a vault text (a whole file or a `!vault |` value). Throws VaultError on a wrong password or a damaged file. */
export function decryptVault(text: string, password: string): string {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim())
  const header = lines[0].split(';')
  if (header[0] !== HEADER || (header[1] !== '1.1' && header[1] !== '1.2') || header[2] !== 'AES256')
    throw new VaultError(`not an Ansible Vault AES256 text (header "${lines[0]}")`)
  const body = Buffer.from(lines.slice(1).join(''), 'hex').toString('ascii')
  const [saltHex, hmacHex, dataHex] = body.split('\n')
  if (!saltHex || !hmacHex || !dataHex) throw new VaultError('vault text is damaged (expected salt, hmac and data)')
  const salt = Buffer.from(saltHex, 'hex')
  const data = Buffer.from(dataHex, 'hex')
  const { cipherKey, hmacKey, iv } = keys(password, salt)
  const mac = createHmac('sha256', hmacKey).update(data).digest()
  const want = Buffer.from(hmacHex, 'hex')
  if (want.length !== mac.length || !timingSafeEqual(mac, want))
    throw new VaultError('vault password is wrong (HMAC mismatch)', { hint: 'check --vault-password-file' })
  const dec = createDecipheriv('aes-256-ctr', cipherKey, iv)
  const padded = Buffer.concat([dec.update(data), dec.final()])
  const pad = padded[padded.length - 1]
  if (pad < 1 || pad > 16) throw new VaultError('vault text is damaged (bad padding)')
  return padded.subarray(0, padded.length - pad).toString('utf8')
}

/** Encrypts like `ansible-vault encrypt` (format 1.1). */
export function encryptVault(plain: string, password: string, salt: Buffer = randomBytes(32)): string {
  const { cipherKey, hmacKey, iv } = keys(password, salt)
  const data = Buffer.from(plain, 'utf8')
  const pad = 16 - (data.length % 16)
  const padded = Buffer.concat([data, Buffer.alloc(pad, pad)])
  const enc = createCipheriv('aes-256-ctr', cipherKey, iv)
  const ct = Buffer.concat([enc.update(padded), enc.final()])
  const mac = createHmac('sha256', hmacKey).update(ct).digest()
  const body = Buffer.from(`${salt.toString('hex')}\n${mac.toString('hex')}\n${ct.toString('hex')}`, 'ascii').toString('hex')
  const wrapped = body.match(/.{1,80}/g)!.join('\n')
  return `${HEADER};1.1;AES256\n${wrapped}\n`
}

// ---------------------------------------------------------------- the run's vault secrets
// The CLI sets the run's vault secrets before anything is loaded (each --vault-id, the password
// file, the prompt: ansible-playbook's vault ids), the YAML loader decrypts with them and records
// every decrypted value, and the reporters mask those values in all output.

/** One vault secret: the vault id's label ("default" when none) and its password. */
export interface VaultSecret {
  id: string
  password: string
}

let secrets: VaultSecret[] = []
const decrypted = new Set<string>()

export function setVaultSecrets(list: VaultSecret[]): void {
  secrets = [...list]
}

/** One password under the default vault id (undefined: none). */
export function setVaultPassword(password: string | undefined): void {
  secrets = password === undefined ? [] : [{ id: 'default', password }]
}

/** The first secret's password (what encrypts), if any was given. */
export function vaultPassword(): string | undefined {
  return secrets[0]?.password
}

export function hasVaultSecrets(): boolean {
  return secrets.length > 0
}

export function vaultSecretList(): readonly VaultSecret[] {
  return secrets
}

/** The vault id a text's header names (format 1.2), if any. */
export function vaultHeaderId(text: string): string | undefined {
  return /^\s*\$ANSIBLE_VAULT;1\.2;AES256;([^;\r\n]+)/.exec(text)?.[1]?.trim()
}

/**
 * Decrypts with the run's secrets as ansible-core's VaultLib.decrypt does (vault_id_match off, its
 * default): first the secrets whose id the header names, then every other, in the order given.
 * Throws VaultError when none was given or none fits.
 */
export function decryptWithSecrets(text: string): string {
  return decryptAndGetSecret(text).plain
}

/** decryptWithSecrets, and which secret decrypted (ansible-vault edit encrypts back with it). */
export function decryptAndGetSecret(text: string): { plain: string; secret: VaultSecret } {
  if (!secrets.length) throw new VaultError('no vault password was given', { hint: VAULT_PASSWORD_HINT })
  const id = vaultHeaderId(text)
  const order = id ? [...secrets.filter((s) => s.id === id), ...secrets.filter((s) => s.id !== id)] : secrets
  let last: unknown
  for (const s of order) {
    try {
      return { plain: decryptVault(text, s.password), secret: s }
    } catch (e) {
      // a damaged text fails the same way whatever the password: say so at once
      if (!/HMAC mismatch/.test((e as Error).message)) throw e
      last = e
    }
  }
  if (order.length === 1) throw last
  throw new VaultError(`none of the ${order.length} vault secrets given (${order.map((s) => s.id).join(', ')}) decrypts it (HMAC mismatch)`, {
    hint: 'check the --vault-id and --vault-password-file options',
  })
}

/** Values that came out of a vault (whole encrypted files and `!vault` values). */
export function vaultSecrets(): ReadonlySet<string> {
  return decrypted
}

export function recordVaultSecret(value: string): void {
  if (value) decrypted.add(value)
  markSecret(value)
}

/** Where the three ways of giving a password are described, for error hints. */
export const VAULT_PASSWORD_HINT = 'give the password with --vault-password-file FILE, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE'

/**
 * A vault password file as Ansible reads it: an executable file is a script whose stdout is the
 * password; otherwise the file's content. Surrounding whitespace never belongs to the password.
 */
export function readVaultPasswordFile(file: string, vaultId = 'default'): string {
  let st: import('node:fs').Stats
  try {
    st = statSync(file)
  } catch (e) {
    throw new VaultError(`vault password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  let text: string
  if (st.mode & 0o111) {
    try {
      // a "client" script (its name without extension ends in -client) is told which vault id is wanted
      const client = /-client$/.test(basename(file).replace(/\.[^.]*$/, ''))
      text = execFileSync(resolve(file), client ? ['--vault-id', vaultId] : [], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'], timeout: 60_000 })
    } catch (e) {
      throw new VaultError(`vault password script ${file} failed: ${(e as Error).message.split('\n')[0]}`)
    }
  } else text = readFileSync(file, 'utf8')
  // Ansible strips surrounding whitespace from the file's content (bytes.strip()).
  const pw = trimOf(text, ' \t\r\n\f\v')
  if (!pw) throw new VaultError(`vault password file ${file} is empty`)
  return pw
}
