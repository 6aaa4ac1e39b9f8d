// known_hosts: one host's key in an SSH known_hosts file, as ansible-core 2.14's known_hosts module
// edits it. The host's lines are found by the host's own `ssh-keygen -F` (patterns, hashed names,
// `[host]:port`), fed the file's text as the reader sees it (so check mode sees earlier tasks'
// writes); which line goes and what is appended is the pure `knownHostsEdit`.
import { createHmac, randomBytes } from 'node:crypto'
import { shQuote } from '../connection/quote.js'
import type { Module, Step } from './types.js'
import type { Vars } from '../model.js'
import { alias, bool, requireOneOf, choice, defineModule, guardPlan, moduleSchema, sections, str, toBool, ArgError, writeFileStep } from './lib/index.js'

const name = str('The host to add or remove (`example.com`, `[example.com]:2222`); must match the host field of key.')

export const knownHostsSchema = moduleSchema(
  {
    name,
    host: alias('name', name),
    key: str('The SSH public key line as known_hosts holds it (`host ssh-ed25519 AAAA…`). Required with state=present.'),
    path: str('The known_hosts file. Default `~/.ssh/known_hosts`.'),
    hash_host: bool('Hash the host name in the line written (`|1|salt|hash`).'),
    state: choice(['present', 'absent'], 'present: the key is in the file; absent: the key (or, without key, every line of the host) is not.'),
  },
  requireOneOf('name', 'host'),
)

interface KeyFields {
  options?: string
  host: string
  type: string
  key: string
}

/** Ansible's normalize_known_hosts_key: the fields of a line (an `@marker` first). */
export function normalizeKey(line: string): KeyFields {
  const k = line.trim().split(/\s+/)
  if (k[0]?.startsWith('@')) return { options: k[0], host: k[1], type: k[2], key: k[3] }
  return { host: k[0], type: k[1], key: k[2] }
}

const sameKey = (a: KeyFields, b: KeyFields) => a.options === b.options && a.host === b.host && a.type === b.type && a.key === b.key

/** Ansible's hash_host_key: the host field replaced by `|1|base64(salt)|base64(hmac-sha1(salt, host))`. */
export function hashHostKey(host: string, key: string, salt: Buffer = randomBytes(20)): string {
  const parts = key.trim().split(/\s+/)
  const i = parts[0]?.startsWith('@') ? 1 : 0
  parts[i] = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(host).digest('base64')}`
  return parts.join(' ')
}

export interface Search {
  found: boolean
  replace: boolean
  foundLine?: number
}

/** search_for_host_key on `ssh-keygen -F` output (lines `# Host h found: line N` before each line found). */
export function searchHostKey(stdout: string, key: string | undefined): Search {
  if (!key) return { found: true, replace: false }
  const want = normalizeKey(key)
  let foundLine: number | undefined
  for (const l of stdout.split('\n')) {
    if (l === '') continue
    if (l[0] === '#') {
      const m = /found: line (\d+)/.exec(l)
      if (m) foundLine = Number(m[1])
      continue
    }
    const have = normalizeKey(l)
    if (want.host.startsWith('|1|') && have.host.startsWith('|1|')) want.host = have.host
    if (sameKey(want, have)) return { found: true, replace: false, foundLine }
    if (want.type === have.type) return { found: true, replace: true, foundLine }
  }
  return { found: true, replace: true }
}

/** Python's str.splitlines(keepends=True). */
function splitKeepEnds(s: string, re: RegExp): string[] {
  const out: string[] = []
  let last = 0
  for (const m of s.matchAll(re)) {
    out.push(s.slice(last, m.index + m[0].length))
    last = m.index + m[0].length
  }
  if (last < s.length) out.push(s.slice(last))
  return out
}

/**
 * The file after the edit: the found line dropped (when replaced or removed), the key appended
 * (state=present). `diff` uses compute_diff's splitlines (every line break Python knows), the write
 * Python's file iteration (only "\n"), as Ansible does.
 */
export function knownHostsEdit(text: string, s: Search, state: 'present' | 'absent', key: string | undefined, forDiff = false): string {
  const lines = splitKeepEnds(text, forDiff ? /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g : /\n/g)
  if ((s.replace || state === 'absent') && s.foundLine !== undefined && s.foundLine >= 1 && s.foundLine <= lines.length) lines.splice(s.foundLine - 1, 1)
  if (state === 'present' && (forDiff ? s.replace || s.foundLine === undefined : true)) lines.push(key ?? '')
  return lines.join('')
}

const b64 = (s: string) => Buffer.from(s).toString('base64')

export const knownHostsModule: Module = defineModule({
  readAhead: false,
  name: 'known_hosts',
  description: "Adds or removes a host's key in an SSH known_hosts file, as Ansible's known_hosts module.",
  schema: knownHostsSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const host = String(args.name ?? args.host ?? '').toLowerCase()
      const state = String(args.state ?? 'present') as 'present' | 'absent'
      const hashHost = toBool(args.hash_host, false)
      let key = args.key === undefined || args.key === null || args.key === '' ? undefined : String(args.key)
      const rawPath = args.path === undefined || args.path === null ? '~/.ssh/known_hosts' : String(args.path)
      if (!key && state !== 'absent') throw new ArgError('No key specified when adding a host')
      if (key && hashHost) key = hashHostKey(host, key)
      if (key && !key.endsWith('\n')) key += '\n'
      if (key && /\S+(\s+)?,(\s+)?/.test(host))
        throw new ArgError('Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.')

      // `~` and `~user` as Python's expanduser on the host
      const tilde = /^~([^/]*)(\/.*)?$/.exec(rawPath)
      let path = rawPath
      if (tilde) {
        const r = await ctx.reader.probe(
          tilde[1] ? `getent passwd ${shQuote(tilde[1])} | cut -d: -f6` : 'printf "%s\\n" "${HOME:-$(getent passwd "$(id -un)" | cut -d: -f6)}"',
        )
        const home = r.stdout.toString().trim()
        if (home) path = home.replace(/\/$/, '') + (tilde[2] ?? '')
      }
      const info = (await ctx.reader.files([path], { content: true, follow: true })).get(path)!
      if (info.unknown) return { status: 'unknown', reason: info.unknown, steps: [] }
      const exists = info.exists
      const text = exists ? (info.content?.toString('utf8') ?? '') : ''

      // sanity check (the key names this host) and the search, both by the host's ssh-keygen
      const keygen = (content: string) => `printf %s ${shQuote(b64(content))} | base64 -d | ssh-keygen -F ${shQuote(host)} -f /dev/stdin`
      const script = [
        'command -v ssh-keygen >/dev/null || { echo @@missing; exit 0; }',
        ...(key ? ['echo @@sanity', `${keygen(key)} 2>/dev/null | head -c 1 | base64`] : []),
        ...(exists
          ? [
              'echo @@out',
              `${keygen(text)} 2>/dev/null | base64 | tr -d '\\n'; echo`,
              'echo @@err',
              `${keygen(text)} 2>&1 >/dev/null | base64 | tr -d '\\n'; echo`,
              'echo @@rc',
              `${keygen(text)} >/dev/null 2>&1; echo $?`,
            ]
          : []),
      ].join('\n')
      const s = sections((await ctx.reader.probe(script)).stdout.toString())
      if ('missing' in s)
        return { status: 'fail', msg: 'Failed to find required executable "ssh-keygen" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }
      if (key && !(s.sanity ?? '').trim()) throw new ArgError('Host parameter does not match hashed host field in supplied key')

      let search: Search = { found: false, replace: false }
      let foundLines: number[] = []
      if (exists) {
        const out = Buffer.from((s.out ?? '').trim(), 'base64').toString('utf8')
        const err = Buffer.from((s.err ?? '').trim(), 'base64').toString('utf8')
        const rc = Number((s.rc ?? '').trim())
        if (out === '' && err === '' && (rc === 0 || rc === 1)) search = { found: false, replace: false }
        else if (rc !== 0) return { status: 'fail', msg: `ssh-keygen failed (rc=${rc}, stdout='${out}',stderr='${err}')` }
        else {
          search = searchHostKey(out, key)
          foundLines = [...out.matchAll(/^#.*found: line (\d+)/gm)].map((m) => Number(m[1]))
        }
      }

      const diff = {
        before_header: exists ? path : '/dev/null',
        after_header: path,
        before: text,
        after: knownHostsEdit(text, search, state, key, true),
      }
      const result: Vars = { name: host, key: key ?? null, path, hash_host: hashHost, state, changed: false }
      if (ctx.diff) result.diff = diff
      if (state === 'absent' && search.foundLine === undefined && key) return { status: 'ok', result }
      const changes = search.replace || (state === 'present') !== search.found
      if (!changes) return { status: 'ok', result }
      result.changed = true
      const steps: Step[] = []
      const removeAll = search.found && !key && state === 'absent'
      if (removeAll)
        steps.push({
          describe: `ssh-keygen -R ${host} -f ${path}`,
          script: `ssh-keygen -R ${shQuote(host)} -f ${shQuote(path)}`,
          effects: [
            {
              path,
              state: 'file',
              content: Buffer.from(
                text
                  .split(/(?<=\n)/)
                  .filter((_, i) => !foundLines.includes(i + 1))
                  .join(''),
              ),
            },
            { path: `${path}.old`, state: 'file', content: Buffer.from(text) },
          ],
        })
      else steps.push(writeFileStep(path, Buffer.from(knownHostsEdit(text, search, state, key)), exists ? {} : { mode: '0644' }))
      return {
        status: 'change',
        changes: [
          {
            summary: `${state === 'present' ? (search.found ? 'replace' : 'add') : 'remove'} ${host} in ${path}`,
            ...(ctx.diff ? { diff: { path, before: diff.before, after: diff.after } } : {}),
          },
        ],
        steps,
        result,
      }
    }),
  result: (plan) => ({ ...((plan as { result?: Vars }).result ?? {}) }),
})
