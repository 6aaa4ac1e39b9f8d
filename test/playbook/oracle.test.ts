// `k3sbook hosts` and `k3sbook tasks` against ansible-playbook --list-hosts / --list-tasks on the
// good fixture project (Debian's ansible-core is the oracle). Ansible prints each play's hosts
// from a Python set, so host lines are compared as sorted sets; everything else line for line.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, runBuilt } from './cli.js'

const GOOD = join(ROOT, 'test', 'fixtures', 'good', 'cluster')

function ansible(args: string[]): string {
  const r = spawnSync('ansible-playbook', args, {
    cwd: GOOD,
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
  })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

/** Host lines of each play sorted, so a set's iteration order doesn't matter. */
function normalizeHosts(out: string): string {
  const lines = out.split('\n')
  const res: string[] = []
  let block: string[] = []
  const flush = () => {
    res.push(...block.sort())
    block = []
  }
  for (const l of lines) {
    if (/^ {6}\S/.test(l)) block.push(l)
    else {
      flush()
      res.push(l)
    }
  }
  flush()
  return res.join('\n').trimEnd()
}

describe('hosts and tasks match ansible-playbook', { concurrency: 4 }, () => {
  for (const limit of [undefined, 'agent', 'node1,srv1', 'k3s_cluster:!storage', 'agent[0:1]', '~node[23]', 'all:&storage']) {
    it(`--list-hosts${limit ? ` --limit ${limit}` : ''}`, async () => {
      const extra = limit ? ['--limit', limit] : []
      const want = ansible(['playbooks/site.yml', '--list-hosts', ...extra])
      const got = await runBuilt(['hosts', 'playbooks/site.yml', ...extra], GOOD, { ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg') })
      assert.equal(got.code, 0, got.stderr)
      assert.equal(normalizeHosts(got.stdout), normalizeHosts(want))
    })
  }
  for (const sel of [
    [],
    ['--tags', 'tinc'],
    ['--tags', 'sysctl,download'],
    ['--skip-tags', 'packages,tinc'],
    ['--tags', 'wait'],
    ['--tags', 'untagged'],
    ['--tags', 'tagged', '--skip-tags', 'prepare'],
  ]) {
    it(`--list-tasks ${sel.join(' ')}`, async () => {
      const want = ansible(['playbooks/site.yml', '--list-tasks', ...sel])
      const got = await runBuilt(['tasks', 'playbooks/site.yml', '--no-positions', ...sel], GOOD, { ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg') })
      assert.equal(got.code, 0, got.stderr)
      assert.equal(got.stdout.trimEnd(), want.trimEnd())
    })
  }
  it('a --limit that leaves no host fails, as in ansible-playbook', async () => {
    const r = spawnSync('ansible-playbook', ['playbooks/site.yml', '--list-hosts', '--limit', 'node[1:2]'], {
      cwd: GOOD,
      encoding: 'utf8',
      env: { ...process.env, ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg') },
    })
    assert.notEqual(r.status, 0)
    const got = await runBuilt(['hosts', 'playbooks/site.yml', '--limit', 'node[1:2]'], GOOD, { ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg') })
    assert.equal(got.code, 5)
    assert.match(got.stderr, /leaves no hosts/)
  })
  it('the idioms project (INI inventory, guarded names, facts, loop_var, include_role) validates clean and lists like Ansible', async () => {
    const dir = join(ROOT, 'test', 'fixtures', 'good', 'idioms')
    const v = await runBuilt(['validate', 'site.yml', '-i', 'inventory.ini'], dir)
    assert.equal(v.stdout, 'ok: 2 plays, 1 role, 19 tasks, 3 hosts\n', v.stderr)
    assert.equal(v.code, 0)
    const want = spawnSync('ansible-playbook', ['-i', 'inventory.ini', 'site.yml', '--list-tasks'], { cwd: dir, encoding: 'utf8' })
    assert.equal(want.status, 0, want.stderr)
    const got = await runBuilt(['tasks', 'site.yml', '-i', 'inventory.ini', '--no-positions'], dir)
    assert.equal(got.stdout.trimEnd(), want.stdout.trimEnd())
  })
  it('tasks shows where each task is written', async () => {
    const got = await runBuilt(['tasks', 'playbooks/site.yml'], GOOD, { ANSIBLE_CONFIG: join(GOOD, 'ansible.cfg') })
    assert.equal(got.code, 0, got.stderr)
    assert.match(got.stdout, /^ {6}tinc : tinc\.conf\tTAGS: \[prepare, tinc\]\troles\/tinc\/tasks\/main\.yml:12:3$/m)
    assert.match(got.stdout, /^ {6}Check the inventory gives each node what it needs\tTAGS: \[prepare\]\tplaybooks\/site\.yml:8:7$/m)
  })
})
