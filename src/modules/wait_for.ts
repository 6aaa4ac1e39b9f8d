// wait_for: waits on the host for a TCP port to open or close, a file to appear or go, or a regex
// to show up in a file, with a timeout. It changes nothing, so the wait runs as a read-only probe
// inside plan(): the task reports ok (never changed) or fails when the time runs out, in check
// mode too. dash has no /dev/tcp, so a port is tested with bash's /dev/tcp when bash exists, else
// python3, else nc; a host with none of them fails with that said.
import { shQuote } from '../connection/quote.js'
import type { Module } from './types.js'
import { choice, guardPlan, int, moduleSchema, str, strList, toInt, ArgError, parseKeyValues, defineModule } from './lib/index.js'

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
  exclude_hosts: strList('Accepted for compatibility (used only with state=drained).'),
  active_connection_states: strList('Accepted for compatibility (used only with state=drained).'),
})

export interface WaitSpec {
  host: string
  port?: number
  path?: string
  regex?: string
  state: 'started' | 'stopped' | 'present' | 'absent'
  timeout: number
  connectTimeout: number
  delay: number
  sleep: number
}

export function waitSpec(args: Record<string, unknown>): WaitSpec {
  let state = String(args.state ?? 'started') as WaitSpec['state'] | 'drained'
  if (state === 'drained') throw new ArgError('wait_for: state=drained is not supported by k3sbook')
  const port = toInt(args.port)
  const path = args.path === undefined ? undefined : String(args.path)
  if (port !== undefined && path !== undefined) throw new ArgError('wait_for: port and path are mutually exclusive')
  if (path !== undefined && state === 'stopped') state = 'absent'
  if (port !== undefined && (state === 'present' || state === 'absent')) state = state === 'present' ? 'started' : 'stopped'
  if (args.search_regex !== undefined && port !== undefined)
    throw new ArgError('wait_for: search_regex with a port is not supported by k3sbook; use it with path')
  return {
    host: String(args.host ?? '127.0.0.1'),
    port,
    path,
    regex: args.search_regex === undefined ? undefined : String(args.search_regex),
    state,
    timeout: toInt(args.timeout, 300),
    connectTimeout: toInt(args.connect_timeout, 5),
    delay: toInt(args.delay, 0),
    sleep: Math.max(toInt(args.sleep, 1), 0),
  }
}

/** The wait loop as a POSIX sh script: prints `elapsed=N` and exits 0, or exits 1 on timeout, 3 when no port tester exists. */
export function waitScript(w: WaitSpec): string {
  const check: string[] = []
  if (w.port !== undefined) {
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
      w.state === 'started' ? 'ready() { probe; }' : 'ready() { ! probe; }',
    )
  } else if (w.path !== undefined) {
    check.push(`F=${shQuote(w.path)}`)
    if (w.state === 'absent') check.push('ready() { ! [ -e "$F" ]; }')
    else if (w.regex !== undefined) check.push(`R=${shQuote(w.regex)}`, 'ready() { [ -r "$F" ] && grep -Eq -- "$R" "$F"; }')
    else check.push('ready() { [ -e "$F" ]; }')
  } else {
    check.push('ready() { true; }') // Only a delay/timeout: Ansible sleeps and succeeds.
  }
  return [
    ...check,
    // hundredths of a second (the kernel's uptime; `date +%s` would make a 2 s timeout last 1-2 s)
    `now_cs() { if read u _ </proc/uptime 2>/dev/null; then v=$(echo "\${u%.*}\${u#*.}" | sed 's/^0*//'); echo "\${v:-0}"; else echo "$(( $(date +%s) * 100 ))"; fi; }`,
    `start=$(now_cs); [ ${w.delay} -gt 0 ] && sleep ${w.delay}`,
    `deadline=$((start + ${w.timeout} * 100))`,
    'while :; do',
    '  if ready; then echo "elapsed=$(( ($(now_cs) - start) / 100 ))"; exit 0; fi',
    '  now=$(now_cs)',
    '  if [ "$now" -ge "$deadline" ]; then echo "elapsed=$(( (now - start) / 100 ))"; exit 1; fi',
    `  sleep ${w.sleep || 1}`,
    'done',
  ].join('\n')
}

export function timeoutMessage(w: WaitSpec): string {
  if (w.port !== undefined) return `Timeout when waiting for ${w.host}:${w.port}${w.state === 'stopped' ? ' to stop' : ''}`
  if (w.path !== undefined && w.regex !== undefined) return `Timeout when waiting for search string ${w.regex} in ${w.path}`
  if (w.path !== undefined) return `Timeout when waiting for file ${w.path}${w.state === 'absent' ? ' to be absent' : ''}`
  return 'Timeout'
}

/** What is awaited, as the check-mode reason says it. */
export function awaited(w: WaitSpec): string {
  if (w.port !== undefined) return `${w.host}:${w.port} ${w.state === 'stopped' ? 'still accepts connections' : 'is not open yet'}`
  if (w.path !== undefined && w.regex !== undefined) return `${w.path} does not contain ${w.regex} yet`
  if (w.path !== undefined) return w.state === 'absent' ? `${w.path} is still there` : `${w.path} does not exist yet`
  return 'the condition is not met yet'
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
      const r = await ctx.reader.probe(waitScript(pending ? { ...w, timeout: 0, delay: 0 } : w))
      if (pending && r.rc === 1)
        return {
          status: 'unknown',
          reason: `${awaited(w)}; it may ${w.state === 'stopped' || w.state === 'absent' ? 'go' : 'appear'} once earlier changes are applied`,
          steps: [],
        }
      const elapsed = Number(parseKeyValues(r.stdout.toString()).elapsed ?? 0)
      const result = {
        changed: false,
        elapsed,
        state: w.state,
        ...(w.port !== undefined ? { port: w.port } : {}),
        ...(w.path !== undefined ? { path: w.path } : {}),
        ...(w.regex !== undefined ? { search_regex: w.regex, match_groups: [], match_groupdict: {} } : {}),
      }
      if (r.rc === 0) return { status: 'ok', result }
      if (r.rc === 1) return { status: 'fail', msg: args.msg ? String(args.msg) : timeoutMessage(w), result }
      return { status: 'fail', msg: r.stderr.toString().trim() || `wait_for: probe failed with exit code ${r.rc}`, result }
    }),
})
