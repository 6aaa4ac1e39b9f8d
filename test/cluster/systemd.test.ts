// playbooks/site.yml on 4 lab hosts that boot systemd as pid 1 (`lab up --init systemd`), as every
// real target does: the roles' systemd paths run for real (k3s.service / k3s-agent.service unit
// files with their environment file, daemon-reload, enabled, tinc@NET.service). Check mode on the
// fresh hosts changes nothing and predicts the first run (check-prediction.ts). A re-run changes
// nothing; a killed k3s or tincd is started again by systemd, and the next run says ok.
// K3S on Docker, the seed's runtime: hosts 2 (a server) and 4 (an agent) have
// `k3s_container_runtime: docker` (scripts/lab-cluster.ts). The docker role installs Debian's
// docker.io, writes /etc/docker/daemon.json (vfs on the overlay root, no iptables) and loads the
// pause image from an archive built on the controller (test/k3s-double/image.ts; no registry is
// reachable). The K3S double started with --docker asks dockerd for `docker info` through its
// socket and runs its sandbox container from that image, as K3S with --docker would; the
// containerd nodes get no Docker. `-t tinc` runs the tinc role alone, and the fetched kubeconfig's
// server answers from the control machine.
// The servers keep their state in PostgreSQL (role postgres on the datastore node, over tinc): the
// datastore holds what both servers share, lets in only the servers, starts after the tinc mesh
// has put its address up (as at boot), and when it is down or the password is wrong the servers
// fail with K3S's datastore error (from K3S's journal) in the run's output.
// (test/cluster/site.test.ts keeps the init-less, SysV path tested.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { parse } from 'yaml'
import { promisify } from 'node:util'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { serveK3sDouble, type ReleaseServer } from '../k3s-double/serve.js'
import { LAB_PAUSE_IMAGE, labDockerHosts, writeLabClusterInventory } from '../../scripts/lab-cluster.js'
import { changedTasks, run, sh, statuses } from '../executor/helpers.js'
import { assertPredicted, checkAndRun } from './check-prediction.js'

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

  test('check on the fresh hosts changes nothing and predicts the run (≥95%, no false alarm); the run converges through systemd units; the Docker nodes run dockerd and the double runs its container from the loaded image; a second run changes nothing', async () => {
    // scripts/lab-cluster.ts: on systemd labs, K3S runs on Docker on hosts 2 (a server) and 4 (an agent)
    assert.deepEqual(labDockerHosts(lab, {}), [1, 3])
    // check-prediction.ts: fingerprints, site.yml --check --diff, fingerprints, the real run
    const { m, real: first } = await checkAndRun(lab, inventories)
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
    // per host × task × loop item: ≥95% predicted, no false alarm, no failure in check, hosts unchanged by it
    assertPredicted(m)
    const rec = JSON.parse(await sh(lab, 1, 'cat /var/lib/rancher/k3s/test-double/server.json'))
    assert.match(rec.env.K3S_TOKEN, /^sha256:/, 'the token came through the environment file')
    // K3S on Docker on hosts 2 and 4: dockerd, and the double's container from the loaded image
    for (const i of [2, 4]) {
      const host = names()[i - 1]
      assert.equal(statuses(first, host).get('Images loaded from their archives (docker load; no registry needed)'), 'changed', `${host} loaded the image`)
      // dockerd runs under systemd with the role's daemon.json
      assert.equal((await sh(lab, i, 'systemctl is-active docker.service; systemctl is-enabled docker.service')).trim(), 'active\nenabled')
      assert.deepEqual(JSON.parse(await sh(lab, i, 'cat /etc/docker/daemon.json')), { 'storage-driver': 'vfs', iptables: false })
      const info = JSON.parse(await sh(lab, i, "/usr/bin/docker info --format '{{json .}}'")) as { Driver: string; ServerVersion: string }
      assert.equal(info.Driver, 'vfs')
      // K3S was started with --docker and the lab's pause image
      const config = await sh(lab, i, 'cat /etc/rancher/k3s/config.yaml')
      assert.match(config, /^docker: true$/m)
      assert.match(config, new RegExp(`^pause-image: ${LAB_PAUSE_IMAGE}$`, 'm'))
      // what the double saw through the socket, and the container it runs
      const rec = JSON.parse(await sh(lab, i, 'cat /var/lib/rancher/k3s/test-double/docker.json')) as Record<string, string>
      assert.equal(rec.server_version, info.ServerVersion)
      assert.equal(rec.storage_driver, 'vfs')
      const imageId = (await sh(lab, i, `/usr/bin/docker image inspect --format '{{.Id}}' ${LAB_PAUSE_IMAGE}`)).trim()
      assert.equal(rec.image_id, imageId)
      const c = JSON.parse(await sh(lab, i, `/usr/bin/docker inspect ${rec.container_name}`))[0] as {
        Image: string
        State: { Running: boolean }
        Config: { Image: string }
      }
      assert.equal(c.State.Running, true, 'the sandbox container runs')
      assert.equal(c.Image, imageId, 'from the loaded image')
      assert.equal(c.Config.Image, LAB_PAUSE_IMAGE)
      // the container's own process ran busybox from the image
      assert.match(await sh(lab, i, `/usr/bin/docker logs ${rec.container_name}`), /k3sbook pause container on /)
    }
    for (const i of [1, 3]) {
      assert.equal((await sh(lab, i, 'systemctl is-active docker.service || true')).trim(), 'inactive', 'containerd nodes do not start Docker')
      assert.doesNotMatch(await sh(lab, i, 'cat /etc/rancher/k3s/config.yaml'), /docker/)
    }
    const second = await run(SITE, inventories)
    assert.equal(second.summary.exitCode, 0)
    for (const h of names()) assert.equal(second.summary.recap[h].changed, 0, `second run changed on ${h}: ${changedTasks(second, h)}`)
  })

  test('-t tinc runs the tinc role alone, and changes nothing', async () => {
    const tincTasks = new Set(
      (parse(readFileSync(join(import.meta.dirname, '../../roles/tinc/tasks/main.yml'), 'utf8')) as { name: string }[]).map((t) => t.name),
    )
    const r = await run(SITE, inventories, { tags: ['tinc'] })
    assert.equal(r.summary.exitCode, 0)
    const ran = new Set(r.results.map((e) => e.task))
    assert.ok(ran.has('tinc running and enabled'), [...ran].join(', '))
    // a role with meta/argument_specs.yml gets a validation task tagged always, as in Ansible: it
    // runs whatever the tags, and changes nothing
    const always = (t: string) => t === 'Gathering Facts' || t.startsWith("Validating arguments against arg spec 'main'")
    for (const t of ran) assert.ok(tincTasks.has(t) || always(t), `-t tinc ran "${t}"`)
    for (const h of names()) assert.equal(r.summary.recap[h].changed, 0, `${h}: ${changedTasks(r, h)}`)
  })

  test("the kubeconfig names the first server's public address, and the API answers there from the control machine", async () => {
    const kube = parse(readFileSync(join(lab.dir, 'kubeconfig'), 'utf8')) as { clusters: { cluster: { server: string } }[] }
    const url = new URL(kube.clusters[0].cluster.server)
    assert.equal(url.hostname, lab.hosts[0].address)
    assert.equal(url.port, '6443')
    // the double's API port answers PING: a TCP client on the control machine, as kubectl would be
    const reply = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: url.hostname, port: Number(url.port), timeout: 5000 }, () => c.write('PING\n'))
      let data = ''
      c.on('data', (d) => (data += d))
      c.on('end', () => resolve(data.trim()))
      c.on('timeout', () => c.destroy(new Error('timeout')))
      c.on('error', reject)
    })
    assert.equal(reply, 'PONG')
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
    // the double loses its datastore and exits; systemd keeps starting it again, and it fails again.
    // Only a failed start after the stop counts: a line from before it (the previous test's restarts)
    // would let the run begin while the double still serves on the connection it had.
    // (a second later: the restart that fails comes 5 s after the exit, RestartSec)
    const stopped = (await sh(lab, 2, 'echo $(($(date +%s) + 1))')).trim()
    await sh(
      lab,
      2,
      `i=0; until journalctl -u k3s -o cat --since @${stopped} | grep -q "level=fatal.*port 5432 failed"; do i=$((i + 1)); [ $i -lt 30 ] || exit 1; sleep 1; done`,
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
