// `npm run bench`: k3sbook against Debian's ansible-playbook (pipelining on) on the same lab hosts,
// the same playbooks for both — the 21-task prep playbook (init-less hosts) and a playbook of
// typical roles (roles-bench/: packages, files, users, sysctl, a templated systemd service with its
// handler; systemd hosts) — for 1, 5 and 20 hosts (any counts: --hosts; ansible only at some of them:
// --ansible-hosts): first run on fresh hosts, no-change re-run and check mode — medians, ratios, peak
// RSS, the controller's CPU, the lab's bring-up time and memory — plus a bare ssh2 floor. Prints
// markdown tables and, for three host counts or more, an ASCII plot of the growth. Ratios and
// medians only: this is a report, never a timed test.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { randomBytes } from 'node:crypto'
import { labDown, labDownSync, labUp, type LabInfo } from '../../src/lab/index.js'
import { serveK3sDouble, type ReleaseServer } from '../k3s-double/serve.js'
import { writeLabClusterInventory } from '../../scripts/lab-cluster.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const CLI = join(root, 'bin', 'k3sbook.js')

interface BenchPlaybook {
  name: string
  /** What each tool runs (the same text: checked at start). */
  k3sbook: string
  /** Absent: k3sbook only (the cluster's site.yml uses k3sbook's own modules). */
  ansible?: string
  /** The lab's hosts: the roles playbook starts a systemd service. */
  init: 'none' | 'systemd'
  /** The cluster: its inventory on the lab and the K3S double served on the lab bridge, as `npm run demo` does. */
  cluster?: boolean
}
const PLAYBOOKS: Record<string, BenchPlaybook> = {
  prep: { name: 'prep', k3sbook: join(here, 'prep.k3sbook.yml'), ansible: join(here, 'prep.ansible.yml'), init: 'none' },
  roles: { name: 'roles', k3sbook: join(here, 'roles-bench', 'site.yml'), ansible: join(here, 'roles-bench', 'site.yml'), init: 'systemd' },
  // init-less hosts (K3SBOOK_LAB_INIT=none in the demo): no Docker nodes, every service started by
  // the roles' SysV fallbacks; 2 servers, the rest agents (scripts/lab-cluster.ts)
  site: { name: 'site', k3sbook: join(root, 'playbooks', 'site.yml'), init: 'none', cluster: true },
}

/** What a cluster lab needs for every run on it: the cluster inventory, the K3S double, the secrets. */
interface ClusterSetup {
  inventory: string
  env: Record<string, string>
  release: ReleaseServer
}
let cluster: ClusterSetup | undefined

async function clusterSetup(lab: LabInfo): Promise<ClusterSetup> {
  const release = await serveK3sDouble(lab.bridgeAddress)
  let inventory: string
  try {
    inventory = writeLabClusterInventory(lab, { releaseUrl: release.url })
  } catch (e) {
    await release.close()
    throw e
  }
  return {
    inventory,
    env: {
      K3SBOOK_K3S_TOKEN: randomBytes(24).toString('hex'),
      K3SBOOK_DATASTORE_ENDPOINT: `postgres://k3s:${randomBytes(12).toString('hex')}@10.10.0.1:5432/k3s?sslmode=disable`,
    },
    release,
  }
}

async function clusterDown(): Promise<void> {
  await cluster?.release.close()
  cluster = undefined
}

interface Options {
  hosts: number[]
  /** Host counts ansible-playbook also runs at (default: all of --hosts). */
  ansibleHosts?: number[]
  runs: number
  /** Ansible runs per measurement; default: --runs up to 5 hosts, 1 above (a 20-host run takes minutes). */
  ansibleRuns?: number
  only?: 'k3sbook' | 'ansible'
  bareHosts?: number
  out?: string
  /** Both tools gather facts (the playbooks' templated gather_facts, set by -e bench_facts=true). */
  facts?: boolean
  playbooks: BenchPlaybook[]
}

const HELP = `npm run bench -- [options]   (as root, after \`npm run build\`; see test/bench/RESULTS.md)
  --hosts 1,5,20          host counts (a fresh lab for every first run)
  --ansible-hosts 5,20    host counts ansible-playbook also runs at (default: all of --hosts);
                          e.g. --hosts 5,20,50,150 --ansible-hosts 5,20,50 for the issue-18 table
  --runs 3                k3sbook runs per measurement (medians)
  --ansible-runs N        ansible runs per measurement (default: --runs up to 5 hosts, 1 above)
  --only k3sbook|ansible  one tool only (no ratios)
  --bare-hosts N          where the bare ssh2 floor is measured (default: the largest count)
  --playbooks prep,roles  which bench playbooks (roles needs systemd lab hosts); also \`site\`:
                          the cluster's playbooks/site.yml on a lab cluster as \`npm run demo\`
                          runs it (k3sbook only: no ansible peer, no bare floor)
  --facts                 both tools gather facts (-e bench_facts=true)
  --out FILE.md           also write the report there
`

const counts = (v: string): number[] => v.split(',').map((x) => Number(x.trim()))

function parseArgs(argv: string[]): Options {
  const o: Options = { hosts: [1, 5, 20], runs: 3, playbooks: [PLAYBOOKS.prep, PLAYBOOKS.roles] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--hosts') o.hosts = counts(next())
    else if (a === '--ansible-hosts') o.ansibleHosts = counts(next())
    else if (a === '--runs') o.runs = Number(next())
    else if (a === '--ansible-runs') o.ansibleRuns = Number(next())
    else if (a === '--only') {
      const v = next()
      if (v !== 'k3sbook' && v !== 'ansible') throw new Error('--only takes k3sbook or ansible')
      o.only = v
    } else if (a === '--bare-hosts') o.bareHosts = Number(next())
    else if (a === '--out') o.out = next()
    else if (a === '--facts') o.facts = true
    else if (a === '--playbooks')
      o.playbooks = next()
        .split(',')
        .map((x) => {
          const p = PLAYBOOKS[x.trim()]
          if (!p) throw new Error(`--playbooks takes ${Object.keys(PLAYBOOKS).join(', ')} (comma-separated), not "${x}"`)
          return p
        })
    else if (a === '--help' || a === '-h') {
      process.stdout.write(HELP)
      process.exit(0)
    } else throw new Error(`unknown option ${a}`)
  }
  if ([...o.hosts, ...(o.ansibleHosts ?? [])].some((n) => !Number.isInteger(n) || n < 1))
    throw new Error('--hosts and --ansible-hosts take positive whole numbers')
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs takes a positive whole number')
  return o
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)

// ------------------------------------------------------------------ measuring one process

interface Measured {
  wallMs: number
  /** Largest resident set of the process tree, summed over its processes (KiB). */
  peakRssKb: number
  /** CPU time (user + system, ms) of the command and the children it waited for (/usr/bin/time). */
  cpuMs: number
  code: number
  stdout: string
  stderr: string
}

/** RSS (KiB) of `pid` and all its descendants, read from /proc. */
function treeRssKb(pid: number): number {
  const children = new Map<number, number[]>()
  const rss = new Map<number, number>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1')
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ppid = Number(rest[1])
      const rssPages = Number(rest[21])
      const p = Number(d)
      rss.set(p, rssPages * 4)
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid)!.push(p)
    } catch {
      /* exited while we looked */
    }
  }
  let sum = 0
  const stack = [pid]
  while (stack.length) {
    const p = stack.pop()!
    sum += rss.get(p) ?? 0
    stack.push(...(children.get(p) ?? []))
  }
  return sum
}

/**
 * Waits (at most 5 s) until the machine's CPUs are mostly idle, before every timed run of either
 * tool: the end of the previous run (ansible's workers exiting, sshd sessions closing on the lab
 * hosts) must not be timed as part of the next one. Reads /proc/stat over 250 ms windows.
 */
async function settle(): Promise<void> {
  const sample = () => {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) }
  }
  for (let i = 0; i < 20; i++) {
    const a = sample()
    await new Promise((r) => setTimeout(r, 250))
    const b = sample()
    if ((b.idle - a.idle) / Math.max(1, b.total - a.total) >= 0.85) return
  }
}

/** Where /usr/bin/time writes a measured run's RSS and CPU (one run at a time). */
const TIME_OUT = join(tmpdir(), `k3sbook-bench-time-${process.pid}`)

/**
 * Runs a command under /usr/bin/time (its "max RSS" is the biggest single process); with `tree`,
 * also polls the process tree's summed RSS (ansible forks a worker per host) and keeps the larger.
 * Polling reads all of /proc, which costs CPU on a small machine: only for multi-process tools.
 */
async function measure(cmd: string[], env: NodeJS.ProcessEnv, cwd: string, tree = false): Promise<Measured> {
  await settle()
  const useTime = existsSync('/usr/bin/time')
  const argv = useTime ? ['/usr/bin/time', '-f', '%M %U %S', '-o', TIME_OUT, ...cmd] : cmd
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    // its own process group, so a signal to the bench ends the tool and all its children (cleanup)
    const child = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    running.add(child)
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    let peak = 0
    const poll = setInterval(() => {
      if (child.pid && tree) peak = Math.max(peak, treeRssKb(child.pid))
    }, 250)
    child.on('error', reject)
    child.on('close', (code) => {
      running.delete(child)
      const wallMs = performance.now() - t0
      clearInterval(poll)
      let cpuMs = NaN
      if (useTime) {
        try {
          const [rss, user, sys] = readFileSync(TIME_OUT, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
          peak = Math.max(peak, rss)
          cpuMs = (user + sys) * 1000
        } catch {
          /* time wrote nothing: the command did not start */
        }
        rmSync(TIME_OUT, { force: true })
      }
      resolve({ wallMs, peakRssKb: peak, cpuMs, code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
}

// ------------------------------------------------------------------ the two tools

type Mode = 'first' | 'rerun' | 'check'

interface ToolRun extends Measured {
  changed: number
  failed: number
  /** k3sbook only: SSH round trips per host (from the run:end event). */
  roundTrips?: number
}

/** Extra arguments for both tools (--facts). */
let EXTRA: string[] = []

async function runK3sbook(lab: LabInfo, pb: BenchPlaybook, mode: Mode): Promise<ToolRun> {
  const inv = ['-i', lab.inventoryPath, ...(pb.cluster && cluster ? ['-i', cluster.inventory] : [])]
  const args = ['run', ...inv, pb.k3sbook, '-o', 'json', ...EXTRA, ...(mode === 'check' ? ['--check'] : [])]
  const m = await measure([process.execPath, CLI, ...args], { ...process.env, ...(pb.cluster ? cluster?.env : {}), NO_COLOR: '1' }, dirname(pb.k3sbook))
  const endLine = m.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('"run:end"'))
  if (!endLine) throw new Error(`k3sbook gave no run:end event (exit ${m.code}):\n${m.stderr}\n${m.stdout.slice(-2000)}`)
  const end = JSON.parse(endLine) as { recap: Record<string, { changed: number; failed: number; unreachable: number }>; roundTrips: Record<string, number> }
  const recaps = Object.values(end.recap)
  const trips = Object.values(end.roundTrips)
  return {
    ...m,
    changed: recaps.reduce((a, r) => a + r.changed, 0),
    failed: recaps.reduce((a, r) => a + r.failed + r.unreachable, 0),
    roundTrips: trips.length ? trips.reduce((a, b) => a + b, 0) / trips.length : 0,
  }
}

async function runAnsible(lab: LabInfo, pb: BenchPlaybook, mode: Mode, hosts: number, cpDir: string): Promise<ToolRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_PIPELINING: '1',
    ANSIBLE_FORKS: String(hosts),
    ANSIBLE_SSH_CONTROL_PATH_DIR: cpDir,
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_NOCOLOR: '1',
  }
  const m = await measure(
    ['ansible-playbook', '-i', lab.inventoryPath, pb.ansible!, ...EXTRA, ...(mode === 'check' ? ['--check'] : [])],
    env,
    dirname(pb.ansible!),
    true,
  )
  let changed = 0
  let failed = 0
  for (const line of m.stdout.split('\n')) {
    const r = /^\S+\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(line)
    if (r) {
      changed += Number(r[1])
      failed += Number(r[2]) + Number(r[3])
    }
  }
  if (m.code !== 0 && failed === 0) failed = 1
  return { ...m, changed, failed }
}

/** Ends the ssh ControlPersist masters ansible left in `dir` (they would outlive the lab). */
async function stopMasters(dir: string): Promise<void> {
  if (!existsSync(dir)) return
  for (const f of readdirSync(dir)) {
    await new Promise<void>((r) => {
      const c = spawn('ssh', ['-o', `ControlPath=${join(dir, f)}`, '-O', 'exit', 'bench-host'], { stdio: 'ignore' })
      c.on('close', () => r())
      c.on('error', () => r())
    })
  }
  rmSync(dir, { recursive: true, force: true })
}

// ------------------------------------------------------------------ the bare ssh2 floor

/** Runs the playbook in-process once (no change expected) and records every script sent, per host. */
async function captureProbes(lab: LabInfo, pb: BenchPlaybook): Promise<Map<string, string[]>> {
  const { loadProject } = await import('../../src/playbook/project.js')
  const { makeConnectionFactory } = await import('../../src/connection/index.js')
  const { runPlaybook } = await import('../../src/executor/run.js')
  const { Diagnostics } = await import('../../src/errors.js')
  const diags = new Diagnostics()
  const project = loadProject({ playbook: pb.k3sbook, inventories: [lab.inventoryPath], extraVars: [] }, diags)
  if (!project || diags.hasErrors) throw new Error('the bench playbook does not load')
  const factory = makeConnectionFactory({})
  const scripts = new Map<string, string[]>()
  const connect = (host: string, vars: Record<string, unknown>) => {
    const c = factory(host, vars)
    const list: string[] = []
    scripts.set(host, list)
    const exec = c.exec.bind(c)
    c.exec = (script, o) => {
      list.push(script)
      return exec(script, o)
    }
    return c
  }
  const summary = await runPlaybook(project as never, { connect }, () => {})
  if (summary.changed || summary.failed) throw new Error('the capture run changed or failed something: the lab is not converged')
  return scripts
}

async function bareFloor(
  lab: LabInfo,
  pb: BenchPlaybook,
  runs: number,
): Promise<{ wallMs: number; connectMs: number; probeMs: number; scriptsPerHost: number }> {
  const scripts = await captureProbes(lab, pb)
  const inv = parseYaml(readFileSync(lab.inventoryPath, 'utf8')) as { all: { children: { lab: { hosts: Record<string, { ansible_host: string }> } } } }
  const hosts = Object.entries(inv.all.children.lab.hosts).map(([name, h]) => ({
    host: h.ansible_host,
    port: 22,
    user: 'root',
    key: lab.keyPath,
    scripts: scripts.get(name) ?? [],
  }))
  const specFile = join(mkdtempSync(join(tmpdir(), 'k3sbook-bench-')), 'spec.json')
  writeFileSync(specFile, JSON.stringify({ hosts }))
  const walls: number[] = []
  const connects: number[] = []
  const probes: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const m = await measure([process.execPath, join(here, 'bare-ssh2.mjs'), specFile], process.env, here)
      if (m.code !== 0) throw new Error(`bare ssh2 client failed: ${m.stderr}`)
      const r = JSON.parse(m.stdout) as { connectMs: number; probeMs: number }
      walls.push(m.wallMs)
      connects.push(r.connectMs)
      probes.push(r.probeMs)
    }
  } finally {
    rmSync(dirname(specFile), { recursive: true, force: true })
  }
  const per = hosts.map((h) => h.scripts.length)
  return { wallMs: median(walls), connectMs: median(connects), probeMs: median(probes), scriptsPerHost: per.reduce((a, b) => a + b, 0) / per.length }
}

// ------------------------------------------------------------------ the run plan

function median(xs: number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

interface Row {
  playbook: string
  hosts: number
  mode: Mode
  k: ToolRun[]
  a: ToolRun[]
}

const LAB = `bench${process.pid.toString(36)}`.slice(0, 12)
let labLive = false

/** Proportional set size (KiB) of every process of the lab's hosts (each host's pid 1 and below). */
function labPssKb(lab: LabInfo): number {
  const children = new Map<number, number[]>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid)!.push(Number(d))
    } catch {
      /* exited while we looked */
    }
  }
  let sum = 0
  const stack = lab.hosts.map((h) => h.pid)
  while (stack.length) {
    const p = stack.pop()!
    try {
      sum += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'latin1'))?.[1] ?? 0)
    } catch {
      /* exited */
    }
    stack.push(...(children.get(p) ?? []))
  }
  return sum
}

/** Each `lab up`: its wall time and the lab's memory right after (PSS of its processes). */
const labUps = new Map<string, { wallMs: number[]; pssKb: number[] }>()

async function freshLab(n: number, pb: BenchPlaybook): Promise<LabInfo> {
  await clusterDown()
  if (labLive) await labDown(LAB)
  labLive = true
  const t0 = performance.now()
  const lab = await labUp({ name: LAB, hosts: n, owner: process.pid, init: pb.init })
  const wallMs = performance.now() - t0
  const key = `${pb.init}/${n}`
  if (!labUps.has(key)) labUps.set(key, { wallMs: [], pssKb: [] })
  labUps.get(key)!.wallMs.push(wallMs)
  labUps.get(key)!.pssKb.push(labPssKb(lab))
  log(`lab up ${n} (init ${pb.init}): ${fmtS(wallMs)}, ${fmtMb(labPssKb(lab))} (PSS of its processes)`)
  if (pb.cluster) cluster = await clusterSetup(lab)
  return lab
}

/**
 * A run failed, a re-run changed something, or a first run found nothing to do: stop. A check run on
 * converged hosts must predict no change either, except on the cluster: site.yml has a shell task
 * (the datastore's login, no_log) that check mode cannot judge without running it, and k3sbook
 * counts it as a possible change (Ansible skips it); its count is logged instead.
 */
function check(run: ToolRun, tool: string, mode: Mode, at: string, pb?: BenchPlaybook): void {
  if (run.failed) throw new Error(`${tool} ${mode} on ${at} failed:\n${run.stderr.slice(-3000)}\n${run.stdout.slice(-3000)}`)
  if (mode === 'check' && pb?.cluster && run.changed) log(`${at}: check run predicted ${run.changed} change(s) on the converged cluster`)
  else if (mode !== 'first' && run.changed)
    throw new Error(`${tool} ${mode} on ${at} reported ${run.changed} changes: the playbooks are not equivalent or not idempotent\n${run.stdout.slice(-3000)}`)
  if (mode === 'first' && run.changed === 0) throw new Error(`${tool} first run on ${at} changed nothing: the hosts were not fresh`)
}

const fmtS = (ms: number) => (Number.isNaN(ms) ? '–' : ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`)
const fmtMb = (kb: number) => (Number.isFinite(kb) && kb > 0 ? `${(kb / 1024).toFixed(0)} MB` : '–')

/**
 * A small text plot (in a code block, for markdown): hosts along x (to scale), the re-run's wall
 * time (`*`) and the peak RSS (`o`), each on its own scale from 0 to its largest value.
 */
function asciiPlot(title: string, pts: { n: number; rerunMs: number; rssKb: number }[]): string {
  const W = 60
  const H = 12
  const xs = pts.map((p) => p.n)
  const maxX = Math.max(...xs)
  const maxT = Math.max(...pts.map((p) => p.rerunMs).filter(Number.isFinite), 1)
  const maxM = Math.max(...pts.map((p) => p.rssKb).filter(Number.isFinite), 1)
  const grid = Array.from({ length: H + 1 }, () => Array<string>(W + 1).fill(' '))
  const put = (n: number, v: number, max: number, ch: string) => {
    if (!Number.isFinite(v)) return
    const x = Math.round((n / maxX) * W)
    const y = H - Math.round((v / max) * H)
    grid[y][x] = grid[y][x] === ' ' || grid[y][x] === ch ? ch : '#'
  }
  for (const p of pts) {
    put(p.n, p.rerunMs, maxT, '*')
    put(p.n, p.rssKb, maxM, 'o')
  }
  const left = (y: number) => `${((maxT / 1000) * (1 - y / H)).toFixed(1).padStart(6)} s |`
  const right = (y: number) => `| ${((maxM / 1024) * (1 - y / H)).toFixed(0).padStart(4)} MB`
  const out = ['```', title, ...grid.map((row, y) => left(y) + row.join('') + right(y))]
  const axis = Array<string>(W + 1).fill('-')
  const labels = Array<string>(W + 8).fill(' ')
  for (const n of xs) {
    const x = Math.round((n / maxX) * W)
    axis[x] = '+'
    const t = String(n)
    for (let i = 0; i < t.length; i++) labels[Math.min(x + i, labels.length - 1)] = t[i]
  }
  out.push(' '.repeat(9) + '+' + axis.join('') + '+')
  out.push(' '.repeat(10) + labels.join('').trimEnd() + '   hosts')
  out.push('* = no-change re-run wall time (left scale), o = controller peak RSS (right scale), # = both')
  out.push('```')
  return out.join('\n')
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  if (o.facts) EXTRA = ['-e', 'bench_facts=true']
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: `npm run build` first (the bench times the built CLI)')
  const distAge = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs
  if (statSync(join(root, 'src', 'executor', 'run.ts')).mtimeMs > distAge) log('warning: src/ is newer than dist/ — `npm run build` to time the current code')
  for (const pb of o.playbooks)
    if (pb.ansible && readFileSync(pb.k3sbook, 'utf8').replace(/^#.*\n/gm, '') !== readFileSync(pb.ansible, 'utf8').replace(/^#.*\n/gm, ''))
      throw new Error(`${pb.k3sbook} and ${pb.ansible} differ: keep them task for task the same`)
  const withK = o.only !== 'ansible'
  const withAnsible = o.only !== 'k3sbook'
  const ansibleAt = (n: number, pb?: BenchPlaybook) => withAnsible && (!pb || !!pb.ansible) && (o.ansibleHosts ?? o.hosts).includes(n)
  const machine = {
    nproc: cpus().length,
    load0: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    node: process.version,
  }
  let ansibleVersion = ''
  if (o.hosts.some((n) => o.playbooks.some((pb) => ansibleAt(n, pb)))) {
    const v = await measure(['ansible-playbook', '--version'], process.env, here)
    ansibleVersion = v.stdout.split('\n')[0]
  }
  const rows: Row[] = []
  const t0 = Date.now()
  const bare = new Map<string, Awaited<ReturnType<typeof bareFloor>>>()
  const bareHosts = o.bareHosts ?? Math.max(...o.hosts)
  for (const pb of o.playbooks)
    for (const n of o.hosts) {
      const aRuns = o.ansibleRuns ?? (n > 5 ? 1 : o.runs)
      const withA = ansibleAt(n, pb)
      const cpDir = mkdtempSync(join(tmpdir(), 'k3sbook-bench-cp-'))
      cpDirs.add(cpDir)
      const row = (mode: Mode): Row => {
        let r = rows.find((x) => x.playbook === pb.name && x.hosts === n && x.mode === mode)
        if (!r) rows.push((r = { playbook: pb.name, hosts: n, mode, k: [], a: [] }))
        return r
      }
      const at = `${pb.name}, ${n} hosts`
      try {
        // First runs, each on fresh hosts, the two tools taking turns so load drift hits both.
        let lab: LabInfo | undefined
        for (let i = 0; i < Math.max(withK ? o.runs : 0, withA ? aRuns : 0); i++) {
          if (withK && i < o.runs) {
            lab = await freshLab(n, pb)
            const r = await runK3sbook(lab, pb, 'first')
            check(r, 'k3sbook', 'first', at)
            row('first').k.push(r)
            log(
              `${at}: k3sbook first run ${i + 1}/${o.runs}: ${fmtS(r.wallMs)} (${r.roundTrips?.toFixed(1)} round trips/host, CPU ${fmtS(r.cpuMs)}, peak RSS ${fmtMb(r.peakRssKb)})`,
            )
          }
          if (withA && i < aRuns) {
            await stopMasters(cpDir)
            lab = await freshLab(n, pb)
            const r = await runAnsible(lab, pb, 'first', n, cpDir)
            check(r, 'ansible', 'first', at)
            row('first').a.push(r)
            log(`${at}: ansible first run ${i + 1}/${aRuns}: ${fmtS(r.wallMs)}`)
          }
        }
        // Re-runs and check runs on the converged hosts (converged by the last first run above:
        // each tool must find nothing to change on what the other one made).
        for (const mode of ['rerun', 'check'] as const) {
          for (let i = 0; i < Math.max(withK ? o.runs : 0, withA ? aRuns : 0); i++) {
            if (withK && i < o.runs) {
              const r = await runK3sbook(lab!, pb, mode)
              check(r, 'k3sbook', mode, at, pb)
              row(mode).k.push(r)
              log(
                `${at}: k3sbook ${mode} ${i + 1}/${o.runs}: ${fmtS(r.wallMs)} (${r.roundTrips?.toFixed(1)} round trips/host, CPU ${fmtS(r.cpuMs)}, peak RSS ${fmtMb(r.peakRssKb)})`,
              )
            }
            if (withA && i < aRuns) {
              const r = await runAnsible(lab!, pb, mode, n, cpDir)
              check(r, 'ansible', mode, at)
              row(mode).a.push(r)
              log(`${at}: ansible ${mode} ${i + 1}/${aRuns}: ${fmtS(r.wallMs)}`)
            }
          }
        }
        if (withK && n === bareHosts && !pb.cluster) {
          log(`${at}: bare ssh2 floor`)
          bare.set(pb.name, await bareFloor(lab!, pb, o.runs))
        }
      } finally {
        await stopMasters(cpDir)
      }
    }
  await clusterDown()
  if (labLive) await labDown(LAB)
  labLive = false

  // ---------------------------------------------------------------- the report
  const lines: string[] = []
  lines.push(`| playbook | hosts | run | k3sbook (median) | ansible-playbook (median) | ratio | k3sbook round trips/host |`)
  lines.push(`| --- | ---: | --- | ---: | ---: | ---: | ---: |`)
  const names: Record<Mode, string> = { first: 'first run', rerun: 'no-change re-run', check: 'check mode' }
  for (const r of rows) {
    const k = median(r.k.map((x) => x.wallMs))
    const a = median(r.a.map((x) => x.wallMs))
    const ratio = Number.isNaN(k) || Number.isNaN(a) ? '–' : `${(a / k).toFixed(0)}×`
    const trips = median(r.k.map((x) => x.roundTrips ?? 0))
    // site.yml's hosts differ (the first server runs more plays): their mean, to one decimal
    const rt = r.k.length ? (Number.isInteger(trips) ? String(trips) : trips.toFixed(1)) : '–'
    lines.push(`| ${r.playbook} | ${r.hosts} | ${names[r.mode]} | ${fmtS(k)} (${r.k.length}) | ${fmtS(a)} (${r.a.length}) | ${ratio} | ${rt} |`)
  }
  lines.push('')
  lines.push(
    `| playbook | hosts | \`lab up\` (median) | lab memory (PSS) | k3sbook CPU: first / re-run / check (median) | k3sbook peak RSS | ansible-playbook peak RSS (all its processes) |`,
  )
  lines.push(`| --- | ---: | ---: | ---: | ---: | ---: | ---: |`)
  const growth: { pb: string; n: number; rerunMs: number; rssKb: number }[] = []
  for (const pb of o.playbooks)
    for (const n of o.hosts) {
      const all = rows.filter((r) => r.playbook === pb.name && r.hosts === n)
      const k = Math.max(0, ...all.flatMap((r) => r.k.map((x) => x.peakRssKb)))
      const a = Math.max(0, ...all.flatMap((r) => r.a.map((x) => x.peakRssKb)))
      const cpu = (m: Mode) => fmtS(median(all.find((r) => r.mode === m)?.k.map((x) => x.cpuMs) ?? []))
      const up = labUps.get(`${pb.init}/${n}`)
      lines.push(
        `| ${pb.name} | ${n} | ${fmtS(median(up?.wallMs ?? []))} | ${fmtMb(median(up?.pssKb ?? []))} | ${cpu('first')} / ${cpu('rerun')} / ${cpu('check')} | ${fmtMb(k)} | ${fmtMb(a)} |`,
      )
      growth.push({ pb: pb.name, n, rerunMs: median(all.find((r) => r.mode === 'rerun')?.k.map((x) => x.wallMs) ?? []), rssKb: k })
    }
  if (withK && o.hosts.length >= 3)
    for (const pb of o.playbooks) {
      lines.push('')
      lines.push(
        asciiPlot(
          `${pb.name}: k3sbook no-change re-run (s) and peak RSS (MB) against hosts`,
          growth.filter((g) => g.pb === pb.name),
        ),
      )
    }
  for (const [name, b] of bare) {
    const k = median(rows.find((r) => r.playbook === name && r.hosts === bareHosts && r.mode === 'rerun')?.k.map((x) => x.wallMs) ?? [])
    lines.push('')
    lines.push(
      `Bare ssh2 floor for ${name} at ${bareHosts} hosts (a Node process that connects to every host and sends what k3sbook sent per host on a no-change re-run (${b.scriptsPerHost} script${b.scriptsPerHost === 1 ? '' : 's'}) as one script per host): ` +
        `${fmtS(b.wallMs)} for the whole process (connect ${fmtS(b.connectMs)}, probes ${fmtS(b.probeMs)}); k3sbook's no-change re-run: ${fmtS(k)} = ${(k / b.wallMs).toFixed(2)}× the floor.`,
    )
  }
  lines.push('')
  lines.push(
    `Machine: ${machine.nproc} cores, load average ${machine.load0} at the start and ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )} at the end; Node ${machine.node}${o.facts ? '; facts gathered (--facts)' : ''}${ansibleVersion ? `; ${ansibleVersion}, pipelining on, forks = hosts` : ''}. ` +
      `Bench took ${((Date.now() - t0) / 60000).toFixed(1)} min. Times are whole-process wall times (start-up and exit included); (n) = runs.`,
  )
  const md = lines.join('\n') + '\n'
  process.stdout.write(md)
  if (o.out) writeFileSync(o.out, md)
}

/** ansible-playbook's ControlPath folders: removed by stopMasters, and here on a signal. */
const cpDirs = new Set<string>()
/** The tool runs in flight (measure), each in its own process group. */
const running = new Set<ChildProcess>()
const cleanup = () => {
  for (const c of running)
    try {
      process.kill(-c.pid!, 'SIGTERM')
    } catch {
      /* already gone */
    }
  rmSync(TIME_OUT, { force: true })
  for (const d of cpDirs) rmSync(d, { recursive: true, force: true })
  if (labLive) {
    try {
      labDownSync(LAB)
    } catch {
      /* best effort */
    }
    labLive = false
  }
}
process.once('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    cleanup()
    process.exit(130)
  })

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  cleanup()
  process.exit(1)
})
