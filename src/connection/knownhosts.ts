// Host key checking against OpenSSH known_hosts files: parsing (hashed names, [host]:port, patterns,
// @revoked / @cert-authority markers), the yes / accept-new / no policies of StrictHostKeyChecking,
// SHA256 fingerprints in OpenSSH's format, and appending newly accepted keys.
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { readFile, appendFile, mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { starPieces } from '../text.js'

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority'
  /** Host patterns as written (comma-separated in the file); empty when hashed. */
  patterns: string[]
  hashed?: { salt: Buffer; hash: Buffer }
  keyType: string
  /** The public key blob (what the server sends during key exchange). */
  key: Buffer
  file: string
  line: number
}

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no'

/** Parses OpenSSH's StrictHostKeyChecking values (`ask` has no prompt here, so it is `yes`). */
export function parseStrictHostKeyChecking(value: string): StrictHostKeyChecking | undefined {
  switch (value.toLowerCase()) {
    case 'yes':
    case 'ask':
      return 'yes'
    case 'accept-new':
      return 'accept-new'
    case 'no':
    case 'off':
      return 'no'
    default:
      return undefined
  }
}

export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const out: KnownHostEntry[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const fields = line.split(/\s+/)
    let marker: KnownHostEntry['marker']
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!
      if (m === '@revoked') marker = 'revoked'
      else if (m === '@cert-authority') marker = 'cert-authority'
      else return // unknown marker: OpenSSH skips the line too
    }
    if (fields.length < 3) return
    const [hosts, keyType, b64] = fields
    const key = Buffer.from(b64, 'base64')
    // A key blob starts with its own type; a mismatch means a corrupt or truncated line.
    if (blobKeyType(key) !== keyType) return
    const entry: KnownHostEntry = { marker, patterns: [], keyType, key, file, line: i + 1 }
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|')
      if (!salt || !hash) return
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') }
    } else entry.patterns = hosts.split(',')
    out.push(entry)
  })
  return out
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** Patterns made into regular expressions (ssh_config and known_hosts repeat them for every host). */
const wildcardRes = new Map<string, RegExp>()

/** OpenSSH wildcard match (`*`, `?`), case-insensitive as host names are. */
export function wildcardMatch(pattern: string, text: string): boolean {
  // Most patterns are plain names: compared as such (150 hosts × 150 Host blocks is 22,500 matches).
  if (!/[*?]/.test(pattern)) return pattern.length === text.length && pattern.toLowerCase() === text.toLowerCase()
  let re = wildcardRes.get(pattern)
  if (!re) wildcardRes.set(pattern, (re = wildcardRe(pattern)))
  return re.test(text)
}

/** Linear in pattern × text for any number of stars (starPieces: no backtracking between them). */
function wildcardRe(pattern: string): RegExp {
  const pieces = pattern.split('*').map((p) =>
    p
      .split('')
      .map((c) => (c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join(''),
  )
  return new RegExp('^(?:' + starPieces(pieces) + ')$', 'is')
}

/** A pattern list matches when some positive pattern matches and no negated (`!`) one does. */
export function patternListMatches(patterns: string[], name: string): boolean {
  let matched = false
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false
    } else if (wildcardMatch(p, name)) matched = true
  }
  return matched
}

export function entryMatchesHost(entry: KnownHostEntry, host: string, port = 22): boolean {
  const name = knownHostsName(host, port)
  if (entry.hashed) {
    const h = createHmac('sha1', entry.hashed.salt).update(name).digest()
    return h.equals(entry.hashed.hash)
  }
  return patternListMatches(entry.patterns, name)
}

/** The key type named at the start of a public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const n = blob.readUInt32BE(0)
  if (n <= 0 || n > 64 || 4 + n > blob.length) return undefined
  return blob.subarray(4, 4 + n).toString('latin1')
}

/** `SHA256:…` as `ssh-keygen -lf` prints it (unpadded base64 of the blob's SHA-256). */
export function fingerprint(blob: Buffer): string {
  return (
    'SHA256:' +
    createHash('sha256')
      .update(blob)
      .digest('base64')
      .replace(/(?<!=)=+$/, '')
  )
}

/** `ED25519`, `RSA`, `ECDSA` — the label ssh uses in its messages. */
export function keyLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519'
  if (keyType === 'ssh-rsa') return 'RSA'
  if (keyType.startsWith('ecdsa-')) return 'ECDSA'
  if (keyType === 'ssh-dss') return 'DSA'
  return keyType
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: KnownHostEntry[] }
  | { status: 'changed'; known: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry }

/**
 * Judges a presented key against entries, as OpenSSH does: a revoked key is refused outright; a
 * matching entry is known; an entry of the same key type with a different key means the key
 * CHANGED; keys of other types only do not prove anything, so the key counts as unknown.
 */
export function judgeHostKey(entries: KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(blob))
  if (revoked) return { status: 'revoked', entry: revoked }
  const forHost = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, host, port))
  const same = forHost.find((e) => e.key.equals(blob))
  if (same) return { status: 'known', entry: same }
  const type = blobKeyType(blob)
  const sameType = forHost.filter((e) => e.keyType === type)
  if (sameType.length) return { status: 'changed', known: sameType }
  return { status: 'unknown', otherTypes: forHost }
}

/** Host key algorithms for ssh2, with the types known for this host first (as OpenSSH orders them), so a host known by its RSA key is not asked for an ed25519 one that we would then call unknown. */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number): string[] | undefined {
  const known = new Set(entries.filter((e) => !e.marker && entryMatchesHost(e, host, port)).map((e) => e.keyType))
  if (known.size === 0) return undefined
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  const typeOf = (alg: string) => (alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg)
  return [...all.filter((a) => known.has(typeOf(a))), ...all.filter((a) => !known.has(typeOf(a)))]
}

/** A known_hosts line; hashed (`|1|salt|hash`, as HashKnownHosts writes it) when asked. */
export function knownHostsLine(host: string, port: number, blob: Buffer, hashed = false): string {
  let name = knownHostsName(host, port)
  if (hashed) {
    const salt = randomBytes(20)
    name = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
  }
  return `${name} ${blobKeyType(blob)} ${blob.toString('base64')}\n`
}

/**
 * Each file's entries, parsed once for every connection of the run that reads it (150 hosts read
 * the same known_hosts): kept while the file's size and mtime stay, parsed again after a change
 * (an accepted key appended).
 */
const parsedFiles = new Map<string, { size: number; mtimeMs: number; entries: KnownHostEntry[] }>()

/** Reads and parses the files that exist (a missing known_hosts is an empty one). */
export async function loadKnownHosts(files: string[]): Promise<KnownHostEntry[]> {
  const out: KnownHostEntry[] = []
  for (const f of files) {
    let st: { size: number; mtimeMs: number }
    try {
      st = await stat(f)
      const seen = parsedFiles.get(f)
      if (seen && seen.size === st.size && seen.mtimeMs === st.mtimeMs) {
        out.push(...seen.entries)
        continue
      }
      const text = await readFile(f, 'utf8')
      const entries = parseKnownHosts(text, f)
      // what was read must be what was stat'ed (an append in between: parse again next time)
      if (Buffer.byteLength(text) === st.size) parsedFiles.set(f, { size: st.size, mtimeMs: st.mtimeMs, entries })
      out.push(...entries)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw e
    }
  }
  return out
}

export interface HostKeyPolicy {
  strict: StrictHostKeyChecking
  /** Files read; the first one is where accepted keys are appended (UserKnownHostsFile). */
  userFiles: string[]
  /** Read-only (GlobalKnownHostsFile), e.g. /etc/ssh/ssh_known_hosts. */
  globalFiles: string[]
}

export interface HostKeyDecision {
  accept: boolean
  /** Why a key was refused; message and hint for the ConnectionError. */
  message?: string
  hint?: string
  pos?: { file: string; line: number; col: number }
  /** Set when the key was new and is to be recorded. */
  append?: { file: string; line: string }
}

/** Pure decision for one presented key; the caller appends `append` (see recordHostKey). */
export function decideHostKey(entries: KnownHostEntry[], policy: HostKeyPolicy, host: string, port: number, blob: Buffer): HostKeyDecision {
  const where = knownHostsName(host, port)
  const fp = fingerprint(blob)
  const label = keyLabel(blobKeyType(blob) ?? '?')
  const v = judgeHostKey(entries, host, port, blob)
  switch (v.status) {
    case 'known':
      return { accept: true }
    case 'revoked':
      return {
        accept: false,
        message: `host key for ${where} is REVOKED (${label} key ${fp}, marked @revoked in ${v.entry.file}:${v.entry.line})`,
        pos: { file: v.entry.file, line: v.entry.line, col: 1 },
      }
    case 'changed': {
      const old = v.known.map((e) => `${fingerprint(e.key)} at ${e.file}:${e.line}`).join(', ')
      return {
        accept: false,
        message: `HOST KEY CHANGED for ${where}: it now offers ${label} key ${fp}, known_hosts has ${old}; refusing to connect (this can be a man-in-the-middle attack)`,
        hint: `if the change is expected, remove the old key with: ssh-keygen -R '${where}' -f ${v.known[0].file}`,
        pos: { file: v.known[0].file, line: v.known[0].line, col: 1 },
      }
    }
    case 'unknown': {
      if (v.otherTypes.length) {
        // As OpenSSH's accept-new: a host with any known key is never new. A key of another type
        // than the ones recorded is a changed key until the user says otherwise.
        const old = v.otherTypes.map((e) => `${keyLabel(e.keyType)} key ${fingerprint(e.key)} at ${e.file}:${e.line}`).join(', ')
        return {
          accept: false,
          message: `HOST KEY CHANGED for ${where}: it now offers only ${label} key ${fp}, known_hosts has ${old}; refusing to connect (a host with a known key is never new, even with --accept-new-host-keys; this can be a man-in-the-middle attack)`,
          hint: `if the change is expected, remove the old key with: ssh-keygen -R '${where}' -f ${v.otherTypes[0].file}`,
          pos: { file: v.otherTypes[0].file, line: v.otherTypes[0].line, col: 1 },
        }
      }
      if (policy.strict !== 'yes') {
        const file = policy.userFiles[0]
        // never an unhashed name in a file that hashes its names (HashKnownHosts)
        const hashed = entries.some((e) => e.file === file && e.hashed)
        return { accept: true, append: file ? { file, line: knownHostsLine(host, port, blob, hashed) } : undefined }
      }
      const files = [...policy.userFiles, ...policy.globalFiles].join(', ') || '(none)'
      const other = v.otherTypes.length ? `; known_hosts has only other key types for it (${[...new Set(v.otherTypes.map((e) => e.keyType))].join(', ')})` : ''
      return {
        accept: false,
        message: `host key for ${where} is not known (${label} key ${fp}, not in ${files})${other}`,
        hint: `check the fingerprint, then trust it with --accept-new-host-keys (StrictHostKeyChecking=accept-new) or point UserKnownHostsFile at a known_hosts file that has it, e.g. ssh-keyscan -p ${port} ${host} >> ${policy.userFiles[0] ?? '~/.ssh/known_hosts'}`,
      }
    }
  }
}

/** Appends an accepted key (creating ~/.ssh as 0700 when needed), like StrictHostKeyChecking=accept-new. */
export async function recordHostKey(append: { file: string; line: string }): Promise<void> {
  if (append.file === '/dev/null') return
  await mkdir(dirname(append.file), { recursive: true, mode: 0o700 })
  await appendFile(append.file, append.line, { mode: 0o600 })
}
