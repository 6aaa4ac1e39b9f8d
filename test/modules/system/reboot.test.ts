// wait_for_connection and reboot on a systemd lab host, over a real SSH connection, through the
// executor's own pipeline (executeModule, which gives apply() its reconnect).
//
// What a lab host can do, and so what is tested: a lab host is a set of namespaces on this machine's
// kernel. `shutdown -r now` there really reboots it as far as it can: systemd (pid 1 of the host's
// pid namespace) stops every unit and calls reboot(2), which ends the namespace; nothing starts it
// again, so the test plays the machine's firmware and brings the host back with `labUp` (same
// address, same host keys, a fresh overlay root: what was written before the reboot is gone, as
// with a tmpfs root). Two things differ from a real machine and are set as the task's arguments,
// which Ansible has for exactly this: the kernel's boot_id (Ansible's default boot_time_command) is
// the machine's and never changes, so the boot identity is the start time of the host's pid 1
// (`boot_time_command`); and the lab masks systemd-logind, so the default `shutdown -r 0 "MSG"`
// (which asks logind to schedule it) fails there, while `shutdown -r now` reboots at once
// (`reboot_command`). The default command line, the boot_id read, the search-path lookup and check
// mode are tested as plans. A reboot is always a change (as in Ansible), so "a re-run changes
// nothing" does not apply to it; wait_for_connection never changes anything.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { openConnection, type Connection } from '../../../src/connection/index.js'
import { labExec, labStatus, labUp } from '../../../src/lab/index.js'
import { rebootModule, shutdownArgs, waitForConnectionModule } from '../../../src/modules/reboot.js'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { fingerprint } from '../../executor/helpers.js'
import { runModule } from '../provision/harness.js'

let lab: LabInfo & { stop(): Promise<void> }
let c: Connection

const hostSh = async (script: string) => (await labExec(lab, 1, ['/bin/sh', '-c', script])).stdout.trim()
const pid1Start = () => hostSh("cut -d' ' -f22 /proc/1/stat")

test("shutdownArgs: Ansible's Linux arguments, the delay in whole minutes", () => {
  assert.equal(shutdownArgs(0, 'Reboot initiated by Ansible', 'debian'), "-r 0 'Reboot initiated by Ansible'")
  assert.equal(shutdownArgs(150, "it's time", 'debian'), "-r 2 'it'\\''s time'")
  assert.equal(shutdownArgs(60, 'x', 'alpine'), '')
})

describe('wait_for_connection and reboot on a systemd lab host', () => {
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'reboot', init: 'systemd' })
    const h = lab.hosts[0]
    c = openConnection(
      h.name,
      { host: h.address, user: 'root', privateKeyFile: lab.keyPath, connection: 'ssh' },
      { knownHostsFile: lab.knownHostsPath, sshConfigFile: false, systemSshConfigFile: false },
    )
    await c.connect()
  })
  after(async () => {
    try {
      await c?.close()
    } finally {
      await lab?.stop()
    }
  })

  test("wait_for_connection: skipped in check mode; waits through an sshd outage that broke the connection; times out with Ansible's message; never a change", async () => {
    const checked = await runModule(waitForConnectionModule, {}, c, { check: true, diff: true })
    assert.equal(checked.plan.status, 'skip')
    assert.equal(checked.result.skipped, true)
    assert.equal(checked.result.changed, false)

    // sshd stopped and every session killed (ours too): the connection is broken
    await hostSh('systemctl stop ssh.service; pkill -KILL -x sshd; true')
    await assert.rejects(c.exec('true'))
    const back = setTimeout(() => void hostSh('systemctl start ssh.service'), 3000)
    const t0 = Date.now()
    const waited = await runModule(waitForConnectionModule, { sleep: 1, timeout: 60 }, c)
    clearTimeout(back)
    assert.equal(waited.result.failed, false, JSON.stringify(waited.result))
    assert.equal(waited.result.changed, false)
    assert.ok(Date.now() - t0 >= 2500, 'it waited for sshd')
    assert.equal(typeof waited.result.elapsed, 'number')
    assert.equal((await c.exec('echo still here')).stdout.toString(), 'still here\n', 'later tasks use the new connection')

    // already reachable: ok at once, no change (the re-run)
    const again = await runModule(waitForConnectionModule, {}, c)
    assert.equal(again.result.failed, false)
    assert.equal(again.result.changed, false)
    // whole seconds of the first probe: 0 on an idle machine, 1 or more at load 20+; what matters is
    // that it did not wait the default sleep between tries (1 s) times retries up to its timeout (600 s)
    assert.ok(typeof again.result.elapsed === 'number' && again.result.elapsed < 60, `elapsed ${again.result.elapsed}`)

    await hostSh('systemctl stop ssh.service; pkill -KILL -x sshd; true')
    const late = await runModule(waitForConnectionModule, { timeout: 3, sleep: 1 }, c)
    assert.equal(late.result.failed, true)
    assert.match(String(late.result.msg), /^timed out waiting for ping module test: /)
    assert.equal(late.result.changed, false)
    await hostSh('systemctl start ssh.service')
    await runModule(waitForConnectionModule, { timeout: 30 }, c)
  })

  test('reboot: plans read the boot identity and find shutdown; bad input fails and changes nothing; check mode predicts and reboots nothing', async () => {
    const before = await pid1Start()
    const fp = await fingerprint(lab, 1)
    const checked = await runModule(rebootModule, {}, c, { check: true, diff: true })
    assert.equal(checked.plan.status, 'change', JSON.stringify(checked.plan))
    assert.deepEqual(
      (checked.plan as { changes: { summary: string }[] }).changes.map((x) => x.summary),
      ["reboot (/sbin/shutdown -r 0 'Reboot initiated by Ansible')"],
    )
    assert.equal(checked.result.changed, true)
    assert.equal(checked.result.rebooted, true)
    assert.equal(checked.result.elapsed, 0)
    assert.equal(checked.result.check_mode, undefined, 'no key Ansible does not register')
    assert.equal(await pid1Start(), before, 'check mode rebooted nothing')
    assert.equal(await fingerprint(lab, 1), fp, 'check mode changed nothing')

    const missing = await runModule(rebootModule, { search_paths: ['/nonexistent'] }, c)
    assert.equal(missing.result.failed, true)
    assert.equal(missing.result.msg, `Unable to find command "shutdown" in search paths: ['/nonexistent']`)
    const noBoot = await runModule(rebootModule, { boot_time_command: 'exit 3' }, c)
    assert.equal(noBoot.result.failed, true)
    assert.match(String(noBoot.result.msg), /^reboot: failed to get host boot time info, rc: 3/)
    assert.equal(await pid1Start(), before)

    // a host that stops answering after the reboot command (the boot check hangs, the session
    // stays up) is bounded by reboot_timeout, not held forever
    const t0 = Date.now()
    const hung = await runModule(
      rebootModule,
      {
        reboot_command: 'touch /run/k3sbook-fake-reboot',
        boot_time_command: 'if [ -e /run/k3sbook-fake-reboot ]; then exec sleep 1000; fi; echo first',
        reboot_timeout: 3,
      },
      c,
    )
    assert.equal(hung.result.failed, true, JSON.stringify(hung.result))
    assert.equal(hung.result.msg, 'Timed out waiting for last boot time check (timeout=3)')
    assert.ok(Date.now() - t0 < 15_000, `bounded: ${Date.now() - t0} ms`)
    await hostSh('rm -f /run/k3sbook-fake-reboot; pkill -x sleep; true')
    assert.equal(await pid1Start(), before)
  })

  // bounded, and saying where it is: should it ever hang (CI once did, here or in labUp), the
  // failure names the step. The bounds are for a hang, not for speed: at load 50 systemd took over
  // 120 s just to stop the host's units (the reboot module's wait ran out before the host was down),
  // so the reboot gets 400 s (Ansible's default reboot_timeout is 600) and the test 800 s, under
  // the test pool's 900 s per file.
  test('reboot: the host goes down, comes back with a new boot identity, the test command passes, the connection is new', { timeout: 800_000 }, async () => {
    const tStart = Date.now()
    const phase = (s: string) => process.stderr.write(`[reboot test ${((Date.now() - tStart) / 1000).toFixed(1)} s] ${s}\n`)
    const before = await pid1Start()
    await hostSh('echo before > /run/k3sbook-reboot-mark')
    // the machine's part: once the host's pid 1 is gone, power it on again
    let poweredOn = false
    const firmware = (async () => {
      const until = Date.now() + 400_000
      while (Date.now() < until) {
        const [st] = await labStatus(lab.name)
        if (st && !st.hosts[0].running) {
          phase('the host is down: lab up')
          await labUp({ name: lab.name, hosts: 1, init: 'systemd', owner: process.pid })
          poweredOn = true
          phase('the host is up')
          return
        }
        await new Promise((r) => setTimeout(r, 300))
      }
    })()
    const t0 = Date.now()
    phase('reboot module')
    const r = await runModule(rebootModule, { reboot_command: 'shutdown -r now', boot_time_command: "cut -d' ' -f22 /proc/1/stat", reboot_timeout: 400 }, c)
    phase(`reboot module done: ${JSON.stringify(r.result)}`)
    await firmware
    assert.ok(poweredOn, 'the host went down')
    assert.equal(r.result.failed, false, JSON.stringify(r.result))
    assert.equal(r.result.changed, true)
    assert.equal(r.result.rebooted, true)
    assert.ok(typeof r.result.elapsed === 'number' && r.result.elapsed <= (Date.now() - t0) / 1000 + 1)
    assert.notEqual(await pid1Start(), before, 'a new boot')
    assert.equal(await hostSh('cat /run/k3sbook-reboot-mark 2>/dev/null || echo gone'), 'gone')
    assert.equal((await c.exec('cat /proc/1/comm')).stdout.toString(), 'systemd\n', 'the same Connection works after the reboot')
  })
})
