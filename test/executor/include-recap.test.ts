// What includes count in the recap, as ansible-playbook 2.14 counts them (its own run is the
// oracle, on the controller with -c local): an include_tasks is ok once per file it includes (per
// loop item), an include_role is no result of its own, an include whose loop has no items or whose
// `when` is false is skipped. (Found while checking issue 14's list: k3sbook counted every
// include_role as ok, a looped include_tasks once.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const BIN = join(import.meta.dirname, '../../bin/k3sbook.js')
const run = promisify(execFile)

const PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks:
    - include_role: { name: r }
    - include_role: { name: r }
      loop: [a, b]
    - include_role: { name: r }
      when: false
    - include_role: { name: r }
      loop: "{{ [] }}"
    - include_tasks: t.yml
    - include_tasks: t.yml
      loop: [1, 2]
    - include_tasks: t.yml
      loop: "{{ [] }}"
    - include_tasks: t.yml
      when: false
`

function recap(out: string): string {
  const m = /localhost\s+:\s+(ok=\d+)\s+(changed=\d+)\s+(unreachable=\d+)\s+(failed=\d+)\s+(skipped=\d+)\s+(rescued=\d+)\s+(ignored=\d+)/.exec(out)
  assert.ok(m, out)
  return m.slice(1).join(' ')
}

test('includes in the recap: include_tasks ok per file included, include_role none, empty loops and false conditions skipped — as ansible-playbook', async () => {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-increcap-'))
  mkdirSync(join(d, 'roles/r/tasks'), { recursive: true })
  writeFileSync(join(d, 'roles/r/tasks/main.yml'), '- debug: msg=role\n')
  writeFileSync(join(d, 't.yml'), '- debug: msg=tasks\n')
  writeFileSync(join(d, 'pb.yml'), PLAYBOOK)
  const env = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' }
  const ours = await run(process.execPath, [BIN, 'run', 'pb.yml', '-i', 'localhost,', '-c', 'local', '-o', 'plain'], { cwd: d, env })
  const theirs = await run('ansible-playbook', ['pb.yml', '-i', 'localhost,', '-c', 'local'], { cwd: d, env })
  // role debug ×3, include_tasks ×3 (one, then two items), tasks debug ×3; four skipped includes
  assert.equal(recap(theirs.stdout), 'ok=9 changed=0 unreachable=0 failed=0 skipped=4 rescued=0 ignored=0')
  assert.equal(recap(ours.stdout), recap(theirs.stdout))
})

// A dynamic include's own keywords are for the include itself (Ansible's Task._get_parent_attribute
// skips a parent that is not statically loaded); `apply:` is what reaches its tasks. And an
// ignored failure whose result says changed (a failing command) is counted changed, as Ansible does.
const APPLY = `- hosts: localhost
  gather_facts: false
  tasks:
    - include_tasks: { file: fail.yml, apply: { ignore_errors: true, environment: { E: applied } } }
    - name: its own ignore_errors is not for the tasks
      include_tasks: fail.yml
      ignore_errors: true
    - debug: { msg: not reached }
`
const FAIL = `- name: inner fails
  command: /bin/false
- name: inner env
  shell: echo "E=$E"
  register: envout
- assert: { that: "envout.stdout == 'E=applied'" }
`

test('include_tasks: apply reaches the tasks, the include own ignore_errors does not; an ignored changed failure counts changed — as ansible-playbook', async () => {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-incapply-'))
  writeFileSync(join(d, 'fail.yml'), FAIL)
  writeFileSync(join(d, 'pb.yml'), APPLY)
  const env = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' }
  const fails = (e: unknown) => e as { code: number; stdout: string }
  const ours = await run(process.execPath, [BIN, 'run', 'pb.yml', '-i', 'localhost,', '-c', 'local', '-o', 'plain'], { cwd: d, env }).catch(fails)
  const theirs = await run('ansible-playbook', ['pb.yml', '-i', 'localhost,', '-c', 'local'], { cwd: d, env }).catch(fails)
  assert.equal(recap(theirs.stdout), 'ok=5 changed=2 unreachable=0 failed=1 skipped=0 rescued=0 ignored=1')
  assert.equal(recap(ours.stdout), recap(theirs.stdout))
  assert.doesNotMatch(ours.stdout, /not reached/)
})

test('validate refuses the keywords ansible-core refuses on a dynamic include, at their position, and names apply:', async () => {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-inckw-'))
  mkdirSync(join(d, 'roles/r/tasks'), { recursive: true })
  writeFileSync(join(d, 'roles/r/tasks/main.yml'), '- debug: msg=role\n')
  writeFileSync(join(d, 't.yml'), '- debug: msg=tasks\n')
  const pb = (task: string) => `- hosts: localhost\n  gather_facts: false\n  tasks:\n${task}`
  const env = { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_NOCOLOR: '1', NO_COLOR: '1' }
  const fails = (e: unknown) => e as { code: number; stdout: string; stderr: string }
  for (const [task, want] of [
    ['    - include_tasks: t.yml\n      become: true\n', /pb\.yml:5:7: "become" is not a valid keyword on include_tasks .*TaskInclude.*apply: \{ become: … \}/],
    ['    - include_role: { name: r }\n      failed_when: false\n', /pb\.yml:5:7: "failed_when" is not a valid keyword on include_role .*IncludeRole/],
  ] as const) {
    writeFileSync(join(d, 'pb.yml'), pb(task))
    const ours = await run(process.execPath, [BIN, 'validate', 'pb.yml', '-i', 'localhost,'], { cwd: d, env }).catch(fails)
    assert.match(ours.stdout, want)
    const theirs = await run('ansible-playbook', ['pb.yml', '-i', 'localhost,', '--syntax-check'], { cwd: d, env }).catch(fails)
    assert.match(theirs.stderr, /is not a valid attribute for a (TaskInclude|IncludeRole)/)
  }
  // what Ansible accepts on an include stays accepted; on an import, become is fine
  writeFileSync(
    join(d, 'pb.yml'),
    pb('    - include_tasks: t.yml\n      no_log: true\n      ignore_errors: true\n      tags: [x]\n    - import_tasks: t.yml\n      become: true\n'),
  )
  const ok = await run(process.execPath, [BIN, 'validate', 'pb.yml', '-i', 'localhost,'], { cwd: d, env }).catch(fails)
  assert.match(ok.stdout, /^ok: /m)
})
