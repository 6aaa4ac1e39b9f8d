// uri: an HTTP request made from the host with curl, checked against the expected status codes,
// with the body returned (and parsed when it is JSON). As in Ansible the task reports changed=false
// unless `dest` is written. Safe methods (GET, HEAD, OPTIONS) are read-only, so they run inside
// plan() as a probe and give real results in check mode too; other methods run only when applied.
import { shQuote } from '../connection/quote.js'
import type { Step, StepResult } from './types.js'
import {
  alias,
  ArgError,
  bool,
  choice,
  dict,
  guardPlan,
  int,
  intList,
  moduleSchema,
  pick,
  sha256,
  str,
  toBool,
  toInt,
  toList,
  writeFileStep,
  defineModule,
  planData,
} from './lib/index.js'
import type { Vars } from '../model.js'
import { hostReadLimit, tooLarge } from './lib/limits.js'

export const uriSchema = moduleSchema(
  {
    url: str('http or https URL to request.'),
    method: str('HTTP method, one upper-case word. Default GET.'),
    body: { description: 'Request body: text, or data encoded as `body_format` says.' },
    body_format: choice(
      ['raw', 'json', 'form-urlencoded'],
      'How `body` is encoded: `json` serializes data and sets Content-Type; `form-urlencoded` encodes a mapping. Default raw.',
    ),
    status_code: intList('Status codes that count as success. Default [200].'),
    return_content: bool('Return the body in `content` (JSON bodies are always parsed into `json`).'),
    headers: dict('Request headers, as a mapping.'),
    validate_certs: bool("Verify the server's TLS certificate. Default true."),
    timeout: int('Seconds before the request is abandoned. Default 30.'),
    url_username: str('User name for HTTP basic authentication.'),
    user: alias('url_username', str('')),
    url_password: str('Password for HTTP basic authentication.'),
    password: alias('url_password', str('')),
    force_basic_auth: bool('Send basic authentication without waiting for a 401 challenge.'),
    follow_redirects: choice(
      ['all', 'no', 'none', 'safe', 'urllib2', 'yes'],
      'Follow redirects: `safe` (default) only for GET/HEAD, `all` always, `none` never.',
    ),
    dest: str("Write the body to this file on the host (GET/HEAD/OPTIONS only); the task changes only when the file's content does."),
    creates: str('Skip the request when this path exists on the host.'),
    removes: str('Skip the request unless this path exists on the host.'),
    ca_path: str('CA certificate file on the host to verify the server with.'),
    unix_socket: str('Connect through this Unix socket on the host.'),
    http_agent: str('User-Agent header. Default ansible-httpget.'),
    use_proxy: bool('Use proxy settings from the environment. Default true.'),
    client_cert: str('Client certificate (PEM) on the host.'),
    client_key: str('Client private key (PEM) on the host.'),
  },
  { required: ['url'] },
)

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])
const MARK = '@@k3sbook-uri@@'

export interface UriRequest {
  url: string
  method: string
  headers: Record<string, string>
  body?: string
  followRedirects: boolean
  timeout: number
  validateCerts: boolean
  auth?: { force: boolean }
  agent: string
  caPath?: string
  clientCert?: string
  clientKey?: string
  unixSocket?: string
  useProxy: boolean
}

/** `a=1&b=two%20words`, as Python's urlencode (spaces as +). */
export function formUrlencode(body: unknown): string {
  if (typeof body === 'string') return body
  const pairs: [string, unknown][] = Array.isArray(body) ? (body as [string, unknown][]) : Object.entries((body ?? {}) as Record<string, unknown>)
  const enc = (v: unknown) => encodeURIComponent(String(v)).replace(/%20/g, '+')
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')
}

/** The request from the task's arguments (body encoded, Content-Type set as Ansible does). */
export function uriRequest(args: Vars): UriRequest {
  const method = String(args.method ?? 'GET').toUpperCase()
  if (!/^[A-Z]+$/.test(method)) throw new ArgError("Parameter 'method' needs to be a single word in uppercase, like GET or POST.")
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries((args.headers as Record<string, unknown>) ?? {})) headers[k] = String(v)
  const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')
  const fmt = String(args.body_format ?? 'raw').toLowerCase()
  let body: string | undefined
  if (args.body !== undefined && args.body !== null) {
    if (fmt === 'json') {
      body = typeof args.body === 'string' ? args.body : JSON.stringify(args.body)
      if (!hasType) headers['Content-Type'] = 'application/json'
    } else if (fmt === 'form-urlencoded') {
      body = formUrlencode(args.body)
      if (!hasType) headers['Content-Type'] = 'application/x-www-form-urlencoded'
    } else body = typeof args.body === 'string' ? args.body : JSON.stringify(args.body)
  }
  const fr = String(args.follow_redirects ?? 'safe')
  const user = pick<string>(args, 'url_username', 'user')
  return {
    url: String(args.url),
    method,
    headers,
    body,
    followRedirects: fr === 'all' || fr === 'yes' || ((fr === 'safe' || fr === 'urllib2') && (method === 'GET' || method === 'HEAD')),
    timeout: toInt(args.timeout, 30),
    validateCerts: toBool(args.validate_certs, true),
    auth: user !== undefined ? { force: toBool(args.force_basic_auth, false) } : undefined,
    agent: String(args.http_agent ?? 'ansible-httpget'),
    caPath: args.ca_path as string | undefined,
    clientCert: args.client_cert as string | undefined,
    clientKey: args.client_key as string | undefined,
    unixSocket: args.unix_socket as string | undefined,
    useProxy: toBool(args.use_proxy, true),
  }
}

/**
 * The curl command: headers and body on stdout, then a marker line with status, final URL and
 * body size, then curl's exit code. Credentials come from the environment, never the command line.
 * A body the response announces (Content-Length) as larger than the limit the controller reads is
 * not downloaded at all: curl stops at the headers (exit 63), and bodyTooLarge reports the size.
 */
export function curlScript(q: UriRequest, maxBody = hostReadLimit()): string {
  const a = ['curl', '-sS', '-D', '-', '--max-time', String(q.timeout), '-A', q.agent]
  if (q.method === 'HEAD') a.push('--head')
  else if (q.method !== 'GET' || q.body !== undefined) a.push('-X', q.method)
  if (q.method !== 'HEAD') a.push('--max-filesize', String(maxBody))
  if (q.followRedirects) a.push('-L')
  if (!q.validateCerts) a.push('-k')
  if (q.caPath) a.push('--cacert', q.caPath)
  if (q.clientCert) a.push('--cert', q.clientCert)
  if (q.clientKey) a.push('--key', q.clientKey)
  if (q.unixSocket) a.push('--unix-socket', q.unixSocket)
  if (!q.useProxy) a.push('--noproxy', '*')
  for (const [k, v] of Object.entries(q.headers)) a.push('-H', `${k}: ${v}`)
  if (q.body !== undefined) a.push('--data-binary', '@-')
  if (q.auth) a.push(q.auth.force ? '--basic' : '--anyauth')
  a.push('-w', `\\n${MARK} %{http_code} %{size_download} %{url_effective}\\n`)
  return [
    'command -v curl >/dev/null 2>&1 || { echo "uri: curl is not installed on the host" >&2; exit 3; }',
    `${a.map(shQuote).join(' ')}${q.auth ? ' -u "$K3SBOOK_USER:$K3SBOOK_PASS"' : ''} -- ${shQuote(q.url)}${q.body === undefined ? ' </dev/null' : ''}`,
    'echo "@@rc $?"',
  ].join('\n')
}

export interface UriResponse {
  /** curl's exit code (0: a response arrived). */
  rc: number
  status: number
  url: string
  reason: string
  headers: Record<string, string>
  body: Buffer
  /** The body's size as curl counted it (the body itself is empty when it was too large to keep). */
  size?: number
}

/** Headers and status lines besides the body in curl's output, at most (the cap is the body's limit plus this). */
const HEADER_ROOM = 1024 * 1024

/**
 * The failure for a body larger than the limit (its bytes were not kept), or undefined. Only for a
 * response that arrived whole: when curl stopped early (its timeout), the size it counted is not the
 * body's, and the request's own failure says what happened.
 */
export function bodyTooLarge(resp: UriResponse, url: string, limit = hostReadLimit()): string | undefined {
  if (resp.rc === 0 && resp.size !== undefined && resp.size > limit) return `uri: ${tooLarge(`the response body of ${url}`, resp.size, limit)}`
  // curl's --max-filesize (curlScript): stopped at a Content-Length over the limit, or (curl ≥ 8.4)
  // once more than the limit arrived of a body of unknown length
  if (resp.rc === 63) {
    const announced = Number(resp.headers.content_length)
    return `uri: ${tooLarge(`the response body of ${url}`, Number.isSafeInteger(announced) && announced > limit ? announced : undefined, limit)}`
  }
  return undefined
}

/** Splits curl's output (see curlScript) into the last response's status line, headers and body. */
export function parseCurlOutput(out: Buffer): UriResponse {
  // Searched as bytes and only the small pieces made strings: the body may be 64 MiB.
  const rcAt = out.lastIndexOf('\n@@rc ', undefined, 'latin1')
  const rc =
    rcAt >= 0
      ? Number(
          out
            .subarray(rcAt + 6)
            .toString('latin1')
            .trim(),
        )
      : -1
  const markAt = out.lastIndexOf(`\n${MARK} `, undefined, 'latin1')
  if (markAt < 0) return { rc: rc || -1, status: -1, url: '', reason: '', headers: {}, body: Buffer.alloc(0) }
  const [code, size, ...u] = out
    .subarray(markAt + MARK.length + 2, rcAt >= 0 ? rcAt : undefined)
    .toString('latin1')
    .trim()
    .split(' ')
  const bodyLen = Number(size)
  // more body than arrived: the output was capped (head and tail kept); the body is not there
  if (!(bodyLen <= markAt)) return { rc, status: Number(code) || -1, url: u.join(' '), reason: '', headers: {}, body: Buffer.alloc(0), size: bodyLen }
  const bodyStart = markAt - bodyLen
  const head = out.subarray(0, bodyStart).toString('latin1')
  // With redirects and 1xx answers there are several header blocks; the last one is the response's.
  const blocks = head.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b))
  const last = blocks[blocks.length - 1] ?? ''
  const [statusLine, ...hl] = last.split(/\r?\n/)
  const headers: Record<string, string> = {}
  for (const l of hl) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase().replace(/-/g, '_')] = l.slice(i + 1).trim()
  }
  return {
    rc,
    status: Number(code) || -1,
    url: u.join(' '),
    reason: statusLine.replace(/^HTTP\/\S+\s+\d+\s*/, ''),
    headers,
    body: out.subarray(bodyStart, markAt),
    size: bodyLen,
  }
}

function isJsonType(ct: string | undefined): boolean {
  const t = (ct ?? '').split(';')[0].trim().toLowerCase()
  const sub = t.split('/')[1] ?? ''
  const s = sub.includes('+') ? sub.split('+').pop()! : sub
  return ['json', 'javascript'].includes(s)
}

/** Ansible's result for a response: status, url, redirected, msg, headers, content/json, and failed when the status is not wanted. */
export function uriResult(resp: UriResponse, req: UriRequest, statusCodes: number[], returnContent: boolean, stderr = ''): Vars {
  const ok = statusCodes.includes(resp.status)
  const maybeJson = isJsonType(resp.headers.content_type)
  const r: Vars = { ...resp.headers, status: resp.status, url: resp.url || req.url, redirected: (resp.url || req.url) !== req.url, elapsed: 0, changed: false }
  let msg: string
  if (resp.rc !== 0) msg = `Request failed: ${stderr.trim() || `curl exit code ${resp.rc}`}`
  else if (resp.status >= 400) msg = `HTTP Error ${resp.status}: ${resp.reason}`
  else msg = `OK (${resp.headers.content_length ?? 'unknown'} bytes)`
  const text = resp.body.toString('utf8')
  if (maybeJson) {
    try {
      r.json = JSON.parse(text)
    } catch {
      /* not JSON after all: Ansible leaves json out too */
    }
  }
  if (returnContent) r.content = text
  if (!ok) return { ...r, failed: true, msg: `Status code was ${resp.status} and not ${JSON.stringify(statusCodes).replace(/,/g, ', ')}: ${msg}` }
  return { ...r, msg }
}

interface Pending {
  req: UriRequest
  statusCodes: number[]
  returnContent: boolean
}
const pendingPlans = planData<Pending>()

export const uriModule = defineModule({
  resultAfterRun: true,
  name: 'uri',
  description: 'Makes an HTTP request from the host and checks the status; returns status, content and parsed json.',
  schema: uriSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const req = uriRequest(args)
      const statusCodes = toList(args.status_code ?? [200]).map((x) => Number(x))
      const returnContent = toBool(args.return_content, false)
      const dest = args.dest === undefined ? undefined : String(args.dest)
      if (dest !== undefined && !SAFE.has(req.method)) throw new ArgError(`uri: dest is supported with GET, HEAD and OPTIONS only (method is ${req.method})`)
      const env = req.auth
        ? { K3SBOOK_USER: String(pick(args, 'url_username', 'user')), K3SBOOK_PASS: String(pick(args, 'url_password', 'password') ?? '') }
        : undefined
      const guards = [args.creates, args.removes].filter((x) => x !== undefined).map(String)
      if (guards.length) {
        const f = await ctx.reader.files(guards)
        if (args.creates !== undefined && f.get(String(args.creates))?.exists)
          return {
            status: 'skip',
            reason: `skipped, since '${args.creates}' exists`,
            result: { changed: false, stdout: `skipped, since '${args.creates}' exists` },
          }
        if (args.removes !== undefined && !f.get(String(args.removes))?.exists)
          return {
            status: 'skip',
            reason: `skipped, since '${args.removes}' does not exist`,
            result: { changed: false, stdout: `skipped, since '${args.removes}' does not exist` },
          }
      }
      const maxOutput = hostReadLimit() + HEADER_ROOM
      const step: Step = {
        describe: `${req.method} ${req.url}`,
        script: curlScript(req),
        stdin: req.body,
        env,
        timeoutMs: (req.timeout + 10) * 1000,
        maxOutput,
      }
      if (!SAFE.has(req.method)) {
        return pendingPlans.attach(
          { status: 'unknown', reason: `a ${req.method} request is sent only when applied`, changes: [{ summary: `${req.method} ${req.url}` }], steps: [step] },
          { req, statusCodes, returnContent },
        )
      }
      const r = await ctx.reader.probe(step.script, { stdin: req.body, env, maxOutput })
      if (r.rc === 3) return { status: 'fail', msg: r.stderr.toString().trim() }
      const resp = parseCurlOutput(r.stdout)
      const big = bodyTooLarge(resp, req.url)
      if (big) return { status: 'fail', msg: big, result: { status: resp.status, url: resp.url || req.url, changed: false } }
      const result = uriResult(resp, req, statusCodes, returnContent, r.stderr.toString())
      if (result.failed) {
        // Check mode: the server may be one an earlier, unapplied task starts.
        if (ctx.reader.hasPending())
          return {
            status: 'unknown',
            reason: `${result.msg} (the answer may change once earlier changes are applied)`,
            steps: [],
            result: { ...result, failed: undefined },
          }
        return { status: 'fail', msg: String(result.msg), result }
      }
      if (dest === undefined || resp.status === 304) return { status: 'ok', result }
      const info = (await ctx.reader.files([dest], { sha256: true, follow: true })).get(dest)!
      const withPath = { ...result, path: dest }
      if (info.exists && info.sha256 === sha256(resp.body)) return { status: 'ok', result: withPath }
      return {
        status: 'change',
        changes: [{ summary: `write the response body (${resp.body.length} bytes) to ${dest}` }],
        steps: [writeFileStep(dest, resp.body, {})],
        result: { ...withPath, changed: true },
      }
    }),
  result(plan, steps) {
    const p = pendingPlans.of(plan)
    if (!p) return { ...(plan.result ?? {}) }
    if (!steps?.length) return { changed: false, url: p.req.url }
    const s: StepResult = steps[0]
    if (s.rc === 3) return { failed: true, msg: s.stderr.toString().trim(), changed: false }
    const big = bodyTooLarge(parseCurlOutput(s.stdout), p.req.url)
    if (big) return { failed: true, msg: big, changed: false, url: p.req.url }
    return uriResult(parseCurlOutput(s.stdout), p.req, p.statusCodes, p.returnContent, s.stderr.toString())
  },
})
