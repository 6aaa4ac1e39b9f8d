// The storage modules against real ZFS: Debian's zfs-fuse daemon started inside a lab host (its own
// mount namespace, /run and overlay root, so this machine's state is never touched), file-backed
// vdevs, and a file image for mkfs. Per module: fresh → change; applied → ok; plan changes nothing;
// check mode changes nothing and predicts what later tasks see.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { openConnection } from '../../../src/connection/index.js'
import type { Connection } from '../../../src/connection/types.js'
import { Overlay } from '../../../src/executor/reader.js'
import { runModule } from '../provision/harness.js'
import { zpoolModule } from '../../../src/modules/zpool.js'
import { zfsModule } from '../../../src/modules/zfs.js'
import { filesystemModule } from '../../../src/modules/filesystem.js'
import type { Plan } from '../../../src/modules/types.js'
import type { Vars } from '../../../src/model.js'

const DIR = '/var/lib/k3sbook-test'
const D0 = `${DIR}/vdev0.img`
const D1 = `${DIR}/vdev1.img`
const IMG = `${DIR}/fs.img`

let lab: (LabInfo & { stop(): Promise<void> }) | undefined
let conn: Connection

async function sh(script: string): Promise<string> {
  const r = await conn.exec(script)
  assert.equal(r.rc, 0, `${script}\n${r.stderr.toString()}`)
  return r.stdout.toString()
}

/**
 * Everything the modules could change: pools, datasets and their local properties, the image's
 * bytes, and the labels at both ends of the spare vdev (a live pool's vdev changes by itself).
 */
function fingerprint(): Promise<string> {
  return sh(
    `zpool list -H -o name,health; zfs list -H -o name,type -t all; zfs get -H -o name,property,value -s local all; md5sum ${IMG}; ` +
      `head -c 1M ${D1} | md5sum; tail -c 1M ${D1} | md5sum; ls -la ${DIR}`,
  )
}

/** plan() alone, counting the round trips it costs. */
async function planOnly(mod: typeof zfsModule, args: Vars, overlay?: Overlay): Promise<{ plan: Plan; trips: number }> {
  const before = conn.stats.roundTrips
  const { plan } = await runModule(mod, args, conn, { check: true, overlay })
  return { plan, trips: conn.stats.roundTrips - before }
}

function summaries(p: Plan): string[] {
  return 'changes' in p && p.changes ? p.changes.map((c) => c.summary) : []
}

function scripts(p: Plan): string[] {
  return 'steps' in p ? p.steps.map((s) => s.script) : []
}

/** The four module tests for one set of arguments, from a state where it must change. */
async function fourWay(mod: typeof zfsModule, args: Vars): Promise<Plan> {
  const fresh = await fingerprint()
  const { plan, trips } = await planOnly(mod, args)
  assert.equal(plan.status, 'change', JSON.stringify(plan))
  assert.equal(trips, 1, 'a plan costs one round trip')
  assert.equal(await fingerprint(), fresh, 'plan (check mode) changed nothing')
  const run = await runModule(mod, args, conn)
  assert.equal(run.failed, undefined, JSON.stringify(run.failed))
  assert.notEqual(await fingerprint(), fresh, 'apply changed the host')
  const again = await planOnly(mod, args)
  assert.equal(again.plan.status, 'ok', JSON.stringify(again.plan))
  assert.equal(again.trips, 1)
  return plan
}

before(async () => {
  lab = await startLab({ hosts: 1, tag: 'zfs' })
  const h = lab.hosts[0]
  conn = openConnection(
    h.name,
    { host: h.address, user: 'root', privateKeyFile: lab.keyPath, connection: 'ssh' },
    { knownHostsFile: lab.knownHostsPath, sshConfigFile: false, systemSshConfigFile: false },
  )
  await conn.connect()
  // The daemon lives in the lab host's pid namespace and goes away with it.
  await sh(`zfs-fuse -p /run/zfs-fuse.pid
i=0; until zpool list >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 50 ] || { echo 'zfs-fuse did not start' >&2; exit 1; }; sleep 0.1; done
mkdir -p ${DIR} && truncate -s 128M ${D0} ${D1} && truncate -s 32M ${IMG}`)
})

after(async () => {
  try {
    if (conn) await conn.exec('zpool export -a; kill "$(cat /run/zfs-fuse.pid)"')
    await conn?.close()
  } finally {
    await lab?.stop()
  }
})

const poolArgs = {
  name: 'tank',
  vdevs: [D0],
  ashift: 12,
  properties: { autoexpand: true },
  filesystem_properties: { compression: 'gzip', mountpoint: `${DIR}/tank` },
}

describe('zpool on zfs-fuse', () => {
  test('fresh: creates the pool with its properties; then ok', async () => {
    const plan = await fourWay(zpoolModule, poolArgs)
    assert.deepEqual(scripts(plan), [`zpool create -o ashift=12 -o autoexpand=on -O compression=gzip -O mountpoint=${DIR}/tank tank ${D0}`])
    assert.match(await sh('zpool get autoexpand,ashift tank'), /autoexpand\s+on\s+local[\s\S]*ashift\s+12/)
    assert.match(await sh('zfs get -H -o value compression,mountpoint tank'), new RegExp(`^gzip\\n${DIR}/tank\\n$`))
  })

  test('a property changed by hand is set back, nothing else', async () => {
    await sh('zpool set autoexpand=off tank; zfs set compression=off tank')
    const { plan } = await planOnly(zpoolModule, poolArgs)
    assert.equal(plan.status, 'change')
    assert.deepEqual(summaries(plan), ['pool autoexpand: off → on', 'compression: off → gzip'])
    assert.deepEqual(scripts(plan), ['zpool set autoexpand=on tank', 'zfs set compression=gzip tank'])
    const run = await runModule(zpoolModule, poolArgs, conn)
    assert.equal(run.failed, undefined)
    assert.equal((await planOnly(zpoolModule, poolArgs)).plan.status, 'ok')
  })

  test('another ashift is a note, not a change', async () => {
    const { plan } = await planOnly(zpoolModule, { ...poolArgs, ashift: 9 })
    assert.equal(plan.status, 'ok')
    assert.match((plan as { note?: string }).note ?? '', /ashift is 12, not 9: it is fixed when the pool is created/)
  })

  test('exported: plans an import (not a create), check mode leaves it exported, apply imports it with its data', async () => {
    await sh(`zfs create tank/keep && echo hello > ${DIR}/tank/keep/f && zpool export tank`)
    assert.equal(await sh('zpool list -H -o name'), '')
    const fresh = await fingerprint()
    const { plan, trips } = await planOnly(zpoolModule, poolArgs)
    assert.equal(trips, 1)
    assert.equal(plan.status, 'change')
    assert.match(summaries(plan)[0], new RegExp(`^import pool tank from ${DIR} \\(id \\d+, ONLINE\\)$`))
    assert.ok(!scripts(plan).some((s) => s.includes('zpool create')), 'never re-created')
    assert.equal(await fingerprint(), fresh)
    const run = await runModule(zpoolModule, poolArgs, conn)
    assert.equal(run.failed, undefined, JSON.stringify(run.failed))
    assert.equal(await sh('zpool list -H -o name'), 'tank\n')
    assert.equal(await sh(`cat ${DIR}/tank/keep/f`), 'hello\n')
    assert.equal((await planOnly(zpoolModule, poolArgs)).plan.status, 'ok')
  })

  test('state=absent is refused; a pool that exists nowhere without vdevs fails clearly', async () => {
    const { plan } = await planOnly(zpoolModule, { name: 'tank', state: 'absent' })
    assert.equal(plan.status, 'fail')
    assert.match((plan as { msg: string }).msg, /never destroys a pool/)
    assert.equal(await sh('zpool list -H -o name'), 'tank\n')
    const none = await planOnly(zpoolModule, { name: 'ghost' })
    assert.match((none.plan as { msg: string }).msg, /does not exist and no vdevs are given/)
  })
})

describe('zfs datasets on zfs-fuse', () => {
  const data = { name: 'tank/data', state: 'present', extra_zfs_properties: { compression: 'gzip', mountpoint: `${DIR}/data`, atime: false, quota: '1.5G' } }

  test('fresh: creates the dataset with its properties; then ok (sizes compare as bytes)', async () => {
    const plan = await fourWay(zfsModule, data)
    assert.deepEqual(scripts(plan), [`zfs create -p -o compression=gzip -o mountpoint=${DIR}/data -o atime=off -o quota=1.5G tank/data`])
    assert.equal(await sh('zfs get -H -p -o value compression,mountpoint,atime,quota tank/data'), `gzip\n${DIR}/data\noff\n1610612736\n`)
    assert.equal(await sh(`mount | grep -c ' on ${DIR}/data type fuse'`), '1\n')
  })

  test('a property changed by hand, and one only inherited, are set', async () => {
    await sh('zfs set atime=on tank/data')
    const args = { ...data, extra_zfs_properties: { ...data.extra_zfs_properties, checksum: 'on' } }
    const { plan } = await planOnly(zfsModule, args)
    assert.deepEqual(summaries(plan), ['atime: on → off', 'checksum: on (default) → on'])
    assert.deepEqual(scripts(plan), ['zfs set atime=off tank/data', 'zfs set checksum=on tank/data'])
    assert.equal((await runModule(zfsModule, args, conn)).failed, undefined)
    assert.equal((await planOnly(zfsModule, args)).plan.status, 'ok')
    assert.equal((await planOnly(zfsModule, data)).plan.status, 'ok')
  })

  test('nested datasets are created with their parents; snapshots once', async () => {
    await fourWay(zfsModule, { name: 'tank/a/b/c', state: 'present' })
    assert.match(await sh('zfs list -H -o name -r tank/a'), /^tank\/a\ntank\/a\/b\ntank\/a\/b\/c\n$/)
    const snap = await fourWay(zfsModule, { name: 'tank/data@first', state: 'present' })
    assert.deepEqual(scripts(snap), ['zfs snapshot tank/data@first'])
  })

  test('state=absent is refused; an unknown property or a missing pool fails with a clear message', async () => {
    const absent = await planOnly(zfsModule, { name: 'tank/data', state: 'absent' })
    assert.match((absent.plan as { msg: string }).msg, /never destroys a dataset/)
    const bad = await planOnly(zfsModule, { name: 'tank/data', state: 'present', extra_zfs_properties: { colour: 'red' } })
    assert.equal(bad.plan.status, 'fail')
    assert.match((bad.plan as { msg: string }).msg, /invalid property 'colour'/)
    const nopool = await planOnly(zfsModule, { name: 'nopool/x', state: 'present' })
    assert.match((nopool.plan as { msg: string }).msg, /pool nopool does not exist/)
  })

  test('check mode: a dataset on a pool an earlier task would create plans a change, not a failure', async () => {
    const fresh = await fingerprint()
    const overlay = new Overlay()
    const pool = await planOnly(zpoolModule, { name: 'later', vdevs: [D1] }, overlay)
    assert.equal(pool.plan.status, 'change')
    const ds = await planOnly(zfsModule, { name: 'later/data', state: 'present', extra_zfs_properties: { atime: 'off' } }, overlay)
    assert.equal(ds.plan.status, 'change', JSON.stringify(ds.plan))
    assert.deepEqual(summaries(ds.plan), ['create file system later/data (atime=off) (pool later is created by an earlier task)'])
    assert.equal(await fingerprint(), fresh)
  })

  test('zvol: the plan is zfs create -V; zfs-fuse cannot make volumes and apply says why', async () => {
    const vol = { name: 'tank/longhorn', state: 'present', extra_zfs_properties: { volsize: '64M', volblocksize: '16K' } }
    const fresh = await fingerprint()
    const overlay = new Overlay()
    const { plan } = await planOnly(zfsModule, vol, overlay)
    assert.equal(plan.status, 'change')
    assert.deepEqual(scripts(plan), ['zfs create -p -V 64M -b 16K tank/longhorn'])
    assert.deepEqual(summaries(plan), ['create volume tank/longhorn (volsize=64M, volblocksize=16K)'])
    // What the role's next task sees in check mode: the volume's device, to be formatted.
    const fs = await planOnly(filesystemModule, { dev: '/dev/zvol/tank/longhorn', fstype: 'ext4' }, overlay)
    assert.equal(fs.plan.status, 'change', JSON.stringify(fs.plan))
    assert.deepEqual(scripts(fs.plan), ['mkfs.ext4 -F /dev/zvol/tank/longhorn'])
    assert.equal(await fingerprint(), fresh)
    const run = await runModule(zfsModule, vol, conn)
    assert.ok(run.failed, 'zfs-fuse has no zvols')
    assert.match(run.failed!.stderr, /Function not implemented/)
    assert.equal(await fingerprint(), fresh)
    // Without the volume, the file system task fails clearly instead of formatting anything.
    const nodev = await planOnly(filesystemModule, { dev: '/dev/zvol/tank/longhorn', fstype: 'ext4' })
    assert.equal(nodev.plan.status, 'fail')
    assert.match((nodev.plan as { msg: string }).msg, /device \/dev\/zvol\/tank\/longhorn not found/)
  })
})

describe('filesystem on an image file', () => {
  test('fresh: mkfs.ext4; then ok; blkid sees ext4', async () => {
    const plan = await fourWay(filesystemModule, { dev: IMG, fstype: 'ext4', opts: '-L k3sbook' })
    assert.deepEqual(scripts(plan), [`mkfs.ext4 -F -L k3sbook ${IMG}`])
    assert.equal(await sh(`blkid -c /dev/null -o value -s TYPE ${IMG}; blkid -c /dev/null -o value -s LABEL ${IMG}`), 'ext4\nk3sbook\n')
  })

  test('another file system is never replaced without force; with force it is', async () => {
    const fresh = await fingerprint()
    const { plan } = await planOnly(filesystemModule, { dev: IMG, fstype: 'ext2' })
    assert.equal(plan.status, 'fail')
    assert.equal((plan as { msg: string }).msg, `filesystem: '${IMG}' is already used as ext4, use force=true to overwrite`)
    // force does not reformat a device that already has the asked type
    assert.equal((await planOnly(filesystemModule, { dev: IMG, fstype: 'ext4', force: true })).plan.status, 'ok')
    assert.equal(await fingerprint(), fresh)
    await fourWay(filesystemModule, { dev: IMG, fstype: 'ext2', force: true })
    assert.equal(await sh(`blkid -c /dev/null -o value -s TYPE ${IMG}`), 'ext2\n')
  })

  test('a zfs vdev is another file system too', async () => {
    const { plan } = await planOnly(filesystemModule, { dev: D0, fstype: 'ext4' })
    assert.equal(plan.status, 'fail')
    assert.match((plan as { msg: string }).msg, /already used as zfs_member/)
  })

  test('state=absent wipes the signatures once', async () => {
    await fourWay(filesystemModule, { dev: IMG, state: 'absent' })
    assert.equal(await sh(`blkid -c /dev/null -o value -s TYPE ${IMG} || true`), '')
  })
})
