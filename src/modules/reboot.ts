// `wait_for_connection` and `reboot`: the host's connection dropped and opened again until the host
// answers (Ansible's action plugins of the same names). reboot reads the boot identity, runs
// shutdown -r, waits for a different boot identity and a passing test command; always a change.
// wait_for_connection changes nothing. Both are skipped or predicted in check mode as in Ansible.
import { shQuote } from '../connection/quote.js'
import { ConnectionError, RemoteError } from '../errors.js'
import { ExecTimeoutError } from '../connection/types.js'
import type { Vars } from '../model.js'
import type { ApplyContext, Plan, Step, StepResult } from './types.js'
import { defineModule, effectKey, guardPlan, int, moduleSchema, planData, sections, str, strList, toInt, toList } from './lib/index.js'

const sleep = (s: number) => new Promise((r) => setTimeout(r, Math.max(0, s) * 1000))
const seconds = (t0: number) => Math.floor((Date.now() - t0) / 1000)

/** A result the waiting loop hands result(): carried in a step result's stdout, never run. */
function outcomeStep(data: Vars): StepResult {
  return {
    step: { describe: 'wait for the host', script: '' },
    rc: 0,
    stdout: Buffer.from(JSON.stringify(data)),
    stderr: Buffer.alloc(0),
    durationMs: 0,
  }
}

function lastLine(e: unknown): string {
  const t = e instanceof Error ? e.message : String(e)
  return t.trim().split('\n').pop() ?? t
}

/** Reconnect (when the executor can), then run the step; a failed exit is an Error for the loop. */
async function attempt(ctx: ApplyContext, step: Step): Promise<StepResult> {
  await ctx.reconnect?.()
  return ctx.run(step)
}

// ---------------------------------------------------------------- wait_for_connection

const waitData = planData<{ connect: number; delay: number; sleep: number; timeout: number }>()

export const waitForConnectionModule = defineModule({
  name: 'wait_for_connection',
  description:
    'Wait until the host can be reached and runs a command again (after a reboot or a network change). Changes nothing; skipped in check mode, as in Ansible.',
  schema: moduleSchema({
    connect_timeout: int('Seconds each test command may take (default 5). Connecting is bounded by the connection timeout (-T, ansible_ssh_timeout).'),
    delay: int('Seconds to wait before the first try (default 0).'),
    sleep: int('Seconds between tries (default 1).'),
    timeout: int('Seconds to wait in all (default 600).'),
  }),
  plan: (args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      // Ansible's action plugin does not wait in check mode: it returns skipped
      if (ctx.check) return { status: 'skip', reason: 'wait_for_connection: skipping for check_mode', result: { skipped: true } }
      const w = { connect: toInt(args.connect_timeout, 5), delay: toInt(args.delay, 0), sleep: toInt(args.sleep, 1), timeout: toInt(args.timeout, 600) }
      return waitData.attach(
        {
          status: 'change',
          changes: [{ summary: `wait up to ${w.timeout} s for the connection` }],
          steps: [{ describe: 'ping test', script: 'echo pong\n', timeoutMs: w.connect * 1000, effects: [] }],
        },
        w,
      )
    }),
  async apply(plan, _args, ctx) {
    const w = waitData.of(plan)!
    const t0 = Date.now()
    if (w.delay) await sleep(w.delay)
    let err: unknown
    for (;;) {
      try {
        const r = await attempt(ctx, plan.steps[0])
        if (r.rc === 0 && r.stdout.toString().trim() === 'pong') return [outcomeStep({ elapsed: seconds(t0) })]
        err = new Error('ping test failed')
      } catch (e) {
        err = e
      }
      if (Date.now() - t0 + w.sleep * 1000 >= w.timeout * 1000) break
      await sleep(w.sleep)
    }
    return [outcomeStep({ elapsed: seconds(t0), failed: true, msg: `timed out waiting for ping module test: ${lastLine(err)}` })]
  },
  result: (plan, steps) => {
    if (plan.status === 'skip') return { changed: false, skipped: true }
    const out = steps?.at(-1)
    return { changed: false, ...(out ? (JSON.parse(out.stdout.toString() || '{}') as Vars) : {}) }
  },
})

// ---------------------------------------------------------------- reboot

const SEARCH_PATHS = ['/sbin', '/bin', '/usr/sbin', '/usr/bin', '/usr/local/sbin']

/**
 * The probe: the boot identity, the first shutdown binary found in the search paths (Ansible's
 * find over them), and the distribution (Alpine reboots with `reboot` and no arguments).
 */
export function rebootProbe(bootTimeCommand: string, bin: string, paths: string[]): string {
  return [
    'echo @@boot',
    `( ${bootTimeCommand} ) 2>/dev/null; r=$?; echo; echo "@@rc $r"`,
    'echo @@bin',
    bin.startsWith('/')
      ? `echo ${shQuote(bin)}`
      : `for d in ${paths.map(shQuote).join(' ')}; do [ -e "$d"/${shQuote(bin)} ] && { echo "$d"/${shQuote(bin)}; break; }; done`,
    'echo @@os',
    `sed -n 's/^ID=//p' /etc/os-release 2>/dev/null | tr -d '"'`,
  ].join('\n')
}

/** Ansible's shutdown arguments on Linux: `-r {delay_min} "{message}"` (the delay in whole minutes). */
export function shutdownArgs(preRebootDelay: number, msg: string, os: string): string {
  if (os === 'alpine') return ''
  return `-r ${Math.floor(preRebootDelay / 60)} ${shQuote(msg)}`
}

interface RebootData {
  before: string
  bootTimeCommand: string
  testCommand: string
  postDelay: number
  timeout: number
}
const rebootData = planData<RebootData>()

/** Ansible's backoff between tries: 2^n seconds plus up to one, at most 12 plus up to one. */
const backoff = (n: number) => Math.min(2 ** n, 12) + Math.random()

/**
 * Tries `action` until it succeeds or `timeoutS` is over. Each try gets the time that is left (its
 * steps are given it as their timeout) and is abandoned when that runs out, whatever it waits on: a
 * host that half went down (a session whose peer vanished, a shell that never answers) cannot hold
 * the task past its deadline. Ansible bounds only the connection; this bounds the whole wait.
 */
async function until(timeoutS: number, what: string, action: (leftMs: number) => Promise<void>): Promise<string | undefined> {
  const end = Date.now() + timeoutS * 1000
  for (let n = 0; Date.now() < end; n++) {
    try {
      await within(end - Date.now(), action(end - Date.now()))
      return undefined
    } catch {
      await sleep(Math.min(backoff(n), Math.max(0, (end - Date.now()) / 1000)))
    }
  }
  return `Timed out waiting for ${what} (timeout=${timeoutS})`
}

class NoAnswer extends Error {}

/** `p`, or a rejection once `ms` have passed (p is left to settle on its own). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswer(`no answer within ${Math.round(ms)} ms`)), Math.max(0, ms))
  })
  p.catch(() => undefined)
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

export const rebootModule = defineModule({
  name: 'reboot',
  description:
    'Reboot the host and wait until it is back: its boot identity (boot_id) changed and a test command passes. Always a change; in check mode it is predicted, not run.',
  schema: moduleSchema({
    pre_reboot_delay: int('Seconds before the reboot, given to shutdown in whole minutes (default 0).'),
    post_reboot_delay: int('Seconds to wait after the reboot command before checking the host (default 0).'),
    reboot_timeout: int('Seconds each of the two waits (boot identity changed, test command passes) may take (default 600).'),
    connect_timeout: int('Accepted for Ansible; connecting is bounded by the connection timeout (-T, ansible_ssh_timeout).'),
    test_command: str('A command that must succeed once the host is back (default `whoami`).'),
    msg: str('The message shutdown broadcasts (default `Reboot initiated by Ansible`).'),
    search_paths: strList('Where to look for the shutdown command (default /sbin /bin /usr/sbin /usr/bin /usr/local/sbin).'),
    boot_time_command: str('A command whose output changes with every boot (default `cat /proc/sys/kernel/random/boot_id`).'),
    reboot_command: str('The command that reboots, with its arguments (default `shutdown -r 0 "MSG"` from the search paths).'),
  }),
  plan: (args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      if (ctx.vars.ansible_connection === 'local')
        return { status: 'fail', msg: 'Running reboot with local connection would reboot the control node.', result: { rebooted: false, elapsed: 0 } }
      const bootTimeCommand = args.boot_time_command !== undefined ? String(args.boot_time_command) : 'cat /proc/sys/kernel/random/boot_id'
      const custom = args.reboot_command !== undefined ? String(args.reboot_command) : undefined
      const bin = custom !== undefined ? custom.split(' ')[0] : 'shutdown'
      const paths = args.search_paths !== undefined ? toList(args.search_paths) : SEARCH_PATHS
      const r = await ctx.reader.probe(rebootProbe(bootTimeCommand, bin, paths))
      const s = sections(r.stdout.toString())
      const bootLines = (s.boot ?? '').replace(/\n$/, '').split('\n')
      const rc = Number((bootLines.pop() ?? '').replace('@@rc ', ''))
      const before = bootLines.join('\n').trim()
      if (rc !== 0)
        return { status: 'fail', msg: `reboot: failed to get host boot time info, rc: ${rc}, stdout: ${before}, stderr: `, result: { reboot: false } }
      const os = (s.os ?? '').trim()
      let found = (s.bin ?? '').trim()
      if (os === 'alpine' && custom === undefined) found = ''
      if (!found && os !== 'alpine')
        return { status: 'fail', msg: `Unable to find command "${bin}" in search paths: [${paths.map((p) => `'${p}'`).join(', ')}]` }
      const command =
        custom !== undefined
          ? `${found} ${custom.includes(' ') ? custom.slice(custom.indexOf(' ') + 1) : ''}`
          : os === 'alpine'
            ? 'reboot'
            : `${found} ${shutdownArgs(Math.max(0, toInt(args.pre_reboot_delay, 0)), args.msg !== undefined ? String(args.msg) : 'Reboot initiated by Ansible', os)}`
      return rebootData.attach(
        {
          status: 'change',
          changes: [{ summary: `reboot (${command.trim()})` }],
          steps: [
            { describe: 'reboot', script: `${command.trim()}\n`, okCodes: [...Array(256).keys()], effects: [{ key: effectKey.boot(), value: 'rebooted' }] },
          ],
          // what check mode registers (Ansible: changed, elapsed 0, rebooted)
          result: { rebooted: true, elapsed: 0 },
        },
        {
          before,
          bootTimeCommand,
          testCommand: args.test_command !== undefined ? String(args.test_command) : 'whoami',
          postDelay: Math.max(0, toInt(args.post_reboot_delay, 0)),
          timeout: toInt(args.reboot_timeout, 600),
        },
      )
    }),
  async apply(plan, _args, ctx) {
    const d = rebootData.of(plan)!
    const t0 = Date.now()
    let sent: StepResult
    try {
      // bounded as the waits are: a reboot command whose session neither answers nor breaks (the
      // host's network went before its sshd did) is taken as a reboot under way, which the boot
      // identity then confirms or not
      sent = await within(d.timeout * 1000, ctx.run({ ...plan.steps[0], timeoutMs: d.timeout * 1000 }))
    } catch (e) {
      // the host went down under the command: the reboot is under way (Ansible: rc 0)
      if (!(e instanceof ConnectionError || e instanceof ExecTimeoutError || (e instanceof RemoteError && e.rc === null) || e instanceof NoAnswer)) throw e
      sent = { step: plan.steps[0], rc: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), durationMs: Date.now() - t0 }
    }
    if (sent.rc !== 0)
      return [
        sent,
        outcomeStep({
          failed: true,
          rebooted: false,
          elapsed: seconds(t0),
          msg: `Reboot command failed. Error was: '${sent.stdout.toString().trim()}, ${sent.stderr.toString().trim()}'`,
        }),
      ]
    if (d.postDelay) await sleep(d.postDelay)
    const boot: Step = { describe: 'boot identity', script: `${d.bootTimeCommand}\n`, effects: [] }
    const test: Step = { describe: 'test command', script: `${d.testCommand}\n`, effects: [] }
    const timedOut =
      (await until(d.timeout, 'last boot time check', async (left) => {
        const r = await attempt(ctx, { ...boot, timeoutMs: left })
        const now = r.stdout.toString().trim()
        if (r.rc !== 0 || now === '' || now === d.before) throw new Error('boot time has not changed')
      })) ??
      (await until(d.timeout, 'post-reboot test command', async (left) => {
        const r = await ctx.run({ ...test, timeoutMs: left }).catch(async (e) => {
          await ctx.reconnect?.()
          throw e
        })
        if (r.rc !== 0) throw new Error(`Test command failed: ${r.stderr.toString()} ${r.stdout.toString()}`)
      }))
    return [sent, outcomeStep(timedOut ? { failed: true, rebooted: true, msg: timedOut, elapsed: seconds(t0) } : { rebooted: true, elapsed: seconds(t0) })]
  },
  result: (plan, steps) => {
    if (plan.status === 'fail') return { changed: false, failed: true, msg: plan.msg, ...(plan.result ?? {}) }
    const out = steps?.at(-1)
    const data = out && out.step.script === '' ? (JSON.parse(out.stdout.toString() || '{}') as Vars) : {}
    return { changed: data.rebooted !== false, ...data }
  },
})
