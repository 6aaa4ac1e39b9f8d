// Ansible 2.14's password_hash filter as the controller's ansible-core runs it without passlib
// (Debian's: lib/ansible/utils/encrypt.py CryptHash over Python's crypt module, i.e. libxcrypt):
// the same salt checks, the same setting string, and libxcrypt's answers to it, "*0" included
// (what crypt(3) returns for a setting it rejects, e.g. rounds below 1000; Ansible hands it on).
// SHA-crypt ($5$/$6$) goes through the `unixcrypt` library; MD5-crypt ($1$) is written here
// (Poul-Henning Kamp's algorithm, 30 lines; unixcrypt has only the SHA variants).
import { createHash, randomInt } from 'node:crypto'
import { encrypt as shaCrypt } from 'unixcrypt'
import { PyError, isNum, isStr, num, pyStr, sv, typeName } from './pyvalues.js'

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./'

/** encrypt.py's BaseHash.algorithms (crypt id, default salt size, rounds passlib would imply). */
const ALGORITHMS: Record<string, { id: string; saltSize: number; implicitRounds: number | null }> = {
  md5_crypt: { id: '1', saltSize: 8, implicitRounds: null },
  sha256_crypt: { id: '5', saltSize: 16, implicitRounds: 535000 },
  sha512_crypt: { id: '6', saltSize: 16, implicitRounds: 656000 },
}
const PASSLIB_NAMES: Record<string, string> = { md5: 'md5_crypt', blowfish: 'bcrypt', sha256: 'sha256_crypt', sha512: 'sha512_crypt' }

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** crypt(3) with a `$1$salt` setting: the salt is up to 8 characters, ending at a `$`. */
export function md5Crypt(password: string, saltText: string): string {
  const pw = Buffer.from(password, 'utf8')
  const salt = Buffer.from(saltText.split('$')[0].slice(0, 8), 'utf8')
  const magic = Buffer.from('$1$')
  const alt = md5(pw, salt, pw)
  const ctx = createHash('md5').update(pw).update(magic).update(salt)
  for (let pl = pw.length; pl > 0; pl -= 16) ctx.update(alt.subarray(0, Math.min(pl, 16)))
  for (let i = pw.length; i; i >>= 1) ctx.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1))
  let f: Buffer = ctx.digest()
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? pw : f]
    if (i % 3) parts.push(salt)
    if (i % 7) parts.push(pw)
    parts.push(i & 1 ? f : pw)
    f = md5(...parts)
  }
  let out = ''
  const to64 = (v: number, n: number) => {
    for (; n > 0; n--, v >>= 6) out += ITOA64[v & 0x3f]
  }
  for (const [a, b, c] of [
    [0, 6, 12],
    [1, 7, 13],
    [2, 8, 14],
    [3, 9, 15],
    [4, 10, 5],
  ])
    to64((f[a] << 16) | (f[b] << 8) | f[c], 4)
  to64(f[11], 2)
  return `$1$${salt.toString('utf8')}$${out}`
}

/** crypt(3) as libxcrypt answers a `$5$`/`$6$` setting (rounds out of 1000..999999999: "*0"). */
function shaCryptSetting(password: string, id: string, rest: string): string {
  const m = /^rounds=([0-9]+)\$/.exec(rest)
  if (/^rounds=/.test(rest) && (!m || /^0/.test(m[1]) || Number(m[1]) < 1000 || Number(m[1]) > 999999999)) return '*0'
  return shaCrypt(password, `$${id}$${rest}`)
}

/**
 * get_encrypted_password re-raises encrypt.py's AnsibleError as AnsibleFilterError(msg, orig_exc=e),
 * whose text is the message twice ("msg. msg"), as Ansible prints it.
 */
function cryptError(msg: string): PyError {
  return new PyError(`${msg}. ${msg}`, 'AnsibleFilterError')
}

/** Python's '%d' % x for the rounds (ints, bools, floats truncated). */
function percentD(x: unknown): number {
  if (typeof x === 'boolean') return x ? 1 : 0
  if (isNum(x)) return Math.trunc(num(x))
  throw new PyError(`%d format: a real number is required, not ${typeName(x)}`, 'TypeError')
}

/** get_encrypted_password(password, hashtype='sha512', salt=None, salt_size=None, rounds=None, ident=None) */
export function passwordHash(password: unknown, args: unknown[], kwargs: Record<string, unknown>): string {
  const arg = (i: number, name: string): unknown => (args.length > i ? args[i] : kwargs[name])
  const text = (v: unknown) => (isStr(v) ? sv(v) : pyStr(v))
  const hashtypeArg = arg(0, 'hashtype')
  const hashtype = hashtypeArg === undefined ? 'sha512' : text(hashtypeArg)
  const algorithm = PASSLIB_NAMES[hashtype] ?? hashtype
  if (algorithm === 'bcrypt')
    throw new PyError(
      "password_hash: 'blowfish' (bcrypt) is not supported by k3sbook; use 'sha512', 'sha256' or 'md5', or hash the password beforehand",
      'AnsibleFilterError',
    )
  const algo = ALGORITHMS[algorithm]
  if (!algo) throw cryptError(`crypt.crypt does not support '${algorithm}' algorithm`)
  const saltArg = arg(1, 'salt')
  const saltSizeArg = arg(2, 'salt_size')
  const roundsArg = arg(3, 'rounds')
  const identArg = arg(4, 'ident')
  // _salt: salt_size or the algorithm's; a given (truthy) salt, else a random one of that size
  const saltSize = saltSizeArg !== undefined && saltSizeArg !== null && saltSizeArg !== 0 && saltSizeArg !== '' ? percentD(saltSizeArg) : algo.saltSize
  const salt =
    saltArg !== undefined && saltArg !== null && text(saltArg) !== ''
      ? text(saltArg)
      : Array.from({ length: saltSize }, () => SALT_CHARS[randomInt(SALT_CHARS.length)]).join('')
  if (/[^./0-9A-Za-z]/.test(salt)) throw cryptError('invalid characters in salt')
  if (salt.length > algo.saltSize) throw cryptError('invalid salt size')
  // _rounds: the rounds passlib would imply are left out (crypt then uses its own default, 5000)
  const rounds = roundsArg === undefined || roundsArg === null || (isNum(roundsArg) && num(roundsArg) === algo.implicitRounds) ? null : roundsArg
  // _ident: with an ident given, a non-bcrypt hash gets no `$id` at all (Ansible's own behaviour)
  const identGiven = identArg !== undefined && identArg !== null && identArg !== '' && identArg !== false && identArg !== 0
  let setting = identGiven ? '' : `$${algo.id}`
  if (rounds !== null && rounds !== false && rounds !== 0) setting += `$rounds=${percentD(rounds)}`
  setting += `$${salt}`
  const pw = text(password)
  if (setting.startsWith('$1$')) return md5Crypt(pw, setting.slice(3))
  if (setting.startsWith('$5$') || setting.startsWith('$6$')) return shaCryptSetting(pw, setting[1], setting.slice(3))
  return '*0' // no `$id$`: a DES setting whose salt ('$…') libxcrypt rejects
}
