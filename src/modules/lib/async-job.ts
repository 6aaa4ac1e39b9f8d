// Background jobs on a host (`async`/`poll`, and the async_status module): Ansible's async_wrapper
// done in POSIX sh. A job is a step script started with setsid, out of the connection's reach,
// under GNU timeout (killed as Ansible's async_wrapper kills it: killAfter()); its files sit in
// Ansible's async_dir, `~/.ansible_async` of the user it runs as: JID (the status Ansible writes
// first), JID.sh/.in (the script and its stdin), JID.out/.err, JID.start/.end (the host's clock),
// JID.rc (written last: the job is over) and JID.meta (what async_status needs to build the
// module's result). Everything is created mode 0600 in a 0700 folder.
import { randomInt } from 'node:crypto'
import { shQuote } from '../../connection/quote.js'
import type { Vars } from '../../model.js'
import type { Plan, StepResult } from '../types.js'
import { parseKeyValues } from './text.js'

/** What async_status needs to give a finished job the result its module gives. */
export interface JobMeta {
  module: string
  args: Vars
  /** The plan's own result (command: `cmd`). */
  base: Vars
  /** The job's `async` seconds. */
  async: number
}

/** Ansible's job ids: "j" + up to 12 random digits + "." + a process id. */
export function newJobId(): string {
  return `j${randomInt(0, 999_999_999_999)}.${process.pid}`
}

const DIR = '"$HOME/.ansible_async"'

function checkJid(jid: string): string {
  // a jid names a file: Ansible's shape only, never a path
  if (!/^[A-Za-z0-9_.-]+$/.test(jid) || jid.startsWith('.')) throw new Error(`invalid job id "${jid}"`)
  return jid
}

/**
 * When async_wrapper kills a job of `seconds`: it looks every 5 s, first 5 s after the start, and
 * kills at the first look after the time is spent (2 s: at 10 s; 20 s: at 25 s). A poll gives up
 * at `seconds` (executor/async.ts); the job itself may run until then.
 */
export function killAfter(seconds: number): number {
  return 5 + 5 * Math.ceil(Math.max(seconds, 1) / 5)
}

/** Starts `script` (with `stdin`) as job `jid` of `seconds` (killed at killAfter(seconds)); prints `file=` (the results file). */
export function launchScript(jid: string, script: string, seconds: number, meta: JobMeta, stdin?: Buffer | string): string {
  checkJid(jid)
  const b64 = (x: Buffer | string) => shQuote(Buffer.from(x).toString('base64'))
  const body = [
    'j=$1; s=$2',
    'date "+%Y-%m-%d %H:%M:%S.%6N" > "$j.start"; date +%s%N > "$j.t0"',
    'if command -v timeout >/dev/null 2>&1; then timeout -s KILL "$s" sh "$j.sh" < "$j.in" > "$j.out" 2> "$j.err"; else sh "$j.sh" < "$j.in" > "$j.out" 2> "$j.err"; fi',
    'rc=$?',
    'date "+%Y-%m-%d %H:%M:%S.%6N" > "$j.end"; date +%s%N > "$j.t1"',
    // the script and its input held the task's command and stdin: not kept once the job is over
    'rm -f "$j.sh" "$j.in"',
    'echo "$rc" > "$j.rc.tmp" && mv "$j.rc.tmp" "$j.rc"',
  ].join('\n')
  return [
    `d=${DIR}; j="$d/${jid}"`,
    'mkdir -p "$d" && chmod 700 "$d" || exit 1',
    'umask 077',
    `printf '%s' ${b64(JSON.stringify(meta))} | base64 -d > "$j.meta" || exit 1`,
    `printf '%s' ${b64(script)} | base64 -d > "$j.sh" || exit 1`,
    stdin === undefined ? ': > "$j.in"' : `printf '%s' ${b64(stdin)} | base64 -d > "$j.in" || exit 1`,
    `printf '{"started": 1, "finished": 0, "ansible_job_id": "%s"}\\n' ${shQuote(jid)} > "$j"`,
    `if command -v setsid >/dev/null 2>&1; then S=setsid; else S=nohup; fi`,
    `$S sh -c ${shQuote(body)} k3sbook-async "$j" ${killAfter(seconds)} </dev/null >/dev/null 2>&1 &`,
    'echo "file=$j"',
  ].join('\n')
}

/** Prints what is known of job `jid` (parseJob reads it); `cleanup`: a job that is over has its files removed once read (a poll's last look, as Ansible's). */
export function statusScript(jid: string, cleanup = false): string {
  checkJid(jid)
  return [
    `j=${DIR}/${shQuote(jid)}`,
    'echo "file=$j"',
    'if [ ! -e "$j" ]; then echo state=missing; exit 0; fi',
    'if [ -e "$j.rc" ]; then echo state=done; else echo state=running; fi',
    'for f in rc start end t0 t1; do [ -e "$j.$f" ] && printf "%s=%s\\n" "$f" "$(cat "$j.$f")"; done',
    'printf "meta="; base64 -w0 < "$j.meta" 2>/dev/null; echo',
    'printf "out="; base64 -w0 < "$j.out" 2>/dev/null; echo',
    'printf "err="; base64 -w0 < "$j.err" 2>/dev/null; echo',
    ...(cleanup ? ['[ -e "$j.rc" ] && rm -f -- "$j" "$j".*', ':'] : []),
  ].join('\n')
}

/** Removes job `jid`'s files; prints `file=` (what was erased). */
export function cleanupScript(jid: string): string {
  checkJid(jid)
  return [`j=${DIR}/${shQuote(jid)}`, 'echo "file=$j"', 'rm -f -- "$j" "$j".*'].join('\n')
}

export interface JobState {
  state: 'missing' | 'running' | 'done'
  resultsFile: string
  rc?: number
  stdout: Buffer
  stderr: Buffer
  meta?: JobMeta
  seconds?: number
  times?: { start: string; end: string; delta: string }
}

/** Python's str(timedelta) of nanoseconds: H:MM:SS.ffffff (the microseconds left out when zero). */
export function pyDelta(ns: bigint): string {
  const us = ns / 1000n
  const s = us / 1_000_000n
  const frac = us % 1_000_000n
  const h = s / 3600n
  const m = (s % 3600n) / 60n
  const sec = s % 60n
  const base = `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
  return frac === 0n ? base : `${base}.${String(frac).padStart(6, '0')}`
}

export function parseJob(out: string): JobState {
  const kv = parseKeyValues(out)
  const state = kv.state === 'done' ? 'done' : kv.state === 'running' ? 'running' : 'missing'
  const buf = (x: string | undefined) => Buffer.from(x ?? '', 'base64')
  let meta: JobMeta | undefined
  try {
    meta = kv.meta ? (JSON.parse(buf(kv.meta).toString('utf8')) as JobMeta) : undefined
  } catch {
    meta = undefined
  }
  const j: JobState = { state, resultsFile: kv.file ?? '', stdout: buf(kv.out), stderr: buf(kv.err), meta }
  if (kv.rc !== undefined && /^\d+$/.test(kv.rc)) j.rc = Number(kv.rc)
  if (kv.start && kv.end && kv.t0 && /^\d+$/.test(kv.t0) && kv.t1 && /^\d+$/.test(kv.t1)) {
    const ns = BigInt(kv.t1) - BigInt(kv.t0)
    j.seconds = Number(ns / 1_000_000n) / 1000
    j.times = { start: kv.start, end: kv.end, delta: pyDelta(ns < 0n ? 0n : ns) }
  }
  return j
}

/** The keys async_status (and a poll) gives a job still running. */
export function runningResult(jid: string, resultsFile: string): Vars {
  return { ansible_job_id: jid, finished: 0, results_file: resultsFile, started: 1, stderr: '', stderr_lines: [], stdout: '', stdout_lines: [] }
}

/** The job was killed because its time ran out (GNU timeout's KILL at killAfter(): 137, or 124). */
export function timedOut(j: JobState): boolean {
  return j.state === 'done' && (j.rc === 137 || j.rc === 124) && j.meta !== undefined && j.seconds !== undefined && j.seconds >= killAfter(j.meta.async) - 0.5
}

/** A job's result once it is over: the module's own (built again from the job's exit code, output and times), or Ansible's timeout. */
export function finishedResult(
  jid: string,
  j: JobState,
  build: (plan: Plan, step: StepResult, args: Vars, times: { start: string; end: string; delta: string }) => Vars,
): Vars {
  const head = { ansible_job_id: jid, finished: 1, results_file: j.resultsFile, started: 1 }
  const meta = j.meta
  // GNU timeout's 124 after the job's seconds: async_wrapper's own result for a job it killed
  if (!meta || timedOut(j))
    return { ansible_job_id: jid, finished: 1, failed: true, msg: 'Timeout exceeded', started: 1, stderr: '', stderr_lines: [], stdout: '', stdout_lines: [] }
  const plan: Plan = { status: 'change', changes: [], steps: [], result: meta.base }
  const step: StepResult = {
    rc: j.rc ?? 0,
    stdout: j.stdout,
    stderr: j.stderr,
    step: { describe: 'async job', script: '' },
    durationMs: Math.round((j.seconds ?? 0) * 1000),
  }
  const times = j.times ?? { start: '', end: '', delta: '' }
  return { ...head, ...build(plan, step, meta.args, times) }
}
