// Compatibility runner: Ansible's own integration targets, run by ansible-playbook and by k3sbook on
// fresh lab hosts, compared task by task.
//
//   node --import tsx test/compat/run.ts --ansible /path/to/ansible [--targets a,b] [--tools ansible,k3sbook]
//        [--k3sbook /path/to/bin/k3sbook.js] [--label after] [--results DIR]
//   node --import tsx test/compat/run.ts --report --results DIR [--before LABEL] [--after LABEL] > docs/COMPAT.md
//
// --ansible is a checkout of ansible/ansible at the tag of the controller's ansible-core (Debian
// 12: v2.14.x). Nothing of it is copied into this repository: the targets are read from the path.
//
// Adaptations, the same for both tools (the reason for each is in ADAPTATIONS below and in
// docs/COMPAT.md):
//  1. ansible-test's wrapper playbook for a role target (`hosts: testhost`, `gather_facts: true`
//     unless the target's aliases say `gather_facts/no`, `roles: [TARGET]`) is written with the
//     lab host instead of `testhost`;
//  2. the targets folder is the roles path (ANSIBLE_ROLES_PATH), as ansible-test arranges, so
//     `setup_remote_tmp_dir`, `prepare_tests` and friends resolve;
//  3. `-e output_dir=/tmp/compat-output` (ansible-test passes it in integration_config.yml);
//  4. each tool gets its own fresh one-host lab per target (ansible-test's "destructive" targets
//     change the host).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { labDown, labUp, sweepOrphanLabs } from '../../src/lab/index.js'
import { allTargets } from './targets.js'

export const ADAPTATIONS = [
  "`hosts:` of ansible-test's wrapper play is the lab host instead of `testhost` (ansible-test's inventory name for the target machine)",
  'the targets folder is the roles path (`ANSIBLE_ROLES_PATH`), as ansible-test arranges, so shared `setup_*`/`prepare_*` roles resolve',
  '`-e output_dir=/tmp/compat-output` (ansible-test passes it in `integration_config.yml`)',
  'each tool runs each target on its own fresh one-host lab (real sshd, overlay root), so "destructive" targets start from the same host',
]

export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'ignored' | 'unreachable' | 'unknown' | 'rescued'

export interface TaskStatus {
  name: string
  status: Status
  msg?: string
}

export interface ToolResult {
  exit: number
  /** k3sbook only: validate refused the playbook (exit 5). */
  refused?: boolean
  validateErrors?: string[]
  tasks: TaskStatus[]
  passed: boolean
  seconds: number
  tail?: string
}

export interface TargetResult {
  target: string
  ansible?: ToolResult
  k3sbook?: ToolResult
}

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const OUTPUT_DIR = '/tmp/compat-output'

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs)
    p.on('close', (code, sig) => {
      clearTimeout(timer)
      res({ code: code ?? (sig ? 137 : 1), stdout, stderr })
    })
  })
}

/**
 * ansible.posix.json drops the `ignore_errors` flag Ansible hands its callbacks, so an ignored failure
 * reads as a failure. This stdout callback is that one plus the flag (`_compat_ignored`); the runner
 * writes it to a scratch folder (ANSIBLE_CALLBACK_PLUGINS) — our code, not Ansible's.
 */
const CALLBACK = `DOCUMENTATION = '''
    name: compat_json
    short_description: ansible.posix.json with the ignore_errors flag
    description: [ansible.posix.json, plus _compat_ignored on failures whose errors are ignored]
    type: stdout
    options:
      show_custom_stats:
        default: False
        type: bool
      json_indent:
        default: 4
        type: integer
'''

from ansible_collections.ansible.posix.plugins.callback.json import CallbackModule as JsonCallback


class CallbackModule(JsonCallback):
    CALLBACK_NAME = 'compat_json'

    def __getattribute__(self, name):
        if name == 'v2_runner_on_failed':
            record = object.__getattribute__(self, '_record_task_result')

            def on_failed(result, ignore_errors=False):
                record({'failed': True, '_compat_ignored': bool(ignore_errors)}, result)
            return on_failed
        return super().__getattribute__(name)
`

export function callbackDir(): string {
  const dir = '/tmp/k3sbook-compat/callback'
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'compat_json.py'), CALLBACK)
  return dir
}

/** ansible-test's wrapper playbook for a role target, with the lab host. */
function wrapper(target: string, host: string, ansibleDir: string): string {
  const aliases = readAliases(ansibleDir, target)
  const gather = !aliases.includes('gather_facts/no')
  return `- hosts: ${host}\n  gather_facts: ${gather ? 'true' : 'false'}\n  roles:\n    - role: ${target}\n`
}

function readAliases(ansibleDir: string, target: string): string[] {
  const f = join(ansibleDir, 'test/integration/targets', target, 'aliases')
  return existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter(Boolean)
    : []
}

function normName(n: string): string {
  return n.replace(/^[\w.-]+ : /, '').trim()
}

/** ansible.posix.json output → task statuses of the one host. */
export function ansibleStatuses(json: string): { tasks: TaskStatus[]; failures: number } {
  const start = json.indexOf('{')
  const doc = JSON.parse(json.slice(start)) as {
    plays: { tasks: { task: { name: string }; hosts: Record<string, Record<string, unknown>> }[] }[]
    stats: Record<string, { failures: number; unreachable: number }>
  }
  const tasks: TaskStatus[] = []
  for (const play of doc.plays)
    for (const t of play.tasks) {
      for (const r of Object.values(t.hosts)) {
        // the play's implicit fact gathering is not a task of the target (an explicit gather_facts task
        // is); a meta task shows only when its `when` skipped it, as k3sbook shows it
        if ((r.action === 'meta' && r.skipped !== true) || (r.action === 'gather_facts' && t.task.name === 'Gathering Facts')) continue
        const status = ansibleResultStatus(r)
        tasks.push({ name: normName(t.task.name), status, msg: typeof r.msg === 'string' ? r.msg.slice(0, 200) : undefined })
      }
    }
  const failures = Object.values(doc.stats).reduce((a, s) => a + s.failures + s.unreachable, 0)
  return { tasks, failures }
}

/** One host's result in Ansible's json callback → its status (an ignored failure is 'ignored'). */
export function ansibleResultStatus(r: Record<string, unknown>): Status {
  if (r.unreachable) return 'unreachable'
  if (r.failed) return r.ignore_errors || ignored(r) ? 'ignored' : 'failed'
  return r.skipped ? 'skipped' : r.changed ? 'changed' : 'ok'
}

function ignored(r: Record<string, unknown>): boolean {
  return r._ansible_ignore_errors === true || r._compat_ignored === true
}

/** k3sbook --output json events → task statuses of the one host. */
export function k3sbookStatuses(out: string): { tasks: TaskStatus[]; failures: number } {
  const tasks: TaskStatus[] = []
  let failures = 0
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue
    let e: Record<string, unknown>
    try {
      e = JSON.parse(line)
    } catch {
      continue
    }
    if (e.type === 'host:result') {
      if (e.task === 'Gathering Facts') continue
      const st = e.status as string
      const status: Status = e.ignored ? 'ignored' : st === 'unknown' ? 'changed' : (st as Status)
      tasks.push({ name: normName(String(e.task)), status, msg: typeof e.msg === 'string' ? e.msg.slice(0, 200) : undefined })
    }
    if (e.type === 'run:end')
      for (const c of Object.values(e.recap as Record<string, { failed: number; unreachable: number }>)) failures += c.failed + c.unreachable
  }
  return { tasks, failures }
}

/** Index of the first task whose status differs (or where one list ends), -1 when equal. */
export function firstDivergence(a: TaskStatus[], b: TaskStatus[]): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) if (!a[i] || !b[i] || a[i].status !== b[i].status) return i
  return -1
}

async function runTarget(target: string, tool: 'ansible' | 'k3sbook', ansibleDir: string, k3sbookBin: string, n: number): Promise<ToolResult> {
  const lab = await labUp({ name: `cmp${tool[0]}-${process.pid.toString(36)}-${n}`, hosts: 1, owner: process.pid })
  const t0 = Date.now()
  try {
    const host = lab.hosts[0].name
    const dir = join('/tmp/k3sbook-compat', tool, target)
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'site.yml'), wrapper(target, host, ansibleDir))
    const env = { ...process.env, ANSIBLE_ROLES_PATH: join(ansibleDir, 'test/integration/targets'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' }
    const extra = ['-e', `output_dir=${OUTPUT_DIR}`]
    if (tool === 'ansible') {
      const r = await run('ansible-playbook', ['-i', lab.inventoryPath, 'site.yml', ...extra], {
        cwd: dir,
        env: {
          ...env,
          ANSIBLE_STDOUT_CALLBACK: 'compat_json',
          ANSIBLE_CALLBACK_PLUGINS: callbackDir(),
          ANSIBLE_HOST_KEY_CHECKING: 'True',
          ANSIBLE_PIPELINING: '1',
        },
        timeoutMs: 600_000,
      })
      let parsed: { tasks: TaskStatus[]; failures: number }
      try {
        parsed = ansibleStatuses(r.stdout)
      } catch {
        parsed = { tasks: [], failures: 1 }
      }
      return {
        exit: r.code,
        tasks: parsed.tasks,
        passed: r.code === 0 && parsed.failures === 0 && parsed.tasks.length > 0,
        seconds: (Date.now() - t0) / 1000,
        tail: r.code ? (r.stderr || r.stdout).slice(-600) : undefined,
      }
    }
    const v = await run('node', [k3sbookBin, 'validate', 'site.yml', '-i', lab.inventoryPath, ...extra], { cwd: dir, env, timeoutMs: 120_000 })
    const validateErrors =
      v.code === 0
        ? []
        : (v.stdout + v.stderr)
            .split('\n')
            .filter((l) => /:\d+:\d+: /.test(l) || /error/i.test(l))
            .slice(0, 20)
    if (v.code !== 0) return { exit: v.code, refused: true, validateErrors, tasks: [], passed: false, seconds: (Date.now() - t0) / 1000 }
    const r = await run('node', [k3sbookBin, 'run', 'site.yml', '-i', lab.inventoryPath, ...extra, '--output', 'json'], { cwd: dir, env, timeoutMs: 600_000 })
    const parsed = k3sbookStatuses(r.stdout)
    return {
      exit: r.code,
      tasks: parsed.tasks,
      passed: r.code === 0 && parsed.failures === 0 && parsed.tasks.length > 0,
      seconds: (Date.now() - t0) / 1000,
      tail: r.code ? r.stderr.slice(-600) : undefined,
    }
  } finally {
    await labDown(lab.name)
  }
}

async function main(): Promise<void> {
  const resultsDir = resolve(arg('results') ?? '/tmp/k3sbook-compat/results')
  mkdirSync(resultsDir, { recursive: true })
  if (process.argv.includes('--report')) {
    const { report } = await import('./report.js')
    process.stdout.write(report(resultsDir, arg('before') ?? 'before', arg('after') ?? 'after'))
    return
  }
  const ansibleDir = arg('ansible')
  if (!ansibleDir || !existsSync(join(ansibleDir, 'test/integration/targets'))) {
    console.error('--ansible PATH: a checkout of ansible/ansible (test/integration/targets) is needed')
    process.exit(5)
  }
  const targets = arg('targets')?.split(',') ?? allTargets()
  const tools = (arg('tools') ?? 'ansible,k3sbook').split(',') as ('ansible' | 'k3sbook')[]
  const label = arg('label') ?? 'after'
  const k3sbookBin = resolve(arg('k3sbook') ?? join(repoRoot, 'bin/k3sbook.js'))
  sweepOrphanLabs()
  const jobs: { target: string; tool: 'ansible' | 'k3sbook' }[] = []
  for (const target of targets) {
    if (!existsSync(join(ansibleDir, 'test/integration/targets', target, 'tasks'))) {
      console.error(`${target}: not a role target in ${ansibleDir}`)
      continue
    }
    for (const tool of tools) jobs.push({ target, tool })
  }
  let n = 0
  const worker = async (): Promise<void> => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const { target, tool } = job
      const file = join(resultsDir, `${tool === 'ansible' ? 'ansible' : label}.${target}.json`)
      const res = await runTarget(target, tool, ansibleDir, k3sbookBin, ++n)
      writeFileSync(file, JSON.stringify(res, null, 1))
      console.error(
        `${target} ${tool === 'ansible' ? 'ansible' : label}: ${res.refused ? 'REFUSED' : res.passed ? 'pass' : 'FAIL'} (${res.tasks.length} tasks, ${res.seconds.toFixed(1)} s)`,
      )
    }
  }
  await Promise.all(Array.from({ length: Number(arg('jobs') ?? 1) }, worker))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
