// One load measurement: N lab hosts, a small converging playbook run twice in this process
// (first run changes, second changes nothing), with open file descriptors (/proc/self/fd) and
// resident memory sampled every 50 ms. Used by the CI test (20 hosts) and `test/bench/load.ts`.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { runPlaybook, type RunSummary } from '../../src/executor/run.js'
import { makeConnectionFactory } from '../../src/connection/index.js'
import { loadProject } from '../../src/playbook/project.js'
import type { LabInfo } from '../../src/lab/index.js'
import { tree } from './helpers.js'

export const LOAD_PLAYBOOK = `- name: load
  hosts: all
  gather_facts: false
  tasks:
    - name: Directory
      file:
        path: /opt/load
        state: directory
        mode: "0755"
    - name: Config
      copy:
        content: "host={{ inventory_hostname }}\\n{{ 'x' * 4000 }}\\n"
        dest: /opt/load/config
        mode: "0640"
    - name: Template
      template:
        src: t.j2
        dest: /opt/load/templated
    - name: Line
      lineinfile:
        path: /opt/load/lines
        line: "member of {{ ansible_play_hosts_all | length }} hosts"
        create: true
    - name: Link
      file:
        src: /opt/load/config
        dest: /opt/load/current
        state: link
    - name: Command
      command: cat /opt/load/config
      changed_when: false
`

export interface LoadFigures {
  hosts: number
  firstRunMs: number
  secondRunMs: number
  first: RunSummary
  second: RunSummary
  fdBaseline: number
  fdPeak: number
  fdAfter: number
  rssBaselineMb: number
  rssPeakMb: number
}

function fds(): number {
  return readdirSync('/proc/self/fd').length
}

export async function loadRun(lab: LabInfo): Promise<LoadFigures> {
  const dir = tree({ 'load.yml': LOAD_PLAYBOOK, 'templates/t.j2': '# {{ inventory_hostname }}\n{% for h in groups["all"] %}{{ h }}\n{% endfor %}' })
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'load.yml'), inventories: [lab.inventoryPath], extraVars: [] }, diags)
  if (!project || diags.hasErrors) throw new Error(diags.items.map(formatDiagnostic).join('\n'))
  const connect = makeConnectionFactory({ connectTimeoutMs: 30_000 })
  global.gc?.()
  const fdBaseline = fds()
  const rssBaseline = process.memoryUsage().rss
  let fdPeak = fdBaseline
  let rssPeak = rssBaseline
  const sample = () => {
    fdPeak = Math.max(fdPeak, fds())
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
  }
  const timer = setInterval(sample, 50)
  try {
    let t0 = Date.now()
    const first = await runPlaybook(project as never, { connect }, () => sample())
    const firstRunMs = Date.now() - t0
    t0 = Date.now()
    const second = await runPlaybook(project as never, { connect }, () => {})
    const secondRunMs = Date.now() - t0
    sample()
    // connections are closed at the end of each run: the descriptors must be back
    await new Promise((r) => setTimeout(r, 200))
    const fdAfter = fds()
    return {
      hosts: lab.hosts.length,
      firstRunMs,
      secondRunMs,
      first,
      second,
      fdBaseline,
      fdPeak,
      fdAfter,
      rssBaselineMb: Math.round(rssBaseline / 1048576),
      rssPeakMb: Math.round(rssPeak / 1048576),
    }
  } finally {
    clearInterval(timer)
  }
}
