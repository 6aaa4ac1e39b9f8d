// playbooks/site.yml on a 4-host lab (2 servers, 2 agents; one of each also tinc_public) of
// init-less (SysV) hosts: check first (changes nothing, and predicts the real run:
// check-prediction.ts), build, tinc traffic across the mesh, ZFS on zfs-fuse, the K3S test double
// downloaded and verified and started with the documented config keys, token hand-off to agents,
// kubeconfig fetched, add-on manifests; then a second run changes nothing, --limit k3s_agent
// touches only agents, one changed variable changes exactly what depends on it, and the secrets
// never appear in any output.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse, parseAllDocuments } from 'yaml'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { serveK3sDouble, type ReleaseServer } from '../k3s-double/serve.js'
import { writeLabClusterInventory } from '../../scripts/lab-cluster.js'
import { changedTasks, fingerprint, fingerprintDiff, run, sh } from '../executor/helpers.js'
import { assertPredicted, checkAndRun } from './check-prediction.js'

const ROOT = join(import.meta.dirname, '../..')
const SITE = join(ROOT, 'playbooks/site.yml')
const execFileP = promisify(execFile)

describe('site.yml on a 4-host lab', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let release: ReleaseServer
  let inventories: string[]
  const token = `tok-${randomBytes(16).toString('hex')}`
  const dbPassword = `pw-${randomBytes(12).toString('hex')}`
  const saved = { ...process.env }

  before(async () => {
    lab = await startLab({ hosts: 4, tag: 'site' })
    release = await serveK3sDouble(lab.bridgeAddress)
    inventories = [lab.inventoryPath, writeLabClusterInventory(lab, { releaseUrl: release.url })]
    process.env.K3SBOOK_K3S_TOKEN = token
    process.env.K3SBOOK_DATASTORE_ENDPOINT = `postgres://k3s:${dbPassword}@10.10.0.1:5432/k3s?sslmode=disable`
  })
  after(async () => {
    process.env = saved
    await release?.close()
    await lab?.stop()
  })

  const names = () => lab.hosts.map((h) => h.name)
  const servers = () => names().slice(0, 2)
  const agents = () => names().slice(2)

  test('check on the fresh lab changes nothing and predicts the run (≥95%, no false alarm); the run builds the cluster; a second run changes nothing', async () => {
    // check-prediction.ts: fingerprints, site.yml --check --diff, fingerprints, the real run
    const { m, check, real: first } = await checkAndRun(lab, inventories)
    assert.equal(
      check.summary.failed,
      false,
      JSON.stringify(
        check.results.filter((r) => r.status === 'failed'),
        null,
        1,
      ),
    )
    assert.equal(m.unchanged, true, `check mode changed a host\n${m.changedByCheck.join('\n')}`)
    assert.equal(
      first.summary.exitCode,
      0,
      JSON.stringify(
        first.results.filter((r) => r.status === 'failed' || r.status === 'unreachable'),
        null,
        1,
      ),
    )
    // per host × task × loop item: ≥95% predicted, no false alarm, no failure in check
    assertPredicted(m)
    for (const h of names()) {
      // every change the run made was predicted by check (as a change, or as unknown where it
      // depended on something only a run produces, like a generated key)
      const predicted = new Set(
        check.results.filter((e) => e.host === h && (e.status === 'changed' || e.status === 'unknown')).map((e) => (e.handler ? 'handler: ' : '') + e.task),
      )
      const missed = changedTasks(first, h).filter((t) => !predicted.has(t))
      assert.deepEqual(missed, [], `changes on ${h} that check did not predict`)
    }

    const second = await run(SITE, inventories)
    assert.equal(second.summary.exitCode, 0)
    for (const h of names()) assert.equal(second.summary.recap[h].changed, 0, `second run changed on ${h}: ${changedTasks(second, h)}`)
    // a no-change re-run stays within a few round trips per task
    for (const h of names()) assert.ok(second.summary.roundTrips[h] > 0)
  })

  test('tinc is real: every host reaches every other host over the tinc interface', async () => {
    for (const h of lab.hosts) {
      for (const other of lab.hosts) {
        if (other === h) continue
        const ip = `10.10.0.${other.index}`
        const route = await sh(lab, h.index, `ip route get ${ip}`)
        assert.match(route, /dev tinc0/, `${h.name} → ${ip} goes through tinc0`)
        await sh(lab, h.index, `ping -c 1 -W 3 ${ip}`)
      }
    }
    const conf = await sh(lab, 2, 'cat /etc/tinc/k3s/tinc.conf')
    assert.match(conf, /^Mode = switch$/m)
    assert.match(conf, /^ConnectTo = /m)
  })

  test('verify: a node cut from the mesh is named on every other node (one ping command per node), and passes again once back', async () => {
    const cut = lab.hosts[3]
    await sh(lab, cut.index, 'ip link set tinc0 down')
    try {
      const r = await run(SITE, inventories, { tags: ['verify'], extraVars: ['verify_ping_retries=1'] })
      assert.notEqual(r.summary.exitCode, 0)
      for (const h of lab.hosts) {
        const failed = r.results.find((e) => e.host === h.name && e.status === 'failed' && e.task === 'Tinc mesh check failed')
        assert.ok(failed, `${h.name}: ${JSON.stringify(r.results.filter((e) => e.host === h.name))}`)
        if (h === cut)
          // the cut node reaches no one, and lists every peer
          for (const other of lab.hosts.filter((o) => o !== cut))
            assert.match(failed.msg ?? '', new RegExp(`unreachable: ${other.name} 10\\.10\\.0\\.${other.index}\\b`))
        else {
          assert.match(failed.msg ?? '', new RegExp(`unreachable: ${cut.name} 10\\.10\\.0\\.${cut.index}\\b`))
          assert.equal((failed.msg?.match(/unreachable:/g) ?? []).length, 1, `${h.name} names only the cut node: ${failed.msg}`)
        }
      }
    } finally {
      await sh(lab, cut.index, 'ip link set tinc0 up')
    }
    const back = await run(SITE, inventories, { tags: ['verify'] })
    assert.equal(back.summary.exitCode, 0, JSON.stringify(back.results.filter((e) => e.status === 'failed')))
  })

  test('ZFS is real on zfs-fuse: pool and dataset with the asked properties', async () => {
    const zfsHost = 3
    assert.match(await sh(lab, zfsHost, 'zpool list -H -o name'), /^tank$/m)
    const props = await sh(lab, zfsHost, 'zfs get -H -o property,value compression,mountpoint tank/longhorn')
    assert.match(props, /compression\tgzip/)
    assert.match(props, /mountpoint\t\/var\/lib\/longhorn/)
  })

  test('K3S (test double): downloaded and verified, configured with the documented keys, token handed to agents, all nodes registered', async () => {
    const binSha = (await sh(lab, 1, 'sha256sum /usr/local/bin/k3s')).split(' ')[0]
    assert.equal(binSha, release.sha256)
    for (const [i, name] of servers().entries()) {
      const rec = JSON.parse(await sh(lab, i + 1, 'cat /var/lib/rancher/k3s/test-double/server.json'))
      assert.equal(rec.command, 'server')
      assert.deepEqual(rec.argv, ['server'], 'nothing secret on the command line')
      assert.equal(rec.config['flannel-backend'], 'host-gw')
      assert.equal(rec.config['flannel-iface'], 'tinc0')
      assert.equal(rec.config['node-ip'], `10.10.0.${i + 1}`)
      assert.deepEqual(rec.config.disable, ['servicelb', 'traefik'])
      // the inventory's names, and the API address the control machine's kubeconfig uses
      assert.deepEqual(rec.config['tls-san'], ['k3s.lab.example', lab.hosts[0].address])
      assert.ok(rec.config['node-label'].includes('k3sbook/lab=true'))
      assert.equal(rec.env.K3S_TOKEN, `sha256:${sha256(token)}`, `${name} got the token through its environment file`)
      assert.match(rec.env.K3S_DATASTORE_ENDPOINT, /^sha256:/)
      const mode = await sh(lab, i + 1, 'stat -c %a /etc/systemd/system/k3s.service.env /etc/rancher/k3s/config.yaml')
      assert.equal(mode, '600\n600\n')
    }
    assert.ok((await sh(lab, 1, 'cat /var/lib/rancher/k3s/test-double/server.json')).includes('"k3sbook/ingress=true"'), 'the ingress node is labelled')
    for (const [j] of agents().entries()) {
      const rec = JSON.parse(await sh(lab, j + 3, 'cat /var/lib/rancher/k3s/test-double/agent.json'))
      assert.equal(rec.env.K3S_URL, 'https://10.10.0.1:6443')
      assert.match(rec.env.K3S_TOKEN, /^sha256:/)
      assert.equal(rec.config['node-ip'], `10.10.0.${j + 3}`)
      await sh(lab, j + 3, 'test -s /var/lib/rancher/k3s/test-double/agent-joined')
    }
    const nodes = (await sh(lab, 2, 'k3s kubectl get nodes -o name')).trim().split('\n').sort()
    assert.deepEqual(
      nodes,
      names()
        .map((n) => `node/${n}`)
        .sort(),
      'every node registered, seen from the second server (shared datastore)',
    )
    const kubeconfig = join(lab.dir, 'kubeconfig')
    assert.equal(statSync(kubeconfig).mode & 0o777, 0o600)
    // the first server's public address (its ansible_host), which the control machine reaches
    assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(`server: https://${lab.hosts[0].address.replace(/\./g, '\\.')}:6443\n`))
  })

  test('add-ons: HelmChart manifests for MetalLB, Traefik v2 and Longhorn, and the MetalLB pool', async () => {
    const dir = '/var/lib/rancher/k3s/server/manifests'
    const load = async (f: string) => parseAllDocuments(await sh(lab, 1, `cat ${dir}/${f}`)).map((d) => d.toJS())
    const [metallb] = await load('metallb.yaml')
    assert.equal(metallb.kind, 'HelmChart')
    assert.equal(metallb.spec.chart, 'metallb')
    assert.equal(metallb.spec.targetNamespace, 'metallb-system')
    const pool = await load('metallb-pool.yaml')
    assert.deepEqual(
      pool.map((o) => o.kind),
      ['IPAddressPool', 'L2Advertisement'],
    )
    assert.deepEqual(pool[0].spec.addresses, ['10.10.64.0/18'])
    const [traefik] = await load('traefik.yaml')
    assert.ok(Number(String(traefik.spec.version).split('.')[0]) < 28, 'Traefik v2 chart (below 28.x)')
    const tv = parse(traefik.spec.valuesContent)
    assert.equal(tv.service.type, 'LoadBalancer')
    assert.deepEqual(tv.nodeSelector, { 'k3sbook/ingress': 'true' })
    const [longhorn] = await load('longhorn.yaml')
    assert.equal(parse(longhorn.spec.valuesContent).defaultSettings.defaultDataPath, '/var/lib/longhorn')
    // the servers that are not first get no add-on manifests
    assert.equal((await sh(lab, 2, `ls ${dir} 2>/dev/null | wc -l`)).trim(), '0')
  })

  test('--limit k3s_agent touches only the agents', async () => {
    // The cluster's own runtime state changes when an agent restarts and re-registers: the K3S
    // double's records and the datastore's files (PostgreSQL on server 1 keeps the node records,
    // as kine does). That is the cluster at work, not k3sbook writing to a server.
    const state = { exclude: ['/var/lib/rancher/k3s/test-double', '/var/lib/postgresql'] }
    const before = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index, state)))
    // make a change the agents must repair, so the run writes something
    await sh(lab, 3, 'echo "# drift" >> /etc/rancher/k3s/config.yaml')
    const r = await run(SITE, inventories, { limit: 'k3s_agent' })
    assert.equal(r.summary.exitCode, 0)
    assert.deepEqual(Object.keys(r.summary.recap).sort(), agents().sort())
    assert.deepEqual(changedTasks(r, agents()[0]), ['Agent configuration (/etc/rancher/k3s/config.yaml)', 'handler: restart k3s-agent'])
    const afterRun = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index, state)))
    assert.equal(afterRun[0], before[0], `server 1 untouched:\n${fingerprintDiff(before[0], afterRun[0])}`)
    assert.equal(afterRun[1], before[1], `server 2 untouched:\n${fingerprintDiff(before[1], afterRun[1])}`)
  })

  test('one changed variable changes exactly the tasks that depend on it and restarts only that service', async () => {
    const pid = (i: number, p: string) => sh(lab, i, `cat ${p}`).then((s) => s.trim())
    const tincBefore = await pid(1, '/run/tinc.k3s.pid').catch(() => sh(lab, 1, 'pgrep -f "tincd -n k3s"'))
    const k3sBefore = await pid(1, '/run/k3s.pid')
    const agentBefore = await pid(3, '/run/k3s-agent.pid')
    const r = await run(SITE, inventories, { extraVars: [JSON.stringify({ k3s_node_labels: ['k3sbook/lab=true', 'tier=gold'] })], limit: 'k3s_server' })
    assert.equal(r.summary.exitCode, 0)
    for (const s of servers()) assert.deepEqual(changedTasks(r, s), ['Server configuration (/etc/rancher/k3s/config.yaml)', 'handler: restart k3s'])
    assert.notEqual(await pid(1, '/run/k3s.pid'), k3sBefore, 'k3s restarted')
    assert.equal(await pid(3, '/run/k3s-agent.pid'), agentBefore, 'agents untouched')
    const tincAfter = await pid(1, '/run/tinc.k3s.pid').catch(() => sh(lab, 1, 'pgrep -f "tincd -n k3s"'))
    assert.equal(tincAfter, tincBefore, 'tinc not restarted')
    const rec = JSON.parse(await sh(lab, 1, 'cat /var/lib/rancher/k3s/test-double/server.json'))
    assert.ok(rec.config['node-label'].includes('tier=gold'))
  })

  test('the secrets never appear in any output, JSON event or diff', async () => {
    const env = { ...process.env }
    const outputs: string[] = []
    for (const args of [
      ['check', SITE, '-o', 'json', '-vvv'],
      ['run', SITE, '--diff', '-o', 'plain', '-vvv', '-e', JSON.stringify({ k3s_node_labels: ['k3sbook/lab=true'] })],
      ['run', SITE, '--diff', '-o', 'json'],
    ]) {
      const full = [join(ROOT, 'bin/k3sbook.js'), args[0], args[1], ...inventories.flatMap((i) => ['-i', i]), ...args.slice(2)]
      const r = await execFileP(process.execPath, full, { env, cwd: ROOT, maxBuffer: 64 << 20 }).catch(
        (e: { stdout: string; stderr: string; code: number }) => e,
      )
      outputs.push(r.stdout, r.stderr)
    }
    const all = outputs.join('\n')
    assert.ok(all.length > 1000, 'the runs printed something')
    assert.ok(all.includes('Token and datastore in the service environment'), 'the secret-bearing task ran')
    assert.equal(all.includes(token), false, 'the K3S token leaked')
    assert.equal(all.includes(dbPassword), false, 'the datastore password leaked')
  })

  test('upgrade.yml: servers one at a time (serial: 1), then agents; at the same version nothing changes', async () => {
    const r = await run(join(ROOT, 'playbooks/upgrade.yml'), inventories)
    assert.equal(r.summary.exitCode, 0)
    const batches = r.events.filter((e) => e.type === 'batch:start' && e.play.startsWith('Upgrade the servers')).map((e) => (e as { hosts: string[] }).hosts)
    assert.deepEqual(batches, [[servers()[0]], [servers()[1]]], 'one server per batch')
    for (const h of names()) assert.equal(r.summary.recap[h].changed, 0, `${h}: ${changedTasks(r, h)}`)
  })

  test('reset.yml refuses without confirmation and changes nothing', async () => {
    const runtime = { exclude: ['/var/lib/rancher/k3s/test-double', '/var/lib/postgresql'] } // the running cluster's own state
    const before = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index, runtime)))
    const r = await run(join(ROOT, 'playbooks/reset.yml'), inventories)
    assert.notEqual(r.summary.exitCode, 0)
    const refusal = r.results.find((e) => e.status === 'failed')
    assert.match(refusal?.msg ?? '', /reset_confirm=yes/)
    const afterRun = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index, runtime)))
    assert.deepEqual(afterRun, before)
  })

  test("SysV init: PostgreSQL stopped, the servers fail with K3S's datastore error from /var/log/k3s.log; started again, they come back", async () => {
    await sh(lab, 1, 'service postgresql stop')
    // the double loses its datastore and exits (nothing restarts it under SysV init); the run starts
    // it again, and then it cannot connect
    for (const i of [1, 2])
      await sh(lab, i, 'i=0; until grep -q "level=fatal.*unreachable" /var/log/k3s.log; do i=$((i + 1)); [ $i -lt 30 ] || exit 1; sleep 1; done')
    // -t k3s-server: the datastore's own play would start PostgreSQL again
    const r = await run(SITE, inventories, { tags: ['k3s-server'], extraVars: ['k3s_start_timeout=10'] })
    assert.notEqual(r.summary.exitCode, 0)
    for (const h of servers()) {
      const failed = r.results.find((e) => e.host === h && e.status === 'failed' && e.task === 'K3S did not come up')
      assert.match(
        failed?.msg ?? JSON.stringify(r.results.filter((e) => e.host === h)),
        /level=fatal msg=.*connection to server at \\?"(10\.10\.0\.1|\*+)\\?", port 5432 failed: Connection refused/,
      )
      assert.equal(r.summary.recap[h].failed, 1)
    }
    await sh(lab, 1, 'service postgresql start')
    const back = await run(SITE, inventories, { tags: ['k3s-server'] })
    assert.equal(back.summary.exitCode, 0, JSON.stringify(back.results.filter((e) => e.status === 'failed')))
  })
})

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex')
}
