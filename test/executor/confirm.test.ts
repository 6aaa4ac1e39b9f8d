// --confirm: check on every host, show, ask once, then apply exactly what was shown — or stop
// before anything that differs because the host changed in between.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { fingerprint, run, sh } from './helpers.js'

const ROOT = join(import.meta.dirname, '../..')
const PB = join(ROOT, 'test/fixtures/e2e/limit.yml')

function confirmRun(inventory: string, answer: string): Promise<{ stdout: string; code: number }> {
  const cmd = `stty cols 120; ${process.execPath} ${join(ROOT, 'bin/k3sbook.js')} run ${PB} -i ${inventory} --confirm --output plain`
  // script(1) runs k3sbook on a real terminal and types the answer into it, as a person would
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString()
      if (stdout.includes('Apply these changes?') && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`)
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ stdout, code: code ?? 1 }))
  })
}

test('--confirm: "n" changes nothing, "y" applies what was shown', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'cnf' })
  const before = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))
  const no = await confirmRun(lab.inventoryPath, 'n')
  assert.match(no.stdout, /would change/)
  assert.match(no.stdout, /aborted: nothing was changed/)
  assert.deepEqual(await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index))), before)
  const yes = await confirmRun(lab.inventoryPath, 'y')
  assert.match(no.stdout, /Apply these changes\?/)
  assert.match(yes.stdout, /changed\s+\S+-1\s+A file/)
  assert.equal(await sh(lab, 1, 'cat /opt/limited.txt'), 'limited\n')
})

test('--confirm stops before a change that was not shown (the host changed after the check)', async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'cnf2' })
  const planned = new Map<string, string[][]>()
  await run(PB, [lab.inventoryPath], { check: true, record: planned })
  // someone writes the file between the check and the apply: the plan is now different
  await sh(lab, 1, 'printf "other\\n" > /opt/limited.txt')
  const r = await run(PB, [lab.inventoryPath], { expect: planned })
  const failed = r.results.find((e) => e.status === 'failed')
  assert.match(failed?.msg ?? '', /not applied: this change was not among those shown/)
  assert.equal(await sh(lab, 1, 'cat /opt/limited.txt'), 'other\n', 'nothing applied')
})
