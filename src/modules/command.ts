// `command`: runs a program on the host without a shell (words passed literally, after Ansible's
// `~` and `$VAR` expansion). Idempotent only through `creates`/`removes`; otherwise it reports
// changed, like Ansible. `shell` shares this file's planning and its registered result shape.
import { shlexSplit as shlex } from '../shlex.js'
import { shQuote } from '../connection/quote.js'
import { OUTPUT_LIMIT } from '../connection/capture.js'
import type { Vars } from '../model.js'
import type { Module, Plan, PlanContext, Step, StepResult } from './types.js'
import { ArgError, argFail, bool, moduleSchema, optBool, optStr, splitLines, str, defineModule } from './lib/index.js'
import { dollarRefs, trimEndOf } from '../text.js'

export interface CommandArgs {
  _raw_params?: string
  cmd?: string
  argv?: unknown[]
  chdir?: string
  creates?: string
  removes?: string
  stdin?: string
  stdin_add_newline?: unknown
  strip_empty_ends?: unknown
  executable?: string
}

export const commandProps = {
  _raw_params: str(
    'The command line (free form: `command: ls -l /tmp`). Split into words like a shell would, but no shell runs it: no pipes, redirections, globs or `;` (use `shell`). `~` and `$VAR` are expanded from the host environment, as in Ansible.',
  ),
  cmd: str('The command line, given as an argument instead of free form.'),
  argv: {
    type: 'array',
    items: { type: ['string', 'number', 'boolean'] },
    description: 'The command as a list: each item is one argument, never split on spaces. Use instead of a command line.',
  },
  chdir: str('Change into this directory before running the command.'),
  creates: str('A path or glob: when it already exists, the command is not run.'),
  removes: str('A path or glob: when it does not exist, the command is not run.'),
  stdin: str('Text fed to the command on its standard input.'),
  stdin_add_newline: bool('Append a newline to `stdin` (default true).'),
  strip_empty_ends: bool('Strip newlines from the end of stdout and stderr in the registered result (default true).'),
}

/** Keys Ansible pulls out of a command/shell free-form string (everything else stays in the command). */
export const COMMAND_OPTIONS: ReadonlySet<string> = new Set([
  'creates',
  'removes',
  'chdir',
  'executable',
  'warn',
  'stdin',
  'stdin_add_newline',
  'strip_empty_ends',
])

export const command = defineModule<CommandArgs>({
  readAhead: true,
  resultAfterRun: true,
  checkModeResult: true,
  name: 'command',
  commandArgs: { _raw_params: 'words', cmd: 'words', argv: 'argv' },
  description: 'Run a command on the host without a shell. Reports changed unless `creates`/`removes` say it is not needed.',
  freeForm: true,
  freeFormOptions: COMMAND_OPTIONS,
  requiresArgs: true,
  schema: moduleSchema({ ...commandProps, executable: str('Ignored by `command` (as in Ansible, with a warning); use `shell` to pick a shell.') }),
  asyncJob: { resultOfJob: (plan, step, args, times) => jobResult(commandResult(plan, [step], args, false), times) },
  plan: (args, ctx) => planCommand(args, ctx, false),
  apply: async (plan, _args, ctx) => [await ctx.run(plan.steps[0])],
  result: (plan, steps, args) => commandResult(plan, steps, args, false),
})

// ---------------------------------------------------------------- word splitting and expansion

/** Python's shlex.split (POSIX mode, no comments): how Ansible cuts a command line into argv. */
export function shlexSplit(s: string): string[] {
  return shlex(s, (m) => new ArgError(m === 'nothing after a backslash' ? 'No escaped character' : 'No closing quotation'))
}

type Piece = { lit: string } | { v: string; raw: string }

/** Splits an argument the way Python's os.path.expandvars sees it: `$name` and `${name}` references. */
export function varPieces(s: string): Piece[] {
  const out: Piece[] = []
  let last = 0
  // /\$(\w+|\{[^}]*\})/g in linear time
  for (const m of dollarRefs(s)) {
    const name = m.ref.startsWith('{') && m.ref.endsWith('}') ? m.ref.slice(1, -1) : m.ref
    if (m.index > last) out.push({ lit: s.slice(last, m.index) })
    // Only shell identifiers can be read from sh; anything else can't be set and stays as written.
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) out.push({ v: name, raw: m.text })
    else out.push({ lit: m.text })
    last = m.index + m.text.length
  }
  if (last < s.length) out.push({ lit: s.slice(last) })
  return out
}

/** Reference model of Ansible's per-argument expansion (expandvars, then expanduser) for a known environment. */
export function expandLikeAnsible(s: string, env: Record<string, string | undefined>, home?: string): string {
  let r = varPieces(s)
    .map((p) => ('lit' in p ? p.lit : env[p.v] !== undefined ? env[p.v] : p.raw))
    .join('')
  if (r === '~' || r.startsWith('~/')) {
    const h = home ?? env.HOME
    if (h !== undefined) r = (h.replace(/(?<!\/)\/+$/, '') || '/') + r.slice(1)
  }
  return r
}

/**
 * sh lines that append one argument to "$@", expanding variables on the host like Ansible. The
 * scratch variables carry a prefix so a user's `$a` reads the environment, not our own state.
 */
function argLines(arg: string): string[] {
  const lines = ["_k3s_a=''"]
  for (const p of varPieces(arg)) {
    if ('lit' in p) lines.push(`_k3s_a="$_k3s_a"${shQuote(p.lit)}`)
    else lines.push(`if [ -n "\${${p.v}+x}" ]; then _k3s_a="$_k3s_a\${${p.v}}"; else _k3s_a="$_k3s_a"${shQuote(p.raw)}; fi`)
  }
  // expanduser runs after expandvars, on the expanded text; `~user` goes through the passwd database.
  lines.push(
    'case $_k3s_a in',
    `  '~'|'~/'*) _k3s_a="\${HOME%/}\${_k3s_a#\\~}"; [ -n "$_k3s_a" ] || _k3s_a=/ ;;`,
    `  '~'*) _k3s_u=\${_k3s_a#\\~}; _k3s_u=\${_k3s_u%%/*}; _k3s_h=$(getent passwd -- "$_k3s_u" | _K3S_U="$_k3s_u" awk -F: '$1 == ENVIRON["_K3S_U"] { print $6; exit }'); if [ -n "$_k3s_h" ]; then _k3s_a="\${_k3s_h%/}\${_k3s_a#\\~"$_k3s_u"}"; fi ;;`,
    'esac',
    'set -- "$@" "$_k3s_a"',
  )
  return lines
}

/** The script that runs the command; `argv` mode never involves a shell parse of user data. */
export function commandScript(o: { argv?: string[]; shellCmd?: string; executable?: string; chdir?: string }): string {
  const lines: string[] = []
  if (o.chdir !== undefined) lines.push(`cd -P -- ${shQuote(o.chdir)} 2>/dev/null || { printf '%s\\n' ${shQuote(CHDIR_MARK + o.chdir)} >&2; exit 1; }`)
  if (o.shellCmd !== undefined) {
    lines.push(`exec ${shQuote(o.executable ?? '/bin/sh')} -c ${shQuote(o.shellCmd)}`)
  } else {
    lines.push('set --')
    for (const a of o.argv ?? []) lines.push(...argLines(a))
    // Ansible's command execs argv itself: a program not found is its OSError (errno 2), not a shell's 127
    lines.push(
      `case $1 in */*) [ -e "$1" ] ;; *) (set -f; IFS=:; for _k3s_d in $PATH; do [ -x "\${_k3s_d:-.}/$1" ] && [ ! -d "\${_k3s_d:-.}/$1" ] && exit 0; done; exit 1) ;; esac || { printf '%s\\n' "${NOEXEC_MARK}$1" >&2; exit 2; }`,
      'exec "$@"',
    )
  }
  return lines.join('\n') + '\n'
}

/** A non-zero exit is the command's result (rc, failed), not a broken step: the result decides. */
export const ANY_RC = Array.from({ length: 256 }, (_, i) => i)

const CHDIR_MARK = 'k3sbook: unable to change directory before execution: '
const NOEXEC_MARK = 'k3sbook: no such file or directory: '
const GLOB = /[*?[]/

// ---------------------------------------------------------------- plan and result

export async function planCommand(args: CommandArgs, ctx: PlanContext, isShell: boolean): Promise<Plan> {
  try {
    const raw = optStr(args._raw_params ?? args.cmd)
    const argv = args.argv?.map((a) => (typeof a === 'boolean' ? (a ? 'True' : 'False') : String(a)))
    if ((raw === undefined || raw.trim() === '') && !argv?.length) return { status: 'fail', msg: 'no command given', result: { rc: 256, cmd: null } }
    if (raw !== undefined && raw.trim() !== '' && argv?.length)
      return { status: 'fail', msg: 'only command or argv can be given, not both', result: { rc: 256 } }
    const cmd: string | string[] = isShell ? (raw ?? argv!.join(' ')) : (argv ?? shlexSplit(raw!))

    // creates/removes, as Ansible's glob.glob: relative patterns are relative to chdir.
    const rel = (p: string) => (p.startsWith('/') || args.chdir === undefined ? p : `${args.chdir.replace(/(?<!\/)\/+$/, '')}/${p}`)
    const checks: { arg: 'creates' | 'removes'; pattern: string }[] = []
    if (args.creates !== undefined) checks.push({ arg: 'creates', pattern: String(args.creates) })
    if (args.removes !== undefined) checks.push({ arg: 'removes', pattern: String(args.removes) })
    for (const { arg, pattern } of checks) {
      const found = await globExists(ctx, rel(pattern))
      if (found === 'unknown') return { status: 'unknown', reason: `${arg}: ${pattern} depends on an earlier step that can't be predicted`, steps: [runStep()] }
      if (arg === 'creates' && found)
        return {
          status: 'ok',
          note: `${pattern} exists`,
          result: {
            msg: `Did not run command since '${pattern}' exists`,
            stdout: `skipped, since ${pattern} exists`,
            stdout_lines: [`skipped, since ${pattern} exists`],
            stderr: '',
            stderr_lines: [],
            rc: 0,
            cmd,
            start: null,
            end: null,
            delta: null,
          },
        }
      if (arg === 'removes' && !found)
        return {
          status: 'ok',
          note: `${pattern} does not exist`,
          result: {
            msg: `Did not run command since '${pattern}' does not exist`,
            stdout: `skipped, since ${pattern} does not exist`,
            stdout_lines: [`skipped, since ${pattern} does not exist`],
            stderr: '',
            stderr_lines: [],
            rc: 0,
            cmd,
            start: null,
            end: null,
            delta: null,
          },
        }
    }
    return { status: 'change', changes: [{ summary: `run ${Array.isArray(cmd) ? cmd.join(' ') : cmd}` }], steps: [runStep()], result: { cmd } }

    function runStep(): Step {
      let stdin: string | undefined
      if (args.stdin !== undefined && args.stdin !== null && String(args.stdin) !== '')
        stdin = String(args.stdin) + (optBool(args.stdin_add_newline, true, 'stdin_add_newline') ? '\n' : '')
      const script = commandScript({
        argv: Array.isArray(cmd) ? cmd : undefined,
        shellCmd: Array.isArray(cmd) ? undefined : cmd,
        executable: isShell ? optStr(args.executable) : undefined,
        chdir: optStr(args.chdir),
      })
      // What a command does is unknowable; the paths it promises to create or remove are "unknown" after it.
      const effects = checks.map((c) => ({
        path: rel(c.pattern),
        state: 'unknown' as const,
        reason: `${isShell ? 'shell' : 'command'} may ${c.arg === 'creates' ? 'create' : 'remove'} it`,
      }))
      return { describe: Array.isArray(cmd) ? cmd.join(' ') : cmd, script, stdin, effects, okCodes: ANY_RC, maxOutput: OUTPUT_LIMIT }
    }
  } catch (e) {
    return argFail(e)
  }
}

async function globExists(ctx: PlanContext, pattern: string): Promise<boolean | 'unknown'> {
  if (!GLOB.test(pattern)) {
    const info = (await ctx.reader.files([pattern])).get(pattern)
    if (info?.unknown) return 'unknown'
    return !!info?.exists
  }
  // Field splitting off, pathname expansion on: the pattern globs but is never re-parsed as code.
  const r = await ctx.reader.probe(
    `IFS=''; p=${shQuote(pattern)}; set -- $p; for f in "$@"; do if [ -e "$f" ] || [ -L "$f" ]; then echo yes; exit 0; fi; done; echo no\n`,
  )
  return r.stdout.toString().trim() === 'yes'
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}000`
}

function delta(ms: number): string {
  const s = Math.floor(ms / 1000)
  const us = Math.round((ms - s * 1000) * 1000)
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(us).padStart(6, '0')}`
}

/** Ansible's registered shape for command/shell. */
/** An async job's result: the run's times are the host's own (what the job recorded), where the result has times. */
export function jobResult(r: Vars, times: { start: string; end: string; delta: string }): Vars {
  return r.start === null ? r : { ...r, ...times }
}

export function commandResult(plan: Plan, steps: StepResult[] | undefined, args: CommandArgs, isShell: boolean): Vars {
  const r = commandResultShape(plan, steps, args)
  // Ansible's command module warns, whatever happens next, that it ignores `executable`.
  const executable = args.executable
  if (!isShell && executable !== undefined && executable !== null && String(executable) !== '')
    r.warnings = [`As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '${String(executable)}'.`]
  return r
}

function commandResultShape(plan: Plan, steps: StepResult[] | undefined, args: CommandArgs): Vars {
  const base = (plan.result ?? {}) as Vars
  if (plan.status === 'ok') return { changed: false, failed: false, ...base }
  if (plan.status === 'fail')
    return { changed: false, failed: true, stdout: '', stderr: '', rc: null, cmd: null, start: null, end: null, delta: null, ...base, msg: plan.msg }
  if (plan.status === 'skip') return { changed: false, skipped: true, msg: plan.reason, ...base }
  const s = steps?.[0]
  if (!s) {
    // Check mode: Ansible can only say the command would run; without creates/removes it calls that "skipped".
    const guarded = args.creates !== undefined || args.removes !== undefined
    return {
      changed: guarded,
      ...(guarded ? {} : { skipped: true }),
      failed: false,
      rc: 0,
      stdout: '',
      stderr: '',
      stdout_lines: [],
      stderr_lines: [],
      start: null,
      end: null,
      delta: null,
      ...base,
      msg: 'Command would have run if not in check mode',
    }
  }
  const strip = optBool(args.strip_empty_ends, true)
  let stdout = s.stdout.toString('utf8')
  let stderr = s.stderr.toString('utf8')
  if (strip) {
    stdout = trimEndOf(stdout, '\r\n')
    stderr = trimEndOf(stderr, '\r\n')
  }
  const end = new Date()
  const start = new Date(end.getTime() - s.durationMs)
  const r: Vars = {
    changed: true,
    rc: s.rc,
    stdout,
    stderr,
    stdout_lines: splitLines(stdout),
    stderr_lines: splitLines(stderr),
    start: stamp(start),
    end: stamp(end),
    delta: delta(s.durationMs),
    msg: '',
    ...base,
  }
  const chdirFail = stderr.startsWith(CHDIR_MARK)
  if (chdirFail)
    return {
      ...r,
      rc: null,
      stderr: '',
      stderr_lines: [],
      start: null,
      end: null,
      delta: null,
      failed: true,
      changed: false,
      msg: `Unable to change directory before execution: [Errno 2] No such file or directory: '${stderr.slice(CHDIR_MARK.length).trim()}'`,
    }
  if (s.rc === 2 && stderr.startsWith(NOEXEC_MARK))
    return {
      ...r,
      stdout: '',
      stdout_lines: [],
      stderr: '',
      stderr_lines: [],
      start: null,
      end: null,
      delta: null,
      failed: true,
      changed: false,
      msg: `[Errno 2] No such file or directory: b'${stderr.slice(NOEXEC_MARK.length).replace(/\n[\s\S]*$/, '')}'`,
    }
  if (s.rc !== 0) return { ...r, failed: true, msg: 'non-zero return code' }
  return { ...r, failed: false }
}
