// playbooks/site.yml on 4 lab hosts that boot systemd as pid 1 (`lab up --init systemd`), as every
// real target does: the roles' systemd paths run for real (k3s.service / k3s-agent.service unit
// files with their environment file, daemon-reload, enabled, tinc@NET.service). A re-run changes
// nothing; a killed k3s or tincd is started again by systemd, and the next run says ok.
// The servers keep their state in PostgreSQL (role postgres on the datastore node, over tinc): the
// datastore holds what both servers share, lets in only the servers, starts after the tinc mesh
// has put its address up (as at boot), and when it is down or the password is wrong the servers
// fail with K3S's datastore error (from K3S's journal) in the run's output.
// (test/cluster/site.test.ts keeps the init-less, SysV path tested.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { serveK3sDouble, type ReleaseServer } from '../k3s-double/serve.js'
import { writeLabClusterInventory } from '../../scripts/lab-cluster.js'
import { changedTasks, run, sh } from '../executor/helpers.js'

const ROOT = join(import.meta.dirname, '../..')
const SITE = join(ROOT, 'playbooks/site.yml')
const execFileP = promisify(execFile)

describe('site.yml on 4 systemd lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let release: ReleaseServer
  let inventories: string[]
  const saved = { ...process.env }
  const dbPassword = `pw-${randomBytes(12).toString('hex')}`
  const endpoint = (password: string) => `postgres://k3s:${password}@10.10.0.1:5432/k3s?sslmode=disable`

  before(async () => {
    lab = await startLab({ hosts: 4, tag: 'sdsite', init: 'systemd' })
    release = await serveK3sDouble(lab.bridgeAddress)
    inventories = [lab.inventoryPath, writeLabClusterInventory(lab, { releaseUrl: release.url })]
    process.env.K3SBOOK_K3S_TOKEN = `tok-${randomBytes(16).toString('hex')}`
    process.env.K3SBOOK_DATASTORE_ENDPOINT = endpoint(dbPassword)
  })
  after(async () => {
    process.env = saved
    await release?.close()
    await lab?.stop()
  })

  const names = () => lab.hosts.map((h) => h.name)
  const mainPid = async (i: number, unit: string) => (await sh(lab, i, `systemctl show -p MainPID --value ${unit}`)).trim()
  async function restartedBySystemd(i: number, unit: string, old: string): Promise<string> {
    const until = Date.now() + 30_000
    for (;;) {
      const pid = await mainPid(i, unit)
      const active = (await sh(lab, i, `systemctl is-active ${unit} || true`)).trim()
      if (pid !== old && pid !== '0' && active === 'active') return pid
      if (Date.now() > until) assert.fail(`${unit} on host ${i} was not restarted by systemd (MainPID ${pid}, ${active})`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  test('the run converges through systemd units; a second run changes nothing', async () => {
    const first = await run(SITE, inventories)
    assert.equal(
      first.summary.exitCode,
      0,
      JSON.stringify(
        first.results.filter((r) => r.status === 'failed' || r.status === 'unreachable'),
        null,
        1,
      ),
    )
    for (const [i, unit] of [
      [1, 'k3s.service'],
      [2, 'k3s.service'],
      [3, 'k3s-agent.service'],
      [4, 'k3s-agent.service'],
    ] as const) {
      assert.equal(
        (await sh(lab, i, `systemctl is-active ${unit} tinc@k3s.service; systemctl is-enabled ${unit} tinc@k3s.service`)).trim(),
        'active\nactive\nenabled\nenabled',
      )
      // the unit runs the K3S double with the environment file, Restart= as K3S's own unit
      const show = await sh(lab, i, `systemctl show -p ExecStart -p EnvironmentFiles -p Restart ${unit}`)
      assert.match(show, /ExecStart=\{ path=\/usr\/local\/bin\/k3s /)
      assert.match(show, new RegExp(`EnvironmentFiles=/etc/systemd/system/${unit}\\.env`))
      assert.match(show, /Restart=always/)
    }
    const rec = JSON.parse(await sh(lab, 1, 'cat /var/lib/rancher/k3s/test-double/server.json'))
    assert.match(rec.env.K3S_TOKEN, /^sha256:/, 'the token came through the environment file')
    const second = await run(SITE, inventories)
    assert.equal(second.summary.exitCode, 0)
    for (const h of names()) assert.equal(second.summary.recap[h].changed, 0, `second run changed on ${h}: ${changedTasks(second, h)}`)
  })

  test('a killed k3s and a killed tincd are started again by systemd; the next run says ok', async () => {
    const k3s = await mainPid(1, 'k3s.service')
    const tinc = await mainPid(3, 'tinc@k3s.service')
    await sh(lab, 1, `kill -KILL ${k3s}`)
    await sh(lab, 3, `kill -KILL ${tinc}`)
    await restartedBySystemd(1, 'k3s.service', k3s)
    await restartedBySystemd(3, 'tinc@k3s.service', tinc)
    // the mesh comes back through the restarted tincd (its peers reconnect within their retry time)
    await sh(lab, 1, 'i=0; until ping -c 1 -W 1 10.10.0.3 >/dev/null; do i=$((i + 1)); [ $i -lt 45 ] || exit 1; sleep 1; done')
    const r = await run(SITE, inventories)
    assert.equal(
      r.summary.exitCode,
      0,
      JSON.stringify(
        r.results.filter((e) => e.status === 'failed'),
        null,
        1,
      ),
    )
    for (const h of names()) assert.equal(r.summary.recap[h].changed, 0, `${h}: ${changedTasks(r, h)}`)
  })

  const psql = (sql: string) => `runuser -u postgres -- psql -X -d k3s -tA -c ${JSON.stringify(sql).replace(/\$/g, '\\$')}`
  const nodeNames = () => names().map((n) => `node/${n}`)
  const failures = (r: Awaited<ReturnType<typeof run>>) => r.results.filter((e) => e.status === 'failed')

  test("PostgreSQL listens on the datastore node's tinc address, lets in only the servers, and holds the state both servers share", async () => {
    assert.equal((await sh(lab, 1, 'systemctl is-active postgresql@15-main; systemctl is-enabled postgresql')).trim(), 'active\nenabled')
    const listening = (await sh(lab, 1, "ss -Hltn 'sport = :5432' | awk '{print $4}'")).trim().split('\n').sort()
    assert.deepEqual(listening, ['10.10.0.1:5432', '127.0.0.1:5432', '[::1]:5432'], 'localhost and the tinc address only')
    // both servers are connected to it over the mesh, as K3S ("k3s" is the double's application_name)
    const clients = (await sh(lab, 1, psql("select distinct client_addr from pg_stat_activity where datname = 'k3s' and application_name = 'k3s' order by 1")))
      .trim()
      .split('\n')
    assert.deepEqual(clients, ['10.10.0.1', '10.10.0.2'])
    // kine's table holds every node: the agents registered through the first server, the second
    // server's own record, and each server lists them all from it
    const keys = (await sh(lab, 1, psql("select distinct name from kine where name like '/registry/minions/%' and deleted = 0 order by 1"))).trim().split('\n')
    assert.deepEqual(
      keys,
      names()
        .map((n) => `/registry/minions/${n}`)
        .sort(),
    )
    for (const i of [1, 2]) assert.deepEqual((await sh(lab, i, 'k3s kubectl get nodes -o name')).trim().split('\n').sort(), nodeNames().sort(), `server ${i}`)
    // pg_hba: the right password from an agent's tinc address is refused; a wrong one from a server's too
    const login = (i: number, pw: string) =>
      sh(lab, i, `PGPASSWORD='${pw}' psql -X "host=10.10.0.1 user=k3s dbname=k3s connect_timeout=5" -tAc 'select 1' 2>&1 || true`)
    assert.match(await login(3, dbPassword), /no pg_hba\.conf entry for host "10\.10\.0\.3", user "k3s", database "k3s"/)
    assert.match(await login(2, 'wrong'), /password authentication failed for user "k3s"/)
    assert.equal((await login(2, dbPassword)).trim(), '1')
  })

  /** The CLI as an operator runs it (plain output, the PLAY RECAP): exit code and everything printed. */
  async function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
    const full = [join(ROOT, 'bin/k3sbook.js'), 'run', SITE, ...inventories.flatMap((i) => ['-i', i]), '-o', 'plain', ...args]
    const r = await execFileP(process.execPath, full, { env, cwd: ROOT, maxBuffer: 64 << 20 }).then(
      (o) => ({ code: 0, stdout: o.stdout, stderr: o.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    )
    return { code: r.code, out: r.stdout + r.stderr }
  }
  const recapOf = (out: string, host: string) => out.match(new RegExp(`^${host} *: (.*)$`, 'm'))?.[1] ?? `no recap line for ${host} in:\n${out}`
  /** Both servers serve again from the datastore (systemd keeps restarting the double until it can). */
  async function serversBack(): Promise<void> {
    for (const i of [1, 2])
      await sh(lab, i, 'i=0; until [ "$(k3s kubectl get nodes -o name 2>/dev/null | wc -l)" = 4 ]; do i=$((i + 1)); [ $i -lt 90 ] || exit 1; sleep 1; done')
  }
  const timestamp = async (i: number, unit: string, prop: string) => Number((await sh(lab, i, `systemctl show -p ${prop} --value ${unit}`)).trim())

  test('PostgreSQL starts after the tinc mesh and waits for its address: started alone (as at boot) it brings tinc up first', async () => {
    const show = await sh(lab, 1, 'systemctl show -p Wants -p After -p ExecStartPre -p DropInPaths postgresql@15-main')
    assert.match(show, /^Wants=.*\btinc@k3s\.service\b/m)
    assert.match(show, /^After=.*\btinc@k3s\.service\b/m)
    assert.match(show, /^ExecStartPre=.*inet 10\.10\.0\.1\//m)
    assert.match(show, /^DropInPaths=.*\/etc\/systemd\/system\/postgresql@15-main\.service\.d\/k3sbook-after-tinc\.conf/m)
    // both down, as before boot; starting PostgreSQL alone (what multi-user.target does) starts the
    // mesh first, and PostgreSQL binds the tinc address, not localhost only
    await sh(lab, 1, 'systemctl stop postgresql@15-main tinc@k3s; ! ip -4 -o addr show | grep -qF " inet 10.10.0.1/"')
    await sh(lab, 1, 'systemctl start postgresql@15-main')
    assert.equal((await sh(lab, 1, 'systemctl is-active tinc@k3s postgresql@15-main')).trim(), 'active\nactive')
    const tincUp = await timestamp(1, 'tinc@k3s', 'ActiveEnterTimestampMonotonic')
    const pgStarting = await timestamp(1, 'postgresql@15-main', 'InactiveExitTimestampMonotonic')
    assert.ok(tincUp > 0 && tincUp <= pgStarting, `tinc active at ${tincUp}, PostgreSQL started at ${pgStarting}`)
    assert.match(await sh(lab, 1, "ss -Hltn 'sport = :5432'"), /10\.10\.0\.1:5432/)
    await serversBack()
  })

  // The datastore's own play would start PostgreSQL again: `-t k3s-server` runs the servers alone,
  // as with a datastore the playbook does not manage (the operator's managed PostgreSQL).
  const serversOnly = ['-t', 'k3s-server', '-e', 'k3s_start_timeout=15']

  test("PostgreSQL stopped: the servers fail, and the run prints K3S's datastore error from its journal", async () => {
    await sh(lab, 1, 'systemctl stop postgresql@15-main')
    // the double loses its datastore and exits; systemd keeps starting it again, and it fails again
    await sh(
      lab,
      2,
      'i=0; until journalctl -u k3s -o cat --since "-20s" | grep -q "level=fatal.*port 5432 failed"; do i=$((i + 1)); [ $i -lt 30 ] || exit 1; sleep 1; done',
    )
    const r = await cli(serversOnly)
    assert.notEqual(r.code, 0, r.out)
    for (const [i, h] of names().slice(0, 2).entries()) {
      assert.match(r.out, new RegExp(`failed +${h} +K3S did not come up`), r.out)
      assert.match(recapOf(r.out, h), /failed=1/, `server ${i + 1}`)
    }
    assert.match(r.out, /k3s on \S+ did not come up \(Timeout when waiting for (10\.10\.0\.[12]|\*+):6443\)\. Its log says:\n/)
    assert.match(r.out, /level=fatal msg=.*building kine: connection to server at \\?"(10\.10\.0\.1|\*+)\\?", port 5432 failed: Connection refused/)
  })

  test('a wrong datastore password: the servers fail with the authentication error; the right one brings them back', async () => {
    await sh(lab, 1, 'systemctl start postgresql@15-main')
    await serversBack()
    const wrong = `wrong-${randomBytes(8).toString('hex')}`
    const r = await cli(serversOnly, { ...process.env, K3SBOOK_DATASTORE_ENDPOINT: endpoint(wrong) })
    assert.notEqual(r.code, 0, r.out)
    for (const h of names().slice(0, 2)) {
      assert.match(r.out, new RegExp(`failed +${h} +K3S did not come up`), r.out)
      assert.match(recapOf(r.out, h), /failed=1/)
    }
    assert.match(r.out, /level=fatal msg=.*password authentication failed for user \\?"k3s\\?"/)
    assert.equal(r.out.includes(wrong), false, 'the wrong password was printed')
    // the endpoint with the right password again: the servers restart and serve from the datastore
    const back = await cli(serversOnly)
    assert.equal(back.code, 0, back.out)
    await serversBack()
  })
})
