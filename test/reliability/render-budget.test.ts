// A template that would loop for hours (nested range(99999)) stops at its own position within the
// render budget, on a lab host through the real CLI; and a SIGTERM sent while it renders acts
// within seconds (exit 130, recap), because no render holds the event loop for long.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { useLab } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { spawnCli, tree, until } from './helpers.js'

const LOOP = 'head\n{% for i in range(99999) %}\n{% for j in range(99999) %}{{ i }}{% endfor %}\n{% endfor %}\n'
const PLAY = `- hosts: all
  gather_facts: false
  tasks:
    - name: Endless
      template: { src: loop.j2, dest: /tmp/loop.txt }
`

test('a runaway template stops at its position; SIGTERM while it renders exits 130 with the recap', { timeout: 240_000 }, async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'budget' })
  const dir = tree({ 'site.yml': PLAY, 'templates/loop.j2': LOOP })
  const t0 = Date.now()
  const p = spawnCli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir, timeoutMs: 120_000 })
  const r = await p.done
  assert.equal(r.code, 2, r.stdout + r.stderr)
  assert.match(r.stdout, /loop\.j2:3:4: template stopped: rendering took longer than 2 s/)
  assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`)
  assert.equal((await sh(lab, 1, 'ls /tmp/loop.txt 2>/dev/null || echo none')).trim(), 'none')

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const q = spawnCli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir, timeoutMs: 120_000 })
    await until(() => /PLAY \[all\]/.test(q.output()), 60_000, 'the play to start')
    const s0 = Date.now()
    q.child.kill(sig)
    const s = await q.done
    const waited = Date.now() - s0
    assert.equal(s.code, 130, `${sig}: ${s.stdout}${s.stderr}`)
    assert.match(s.stdout, /PLAY RECAP/)
    // the budget (2 s) plus a loaded machine's slack: seconds, not the hours the loop would take
    assert.ok(waited < 15_000, `${sig} took ${waited} ms to act`)
  }
})
