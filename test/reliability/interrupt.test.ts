// Interrupting `k3sbook run` (SIGINT, SIGTERM) on lab hosts: the steps in flight finish, nothing
// new starts, no half-written file is left, the recap shows what ran and the exit status is 130;
// a second Ctrl-C exits at once. And --retry-failed runs only the hosts that failed last time.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { cli, spawnCli, tree, until } from './helpers.js'

const PLAYBOOK = `- name: interruptible
  hosts: all
  gather_facts: false
  tasks:
    - name: First file
      copy:
        content: "{{ 'first\\n' * 20000 }}"
        dest: /opt/int-first.txt
    - name: Long step
      command: sleep {{ pause | default(4) }}
    - name: Second file
      copy:
        content: "second\\n"
        dest: /opt/int-second.txt
`

const FLAKY = `- name: one host fails unless told otherwise
  hosts: all
  gather_facts: false
  tasks:
    - name: Maybe fail
      fail:
        msg: broken on purpose
      when: inventory_hostname == (broken | default('none'))
    - name: Stamp
      lineinfile:
        path: /opt/int-runs.log
        line: "run {{ stamp }}"
        create: true
`

// the commands these tests start, by their whole command line: k3sbook's own kill script waits with
// short `sleep 0.1`s of its own, which a plain `pgrep -x sleep` also found
const LONG_SLEEP = 'pgrep -f "^sleep 600$" || true'

describe('interrupting a run', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  before(async () => {
    // two hosts show steps in flight on several hosts at once; a third added CPU time and nothing else
    lab = await startLab({ hosts: 2, tag: 'intr' })
    dir = tree({ 'site.yml': PLAYBOOK, 'flaky.yml': FLAKY })
  })
  after(() => lab?.stop())

  /** No temp file where the playbooks write (/opt); the whole root filesystem is searched once, by the last test. */
  async function noTempFiles(): Promise<void> {
    for (const h of lab.hosts) {
      const left = await sh(lab, h.index, 'ls -A /opt | grep "^\\.k3sbook\\." || true')
      assert.equal(left.trim(), '', `${h.name} has temp files left`)
    }
  }

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    test(`${sig} mid-run: in-flight steps finish, nothing new starts, recap printed, exit 130`, async () => {
      await Promise.all(lab.hosts.map((h) => sh(lab, h.index, 'rm -f /opt/int-*')))
      const p = spawnCli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir, timeoutMs: 60_000 })
      // all hosts have written the first file and are in the long step
      await until(() => (p.output().match(/First file/g) ?? []).length >= lab.hosts.length, 30_000, 'the first task on every host')
      await new Promise((r) => setTimeout(r, 500))
      const t0 = Date.now()
      p.child.kill(sig)
      const r = await p.done
      const waited = Date.now() - t0
      assert.equal(r.code, 130, r.stdout + r.stderr)
      assert.match(r.stderr, /interrupted: finishing the steps in flight/)
      assert.match(r.stdout, /PLAY RECAP/)
      assert.match(r.stdout, /\binterrupted in /)
      // the long step was in flight: it finished (reported), the next task never started
      for (const h of lab.hosts) {
        assert.match(r.stdout, new RegExp(`changed\\s+${h.name}\\s+Long step`))
        assert.match(r.stdout, new RegExp(`${h.name}\\s+: ok=2\\s+changed=2`))
      }
      assert.doesNotMatch(r.stdout, /Second file/)
      assert.ok(waited < 10_000, `took ${waited} ms to stop`)
      for (const h of lab.hosts) {
        assert.equal((await sh(lab, h.index, 'wc -c < /opt/int-first.txt; ls /opt | grep -c int-second || true')).trim(), '120000\n0')
      }
      await noTempFiles()
      // a rerun converges: it does the rest and changes only what is left
      const again = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain', '-e', 'pause=0'], { cwd: dir })
      assert.equal(again.code, 0, again.stdout)
      for (const h of lab.hosts) assert.match(again.stdout, new RegExp(`ok\\s+${h.name}\\s+First file`))
    })
  }

  test('a second Ctrl-C forces exit at once', async () => {
    const p = spawnCli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain', '-e', 'pause=60'], { cwd: dir, timeoutMs: 60_000 })
    await until(() => (p.output().match(/First file/g) ?? []).length >= lab.hosts.length, 30_000, 'the first task on every host')
    await new Promise((r) => setTimeout(r, 300))
    const t0 = Date.now()
    p.child.kill('SIGINT')
    await new Promise((r) => setTimeout(r, 300))
    p.child.kill('SIGINT')
    const r = await p.done
    assert.equal(r.code, 130)
    // the alternative is the step's 60 s pause: well under it even at load 20+
    assert.ok(Date.now() - t0 < 30_000, 'the second Ctrl-C did not force the exit')
    await noTempFiles()
    // The command in flight was killed on the host before k3sbook went (ssh without a tty sends
    // it no SIGHUP: k3sbook kills its process tree itself)
    for (const h of lab.hosts) assert.equal(await sh(lab, h.index, 'pgrep -f "^sleep 60$" || true'), '', `${h.name} still runs the command`)
  })

  test('a long remote command (sleep 600): the first signal kills it on the host after the grace period, recap, exit 130', async () => {
    const d = tree({
      'long.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Long wait\n      command: sleep 600\n    - name: Never\n      command: "true"\n',
    })
    const p = spawnCli(['run', 'long.yml', '-i', lab.inventoryPath, '-o', 'plain'], {
      cwd: d,
      timeoutMs: 60_000,
      env: { K3SBOOK_INTERRUPT_GRACE: '2' },
    })
    for (const h of lab.hosts) await until(async () => (await sh(lab, h.index, LONG_SLEEP)).trim() !== '', 30_000, `sleep on ${h.name}`)
    const t0 = Date.now()
    p.child.kill('SIGTERM')
    const r = await p.done
    const waited = Date.now() - t0
    assert.equal(r.code, 130, r.stdout + r.stderr)
    assert.match(r.stderr, /what still runs in 2 s is killed on the hosts/)
    assert.match(r.stdout, /PLAY RECAP/)
    assert.match(r.stdout, /\binterrupted in /)
    assert.match(r.stdout, /interrupted: the command was killed on the host/)
    assert.doesNotMatch(r.stdout, /Never/)
    assert.ok(waited >= 1900 && waited < 10_000, `stopped after ${waited} ms (grace 2 s)`)
    for (const h of lab.hosts) assert.equal(await sh(lab, h.index, LONG_SLEEP), '', `${h.name} still runs sleep 600`)
  })

  test('a long remote command: a second signal kills it on the host and exits at once', async () => {
    const d = tree({ 'long.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Long wait\n      command: sleep 600\n' })
    const p = spawnCli(['run', 'long.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: d, timeoutMs: 60_000 })
    for (const h of lab.hosts) await until(async () => (await sh(lab, h.index, LONG_SLEEP)).trim() !== '', 30_000, `sleep on ${h.name}`)
    const t0 = Date.now()
    p.child.kill('SIGINT')
    await new Promise((res) => setTimeout(res, 200))
    p.child.kill('SIGINT')
    const r = await p.done
    assert.equal(r.code, 130, r.stdout + r.stderr)
    // the alternative is the hosts' 600 s sleep: well under it even at load 20+
    assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`)
    for (const h of lab.hosts) assert.equal(await sh(lab, h.index, LONG_SLEEP), '', `${h.name} still runs sleep 600`)
  })

  test('kill -9 of the controller mid-upload: the target is the old file or the whole new one, never a part', async () => {
    const big = randomBytes(40 * 1024 * 1024)
    const d = tree({
      'big.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Big copy\n      copy:\n        src: big.bin\n        dest: /opt/int-big.bin\n',
    })
    writeFileSync(join(d, 'big.bin'), big)
    const h = lab.hosts[0]
    await sh(lab, h.index, 'printf "old\\n" > /opt/int-big.bin')
    const p = spawnCli(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain', '--limit', h.name], { cwd: d, timeoutMs: 120_000 })
    await until(
      async () => Number((await sh(lab, h.index, 'cat /opt/.k3sbook.* 2>/dev/null | wc -c')).trim()) > 1_000_000,
      60_000,
      'the upload to be under way',
    )
    p.child.kill('SIGKILL')
    await p.done
    // the host's shell sees the end of its input once the TCP connection is gone
    await until(async () => (await sh(lab, h.index, 'ls -A /opt | grep -c "^\\.k3sbook\\." || true')).trim() === '0', 15_000, 'the temp file to go')
    const sha = (await sh(lab, h.index, 'sha256sum < /opt/int-big.bin')).split(' ')[0]
    const old = createHash('sha256').update('old\n').digest('hex')
    const whole = createHash('sha256').update(big).digest('hex')
    assert.ok(sha === old || sha === whole, 'a truncated file replaced the target')
    // and a rerun converges
    const again = await cli(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain', '--limit', h.name], { cwd: d })
    assert.equal(again.code, 0, again.stdout)
    assert.equal((await sh(lab, h.index, 'sha256sum < /opt/int-big.bin')).split(' ')[0], whole)
  })

  test('--retry-failed runs only the hosts that failed in the last run', async () => {
    const [a, b] = lab.hosts
    const first = await cli(['run', 'flaky.yml', '-i', lab.inventoryPath, '-o', 'plain', '-e', `broken=${b.name}`, '-e', 'stamp=1'], { cwd: dir })
    assert.equal(first.code, 2)
    const retry = join(dir, '.k3sbook/retry/flaky.retry')
    assert.equal(readFileSync(retry, 'utf8'), `${b.name}\n`)
    assert.match(first.stderr, /rerun them with --retry-failed/)

    const second = await cli(['run', 'flaky.yml', '-i', lab.inventoryPath, '-o', 'plain', '--retry-failed', '-e', 'stamp=2'], { cwd: dir })
    assert.equal(second.code, 0, second.stdout + second.stderr)
    const recap = second.stdout.slice(second.stdout.indexOf('PLAY RECAP'))
    assert.match(recap, new RegExp(`${b.name}\\s+: ok=1\\s+changed=1`))
    assert.doesNotMatch(recap, new RegExp(a.name))
    assert.equal(await sh(lab, b.index, 'cat /opt/int-runs.log'), 'run 2\n')
    assert.equal(await sh(lab, a.index, 'cat /opt/int-runs.log'), 'run 1\n')
    assert.equal(existsSync(retry), false, 'a run where every host succeeded removes the retry file')

    const none = await cli(['run', 'flaky.yml', '-i', lab.inventoryPath, '--retry-failed'], { cwd: dir })
    assert.equal(none.code, 5)
    assert.match(none.stderr, /no failed hosts recorded for this playbook/)
  })

  test("after all the interrupted runs above: no temp file is left anywhere on the hosts' root filesystems", async () => {
    // a walk of the whole root (an overlay over this machine's /) costs seconds of CPU per host, so
    // it is done once here rather than after each test: k3sbook never removes a temp file an earlier
    // run left, so whatever any test above left is still there
    for (const h of lab.hosts) {
      const left = await sh(lab, h.index, 'find / -xdev -name ".k3sbook.*" 2>/dev/null || true')
      assert.equal(left.trim(), '', `${h.name} has temp files left`)
    }
  })
})

test('a signal while a large playbook and inventory load (before any host): the run stops within 2 s', async () => {
  // 60 000 hosts with vars (about 6 MB of YAML, under the 8 MB cap): seconds of parsing and resolving
  const hosts = Array.from({ length: 60_000 }, (_, i) => `        h${i}: {ansible_host: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, x: ${i}}`).join(
    '\n',
  )
  const d = tree({
    'inv.yml': `all:\n  children:\n    big:\n      hosts:\n${hosts}\n`,
    'site.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n',
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const p = spawnCli(['run', 'site.yml', '-i', 'inv.yml', '-o', 'plain'], { cwd: d, timeoutMs: 60_000 })
    await new Promise((r) => setTimeout(r, 1500)) // node started, the files are being read
    const t0 = Date.now()
    p.child.kill(sig)
    const r = await p.done
    const waited = Date.now() - t0
    assert.ok(r.code === 130 || r.signal === sig, `${sig}: exit ${r.code} ${r.signal}`)
    assert.ok(waited < 2000, `${sig}: stopped after ${waited} ms`)
  }
})
