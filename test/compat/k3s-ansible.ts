// k3s-io/k3s-ansible as written, run by ansible-playbook and by k3sbook on fresh 3-host systemd labs
// (server: host 1, agent: hosts 2 and 3; the sample inventory's variables), compared per host and
// task: check mode, the run, and a second run. Not in the suite (CI has no checkout of k3s-ansible,
// and the repository holds only what this project wrote): a measurement run by hand, reported in
// docs/COMPAT.md.
//
//   node --import tsx test/compat/k3s-ansible.ts --checkout /path/to/k3s-ansible \
//     [--start-at-task "Install Dependent Ubuntu Packages"]
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

const a = await measure('ansible')
const k = await measure('k3sbook')
const lines: string[] = [
  `k3sbook validate: ${k.validate}`,
  '',
  '| phase | host | tasks (ansible / k3sbook) | same statuses | first difference |',
  '| --- | --- | ---: | --- | --- |',
]
let allSame = true
for (const phase of PHASES) {
  // the labs' host names differ (one lab per tool): compare by position (server, agent, agent)
  const ah = [...a.phases[phase].hosts.entries()].sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))
  const kh = [...k.phases[phase].hosts.entries()].sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true }))
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
      `| ${phase} (exit ${a.phases[phase].exit} / ${k.phases[phase].exit}) | ${i === 0 ? 'server' : `agent ${i}`} | ${at.length} / ${kt.length} | ${d < 0 ? 'yes' : 'no'} | ${diff.replace(/\|/g, '\\|')} |`,
    )
  }
}
const tail = (m: PerHost) => [...m.values()].map((t) => t.at(-1)).filter(Boolean)
lines.push('', `last task per host, run: ansible ${JSON.stringify(tail(a.phases.run.hosts).map((t) => `${t!.task}: ${t!.status}`))}`)
lines.push(`last task per host, run: k3sbook ${JSON.stringify(tail(k.phases.run.hosts).map((t) => `${t!.task}: ${t!.status}`))}`)
process.stdout.write(lines.join('\n') + '\n')
process.exit(allSame ? 0 : 1)
