// A reader that goes away (`k3sbook run … | head -1`) must not crash a run half-way: output
// stops, every task still runs, and the exit code is the run's own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'k3sbook.js')

test('a closed stdout stops the output, not the run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-epipe-'))
  try {
    writeFileSync(join(dir, 'inventory.yml'), `all:\n  hosts:\n    here: { ansible_connection: local }\n`)
    const tasks = Array.from({ length: 40 }, (_, i) => `    - copy: { content: "${i}\\n", dest: "${dir}/out/f${i}" }`).join('\n')
    writeFileSync(join(dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - file: { path: "${dir}/out", state: directory }\n${tasks}\n`)
    const child = spawn(process.execPath, [BIN, 'run', 'site.yml', '-i', 'inventory.yml', '-o', 'json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    // Read the first chunk, then go away as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, stderr)
    assert.doesNotMatch(stderr, /EPIPE|Unhandled|Error:/, 'no crash on a closed stdout')
    assert.ok(existsSync(join(dir, 'out', 'f39')), 'the last task ran')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
