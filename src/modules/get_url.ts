// get_url: a file downloaded from a URL onto the host. Idempotent by checksum: when the file on
// the host already matches, nothing is downloaded at all; a new file is verified on the host
// before it replaces the old one, so a mismatch leaves the old file in place. With
// `download: controller` the control machine fetches each URL once per run (shared by all hosts)
// and uploads it, for nodes without internet access.
import { createHash } from 'node:crypto'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { shQuote } from '../connection/quote.js'
import type { Step, Change } from './types.js'
import {
  ArgError,
  bool,
  choice,
  dict,
  guardPlan,
  int,
  modeSchema,
  moduleSchema,
  str,
  toBool,
  toInt,
  modeArg,
  attrSummaries,
  attrLines,
  defineModule,
  backupLines,
  atomicWriteScript,
  applySteps,
  planData,
} from './lib/index.js'
import { cutAt, trimEndOf } from '../text.js'

export const getUrlSchema = moduleSchema(
  {
    url: str('http, https or ftp URL to download.'),
    dest: str("Where to put the file on the host. An existing directory keeps the URL's file name."),
    checksum: str(
      '`ALGO:HEX` (sha256, sha512, sha1, md5) or `ALGO:URL` of a sums file (the line naming the file is used). When the file already matches, nothing is downloaded.',
    ),
    force: bool('Download again even when dest exists and no checksum is given (default: an existing dest is kept).'),
    mode: modeSchema(),
    owner: str('Owner of the file.'),
    group: str('Group of the file.'),
    timeout: int('Seconds before the download is abandoned. Default 10.'),
    headers: dict('Extra HTTP request headers, as a mapping.'),
    url_username: str('User name for HTTP basic authentication.'),
    url_password: str('Password for HTTP basic authentication.'),
    force_basic_auth: bool('Send basic authentication without waiting for a 401 challenge.'),
    validate_certs: bool("Verify the server's TLS certificate. Default true."),
    http_agent: str('User-Agent header. Default: k3sbook.'),
    use_proxy: bool('Use proxy settings from the environment. Default true.'),
    tmp_dest: str('Directory on the host for the partial download (default: beside dest).'),
    backup: bool('Keep a copy of the replaced file as DEST.TIMESTAMP~.'),
    download: choice(
      ['host', 'controller'],
      'k3sbook: where the bytes are fetched. `host` (default) downloads on each host; `controller` downloads once per run on the control machine and uploads to every host (air-gapped nodes).',
    ),
  },
  { required: ['url', 'dest'] },
)

const ALGOS = ['sha256', 'sha512', 'sha384', 'sha224', 'sha1', 'md5'] as const
export type Algo = (typeof ALGOS)[number]

export interface ChecksumSpec {
  algo: Algo
  /** The hex digest, or undefined while it still has to be read from `sumsUrl`. */
  hex?: string
  sumsUrl?: string
}

export function parseChecksum(s: string | undefined): ChecksumSpec | undefined {
  if (!s) return undefined
  const i = s.indexOf(':')
  if (i < 0) throw new ArgError(`get_url: checksum must be ALGO:HEX or ALGO:URL, got "${s}"`)
  const algo = s.slice(0, i).toLowerCase() as Algo
  if (!ALGOS.includes(algo)) throw new ArgError(`get_url: unsupported checksum algorithm "${algo}" (use one of ${ALGOS.join(', ')})`)
  const rest = s.slice(i + 1).trim()
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) return { algo, sumsUrl: rest }
  if (!/^[0-9a-fA-F]+$/.test(rest)) throw new ArgError(`get_url: checksum value "${rest}" is neither hex nor a URL`)
  return { algo, hex: rest.toLowerCase() }
}

/** The file name a URL downloads as (its last path segment, without query). */
export function urlFileName(url: string): string {
  const path = trimEndOf(cutAt(url, '?#'), '/')
  const name = decodeURIComponent(path.split('/').pop() ?? '')
  return name && !name.includes('://') ? name : 'index.html'
}

/**
 * Picks the digest for `fileName` from a sums file (`HEX  name`, `HEX *name`, or BSD style
 * `SHA256 (name) = HEX`); a file holding a single bare digest is taken as is, like Ansible.
 */
export function pickChecksumLine(sums: string, fileName: string): string | undefined {
  const lines = sums
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  for (const l of lines) {
    const bsd = /^[A-Za-z0-9-]+ \((.+)\) = ([0-9a-fA-F]+)$/.exec(l)
    if (bsd && baseName(bsd[1]) === fileName) return bsd[2].toLowerCase()
    // `HEX  name` / `HEX *name`, split by hand (/^([0-9a-fA-F]+)\s+\*?(.+)$/ is quadratic on spaces)
    const hex = /^[0-9a-fA-F]+/.exec(l)?.[0]
    const rest = hex ? l.slice(hex.length) : ''
    let name = rest.trimStart()
    if (name.startsWith('*')) name = name.slice(1)
    if (hex && name && rest !== name && rest[0].trim() === '' && (name === fileName || baseName(name.replace(/^\.\//, '')) === fileName))
      return hex.toLowerCase()
  }
  if (lines.length === 1 && /^[0-9a-fA-F]+$/.test(lines[0])) return lines[0].toLowerCase()
  return undefined
}
const baseName = (p: string) => p.split('/').pop() ?? p

export interface FetchOpts {
  timeout: number
  headers: Record<string, string>
  user?: string
  password?: string
  validateCerts: boolean
  agent: string
}

/** Downloader on the host: curl or wget, whichever exists, into "$tmp". */
export function downloadCommand(url: string, o: FetchOpts, out = '"$tmp"'): string {
  const curl = ['curl', '-fsSL', '--max-time', String(o.timeout), '-A', o.agent]
  const wget = ['wget', '-q', '-T', String(o.timeout), '-U', o.agent]
  if (!o.validateCerts) (curl.push('-k'), wget.push('--no-check-certificate'))
  const ch: string[] = []
  const wh: string[] = []
  for (const [k, v] of Object.entries(o.headers)) (ch.push('-H', `${k}: ${v}`), wh.push(`--header=${k}: ${v}`))
  const auth = o.user !== undefined
  return [
    'if command -v curl >/dev/null 2>&1; then',
    `  ${curl.map(shQuote).join(' ')} ${ch.map(shQuote).join(' ')} ${auth ? '-u "$K3SBOOK_USER:$K3SBOOK_PASS"' : ''} -o ${out} ${shQuote(url)}`,
    'elif command -v wget >/dev/null 2>&1; then',
    `  ${wget.map(shQuote).join(' ')} ${wh.map(shQuote).join(' ')} ${auth ? '--user="$K3SBOOK_USER" --password="$K3SBOOK_PASS"' : ''} -O ${out} ${shQuote(url)}`,
    'else echo "get_url: neither curl nor wget is installed on the host" >&2; exit 3; fi',
  ].join('\n')
}

function fetchOpts(args: Record<string, unknown>): FetchOpts {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries((args.headers as Record<string, unknown>) ?? {})) headers[k] = String(v)
  return {
    timeout: toInt(args.timeout, 10),
    headers,
    user: args.url_username === undefined ? undefined : String(args.url_username),
    password: args.url_password === undefined ? undefined : String(args.url_password),
    validateCerts: toBool(args.validate_certs, true),
    agent: String(args.http_agent ?? 'k3sbook'),
  }
}

// ---------------------------------------------------------------- controller downloads (once per run)

interface ControllerFile {
  path: string
  sha: Record<string, string>
  size: number
}
const controllerCache = new Map<string, Promise<ControllerFile>>()
let cacheDir: string | undefined
/** Counts real controller downloads (for tests and -v output). */
export const controllerStats = { downloads: 0 }

function dirForCache(): string {
  if (!cacheDir) {
    cacheDir = mkdtempSync(join(tmpdir(), 'k3sbook-get_url-'))
    const dir = cacheDir
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return cacheDir
}

/** Downloads `url` on the control machine once per run; concurrent callers share the same promise. */
export function controllerDownload(url: string, o: FetchOpts, checksum?: { algo: Algo; hex: string }): Promise<ControllerFile> {
  const key = `${url}\n${checksum ? `${checksum.algo}:${checksum.hex}` : ''}`
  let p = controllerCache.get(key)
  if (!p) {
    p = (async () => {
      controllerStats.downloads++
      const path = join(dirForCache(), String(controllerCache.size))
      const headers: Record<string, string> = { 'user-agent': o.agent, ...o.headers }
      if (o.user !== undefined) headers.authorization = 'Basic ' + Buffer.from(`${o.user}:${o.password ?? ''}`).toString('base64')
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(o.timeout * 1000) })
      if (!res.ok || !res.body) throw new Error(`get_url: ${url} answered HTTP ${res.status} ${res.statusText}`)
      const hashes = Object.fromEntries(['sha256', 'sha512', 'sha1', 'md5', 'sha384', 'sha224'].map((a) => [a, createHash(a)]))
      let size = 0
      const body = Readable.fromWeb(res.body as any)
      body.on('data', (b: Buffer) => {
        size += b.length
        for (const h of Object.values(hashes)) h.update(b)
      })
      await pipeline(body, createWriteStream(path))
      const sha = Object.fromEntries(Object.entries(hashes).map(([a, h]) => [a, h.digest('hex')]))
      if (checksum && sha[checksum.algo] !== checksum.hex) {
        await rm(path, { force: true })
        throw new Error(
          `get_url: checksum mismatch for ${url}: expected ${checksum.algo}:${checksum.hex}, got ${sha[checksum.algo]} (downloaded on the control machine; nothing uploaded)`,
        )
      }
      return { path, sha, size }
    })()
    controllerCache.set(key, p)
    p.catch(() => controllerCache.delete(key)) // a failed download may be retried by a later task
  }
  return p
}

/** Forgets controller downloads (a new run; tests). */
export function resetControllerDownloads(): void {
  controllerCache.clear()
  controllerStats.downloads = 0
}

// ---------------------------------------------------------------- the module

interface Pending {
  dest: string
  url: string
  checksum?: { algo: Algo; hex: string }
  controller: boolean
  fetch: FetchOpts
  attrs: { mode?: string; owner?: string; group?: string }
  tmpDir: string
}
const pendingPlans = planData<Pending>()

/**
 * The last step: verify the downloaded temp file on the host, then the shared atomic write with
 * that temp file as its content (attributes, backup, rename over dest).
 */
function finishScript(p: Pending, tmpExpr: string, backup: boolean): string {
  const c = p.checksum
  return [
    `dst=${shQuote(p.dest)}; tmp=${tmpExpr}`,
    `trap 'rm -f -- "$tmp"' EXIT`,
    c
      ? `got=$(${c.algo}sum < "$tmp" | cut -d' ' -f1); if [ "$got" != ${shQuote(c.hex)} ]; then echo "get_url: checksum mismatch for "${shQuote(p.url)}": expected ${c.algo}:${c.hex}, got $got; $dst left as it was" >&2; exit 4; fi`
      : ':',
    // Without a checksum a forced download may bring the same bytes: then nothing changes.
    `if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then echo "k3sbook:unchanged"; exit 0; fi`,
    atomicWriteScript(p.dest, {
      tempFile: '"$tmp"',
      beforeRename: [...attrLines('"$t"', p.attrs), ...(backup ? backupLines(p.dest, '"$d"') : [])],
      after: ['echo "k3sbook:written"'],
    }),
  ].join('\n')
}

export const getUrlModule = defineModule({
  resultAfterRun: true,
  name: 'get_url',
  description: 'Downloads a file from a URL onto the host, verified by checksum; skips the download when the file already matches.',
  schema: getUrlSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const url = String(args.url)
      const controller = args.download === 'controller'
      const fo = fetchOpts(args)
      const spec = parseChecksum(args.checksum === undefined ? undefined : String(args.checksum))
      let dest = String(args.dest)
      const first = (await ctx.reader.files([dest], { sha256: spec?.algo === 'sha256', follow: true })).get(dest)!
      let info = first
      if (first.exists && first.type === 'directory') {
        dest = `${dest.replace(/(?<!\/)\/+$/, '')}/${urlFileName(url)}`
        info = (await ctx.reader.files([dest], { sha256: spec?.algo === 'sha256', follow: true })).get(dest)!
      }
      let checksum: Pending['checksum']
      if (spec?.sumsUrl) {
        const sums = controller ? await controllerText(spec.sumsUrl, fo) : await hostText(ctx.reader.probe, spec.sumsUrl, fo)
        const hex = pickChecksumLine(sums, urlFileName(url))
        if (!hex) return { status: 'fail', msg: `get_url: no line for ${urlFileName(url)} in the checksum file ${spec.sumsUrl}` }
        checksum = { algo: spec.algo, hex }
      } else if (spec?.hex) checksum = { algo: spec.algo, hex: spec.hex }
      const attrs = { mode: modeArg(args.mode), owner: args.owner as string | undefined, group: args.group as string | undefined }
      let current: string | undefined
      if (info.exists && checksum) {
        current = checksum.algo === 'sha256' ? info.sha256 : await hostDigest(ctx.reader.probe, dest, checksum.algo)
      }
      const result = { dest, url, ...(checksum ? { checksum_src: checksum.hex } : {}), ...(current ? { checksum_dest: current } : {}) }
      const force = toBool(args.force, false)
      const contentOk = info.exists && info.type === 'file' && (checksum ? current === checksum.hex : !force)
      if (contentOk) {
        const changes = attrSummaries(info, attrs)
        if (changes.length === 0)
          return { status: 'ok', result: { ...result, msg: checksum ? 'file already matches the checksum' : 'file already exists', changed: false } }
        return {
          status: 'change',
          changes: changes.map((summary) => ({ summary })),
          steps: [
            {
              describe: `set attributes of ${dest}`,
              script: ['set -e', ...attrLines(shQuote(dest), attrs)].join('\n'),
              effects: [{ path: dest, state: 'file', sha256: info.sha256, ...attrs }],
            },
          ],
          result,
        }
      }
      const p: Pending = {
        dest,
        url,
        checksum,
        controller,
        fetch: fo,
        attrs,
        tmpDir: args.tmp_dest ? String(args.tmp_dest) : dest.replace(/\/[^/]*$/, '') || '/',
      }
      const changes: Change[] = [{ summary: info.exists ? `download ${url} → ${dest} (replaces a different file)` : `download ${url} → ${dest}` }]
      const effects = [{ path: dest, state: 'file' as const, ...(checksum?.algo === 'sha256' ? { sha256: checksum.hex } : {}), ...attrs }]
      const backup = toBool(args.backup, false)
      const env = fo.user !== undefined ? { K3SBOOK_USER: fo.user, K3SBOOK_PASS: fo.password ?? '' } : undefined
      const steps: Step[] = controller
        ? [
            { describe: `make a temp file for ${dest}`, script: `mktemp ${shQuote(p.tmpDir)}/.k3sbook-dl.XXXXXX` },
            { describe: `verify and install ${dest}`, script: finishScript(p, '"$1"', backup), effects },
          ]
        : [
            {
              describe: `download ${url} → ${dest}`,
              script: [
                `tmp=$(mktemp ${shQuote(p.tmpDir)}/.k3sbook-dl.XXXXXX) || exit 1`,
                `trap 'rm -f -- "$tmp"' EXIT`,
                downloadCommand(url, fo),
                'rc=$?',
                `if [ $rc -ne 0 ]; then echo "get_url: download of "${shQuote(url)}" failed (exit $rc)" >&2; exit $rc; fi`,
                finishScript(p, '"$tmp"', backup),
              ].join('\n'),
              env,
              timeoutMs: (fo.timeout + 30) * 1000,
              effects,
            },
          ]
      return pendingPlans.attach({ status: 'change', changes, steps, result }, p)
    }),
  async apply(plan, _args, ctx) {
    const p = pendingPlans.of(plan)
    if (!p || !p.controller) return applySteps(plan.steps, ctx)
    const file = await controllerDownload(p.url, p.fetch, p.checksum)
    const mk = await ctx.run(plan.steps[0])
    if (mk.rc !== 0) return [mk]
    const tmp = mk.stdout.toString().trim()
    const finish = plan.steps[1]
    if (ctx.upload) {
      await ctx.upload(file.path, tmp)
      return [mk, await ctx.run({ ...finish, script: `set -- ${shQuote(tmp)}\n${finish.script}` })]
    }
    // No upload channel: the bytes ride on the finishing step's stdin.
    const bytes = await readFile(file.path)
    const whole = `[ $(wc -c < "$1") -eq ${bytes.length} ] || { echo "short write: the download did not arrive whole" >&2; exit 1; }`
    return [mk, await ctx.run({ ...finish, script: `set -- ${shQuote(tmp)}\ncat > "$1" || exit 1\n${whole}\n${finish.script}`, stdin: bytes })]
  },
  result(plan, steps) {
    const base = { ...(plan.result ?? {}) }
    if (plan.status !== 'change' && plan.status !== 'unknown') return base
    if (!steps) return { ...base, changed: true }
    const out = steps.map((s) => s.stdout.toString()).join('')
    const unchanged = out.includes('k3sbook:unchanged')
    const failed = steps.some((s) => !(s.step.okCodes ?? [0]).includes(s.rc))
    return {
      ...base,
      changed: !failed && !unchanged,
      msg: failed ? steps[steps.length - 1].stderr.toString().trim() : unchanged ? 'file already has the downloaded content' : 'OK',
      status_code: failed ? undefined : 200,
    }
  },
})

async function controllerText(url: string, o: FetchOpts): Promise<string> {
  const f = await controllerDownload(url, o)
  return (await readFile(f.path)).toString('utf8')
}

async function hostText(probe: (s: string, o?: any) => Promise<{ rc: number; stdout: Buffer; stderr: Buffer }>, url: string, o: FetchOpts): Promise<string> {
  const r = await probe(
    ['tmp=/dev/stdout', downloadCommand(url, o, '-')].join('\n'),
    o.user !== undefined ? { env: { K3SBOOK_USER: o.user, K3SBOOK_PASS: o.password ?? '' } } : undefined,
  )
  if (r.rc !== 0) throw new ArgError(`get_url: could not read the checksum file ${url} on the host: ${r.stderr.toString().trim() || `exit ${r.rc}`}`)
  return r.stdout.toString('utf8')
}

async function hostDigest(probe: (s: string) => Promise<{ rc: number; stdout: Buffer }>, path: string, algo: Algo): Promise<string | undefined> {
  const r = await probe(`${algo}sum < ${shQuote(path)} | cut -d' ' -f1`)
  return r.rc === 0 ? r.stdout.toString().trim() : undefined
}
