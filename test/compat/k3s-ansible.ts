// k3s-io/k3s-ansible as written, run by ansible-playbook and by k3sbook on fresh 3-host systemd labs
// (server: host 1, agent: hosts 2 and 3; the sample inventory's variables), compared per host and
// task: check mode, the run, and a second run. Not in the suite (CI has no checkout of k3s-ansible,
// and the repository holds only what this project wrote): a measurement run by hand, reported in
// docs/COMPAT.md.
//
//   node --import tsx test/compat/k3s-ansible.ts --checkout /path/to/k3s-ansible \
//     [--start-at-task "Install Dependent Ubuntu Packages"] [--tools ansible,k3sbook] [--dump DIR]
//
// The second run's verdict: per tool and host, the tasks that report `changed` before the host's
// first failure (where the missing network, or Ansible 2.14's first_found, stops it). With one tool
// in --tools, only that tool's phases and second-run verdict are printed (no comparison). --dump
// writes each tool's per-host results to DIR/k3s-ansible-TOOL.json.
//
// k3s-ansible 1.2.2 asserts ansible-core >= 2.15 in its first task; the controller's ansible-core
// (Debian's 2.14) stops there, and k3sbook reports the same version, so both tools start at the task
// after it (the same option for both). No network reaches the lab: the K3S download stops both.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { labDown, labUp, type LabInfo } from '../../src/lab/index.js'
import { ansibleResultStatus, callbackDir, type Status } from './run.js'

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const BIN = join(repoRoot, 'bin/k3sbook.js')

function arg(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : dflt
}

const checkout = resolve(arg('checkout') ?? '')
const startAt = arg('start-at-task', 'Install Dependent Ubuntu Packages')!
const tools = (arg('tools', 'ansible,k3sbook') ?? '').split(',') as ('ansible' | 'k3sbook')[]

/** host → its tasks' statuses, in order. */
type PerHost = Map<string, { task: string; status: Status; msg?: string }[]>

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => p.kill('SIGKILL'), 900_000)
    p.on('close', (code) => {
      clearTimeout(timer)
      res({ code: code ?? 1, stdout, stderr })
    })
  })
}

function push(m: PerHost, host: string, task: string, status: Status, msg?: unknown) {
  if (!m.has(host)) m.set(host, [])
  m.get(host)!.push({ task: task.replace(/^[\w.-]+ : /, ''), status, msg: typeof msg === 'string' ? msg.slice(0, 160) : undefined })
}

function ansiblePerHost(json: string): PerHost {
  // the checkout's ansible.cfg enables profile_tasks, which prints its table after the JSON document
  const start = json.indexOf('{')
  const end = json.indexOf('\n}', start)
  const doc = JSON.parse(json.slice(start, end < 0 ? undefined : end + 2)) as {
    plays: { tasks: { task: { name: string }; hosts: Record<string, Record<string, unknown>> }[] }[]
  }
  const m: PerHost = new Map()
  for (const play of doc.plays)
    for (const t of play.tasks)
      for (const [h, r] of Object.entries(t.hosts)) {
        if (r.action === 'meta' || r.action === 'gather_facts' || t.task.name === 'Gathering Facts') continue
        push(m, h, t.task.name, ansibleResultStatus(r), r.msg)
      }
  return m
}

function k3sbookPerHost(out: string): PerHost {
  const m: PerHost = new Map()
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue
    const e = JSON.parse(line) as Record<string, unknown>
    if (e.type !== 'host:result' || e.task === 'Gathering Facts') continue
    const st = String(e.status)
    push(m, String(e.host), String(e.task), e.ignored ? 'ignored' : st === 'unknown' ? 'changed' : (st as Status), e.msg)
  }
  return m
}

function inventory(lab: LabInfo): string {
  const [server, ...agents] = lab.hosts
  const host = (h: LabInfo['hosts'][number]) => ({ [h.name]: { ansible_host: h.address } })
  return stringify({
    k3s_cluster: {
      children: { server: { hosts: host(server) }, agent: { hosts: Object.assign({}, ...agents.map(host)) } },
      vars: {
        ansible_port: 22,
        ansible_user: 'root',
        ansible_ssh_private_key_file: lab.keyPath,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null`,
        ansible_python_interpreter: '/usr/bin/python3',
        k3s_version: 'v1.31.12+k3s1',
        token: 'changeme!',
        api_endpoint: "{{ hostvars[groups['server'][0]]['ansible_host'] | default(groups['server'][0]) }}",
      },
    },
  })
}

type Phase = 'check' | 'run' | 'rerun'
const PHASES: Phase[] = ['check', 'run', 'rerun']

async function measure(tool: 'ansible' | 'k3sbook'): Promise<{ validate?: string; phases: Record<Phase, { exit: number; hosts: PerHost }> }> {
  const lab = await labUp({ name: `k3sa${tool[0]}${process.pid.toString(36)}`, hosts: 3, init: 'systemd', owner: process.pid })
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-k3sa-'))
  try {
    const inv = join(dir, 'inventory.yml')
    writeFileSync(inv, inventory(lab))
    const pb = join(checkout, 'playbooks/site.yml')
    const env = { ...process.env, ANSIBLE_CONFIG: join(checkout, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' }
    const out = {} as Record<Phase, { exit: number; hosts: PerHost }>
    let validate: string | undefined
    if (tool === 'k3sbook') {
      const v = await exec('node', [BIN, 'validate', pb, '-i', inv], env, checkout)
      validate = `exit ${v.code}; ${(v.stdout + v.stderr).split('\n').filter((l) => /warning/i.test(l)).length} warnings`
    }
    for (const phase of PHASES) {
      const extra = ['--start-at-task', startAt, ...(phase === 'check' ? ['--check'] : [])]
      const r =
        tool === 'ansible'
          ? await exec(
              'ansible-playbook',
              ['-i', inv, pb, ...extra],
              { ...env, ANSIBLE_STDOUT_CALLBACK: 'compat_json', ANSIBLE_CALLBACK_PLUGINS: callbackDir() },
              checkout,
            )
          : await exec('node', [BIN, 'run', pb, '-i', inv, ...extra, '--output', 'json'], env, checkout)
      let hosts: PerHost
      try {
        hosts = tool === 'ansible' ? ansiblePerHost(r.stdout) : k3sbookPerHost(r.stdout)
      } catch {
        throw new Error(`${tool} ${phase}: unreadable output (exit ${r.code})\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`)
      }
      out[phase] = { exit: r.code, hosts }
      process.stderr.write(`[k3s-ansible] ${tool} ${phase}: exit ${r.code}, ${[...hosts.values()].reduce((a, t) => a + t.length, 0)} host-task results\n`)
    }
    return { validate, phases: out }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await labDown(lab.name)
  }
}

type Measured = Awaited<ReturnType<typeof measure>>
const byPosition = (m: PerHost) => [...m.entries()].sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))
const role = (i: number) => (i === 0 ? 'server' : `agent ${i}`)

/** Per host, the tasks of a phase reporting changed before the host's first failure. */
function changedBeforeStop(tool: string, m: Measured, phase: Phase): string[] {
  const out: string[] = []
  byPosition(m.phases[phase].hosts).forEach(([, tasks], i) => {
    const stop = tasks.findIndex((t) => t.status === 'failed' || t.status === 'unreachable')
    const before = stop < 0 ? tasks : tasks.slice(0, stop)
    const changed = before.map((t, j) => ({ ...t, n: j + 1 })).filter((t) => t.status === 'changed')
    const why =
      stop < 0 ? 'the end' : `task ${stop + 1} "${tasks[stop].task}" ${tasks[stop].status}${tasks[stop].msg ? ` (${tasks[stop].msg.split('\n')[0]})` : ''}`
    out.push(
      `${phase === 'rerun' ? 'second run' : phase}, ${tool}, ${role(i)}: ${changed.length} changed of ${before.length} tasks before ${why}` +
        (changed.length ? `: ${changed.map((t) => `${t.n} "${t.task}"`).join(', ')}` : ''),
    )
  })
  return out
}

const results: Partial<Record<'ansible' | 'k3sbook', Measured>> = {}
for (const tool of tools) results[tool] = await measure(tool)
const dump = arg('dump')
if (dump)
  for (const [tool, m] of Object.entries(results))
    writeFileSync(
      join(dump, `k3s-ansible-${tool}.json`),
      JSON.stringify(
        { validate: m.validate, phases: Object.fromEntries(PHASES.map((p) => [p, { exit: m.phases[p].exit, hosts: Object.fromEntries(m.phases[p].hosts) }])) },
        null,
        1,
      ),
    )
const a = results.ansible
const k = results.k3sbook
const lines: string[] = []
if (k) lines.push(`k3sbook validate: ${k.validate}`, '')
let allSame = true
if (a && k) {
  lines.push('| phase | host | tasks (ansible / k3sbook) | same statuses | first difference |', '| --- | --- | ---: | --- | --- |')
  for (const phase of PHASES) {
    // the labs' host names differ (one lab per tool): compare by position (server, agent, agent)
    const ah = byPosition(a.phases[phase].hosts)
    const kh = byPosition(k.phases[phase].hosts)
    for (let i = 0; i < Math.max(ah.length, kh.length); i++) {
      const at = ah[i]?.[1] ?? []
      const kt = kh[i]?.[1] ?? []
      let d = -1
      for (let j = 0; j < Math.max(at.length, kt.length); j++)
        if (!at[j] || !kt[j] || at[j].status !== kt[j].status || at[j].task !== kt[j].task) {
          d = j
          break
        }
      if (d >= 0) allSame = false
      const diff =
        d < 0
          ? ''
          : `task ${d + 1}: ansible "${at[d]?.task ?? '(ended)'}" ${at[d]?.status ?? ''}${at[d]?.msg ? ` (${at[d].msg})` : ''}; k3sbook "${kt[d]?.task ?? '(ended)'}" ${kt[d]?.status ?? ''}${kt[d]?.msg ? ` (${kt[d].msg})` : ''}`
      lines.push(
        `| ${phase} (exit ${a.phases[phase].exit} / ${k.phases[phase].exit}) | ${role(i)} | ${at.length} / ${kt.length} | ${d < 0 ? 'yes' : 'no'} | ${diff.replace(/\|/g, '\\|')} |`,
      )
    }
  }
  lines.push('')
}
const tail = (m: PerHost) => [...m.values()].map((t) => t.at(-1)).filter(Boolean)
for (const [tool, m] of Object.entries(results)) {
  lines.push(`last task per host, run: ${tool} ${JSON.stringify(tail(m.phases.run.hosts).map((t) => `${t!.task}: ${t!.status}`))}`)
  lines.push(...changedBeforeStop(tool, m, 'run'), ...changedBeforeStop(tool, m, 'rerun'))
}
let changedAgain = false
for (const m of Object.values(results))
  for (const [, tasks] of m.phases.rerun.hosts) {
    const stop = tasks.findIndex((t) => t.status === 'failed' || t.status === 'unreachable')
    if ((stop < 0 ? tasks : tasks.slice(0, stop)).some((t) => t.status === 'changed')) changedAgain = true
  }
process.stdout.write(lines.join('\n') + '\n')
process.exit(allSame && !changedAgain ? 0 : 1)
