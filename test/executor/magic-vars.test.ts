// play_hosts / ansible_play_hosts / ansible_play_batch and hostvars are built once and shared by
// every host of a task (issue 18: built per host and task they cost O(hosts²) per task at 150
// hosts), and still follow the hosts that fail: play_hosts leaves out a host that failed, from the
// next task on.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import { makeConnectionFactory } from '../../src/connection/index.js'
import { loadProject } from '../../src/playbook/project.js'
import { RunContext } from '../../src/executor/task-context.js'
import { ROOT_SCOPE } from '../../src/executor/state.js'
import type { PlayCtx, Project } from '../../src/executor/state.js'
import { run } from './helpers.js'

const HOSTS = ['h1', 'h2', 'h3']

function project(playbook: string): { dir: string; inv: string; pb: string } {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-magic-'))
  const inv = join(dir, 'inv.yml')
  writeFileSync(inv, `all:\n  hosts:\n${HOSTS.map((h) => `    ${h}:\n      ansible_connection: local\n      addr: "{{ inventory_hostname }}.lab"\n`).join('')}`)
  const pb = join(dir, 'site.yml')
  writeFileSync(pb, playbook)
  return { dir, inv, pb }
}

describe('play magic variables', () => {
  it('one play_hosts array and one hostvars view for every host of a task', () => {
    const { inv, pb } = project('- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg=hi\n')
    const diags = new Diagnostics()
    const p = loadProject({ playbook: pb, inventories: [inv], extraVars: [] }, diags) as Project | undefined
    assert.ok(p && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
    const rc = new RunContext(p, { connect: makeConnectionFactory({}) }, () => {}, {} as never)
    const play = p.playbook.plays[0]
    const ctx: PlayCtx = { play, batch: HOSTS.map((h) => rc.state(h)), allHosts: HOSTS }
    const task = play.tasks[0] as never
    const v1 = rc.taskVars(ctx, task, rc.state('h1'), ROOT_SCOPE)
    const v2 = rc.taskVars(ctx, task, rc.state('h2'), ROOT_SCOPE)
    assert.equal(v1.inventory_hostname, 'h1')
    assert.equal(v2.inventory_hostname, 'h2')
    assert.deepEqual(v1.ansible_play_hosts, HOSTS)
    assert.equal(v1.ansible_play_hosts, v2.ansible_play_hosts)
    assert.equal(v1.play_hosts, v2.play_hosts)
    assert.equal(v1.ansible_play_batch, v2.ansible_play_batch)
    assert.equal(v1.hostvars, v2.hostvars)
    assert.equal((v1.hostvars as Record<string, Record<string, unknown>>).h3.addr, 'h3.lab')

    // a host that fails leaves play_hosts (a new array); the batch stays as it was
    rc.state('h2').failed = true
    const v3 = rc.taskVars(ctx, task, rc.state('h1'), ROOT_SCOPE)
    assert.deepEqual(v3.ansible_play_hosts, ['h1', 'h3'])
    assert.deepEqual(v1.ansible_play_hosts, HOSTS, 'what an earlier task saw is not changed')
    assert.deepEqual(v3.ansible_play_batch, HOSTS)

    // hostvars follows a host's new facts (set_fact, register) in the shared view
    rc.state('h3').hostFacts.color = 'blue'
    assert.equal((v3.hostvars as Record<string, Record<string, unknown>>).h3.color, 'blue')
    rc.state('h3').hostFacts.color = 'red'
    assert.equal((v1.hostvars as Record<string, Record<string, unknown>>).h3.color, 'red')
  })

  it('a failed host is gone from ansible_play_hosts in the later tasks, not from ansible_play_batch', async () => {
    const { inv, pb } = project(`- hosts: all
  gather_facts: false
  tasks:
    - name: before
      debug:
        msg: "{{ ansible_play_hosts | join(',') }}"
    - name: h2 fails
      fail:
        msg: down
      when: inventory_hostname == 'h2'
    - name: after
      debug:
        msg: "{{ ansible_play_hosts | join(',') }} {{ play_hosts | join(',') }} {{ ansible_play_batch | join(',') }}"
    - name: hostvars
      debug:
        msg: "{{ hostvars['h2'].addr }}"
`)
    const r = await run(pb, [inv])
    const msgs = (task: string) =>
      r.events
        .filter((e): e is Extract<typeof e, { type: 'debug' }> => e.type === 'debug' && e.task === task)
        .map((e) => `${e.host}: ${String(e.msg)}`)
        .sort()
    assert.deepEqual(msgs('before'), ['h1: h1,h2,h3', 'h2: h1,h2,h3', 'h3: h1,h2,h3'])
    assert.deepEqual(msgs('after'), ['h1: h1,h3 h1,h3 h1,h2,h3', 'h3: h1,h3 h1,h3 h1,h2,h3'])
    assert.deepEqual(msgs('hostvars'), ['h1: h2.lab', 'h3: h2.lab'])
  })
})
