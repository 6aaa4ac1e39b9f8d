// wait_for against ansible-playbook (connection local, each tool in its own folder): the result of
// each shape — a bare sleep (timeout, delay), a file that is there (with add_path_info's state and
// attributes), search_regex as Python's re (MULTILINE, \d, named groups: match_groups and
// match_groupdict), a timeout of 0 (never looks), a file that stays, a port that stays closed, a
// custom message, the argument errors, and state=drained (connections held open by the test, from
// IPv4 and IPv6, excluded hosts, other states) — must be Ansible's, key for key; `elapsed` is checked
// apart (at least what the waits add up to), since a loaded machine may add a second.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sameFilesAsAnsible } from '../executor/local-differential.js'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

const SITE = (held: number, free: number): string => `- hosts: local
  gather_facts: false
  tasks:
    - copy: { dest: "{{ out }}/log", content: "booting\\nx\\ncompleted data 123\\n" }
    - wait_for: { timeout: 1 }
      register: sleep_only
    - wait_for: { timeout: 1, delay: 1 }
      register: delayed
    - wait_for: { path: "{{ out }}/log", search_regex: 'completed (?P<foo>\\w+) ([0-9]+)', timeout: 3 }
      register: grouped
    - wait_for: { path: "{{ out }}/log", search_regex: '^x$', timeout: 3 }
      register: multiline
    - wait_for: { path: "{{ out }}/log", search_regex: 'data \\d+', timeout: 3 }
      register: digits
    - wait_for: { path: "{{ out }}/log", state: present }
      register: present
    - wait_for: { path: "{{ out }}/log", timeout: 0 }
      register: zero
      ignore_errors: true
    - wait_for: { path: "{{ out }}/log", state: absent, timeout: 1 }
      register: stays
      ignore_errors: true
    - wait_for: { path: "{{ out }}/nothing", state: absent }
      register: gone
    - wait_for: { port: 1, state: stopped, timeout: 1 }
      register: port_closed
    - wait_for: { port: 1, timeout: 1 }
      register: port_timeout
      ignore_errors: true
    - wait_for: { path: "{{ out }}/log", search_regex: 'nomatch\\d', timeout: 1, msg: not there }
      register: custom
      ignore_errors: true
    - wait_for: { path: "{{ out }}/log", state: stopped }
      register: path_stopped
      ignore_errors: true
    - wait_for: { path: "{{ out }}/log", port: 22 }
      register: both
      ignore_errors: true
    # drained: connections to a port held open by the test (from 127.0.0.1 and ::1)
    - wait_for: { port: ${held}, state: drained, timeout: 1 }
      register: busy
      ignore_errors: true
    - wait_for: { port: ${held}, state: drained, timeout: 1, host: '::1' }
      register: busy6
      ignore_errors: true
    - wait_for: { port: ${held}, state: drained, timeout: 1, host: 0.0.0.0, exclude_hosts: [127.0.0.1, '::1'] }
      register: excluded
    - wait_for: { port: ${held}, state: drained, timeout: 1, host: localhost, active_connection_states: [TIME_WAIT] }
      register: states
    - wait_for: { port: ${free}, state: drained, timeout: 1 }
      register: drained
    - wait_for: { port: ${held}, state: drained, active_connection_states: [LISTEN] }
      register: bad_state
      ignore_errors: true
    - copy:
        dest: "{{ out }}/results.json"
        content: |
          {% for r in [sleep_only, delayed, grouped, multiline, digits, present, zero, stays, gone, port_closed, port_timeout, custom, path_stopped, both, busy, busy6, excluded, states, drained, bad_state] %}
          {{ r | dict2items | rejectattr('key', 'in', ['elapsed', 'invocation', 'ansible_facts', 'exception']) | items2dict | to_json(sort_keys=true) | replace(out, 'OUT') }}
          {% endfor %}
    - copy:
        dest: "{{ out }}/elapsed.json"
        content: "{{ [sleep_only.elapsed >= 1, delayed.elapsed >= 2, zero.elapsed, stays.elapsed >= 1, port_timeout.elapsed >= 1] | to_json }}"
`

test('wait_for: every shape gives the result ansible-playbook gives', async (t) => {
  // a port with two connections held open, and a port nobody uses
  const srv = createServer((c) => c.on('error', () => {}))
  await new Promise<void>((r) => srv.listen(0, '::', () => r()))
  const held = (srv.address() as AddressInfo).port
  const clients = await Promise.all(
    ['127.0.0.1', '::1'].map(
      (h) =>
        new Promise<Socket>((r) => {
          const c = connect(held, h, () => r(c))
        }),
    ),
  )
  const spare = createServer()
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', () => r()))
  const free = (spare.address() as AddressInfo).port
  await new Promise((r) => spare.close(r))
  t.after(() => {
    for (const c of clients) c.destroy()
    srv.close()
  })
  const out = await sameFilesAsAnsible(t, { 'site.yml': SITE(held, free), 'inv.yml': 'local:\n  hosts:\n    localhost:\n      ansible_connection: local\n' }, [
    'results.json',
    'elapsed.json',
  ])
  // what the comparison covered, so a result both tools got wrong the same way is still seen
  const rows = readFileSync(join(out, 'results.json'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(rows[2].match_groups, ['data', '123'])
  assert.deepEqual(rows[2].match_groupdict, { foo: 'data' })
  assert.equal(rows[5].state, 'file') // add_path_info
  assert.equal(rows[6].msg, 'Timeout when waiting for file OUT/log')
  assert.equal(rows[7].msg, 'Timeout when waiting for OUT/log to be absent.')
  assert.equal(rows[10].msg, 'Timeout when waiting for 127.0.0.1:1')
  assert.equal(rows[11].msg, 'not there')
  assert.equal(rows[12].msg, 'state=stopped should only be used for checking a port in the wait_for module')
  assert.equal(readFileSync(join(out, 'elapsed.json'), 'utf8'), '[true, true, 0, true, true]')
  assert.equal(rows[14].msg, `Timeout when waiting for 127.0.0.1:${held} to drain`)
  assert.equal(rows[15].msg, `Timeout when waiting for ::1:${held} to drain`)
  assert.equal(rows[16].failed, false)
  assert.equal(rows[19].msg, 'unknown active_connection_state (LISTEN) defined')
})
