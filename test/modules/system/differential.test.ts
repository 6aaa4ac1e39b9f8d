// The system modules in one playbook written for Ansible, run by Debian's ansible-playbook on one
// systemd lab host and by k3sbook on another, identical one: every task's status and what the
// tasks registered (written to a file on each host by the playbook itself) must be the same. Then
// k3sbook's four ways on its host: check mode (predicts, changes nothing), the real run, a re-run
// (no change), and the diff of what would change.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { openConnection } from '../../../src/connection/index.js'
import { systemdModule } from '../../../src/modules/service.js'
import { runModule } from '../provision/harness.js'
import { ansibleStatuses } from '../../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../../fixtures/modules-system/site.yml')

/** Statuses by task name, for one host. */
async function ansible(inventory: string, limit: string): Promise<Map<string, string>> {
  return (await ansibleStatuses(inventory, PLAYBOOK, ['--limit', limit])).get(limit) ?? new Map()
}

describe('system modules against ansible-playbook', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'sysmods', init: 'systemd' })
  })
  after(() => lab?.stop())

  test('same statuses and the same registered values on two identical hosts; check, re-run', async () => {
    const [mine, ref] = lab.hosts
    const theirs = await ansible(lab.inventoryPath, ref.name)
    assert.ok(theirs.size > 5, `ansible-playbook ran the playbook: ${[...theirs.keys()].join(', ')}`)

    const checked = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name, check: true, diff: true })
    assert.equal(await sh(lab, mine.index, 'test -e /opt/k3sbook-system && echo yes || echo no'), 'no\n', 'check mode changed nothing')
    const checkStatus = statuses(checked, mine.name)

    const r = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const ours = statuses(r, mine.name)
    assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(theirs))
    const learnedMine = JSON.parse(await sh(lab, mine.index, 'cat /opt/k3sbook-system/learned.json'))
    const learnedRef = JSON.parse(await sh(lab, ref.index, 'cat /opt/k3sbook-system/learned.json'))
    assert.deepEqual(learnedMine, learnedRef)

    // check mode: the read-only modules ran (ok), the writers were predicted; wait_for_connection
    // is skipped in check mode, as Ansible's action plugin does
    for (const [task, status] of ours) {
      if (status === 'ok') assert.equal(checkStatus.get(task), task === 'Wait for the connection' ? 'skipped' : 'ok', `${task} in check mode`)
      if (status === 'changed') assert.equal(checkStatus.get(task), 'changed', `${task} in check mode`)
    }

    const again = await run(PLAYBOOK, [lab.inventoryPath], { limit: mine.name })
    const changed = [...statuses(again, mine.name)].filter(([, s]) => s === 'changed').map(([t]) => t)
    assert.deepEqual(changed, [], 'the re-run changes nothing')
  })

  test('systemd: a new unit enabled and started with daemon_reload reloads systemd once (enable --no-reload first); then ok', async () => {
    const h = lab.hosts[0]
    const unit = 'k3sbook-reload-once.service'
    await sh(
      lab,
      h.index,
      `printf '[Unit]\\nDescription=reload once\\n[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/${unit}`,
    )
    const c = openConnection(
      h.name,
      { host: h.address, user: 'root', privateKeyFile: lab.keyPath, connection: 'ssh' },
      { knownHostsFile: lab.knownHostsPath, sshConfigFile: false, systemSshConfigFile: false },
    )
    await c.connect()
    try {
      // systemd logs "Reloading." for every reload it makes (a daemon-reload, and an enable without --no-reload)
      const reloads = async () => Number((await sh(lab, h.index, 'journalctl -b _PID=1 -o cat --no-pager | grep -c "^Reloading" || true')).trim())
      const before = await reloads()
      const args = { name: unit, state: 'started', enabled: true, daemon_reload: true }
      const r = await runModule(systemdModule, args, c)
      assert.equal(r.failed, undefined, JSON.stringify(r.failed))
      assert.deepEqual(
        (r.plan as any).steps.map((s: any) => s.script),
        [`systemctl enable ${unit} --no-reload`, 'systemctl daemon-reload', `systemctl start ${unit}`],
      )
      assert.equal(
        await sh(lab, h.index, `systemctl is-enabled ${unit}; systemctl is-active ${unit}; systemctl show -p NeedDaemonReload --value ${unit}`),
        'enabled\nactive\nno\n',
      )
      // journald writes what pid 1 logs a moment later: wait for the first reload's line, then make
      // sure no second one follows
      for (let i = 0; i < 50 && (await reloads()) === before; i++) await new Promise((res) => setTimeout(res, 100))
      await new Promise((res) => setTimeout(res, 1000))
      assert.equal((await reloads()) - before, 1, 'one reload')
      const again = await runModule(systemdModule, args, c)
      assert.equal(again.plan.status, 'ok')
      // enabled alone (no daemon_reload): systemctl's own reload, as Ansible's
      await sh(lab, h.index, `systemctl disable ${unit}`)
      const plain = await runModule(systemdModule, { name: unit, enabled: true }, c)
      assert.deepEqual(
        (plain.plan as any).steps.map((s: any) => s.script),
        [`systemctl enable ${unit}`],
      )
      assert.equal(await sh(lab, h.index, `systemctl is-enabled ${unit}`), 'enabled\n')
    } finally {
      await sh(lab, h.index, `systemctl disable --now ${unit}; rm -f /etc/systemd/system/${unit}; systemctl daemon-reload`)
      await c.close()
    }
  })
})
