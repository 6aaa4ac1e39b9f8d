// async/poll and async_status against ansible-playbook (connection local, each tool in its own
// folder): a shell left running (poll: 0) registers the job; async_status sees it running, then,
// retried with until, finished with the command's own result (a non-zero exit code fails it, as
// Ansible's); a polled command gives its result with the job's keys; a job that outlives `async`
// fails with Ansible's message while the job runs on, until async_wrapper's next 5-second look kills
// it ("Timeout exceeded"); cleanup erases the jobs. The registered results must be Ansible's,
// key for key (job ids, times and paths set apart). The job left running waits for a file the play
// writes after looking at it, so it is running then whatever the machine's load.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from './local-differential.js'

const SITE = `- hosts: local
  gather_facts: false
  tasks:
    - shell: i=0; until [ -e "{{ out }}/go" ] || [ $i -ge 600 ]; do sleep 0.1; i=$((i+1)); done; echo hi; echo err >&2; touch "{{ out }}/job-done"; exit 3
      async: 120
      poll: 0
      register: job
    - stat: { path: "{{ out }}/job-done" }
      register: early
    - async_status: { jid: "{{ job.ansible_job_id }}" }
      register: running
    - file: { path: "{{ out }}/go", state: touch }
    - async_status: { jid: "{{ job.ansible_job_id }}" }
      register: done
      until: done.finished
      retries: 20
      delay: 1
      ignore_errors: true
    - command: echo polled
      async: 10
      poll: 1
      register: polled
    - command: sleep 60
      async: 2
      poll: 1
      register: late
      ignore_errors: true
    - async_status: { jid: "{{ late.async_result.ansible_job_id }}" }
      register: killed
      until: killed.finished
      retries: 30
      delay: 1
      ignore_errors: true
    - async_status: { jid: "{{ late.async_result.ansible_job_id }}", mode: cleanup }
    - async_status: { jid: "{{ job.ansible_job_id }}", mode: cleanup }
      register: cleaned
    - async_status: { jid: "{{ job.ansible_job_id }}" }
      register: gone
      ignore_errors: true
    - copy:
        dest: "{{ out }}/results.json"
        content: |
          {% set drop = ['ansible_job_id', 'results_file', 'erased', 'start', 'end', 'delta', 'invocation', 'ansible_facts', 'attempts', 'child_pid'] %}
          {% for r in [job, running, done, polled, late, cleaned, gone, killed] %}
          {{ r | dict2items | rejectattr('key', 'in', drop + ['async_result']) | items2dict | to_json(sort_keys=true) | replace(out, 'OUT') }}
          {% endfor %}
          {{ late.async_result | dict2items | rejectattr('key', 'in', drop) | items2dict | to_json(sort_keys=true) }}
          {{ [early.stat.exists, job.results_file == ansible_env.HOME ~ '/.ansible_async/' ~ job.ansible_job_id, cleaned.erased == job.results_file, done.attempts >= 1] | to_json }}
`

test('async/poll and async_status: the results ansible-playbook registers', async (t) => {
  const out = await sameFilesAsAnsible(
    t,
    {
      'site.yml': SITE.replace('gather_facts: false', 'gather_facts: true\n  gather_subset: [min]'),
      'inv.yml': 'local:\n  hosts:\n    localhost:\n      ansible_connection: local\n',
    },
    ['results.json'],
  )
  const lines = readFileSync(join(out, 'results.json'), 'utf8').trim().split('\n')
  const rows = lines.map((l) => JSON.parse(l))
  // what the comparison covered
  assert.deepEqual(rows[0], { changed: true, failed: 0, finished: 0, started: 1 })
  assert.equal(rows[1].finished, 0)
  assert.equal(rows[2].rc, 3)
  assert.equal(rows[2].msg, 'non-zero return code')
  assert.equal(rows[3].stdout, 'polled')
  assert.equal(rows[4].msg, 'async task did not complete within the requested time - 2s')
  assert.equal(rows[6].msg, 'could not find job')
  // the job the poll gave up on runs on until async_wrapper's first 5-second look after its time
  // (at 10 s for 2 s) kills it: async_status then reads Ansible's "Timeout exceeded"
  assert.deepEqual([rows[7].msg, rows[7].finished, rows[7].failed], ['Timeout exceeded', 1, true])
  assert.deepEqual(rows.at(-1), [false, true, true, true])
})
