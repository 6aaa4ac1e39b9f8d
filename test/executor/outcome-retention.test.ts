// A task's outcomes are not kept for the whole task: each host's (with its loop's item results)
// is dropped once it is settled, unless registered (issue 18: at 150 hosts the tinc mesh task's
// 150 x 150 item results were all alive until the last host finished). Measured as retained heap
// after a full GC at the task's end, never as time. Controller only (ansible_connection: local).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { makeConnectionFactory } from '../../src/connection/index.js'
import { loadProject } from '../../src/playbook/project.js'
import { runPlaybook } from '../../src/executor/run.js'
import type { RunEvent } from '../../src/executor/events.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const HOSTS = ['h1', 'h2', 'h3']
const ITEMS = 8
const BYTES = 400_000

test('item results of a task that registers nothing are not retained until the task ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-retain-'))
  writeFileSync(join(dir, 'inv.yml'), `all:\n  hosts:\n${HOSTS.map((h) => `    ${h}:\n      ansible_connection: local\n`).join('')}`)
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - name: big
      shell: "head -c ${BYTES} /dev/zero | tr '\\\\0' x"
      loop: "{{ range(${ITEMS}) | list }}"
      changed_when: false
`,
  )
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inv.yml')], extraVars: [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  let before = 0
  let atEnd = 0
  let ok = 0
  const emit = (e: RunEvent) => {
    // nothing of the events is kept here: what stays alive is the executor's
    if (e.type === 'task:start' && e.task === 'big') {
      gc()
      before = process.memoryUsage().heapUsed
    } else if (e.type === 'host:result' && e.task === 'big' && e.status === 'ok') ok++
    else if (e.type === 'task:end' && e.task === 'big') {
      gc()
      atEnd = process.memoryUsage().heapUsed
    }
  }
  const summary = await runPlaybook(project as never, { connect: makeConnectionFactory({}) }, emit)
  assert.equal(summary.exitCode, 0)
  assert.equal(ok, HOSTS.length)
  const results = HOSTS.length * ITEMS * BYTES
  // kept for the whole task, the item results alone are 9.6 MB; a quarter of that is the margin
  assert.ok(
    atEnd - before < results / 4,
    `heap grew by ${((atEnd - before) / 1e6).toFixed(1)} MB over the task (its results: ${(results / 1e6).toFixed(1)} MB)`,
  )
})
