// Runs Debian's ansible-core on the same files our loader reads, so tests compare against what
// Ansible itself selects and merges. Calls are batched (one playbook holds many plays) and async,
// so several run at once.
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ENV = {
  ...process.env,
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_LOCALHOST_WARNING: 'false',
  ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false',
  ANSIBLE_RETRY_FILES_ENABLED: 'false',
  ANSIBLE_STDOUT_CALLBACK: 'default',
  ANSIBLE_HOME: '',
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

export function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...ENV, ANSIBLE_HOME: join(cwd, '.ansible') }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** A scratch copy of a fixture folder: ansible writes nothing into the repo. */
const made: string[] = []
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

export function scratchCopy(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-oracle-'))
  made.push(dir)
  cpSync(fixture, dir, { recursive: true })
  return dir
}

/**
 * Play hosts as a real ansible-playbook run orders them (ansible_play_hosts_all), one play per
 * pattern. Slow (about 40 ms per host per play), so kept for a few patterns. A play with no hosts
 * prints nothing and yields [].
 */
export async function ansiblePatternHosts(
  cwd: string,
  inventories: string[],
  patterns: (string | string[])[],
  extra: string[] = [],
  expectFailure = false,
): Promise<{ hosts: string[][]; warnings: string[]; run: Run }> {
  const file = join(cwd, `patterns-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, playsFor(patterns))
  const r = await run('ansible-playbook', [...inventories.flatMap((i) => ['-i', i]), ...extra, file], cwd)
  if (r.code !== 0 && !expectFailure) throw new Error(`ansible-playbook failed: ${r.stdout}\n${r.stderr}`)
  const hosts: string[][] = patterns.map(() => [])
  for (const m of r.stdout.matchAll(/"msg": ("ORACLE .*")$/gm)) {
    const text = JSON.parse(m[1]) as string
    const mm = /^ORACLE (\d+) (.*)$/s.exec(text)!
    hosts[Number(mm[1])] = JSON.parse(mm[2])
  }
  const warnings = [...(r.stdout + r.stderr).matchAll(/\[WARNING\]: (.*)/g)].map((m) => m[1])
  return { hosts, warnings, run: r }
}

function playsFor(patterns: (string | string[])[]): string {
  return JSON.stringify(
    patterns.map((p, i) => ({
      name: `P${i}`,
      hosts: p,
      gather_facts: false,
      tasks: [{ debug: { msg: `ORACLE ${i} {{ ansible_play_hosts_all | to_json }}` }, run_once: true }],
    })),
  )
}

/**
 * `ansible-playbook --list-hosts`: fast (nothing runs), but it prints each play's hosts from a
 * Python set, so only membership can be compared, not order.
 */
export async function ansibleListHosts(
  cwd: string,
  inventories: string[],
  patterns: (string | string[])[],
  extra: string[] = [],
): Promise<{ hosts: string[][]; warnings: string[]; run: Run }> {
  const file = join(cwd, `list-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, playsFor(patterns))
  const r = await run('ansible-playbook', [...inventories.flatMap((i) => ['-i', i]), '--list-hosts', ...extra, file], cwd)
  if (r.code !== 0) throw new Error(`ansible-playbook --list-hosts failed: ${r.stdout}\n${r.stderr}`)
  const hosts: string[][] = []
  const blocks = r.stdout.split(/^\s*play #/m).slice(1)
  for (const b of blocks) {
    const n = Number(/^(\d+)/.exec(b)![1]) - 1
    const m = /hosts \((\d+)\):\n((?:[ \t]+\S.*\n?)*)/.exec(b)!
    hosts[n] = m[2].split('\n').map((l) => l.trim()).filter(Boolean).sort()
    assert(hosts[n].length === Number(m[1]))
  }
  const warnings = [...(r.stdout + r.stderr).matchAll(/\[WARNING\]: (.*)/g)].map((m) => m[1])
  return { hosts, warnings, run: r }
}

/** The Python that runs ansible-playbook (from its shebang), so its ansible package imports. */
function ansiblePython(): string {
  try {
    const bin = execFileSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).trim()
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(readFileSync(bin, 'utf8').split('\n')[0])
    if (m) return m[1].endsWith('/env') && m[2] ? m[2] : m[1]
  } catch {
    // fall through
  }
  return 'python3'
}

const API_SCRIPT = `
import json, sys
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
results = []
for job in json.load(sys.stdin):
    im = InventoryManager(loader=DataLoader(), sources=job['sources'])
    im.subset(job.get('limit'))
    out = []
    for p in job['patterns']:
        try:
            out.append([h.name for h in im.get_hosts(p)])
        except AnsibleError as e:
            out.append('error: ' + str(e))
    results.append(out)
print(json.dumps(results))
`

export interface GetHostsJob {
  sources: string[]
  patterns: (string | string[])[]
  limit?: string
}

/**
 * Hosts in order from ansible-core's own InventoryManager.get_hosts (the call ansible-playbook
 * makes for each play), with subset() for --limit; every job in one Python process. An
 * AnsibleError becomes the string "error: MESSAGE".
 */
export function ansibleGetHosts(cwd: string, jobs: GetHostsJob[]): Promise<(string[] | string)[][]> {
  return new Promise((resolve, reject) => {
    const child = execFile(ansiblePython(), ['-c', API_SCRIPT], { cwd, env: { ...ENV, ANSIBLE_HOME: join(cwd, '.ansible') }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ansible InventoryManager failed: ${stderr}`))
      else resolve(JSON.parse(stdout))
    })
    child.stdin!.end(JSON.stringify(jobs.map((j) => ({ ...j, limit: j.limit ?? null }))))
  })
}

/** `ansible-inventory --list` as JSON (every host's merged variables without magic ones, and the group tree). */
export async function ansibleInventoryList(cwd: string, inventories: string[], playbookDir?: string): Promise<Record<string, any>> {
  const args = [...inventories.flatMap((i) => ['-i', i]), '--list']
  if (playbookDir) args.push('--playbook-dir', playbookDir)
  const r = await run('ansible-inventory', args, cwd)
  if (r.code !== 0) throw new Error(`ansible-inventory failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** Evaluate one Jinja expression per host of `all` in a playbook in `playbookDir`, keyed by host. */
export async function ansibleHostExpr(cwd: string, inventories: string[], playbookDir: string, expr: string): Promise<Record<string, unknown>> {
  const play = [
    {
      hosts: 'all',
      gather_facts: false,
      tasks: [{ debug: { msg: `ORACLE {{ inventory_hostname | to_json }} {{ (${expr}) | to_json }}` } }],
    },
  ]
  const file = join(playbookDir, `expr-${Math.random().toString(36).slice(2)}.yml`)
  writeFileSync(file, JSON.stringify(play))
  const r = await run('ansible-playbook', [...inventories.flatMap((i) => ['-i', i]), file], cwd)
  if (r.code !== 0) throw new Error(`ansible-playbook failed: ${r.stdout}\n${r.stderr}`)
  const out: Record<string, unknown> = {}
  for (const m of r.stdout.matchAll(/"msg": ("ORACLE .*")$/gm)) {
    const text = JSON.parse(m[1]) as string
    const mm = /^ORACLE (".*?") (.*)$/s.exec(text)!
    out[JSON.parse(mm[1])] = JSON.parse(mm[2])
  }
  return out
}

/** Ansible's INTERNAL_VARS that ansible-inventory leaves out of hostvars. */
export const INTERNAL_VARS = new Set([
  'ansible_diff_mode', 'ansible_config_file', 'ansible_facts', 'ansible_forks', 'ansible_inventory_sources', 'ansible_limit',
  'ansible_playbook_python', 'ansible_run_tags', 'ansible_skip_tags', 'ansible_verbosity', 'ansible_version', 'inventory_dir',
  'inventory_file', 'inventory_hostname', 'inventory_hostname_short', 'groups', 'group_names', 'omit', 'playbook_dir',
])
