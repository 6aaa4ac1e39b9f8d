// Faults on real lab hosts: a host unreachable from the start, a connection that stalls mid-run,
// a command that hangs past its task `timeout`, a disk that fills while a file is written. Each
// time the cause is reported within the timeouts, the other hosts finish their play, nothing is
// left half-written, and a rerun converges without any manual clean-up.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { setHostLink } from '../../src/lab/index.js'
import { makeConnectionFactory } from '../../src/connection/index.js'
import { run, sh, statuses, type Run } from '../executor/helpers.js'
import { tree } from './helpers.js'

/** Short timeouts, so faults show within seconds: connect 3 s, keepalive 1 s × 3. */
const connect = makeConnectionFactory({ connectTimeoutMs: 3000, keepaliveIntervalMs: 1000, keepaliveCountMax: 3 })

/** The last task of every fault play: it must run on every host but the victim. */
const MARKER = `    - name: Marker
      file:
        path: /opt/fault.marker
        state: touch
        modification_time: preserve
        access_time: preserve
`

const PLAY = (tasks: string, vars = '') => `- name: fault play
  hosts: all
  gather_facts: false
${vars}  tasks:
${tasks}`

const BASIC = PLAY(`    - name: Config
      copy:
        content: "setting=1\\n"
        dest: /opt/fault.conf
        mode: "0640"
    - name: Pause
      command: sleep 4
      changed_when: false
${MARKER}`)

describe('faults on lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  before(async () => {
    lab = await startLab({ hosts: 4, tag: 'faults' })
    dir = tree({ 'basic.yml': BASIC })
  })
  after(() => lab?.stop())

  const names = () => lab.hosts.map((h) => h.name)
  const go = (pb: string, extra: Parameters<typeof run>[2] = {}) => run(join(dir, pb), [lab.inventoryPath], { connect, ...extra })

  function othersFinished(r: Run, victim: string): void {
    for (const h of names().filter((n) => n !== victim)) {
      assert.equal(r.summary.recap[h].failed, 0, `${h} failed`)
      assert.equal(r.summary.recap[h].unreachable, 0, `${h} unreachable`)
      assert.ok(statuses(r, h).has('Marker'), `${h} did not finish its play`)
    }
  }

  async function converges(pb: string): Promise<void> {
    const again = await go(pb)
    assert.equal(again.summary.exitCode, 0, JSON.stringify(again.results.filter((e) => e.status === 'failed' || e.status === 'unreachable')))
    const third = await go(pb)
    for (const h of names()) assert.equal(third.summary.recap[h].changed, 0, `${h} did not converge`)
  }

  test('a host unreachable from the start is reported within the connect timeout; the others finish', async () => {
    const victim = lab.hosts[1]
    await setHostLink(lab, victim, 'down')
    try {
      const t0 = Date.now()
      const r = await go('basic.yml')
      const elapsed = Date.now() - t0
      assert.equal(r.summary.exitCode, 4)
      assert.equal(r.summary.recap[victim.name].unreachable, 1)
      const ev = r.results.find((e) => e.host === victim.name && e.status === 'unreachable')
      assert.match(ev?.msg ?? '', /timed out|EHOSTUNREACH|unreachable|no route/i)
      othersFinished(r, victim.name)
      // connect timeout (3 s) + the 4 s pause of the others, with room for a loaded machine
      assert.ok(elapsed < 60_000, `took ${elapsed} ms`)
    } finally {
      await setHostLink(lab, victim, 'up')
    }
    await converges('basic.yml')
  })

  test('a connection that stalls mid-task (packets dropped) is reported within the keepalive; the others finish', async () => {
    const victim = lab.hosts[2]
    const t0 = Date.now()
    const running = go('basic.yml')
    await new Promise((r) => setTimeout(r, 1500)) // inside the 4 s pause
    await setHostLink(lab, victim, 'drop')
    let r: Run
    try {
      r = await running
    } finally {
      await setHostLink(lab, victim, 'up')
    }
    const elapsed = Date.now() - t0
    assert.equal(r.summary.recap[victim.name].unreachable, 1, JSON.stringify(r.results.filter((e) => e.host === victim.name)))
    const ev = r.results.find((e) => e.host === victim.name && e.status === 'unreachable')
    assert.match(ev?.msg ?? '', /keepalive|timed out|closed|reset|lost/i)
    othersFinished(r, victim.name)
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`)
    await converges('basic.yml')
  })

  test('a command that hangs is bounded by the task timeout; the host fails, the others finish', async () => {
    const victim = lab.hosts[0].name
    const pb = PLAY(
      `    - name: Maybe hang
      command: sleep 120
      timeout: 2
      when: inventory_hostname == victim
${MARKER}`,
      `  vars:\n    victim: ${victim}\n`,
    )
    const d = tree({ 'hang.yml': pb })
    const t0 = Date.now()
    const r = await run(join(d, 'hang.yml'), [lab.inventoryPath], { connect })
    const elapsed = Date.now() - t0
    assert.equal(r.summary.exitCode, 2)
    assert.equal(statuses(r, victim).get('Maybe hang'), 'failed')
    const ev = r.results.find((e) => e.host === victim && e.status === 'failed')
    assert.match(ev?.msg ?? '', /timed out after 2000 ms/)
    assert.equal(statuses(r, victim).has('Marker'), false, 'a failed host leaves the play')
    othersFinished(r, victim)
    // the alternative is the 120 s sleep
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`)
    // the hung process was killed on the host
    assert.equal((await sh(lab, 1, 'pgrep -x sleep || true')).trim(), '')
  })

  test('an async job (poll: 0) outlives the run and its connection; a later run reads its result with async_status, then erases it', async () => {
    const start = PLAY(`    - name: Job
      shell: until [ -e /opt/async.go ]; do sleep 0.1; done; hostname > /opt/async.out; echo done
      async: 30
      poll: 0
      register: job
    - name: Keep the job id
      copy: { content: "{{ job.ansible_job_id }}", dest: /opt/async.jid }
`)
    const read = PLAY(`    - slurp: { src: /opt/async.jid }
      register: jid
    - name: Status
      async_status: { jid: "{{ jid.content | b64decode }}" }
      register: st
      until: st.finished
      retries: 20
      delay: 1
    - name: Erase
      async_status: { jid: "{{ jid.content | b64decode }}", mode: cleanup }
    - name: Result
      copy: { content: "{{ st.stdout }} {{ st.rc }} {{ st.finished }}", dest: /opt/async.result }
`)
    const d = tree({ 'start.yml': start, 'read.yml': read })
    await sh(lab, 1, 'rm -f /opt/async.go /opt/async.out')
    const r = await run(join(d, 'start.yml'), [lab.inventoryPath], { connect, limit: names()[0] })
    assert.equal(r.summary.exitCode, 0, JSON.stringify(r.results.filter((e) => e.status === 'failed')))
    assert.equal(statuses(r, names()[0]).get('Job'), 'changed')
    // the run (and its SSH connection) ended with the job still waiting for its go
    assert.equal((await sh(lab, 1, 'cat /opt/async.out 2>/dev/null || echo none')).trim(), 'none')
    assert.match(await sh(lab, 1, 'ps -eo args'), /async\.go/, 'the job still runs')
    await sh(lab, 1, 'touch /opt/async.go')
    const after = await run(join(d, 'read.yml'), [lab.inventoryPath], { connect, limit: names()[0] })
    assert.equal(after.summary.exitCode, 0, JSON.stringify(after.results.filter((e) => e.status === 'failed')))
    assert.equal((await sh(lab, 1, 'cat /opt/async.result')).trim(), 'done 0 1')
    assert.equal((await sh(lab, 1, 'cat /opt/async.out')).trim(), names()[0])
    // cleanup left nothing of the job
    const jid = (await sh(lab, 1, 'cat /opt/async.jid')).trim()
    assert.match(jid, /^j\d+\.\d+$/)
    assert.equal((await sh(lab, 1, `ls -A ~/.ansible_async | grep -cF ${jid} || true`)).trim(), '0')
  })

  test('disk full while writing: the target keeps its old content, no temp file is left, a rerun converges', async () => {
    const h = lab.hosts[3]
    await sh(
      lab,
      h.index,
      'mkdir -p /srv/full && mount -t tmpfs -o size=1m tmpfs /srv/full && printf "old\\n" > /srv/full/data.txt && (dd if=/dev/zero of=/srv/full/filler bs=4k 2>/dev/null || true)',
    )
    // A copy of `size` bytes onto the full file system: it fails with the host's words and leaves
    // the old content, no temp file beside it. 200 kB go on stdin, 6 kB inside the script (printf).
    const fullPlay = (name: string, size: number) =>
      tree({
        'full.yml': PLAY(
          `    - name: ${name}
      copy:
        content: "{{ 'x' * ${size} }}"
        dest: /srv/full/data.txt
      when: inventory_hostname == victim
${MARKER}`,
          `  vars:\n    victim: ${h.name}\n`,
        ),
      })
    const refusedWhole = async (d: string) => {
      const r = await run(join(d, 'full.yml'), [lab.inventoryPath], { connect })
      const ev = r.results.find((e) => e.host === h.name && e.status === 'failed')
      assert.match(ev?.msg ?? '', /No space left on device/)
      assert.match(ev?.msg ?? '', /\/srv\/full\/data\.txt was left as it was/)
      assert.equal(await sh(lab, h.index, 'cat /srv/full/data.txt'), 'old\n')
      assert.equal(await sh(lab, h.index, 'ls -A /srv/full'), 'data.txt\nfiller\n', 'a temp file was left behind')
      othersFinished(r, h.name)
    }
    try {
      const d = fullPlay('Big file', 200000)
      await refusedWhole(d)
      await refusedWhole(fullPlay('Small file', 6000))

      await sh(lab, h.index, 'rm /srv/full/filler')
      const again = await run(join(d, 'full.yml'), [lab.inventoryPath], { connect })
      assert.equal(statuses(again, h.name).get('Big file'), 'changed')
      assert.equal((await sh(lab, h.index, 'wc -c < /srv/full/data.txt')).trim(), '200000')
      const third = await run(join(d, 'full.yml'), [lab.inventoryPath], { connect })
      for (const n of names()) assert.equal(third.summary.recap[n].changed, 0)
    } finally {
      await sh(lab, h.index, 'umount /srv/full || true')
    }
  })
})
