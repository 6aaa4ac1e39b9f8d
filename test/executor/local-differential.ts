// A project run on the control machine (connection local) by k3sbook and by ansible-playbook, each
// writing into its own folder (`out`): the files each tool's tasks wrote must be the same. Shared by
// the differential tests of variables and magic variables.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import type { TestContext } from 'node:test'
import { ansibleEnv } from '../helpers/ansible.js'
import { loadTasksAtRuntime } from '../../src/playbook/project.js'
import { run } from './helpers.js'

/** Runs `site.yml` of `files` with both tools and checks `compare` are the same; returns k3sbook's out folder. */
export async function sameFilesAsAnsible(t: TestContext, files: Record<string, string>, compare: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-localdiff-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true })
    writeFileSync(join(dir, p), text)
  }
  for (const tool of ['k3sbook', 'ansible']) mkdirSync(join(dir, tool))
  const ours = await run(join(dir, 'site.yml'), [join(dir, 'inv.yml')], { extraVars: [`out=${join(dir, 'k3sbook')}`], loadTasks: loadTasksAtRuntime })
  assert.equal(ours.summary.exitCode, 0, JSON.stringify(ours.results.filter((r) => r.status === 'failed')))
  await promisify(execFile)('ansible-playbook', ['-i', join(dir, 'inv.yml'), join(dir, 'site.yml'), '-e', `out=${join(dir, 'ansible')}`], {
    env: ansibleEnv(),
    cwd: dir,
  })
  for (const f of compare) assert.equal(readFileSync(join(dir, 'k3sbook', f), 'utf8'), readFileSync(join(dir, 'ansible', f), 'utf8'), f)
  return join(dir, 'k3sbook')
}
