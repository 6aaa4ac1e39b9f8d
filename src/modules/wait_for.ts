// wait_for: waits on the host for a TCP port to open or close, a file to appear or go, or a regex
// to show up in a file, with a timeout. It changes nothing, so the wait runs as a read-only probe
// inside plan(): the task reports ok (never changed) or fails when the time runs out, in check
// mode too. dash has no /dev/tcp, so a port is tested with bash's /dev/tcp when bash exists, else
// python3, else nc; a host with none of them fails with that said.
import { shQuote } from '../connection/quote.js'
import type { Module } from './types.js'
import { choice, guardPlan, int, moduleSchema, str, strList, toInt, toList, ArgError, parseKeyValues, defineModule, pathInfo } from './lib/index.js'
import { pyRegex } from '../template/pyregex.js'

export const waitForSchema = moduleSchema({
  host: str('Host name or address to connect to, seen from the target host. Default 127.0.0.1.'),
  port: int('TCP port to wait for.'),
  path: str('File to wait for (present, or containing `search_regex`), or to go away with state=absent.'),
  search_regex: str('Regular expression (extended, as grep -E) the file must contain.'),
  state: choice(
    ['started', 'stopped', 'present', 'absent', 'drained'],
    'Port: `started` (accepting) or `stopped` (refusing); path: `present`/`started` or `absent`. Default: started.',
  ),
  timeout: int('Seconds to wait in total. Default 300.'),
  connect_timeout: int('Seconds for each connection attempt. Default 5.'),
  delay: int('Seconds to wait before the first check. Default 0.'),
  sleep: int('Seconds between checks. Default 1.'),
  msg: str('Message for the failure when the time runs out.'),
  exclude_hosts: strList('With state=drained: connections from these hosts do not count.'),
  active_connection_states: strList(
    'With state=drained: the TCP states that count as a connection still open. Default ESTABLISHED, FIN_WAIT1, FIN_WAIT2, SYN_RECV, SYN_SENT, TIME_WAIT.',
  ),
})

export interface WaitSpec {
  host: string
  port?: number
  path?: string
  regex?: string
  /** As given (Ansible reports it so): started/present wait for the port or file, stopped/absent for it to go, drained for the port's connections to end. */
  state: 'started' | 'stopped' | 'present' | 'absent' | 'drained'
  /** drained: /proc/net/tcp state codes that count, and hosts whose connections do not. */
  activeStates: string[]
  excludeHosts: string[]
  timeout: number
  connectTimeout: number
  delay: number
  sleep: number
}

/** Ansible 2.14's wait_for checks and messages, in its order. */
export function waitSpec(args: Record<string, unknown>): WaitSpec {
  const state = String(args.state ?? 'started') as WaitSpec['state']
  const port = toInt(args.port)
  const path = args.path === undefined || args.path === null ? undefined : String(args.path)
  if (port && path !== undefined) throw new ArgError('port and path parameter can not both be passed to wait_for')
  if (path !== undefined && state === 'stopped') throw new ArgError('state=stopped should only be used for checking a port in the wait_for module')
  if (path !== undefined && state === 'drained') throw new ArgError('state=drained should only be used for checking a port in the wait_for module')
  if (state === 'drained' && !port) throw new ArgError('wait_for: state=drained needs a port')
  if (args.exclude_hosts !== undefined && args.exclude_hosts !== null && state !== 'drained')
    throw new ArgError('exclude_hosts should only be with state=drained')
  const activeStates = (
    args.active_connection_states === undefined || args.active_connection_states === null
      ? ['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'SYN_RECV', 'SYN_SENT', 'TIME_WAIT']
      : toList(args.active_connection_states)
  ).map((s) => {
    const id = TCP_STATES[s]
    if (!id) throw new ArgError(`unknown active_connection_state (${s}) defined`)
    return id
  })
  if (args.search_regex !== undefined && args.search_regex !== null && port !== undefined)
    throw new ArgError('wait_for: search_regex with a port is not supported by k3sbook; use it with path')
  return {
    host: String(args.host ?? '127.0.0.1'),
    port: port || undefined,
    path,
    regex: args.search_regex === undefined || args.search_regex === null ? undefined : String(args.search_regex),
    state,
    timeout: toInt(args.timeout, 300),
    connectTimeout: toInt(args.connect_timeout, 5),
    delay: toInt(args.delay, 0),
    sleep: Math.max(toInt(args.sleep, 1), 0),
    activeStates,
    excludeHosts: args.exclude_hosts === undefined || args.exclude_hosts === null ? [] : toList(args.exclude_hosts),
  }
}

/** The TCP states active_connection_states may name, as /proc/net/tcp codes them (Ansible's get_connection_state_id). */
const TCP_STATES: Record<string, string> = { ESTABLISHED: '01', SYN_SENT: '02', SYN_RECV: '03', FIN_WAIT1: '04', FIN_WAIT2: '05', TIME_WAIT: '06' }

/**
 * drained, as Ansible's LinuxTCPConnectionInfo: the connections in /proc/net/tcp and tcp6 on the
 * port, in an active state, to one of `host`'s addresses (getaddrinfo: getent ahosts; an IPv4
 * address also as ::ffff:a.b.c.d; 0.0.0.0 and :: match any local address), from a peer not among
 * `exclude_hosts`' addresses. Addresses are compared as the kernel writes them: hex, each 32-bit
 * word little-endian. `count()` prints how many there are.
 */
function drainedScript(w: WaitSpec): string[] {
  const awk = `
function hexval(c) { return index("0123456789abcdef", tolower(c)) - 1 }
function num(h,   i, n) { n = 0; for (i = 1; i <= length(h); i++) n = n * 16 + hexval(substr(h, i, 1)); return n }
function le(w) { return substr(w, 7, 2) substr(w, 5, 2) substr(w, 3, 2) substr(w, 1, 2) }
function v4(ip,   a) { split(ip, a, "."); return sprintf("%02X%02X%02X%02X", a[4], a[3], a[2], a[1]) }
function v6(ip,   p, n, h, t, nh, nt, W, k, i, a, out) {
  if (index(ip, ".")) { n = split(ip, a, ":"); split(a[n], p, "."); sub(/[^:]*$/, sprintf("%x:%x", p[1] * 256 + p[2], p[3] * 256 + p[4]), ip) }
  n = split(ip, p, "::"); nh = p[1] == "" ? 0 : split(p[1], h, ":"); nt = (n < 2 || p[2] == "") ? 0 : split(p[2], t, ":")
  k = 0; for (i = 1; i <= nh; i++) W[++k] = h[i]; for (i = 0; i < 8 - nh - nt; i++) W[++k] = "0"; for (i = 1; i <= nt; i++) W[++k] = t[i]
  out = ""; for (i = 1; i <= 8; i += 2) out = out le(sprintf("%04X%04X", num(W[i]), num(W[i + 1])))
  return out
}
FNR == 1 { f++ }
f <= 2 && $1 == "-" { next }
f == 1 { if ($1 ~ /:/) IP6[v6($1)] = 1; else { IP4[v4($1)] = 1; IP6[v6("::ffff:" $1)] = 1 }; next }
f == 2 { if ($1 ~ /:/) X6[v6($1)] = 1; else { X4[v4($1)] = 1; X6[v6("::ffff:" $1)] = 1 }; next }
$2 == "local_address" || $2 == "" { next }
{
  six = FILENAME ~ /6$/
  if (!((" " $4 " ") ~ (" (" S ") "))) next
  split($2, L, ":"); split($3, R, ":")
  if (L[2] != P) next
  if (six ? (R[1] in X6) : (R[1] in X4)) next
  if (six ? ((L[1] in IP6) || ("00000000000000000000000000000000" in IP6) || (substr(L[1], 1, 24) == "0000000000000000FFFF0000" && ("0000000000000000FFFF000000000000" in IP6))) : ((L[1] in IP4) || ("00000000" in IP4))) c++
}
END { print c + 0 }`
  return [
    `H=${shQuote(w.host)}; X=${shQuote(w.excludeHosts.join(' '))}`,
    `ips() { for h in "$@"; do getent ahosts "$h" 2>/dev/null | awk '{ print $1 }'; done | sort -u; }`,
    `count() { a=$(mktemp) && b=$(mktemp) || return 1; ips "$H" > "$a"; ips $X > "$b"; echo - >> "$a"; echo - >> "$b"; awk -v P=${(w.port ?? 0).toString(16).toUpperCase().padStart(4, '0')} -v S=${shQuote(w.activeStates.join('|'))} ${shQuote(awk)} "$a" "$b" /proc/net/tcp /proc/net/tcp6 2>/dev/null; rm -f "$a" "$b"; }`,
    'ready() { [ "$(count)" = 0 ]; }',
  ]
}

const MATCH_MAX = 65536

/**
 * The wait as a POSIX sh script, Ansible's loop: after `delay`, with neither port nor path it sleeps
 * `timeout` and succeeds; else it looks while the time is not out (a timeout of 0 never looks), and
 * sleeps `sleep` between looks. Prints `elapsed=N` (whole seconds, as Python's timedelta.seconds)
 * and exits 0, or 1 on timeout, 3 when no port tester exists; `once`: one look, whatever the time. A search_regex is Python's `re`
 * (MULTILINE) over the whole file: GNU grep's -P (PCRE) reads the file as one record (-z), or -E
 * where grep has no -P (BusyBox); the first match goes back (base64, at most 64 kB) for its groups.
 */
export function waitScript(w: WaitSpec, once = false): string {
  const check: string[] = []
  let match = ''
  const absent = w.state === 'stopped' || w.state === 'absent'
  if (w.port !== undefined && w.state === 'drained') check.push(...drainedScript(w))
  else if (w.port !== undefined) {
    check.push(
      'probe() {',
      '  if command -v bash >/dev/null 2>&1; then',
      `    timeout ${w.connectTimeout} bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$H" "$P" >/dev/null 2>&1`,
      '  elif command -v python3 >/dev/null 2>&1; then',
      `    python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()' "$H" "$P" ${w.connectTimeout} >/dev/null 2>&1`,
      '  elif command -v nc >/dev/null 2>&1; then',
      `    nc -z -w ${w.connectTimeout} "$H" "$P" >/dev/null 2>&1`,
      '  else echo "wait_for: the host has none of bash, python3 or nc to test a TCP port" >&2; exit 3; fi',
      '}',
      `H=${shQuote(w.host)}; P=${w.port}`,
      absent ? 'ready() { ! probe; }' : 'ready() { probe; }',
    )
  } else if (w.path !== undefined) {
    check.push(`F=${shQuote(w.path)}`)
    if (absent) check.push('ready() { ! [ -e "$F" ]; }')
    else if (w.regex !== undefined) {
      check.push(
        `R=${shQuote('(?m)' + w.regex)}; RE=${shQuote(w.regex)}`,
        'if printf x | grep -Pq x 2>/dev/null; then G=-P; else G=-E; R=$RE; fi',
        'ready() { [ -r "$F" ] && grep $G -zq -- "$R" "$F" 2>/dev/null; }',
      )
      match = `printf 'match='; grep $G -zo -- "$R" "$F" 2>/dev/null | { head -zn1 2>/dev/null || cat; } | head -c ${MATCH_MAX} | base64 | tr -d '\n'; echo`
    } else check.push('ready() { [ -e "$F" ]; }')
  }
  const now = [
    // hundredths of a second (the kernel's uptime; `date +%s` would make a 2 s timeout last 1-2 s)
    `now_cs() { if read u _ </proc/uptime 2>/dev/null; then v=$(echo "\${u%.*}\${u#*.}" | sed 's/^0*//'); echo "\${v:-0}"; else echo "$(( $(date +%s) * 100 ))"; fi; }`,
    `start=$(now_cs); [ ${w.delay} -gt 0 ] && sleep ${w.delay}`,
  ]
  const done = 'echo "elapsed=$(( ($(now_cs) - start) / 100 ))"'
  if (!check.length) return [...now, `sleep ${w.timeout}`, done, 'exit 0'].join('\n')
  const found = `${done}; ${match ? match + '; ' : ''}exit 0`
  // one look (check mode before earlier changes are applied: it says unknown rather than wait)
  if (once) return [...check, ...now, `if ready; then ${found}; fi`, done, 'exit 1'].join('\n')
  return [
    ...check,
    ...now,
    `deadline=$((start + ${w.timeout} * 100))`,
    'while [ "$(now_cs)" -lt "$deadline" ]; do',
    `  if ready; then ${found}; fi`,
    `  sleep ${w.sleep}`,
    'done',
    done,
    'exit 1',
  ].join('\n')
}

export function timeoutMessage(w: WaitSpec): string {
  const absent = w.state === 'stopped' || w.state === 'absent'
  if (w.port !== undefined && w.state === 'drained') return `Timeout when waiting for ${w.host}:${w.port} to drain`
  if (w.port !== undefined) return absent ? `Timeout when waiting for ${w.host}:${w.port} to stop.` : `Timeout when waiting for ${w.host}:${w.port}`
  if (w.path !== undefined && absent) return `Timeout when waiting for ${w.path} to be absent.`
  if (w.path !== undefined && w.regex !== undefined) return `Timeout when waiting for search string ${w.regex} in ${w.path}`
  return `Timeout when waiting for file ${w.path}`
}

/** What is awaited, as the check-mode reason says it. */
export function awaited(w: WaitSpec): string {
  const absent = w.state === 'stopped' || w.state === 'absent'
  if (w.port !== undefined && w.state === 'drained') return `${w.host}:${w.port} still has connections`
  if (w.port !== undefined) return `${w.host}:${w.port} ${absent ? 'still accepts connections' : 'is not open yet'}`
  if (w.path !== undefined && w.regex !== undefined) return `${w.path} does not contain ${w.regex} yet`
  if (w.path !== undefined) return absent ? `${w.path} is still there` : `${w.path} does not exist yet`
  return 'the condition is not met yet'
}

/** match_groups and match_groupdict of the first match (Python's groups() and groupdict(); empty when it has none). */
function matchGroups(regex: string, matched: string): { match_groups: unknown[]; match_groupdict: Record<string, unknown> } {
  try {
    const m = pyRegex(regex, { multiline: true }).exec(matched)
    if (!m) return { match_groups: [], match_groupdict: {} }
    return {
      match_groups: m.slice(1).map((g) => g ?? null),
      match_groupdict: Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, v ?? null])),
    }
  } catch {
    return { match_groups: [], match_groupdict: {} }
  }
}

export const waitForModule = defineModule({
  name: 'wait_for',
  description: 'Waits on the host for a port to open or close, a file to appear or go, or text to show up in a file.',
  schema: waitForSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const w = waitSpec(args)
      // Check mode with earlier changes not applied: what we would wait for may be exactly what
      // they bring (a service started, a file written). Look once instead of waiting out the timeout.
      const pending = ctx.reader.hasPending()
      const r = await ctx.reader.probe(pending ? waitScript({ ...w, timeout: 0, delay: 0 }, true) : waitScript(w))
      if (pending && r.rc === 1)
        return {
          status: 'unknown',
          reason: `${awaited(w)}; it may ${w.state === 'stopped' || w.state === 'absent' ? 'go' : 'appear'} once earlier changes are applied`,
          steps: [],
        }
      const out = parseKeyValues(r.stdout.toString())
      const elapsed = Number(out.elapsed ?? 0)
      if (r.rc === 1) return { status: 'fail', msg: args.msg ? String(args.msg) : timeoutMessage(w), result: { changed: false, elapsed } }
      if (r.rc !== 0)
        return { status: 'fail', msg: r.stderr.toString().trim() || `wait_for: probe failed with exit code ${r.rc}`, result: { changed: false, elapsed } }
      const groups =
        w.regex !== undefined && out.match
          ? matchGroups(w.regex, Buffer.from(out.match, 'base64').toString('utf8').replace(/\0$/, ''))
          : { match_groups: [], match_groupdict: {} }
      // Ansible's exit_json: every key, null where not given; with a path that is there, that
      // path's state and attributes (add_path_info: `state` becomes file, directory or link)
      let info: Record<string, unknown> = {}
      if (w.path !== undefined) {
        const i = (await ctx.reader.files([w.path])).get(w.path)
        if (i?.exists) info = pathInfo(i)
      }
      const result = { changed: false, state: w.state, port: w.port ?? null, search_regex: w.regex ?? null, ...groups, path: w.path ?? null, elapsed, ...info }
      return { status: 'ok', result }
    }),
})
