// apt_key: an OpenPGP key in APT's keyring via `apt-key`, as ansible-core 2.14's apt_key module
// manages it: the key id given or read from the key (`gpg --with-colons`), compared with
// `apt-key adv --list-public-keys --keyid-format=long`, added with `apt-key add` (from `data`, a
// `file` on the host, a `url` the host downloads, or a `keyserver`), removed with `apt-key del`.
// A url or keyserver needs the host's network: offline, that task fails with the download's error.
import { shQuote } from '../connection/quote.js'
import type { Module, Step, StepResult } from './types.js'
import type { Vars } from '../model.js'
import { bool, choice, defineModule, effectKey, guardPlan, moduleSchema, sections, str, ArgError } from './lib/index.js'

export const aptKeySchema = moduleSchema({
  id: str('The key id (8, 16 or more hex digits, optional 0x); read from the key when not given.'),
  data: str('The key itself (armored text).'),
  file: str('A key file on the host.'),
  url: str('A URL the host downloads the key from (needs the host to reach it).'),
  keyserver: str('A keyserver to receive the key id from (needs the host to reach it).'),
  keyring: str("A keyring file instead of apt-key's default (`--keyring`)."),
  validate_certs: bool('Check the TLS certificate of url (default true).'),
  state: choice(['present', 'absent'], 'Whether the key is in the keyring. Default: present.'),
})

/** parse_key_id: [short (last 8), fingerprint (last 16), key id]; throws where the module says "Invalid key_id". */
export function parseKeyId(keyId: string): [string, string, string] {
  if (!/^\s*(0[xX])?[0-9a-fA-F]+(_[0-9a-fA-F]+)*\s*$/.test(keyId)) throw new ArgError('Invalid key_id')
  let k = keyId.toUpperCase()
  if (k.startsWith('0X')) k = k.slice(2)
  if (k.length !== 8 && k.length !== 16 && k.length <= 16) throw new ArgError('Invalid key_id')
  return [k.slice(-8), k.length > 16 ? k.slice(-16) : k, k]
}

/** parse_output_for_keys: the long ids of pub/sub lines that are not expired (`--with-colons` or human format). */
export function parseKeys(output: string, short = false): string[] {
  const found: string[] = []
  for (const line of output.split('\n')) {
    if (!(line.startsWith('pub') || line.startsWith('sub')) || line.includes('expired')) continue
    const tokens = line.split(/\s+/).filter(Boolean)
    const slash = tokens[1]?.split('/')
    if (slash && slash.length === 2) found.push(slash[1])
    else {
      const c = line.split(':')
      if (c.length > 4) found.push(c[4])
    }
  }
  return short ? found.map((k) => k.slice(-8)) : found
}

const BINS = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const LIST_MARK = '@@k3sbook-apt-keys'

export const aptKeyModule: Module = defineModule({
  readAhead: false,
  name: 'apt_key',
  description: "Adds or removes a key in APT's keyring with apt-key, as Ansible's apt_key module.",
  schema: aptKeySchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const opt = (k: string) =>
        args[k as keyof typeof args] === undefined || args[k as keyof typeof args] === null ? undefined : String(args[k as keyof typeof args])
      let keyId = opt('id')
      const data = opt('data')
      const file = opt('file')
      const url = opt('url')
      const keyserver = opt('keyserver')
      const keyring = opt('keyring')
      const state = (opt('state') ?? 'present') as 'present' | 'absent'
      const given = [
        ['data', data],
        ['file', file],
        ['keyserver', keyserver],
        ['url', url],
      ]
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k)
      if (given.length > 1) throw new ArgError(`parameters are mutually exclusive: data|file|keyserver|url`)
      const kr = keyring ? `--keyring ${shQuote(keyring)} ` : ''
      const fetch = (u: string) =>
        `{ if command -v curl >/dev/null; then curl -fsSL ${args.validate_certs === false || String(args.validate_certs) === 'false' ? '-k ' : ''}${shQuote(u)}; else wget -qO- ${shQuote(u)}; fi; }`
      const script = [
        `command -v apt-key >/dev/null || { echo @@missing; echo apt-key; exit 0; }`,
        `command -v gpg >/dev/null || { echo @@missing; echo gpg; exit 0; }`,
        'export LANG=C.UTF-8 LC_ALL=C.UTF-8 LC_MESSAGES=C.UTF-8',
        ...(!keyId && !keyserver && url
          ? [
              'echo @@idrc',
              `k=$(${fetch(url)}) || { echo fetch; exit 0; }`,
              'echo @@idout',
              'printf "%s\\n" "$k" | gpg --with-colons - 2>/dev/null',
              'echo @@idrc2; echo $?',
            ]
          : []),
        ...(!keyId && !keyserver && !url && file ? ['echo @@idout', `gpg --with-colons ${shQuote(file)} 2>/dev/null`, 'echo @@idrc2; echo $?'] : []),
        ...(!keyId && !keyserver && !url && !file && data
          ? [
              'echo @@idout',
              `printf %s ${shQuote(Buffer.from(data).toString('base64'))} | base64 -d | gpg --with-colons - 2>/dev/null`,
              'echo @@idrc2; echo $?',
            ]
          : []),
        'echo @@list',
        `apt-key ${kr}adv --list-public-keys --keyid-format=long 2>/dev/null`,
        'echo @@listrc; echo $?',
      ].join('\n')
      const s = sections((await ctx.reader.probe(script)).stdout.toString())
      if ('missing' in s) return { status: 'fail', msg: `Failed to find required executable "${(s.missing ?? '').trim()}" in paths: ${BINS}` }
      const r: Vars = { changed: false }
      if (!keyId) {
        if (keyserver) return { status: 'fail', msg: 'Missing key_id, required with keyserver.' }
        if (url && (s.idrc ?? '').trim() === 'fetch') return { status: 'fail', msg: `error getting key id from url: ${url}` }
        if (url || file || data) {
          if ((s.idrc2 ?? '').trim() !== '0')
            return { status: 'fail', msg: `Unable to extract key from '${file !== undefined && !url ? file : 'inline data'}'` }
          keyId = parseKeys(s.idout ?? '')[0]
        }
      }
      r.id = keyId ?? null
      let short: string, fp: string
      try {
        ;[short, fp, keyId] = parseKeyId(keyId ?? '')
      } catch {
        return { status: 'fail', msg: 'Invalid key_id', result: r }
      }
      Object.assign(r, { short_id: short, fp, key_id: keyId })
      if ((s.listrc ?? '').trim() !== '0') return { status: 'fail', msg: 'Unable to list public keys' }
      const shortFormat = keyId.length === 8
      const keys = parseKeys(s.list ?? '', shortFormat)
      r.before = keys
      // check mode: an earlier task's planned add or del of this key
      const ekey = effectKey.aptKey(keyring ?? '', short)
      const pending = ctx.reader.pending(ekey)
      const has = pending === 'present' ? true : pending === 'absent' ? false : shortFormat ? keys.includes(short) : keys.includes(fp)
      const list = `{ echo ${LIST_MARK}; apt-key ${kr}adv --list-public-keys --keyid-format=long 2>/dev/null; }`
      const steps: Step[] = []
      if (state === 'present') {
        if (has) return { status: 'ok', result: r }
        const add = file
          ? `apt-key ${kr}add ${shQuote(file)}`
          : keyserver
            ? `for i in 1 2 3 4 5; do apt-key ${kr}adv --no-tty --keyserver ${shQuote(keyserver)} --recv ${shQuote(keyId)} && break; [ $i = 5 ] && exit 1; done`
            : data !== undefined
              ? `apt-key ${kr}add -`
              : `${fetch(url ?? '')} | apt-key ${kr}add -`
        steps.push({
          describe: `apt-key add ${keyId}`,
          script: `export LANG=C.UTF-8 LC_ALL=C.UTF-8; ${add} && ${list}`,
          ...(data !== undefined && !file && !keyserver ? { stdin: Buffer.from(data) } : {}),
          effects: [{ key: ekey, value: 'present' }],
        })
      } else {
        if (pending === 'absent' || (pending !== 'present' && !keys.includes(fp))) return { status: 'ok', result: r }
        steps.push({
          describe: `apt-key del ${short}`,
          script: `export LANG=C.UTF-8 LC_ALL=C.UTF-8; apt-key ${kr}del ${shQuote(short)} && ${list}`,
          effects: [{ key: ekey, value: 'absent' }],
        })
      }
      r.changed = true
      return {
        status: 'change',
        changes: [{ summary: `${state === 'present' ? 'add' : 'remove'} key ${keyId}${keyring ? ` in ${keyring}` : ''}` }],
        steps,
        result: r,
      }
    }),
  result: (plan, steps, args) => {
    const r: Vars = { ...((plan as { result?: Vars }).result ?? {}) }
    const out = (steps as StepResult[] | undefined)?.[0]?.stdout.toString()
    if (out === undefined || !out.includes(LIST_MARK)) return r
    const keyId = String(r.key_id ?? '')
    const after = parseKeys(out.slice(out.indexOf(LIST_MARK) + LIST_MARK.length), keyId.length === 8)
    r.after = after
    const present = keyId.length === 8 ? after.includes(String(r.short_id)) : after.includes(String(r.fp))
    const wantPresent = String((args as { state?: unknown }).state ?? 'present') !== 'absent'
    if (present !== wantPresent) {
      r.failed = true
      r.msg = `apt-key did not return an error, but ${wantPresent ? 'failed to add the key' : 'the key was not removed'} (check that the id is correct and *not* a subkey)`
    }
    return r
  },
})
