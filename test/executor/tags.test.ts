// One tag selector, Ansible's (Taggable.evaluate_tags): the tasks the executor runs under
// --tags/--skip-tags are the tasks ansible-playbook --list-tasks lists (Debian's ansible-core is
// the oracle). Every task is a debug task on localhost: no host is contacted.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { HostResultEvent, RunEvent } from '../../src/executor/events.js'
import { runPlaybook } from '../../src/executor/run.js'
import { loadProject } from '../../src/playbook/project.js'

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'good', 'tags')

function ansibleList(tags: string[], skip: string[]): string[] {
  const args = [
    '-i',
    'inventory.ini',
    'site.yml',
    '--list-tasks',
    ...(tags.length ? ['--tags', tags.join(',')] : []),
    ...(skip.length ? ['--skip-tags', skip.join(',')] : []),
  ]
  const r = spawnSync('ansible-playbook', args, { cwd: DIR, encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
    .split('\n')
    .filter((l) => /^ {6}\S/.test(l))
    .map((l) => l.trim().split('\t')[0])
}

async function ran(tags: string[], skip: string[]): Promise<string[]> {
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(DIR, 'site.yml'), inventories: [join(DIR, 'inventory.ini')], extraVars: [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const events: RunEvent[] = []
  await runPlaybook(project as never, { connect: () => assert.fail('no host is contacted'), tags, skipTags: skip }, (e) => events.push(e))
  return events.filter((e): e is HostResultEvent => e.type === 'host:result').map((e) => e.task)
}

describe('the executor runs the tasks ansible-playbook selects', { concurrency: 4 }, () => {
  const sels: [string[], string[]][] = [
    [[], []],
    [['never'], []],
    [['always'], []],
    [['a'], []],
    [['debug'], []],
    [['untagged'], []],
    [['tagged'], []],
    [['all'], []],
    [[], ['always']],
    [[], ['all']],
    [[], ['all', 'always']],
    [[], ['tagged']],
    [[], ['untagged']],
    [['never'], ['always']],
    [['b'], ['b']],
  ]
  for (const [tags, skip] of sels) {
    it(`--tags ${tags.join(',') || '-'} --skip-tags ${skip.join(',') || '-'}`, async () => {
      assert.deepEqual(await ran(tags, skip), ansibleList(tags, skip))
    })
  }
})
