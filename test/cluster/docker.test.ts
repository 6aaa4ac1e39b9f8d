// K3S on Docker, the seed's runtime, on 4 systemd lab hosts: hosts 2 (a server) and 4 (an agent)
// have `k3s_container_runtime: docker` (scripts/lab-cluster.ts). The docker role installs Debian's
// docker.io, writes /etc/docker/daemon.json (vfs on the overlay root, no iptables) and loads the
// pause image from an archive built on the controller (test/k3s-double/image.ts; no registry is
// reachable). The K3S double started with --docker asks dockerd for `docker info` through its
// socket and runs its sandbox container from that image, as K3S with --docker would. A re-run
// changes nothing; the containerd nodes get no Docker. On the same cluster: `-t tinc` runs the
// tinc role alone, and the fetched kubeconfig's server answers from the control machine.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { parse } from 'yaml'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { serveK3sDouble, type ReleaseServer } from '../k3s-double/serve.js'
import { LAB_PAUSE_IMAGE, labDockerHosts, writeLabClusterInventory } from '../../scripts/lab-cluster.js'
import { changedTasks, run, sh, statuses } from '../executor/helpers.js'

const SITE = join(import.meta.dirname, '../../playbooks/site.yml')

describe('K3S on Docker on systemd lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let release: ReleaseServer
  let inventories: string[]
  const saved = { ...process.env }

  before(async () => {
    lab = await startLab({ hosts: 4, tag: 'docker', init: 'systemd' })
    release = await serveK3sDouble(lab.bridgeAddress)
    inventories = [lab.inventoryPath, writeLabClusterInventory(lab, { releaseUrl: release.url })]
    process.env.K3SBOOK_K3S_TOKEN = `tok-${randomBytes(16).toString('hex')}`
    process.env.K3SBOOK_DATASTORE_ENDPOINT = `postgres://k3s:pw-${randomBytes(12).toString('hex')}@10.10.0.1:5432/k3s?sslmode=disable`
  })
  after(async () => {
    process.env = saved
    await release?.close()
    await lab?.stop()
  })

  const names = () => lab.hosts.map((h) => h.name)

  test('the Docker nodes run dockerd; the double runs its container from the loaded image; a re-run changes nothing', async () => {
    assert.deepEqual(labDockerHosts(lab, {}), [1, 3])
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
    for (const t of ran) assert.ok(tincTasks.has(t) || t === 'Gathering Facts', `-t tinc ran "${t}"`)
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
})
