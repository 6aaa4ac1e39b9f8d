// The keepalive bound through the real CLI with its defaults (ServerAliveInterval 5 s ×
// ServerAliveCountMax 3, docs/RELIABILITY.md): a host whose packets are all dropped while it runs a
// long command is reported unreachable within 15 s of the stall, not the 20–23 s ssh2's own
// counting took; the other host finishes its play.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { useLab } from '../helpers/lab.js'
import { setHostLink } from '../../src/lab/index.js'
import { sh } from '../executor/helpers.js'
import { spawnCli, tree, until } from './helpers.js'

const PLAY = `- hosts: all
  gather_facts: false
  tasks:
    - name: Long wait
      command: sleep 60
      when: inventory_hostname == victim
    - name: Marker
      command: "true"
`

test('a stalled host is unreachable within ServerAliveInterval × ServerAliveCountMax (5 s × 3)', { timeout: 120_000 }, async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'keepalive' })
  const victim = lab.hosts[1]
  const dir = tree({ 'site.yml': PLAY })
  const p = spawnCli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'json', '-e', `victim=${victim.name}`], { cwd: dir, timeoutMs: 90_000 })
  try {
    await until(async () => (await sh(lab, victim.index, 'pgrep -x sleep || true')).trim() !== '', 30_000, 'the long command on the victim')
    await setHostLink(lab, victim, 'drop')
    const t0 = Date.now()
    let seen = 0
    await until(
      () => {
        if (!seen && /"status":"unreachable"/.test(p.output())) seen = Date.now()
        return seen > 0
      },
      40_000,
      'the unreachable report',
    )
    const took = seen - t0
    const r = await p.done
    assert.equal(r.code, 4, r.stdout + r.stderr)
    const ev = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; host?: string; status?: string; task?: string; msg?: string })
    const unreachable = ev.find((e) => e.type === 'host:result' && e.status === 'unreachable')
    assert.equal(unreachable?.host, victim.name)
    assert.match(unreachable?.msg ?? '', /keepalive/i)
    assert.ok(
      ev.some((e) => e.type === 'host:result' && e.host === lab.hosts[0].name && e.task === 'Marker' && e.status !== 'failed'),
      'the other host finished',
    )
    // 15 s is the documented bound; 1.5 s for timers on a loaded machine and the report itself
    assert.ok(took <= 16_500, `reported ${took} ms after the stall`)
    // and not before the keepalives could have been answered: two intervals at least
    assert.ok(took >= 9_000, `reported only ${took} ms after the stall`)
  } finally {
    await setHostLink(lab, victim, 'up')
    await sh(lab, victim.index, 'pkill -x sleep || true')
    p.child.kill('SIGKILL')
  }
})
