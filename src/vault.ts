// Ansible Vault (format 1.1 / 1.2, AES256), so secrets encrypted with `ansible-vault` work as they
// are: PBKDF2-HMAC-SHA256 (10000 rounds) derives an AES-256-CTR key, an HMAC-SHA256 key and the
// counter; the HMAC over the ciphertext is checked before anything is decrypted.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
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

// ---------------------------------------------------------------- the run's vault password and secrets
// One password per process (as ansible-playbook's default vault id): the CLI sets it before
// anything is loaded, the YAML loader decrypts with it and records every decrypted value, and the
// reporters mask those values in all output.

let currentPassword: string | undefined
const decrypted = new Set<string>()

export function setVaultPassword(password: string | undefined): void {
  currentPassword = password
}

export function vaultPassword(): string | undefined {
  return currentPassword
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
export function readVaultPasswordFile(file: string): string {
  let st: import('node:fs').Stats
  try {
    st = statSync(file)
  } catch (e) {
    throw new VaultError(`vault password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  let text: string
  if (st.mode & 0o111) {
    try {
      text = execFileSync(file, [], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'], timeout: 60_000 })
    } catch (e) {
      throw new VaultError(`vault password script ${file} failed: ${(e as Error).message.split('\n')[0]}`)
    }
  } else text = readFileSync(file, 'utf8')
  // Ansible strips surrounding whitespace from the file's content (bytes.strip()).
  const pw = trimOf(text, ' \t\r\n\f\v')
  if (!pw) throw new VaultError(`vault password file ${file} is empty`)
  return pw
}
