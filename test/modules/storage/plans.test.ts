// Plan decisions on probe output given as strings (a reader that answers from a table), for the
// cases a live zfs-fuse cannot show: ZFS not installed or its daemon down (with and without an
// earlier check-mode task that installs it), several or broken importable pools, volumes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HostReader, Plan, PlanContext } from '../../../src/modules/types.js'
import type { Task } from '../../../src/model.js'
import { zpoolModule } from '../../../src/modules/zpool.js'
import { zfsModule } from '../../../src/modules/zfs.js'
import { filesystemModule } from '../../../src/modules/filesystem.js'

/** A host whose every probe prints `out`; `pending` plays the check-mode overlay. */
function ctx(out: string, pending: Record<string, unknown> = {}): PlanContext & { scripts: string[] } {
  const scripts: string[] = []
  const reader: HostReader = {
    host: 'h1',
    async probe(script) {
      scripts.push(script)
      return { rc: 0, stdout: Buffer.from(out), stderr: Buffer.alloc(0) }
    },
    // every file asked about exists (the vdev files of a pool: reasoning from absent vdevs is tested in check-prediction)
    files: async (paths) => new Map(paths.map((p) => [p, { path: p, exists: true }])),
    pending: (k) => pending[k],
    hasPending: () => Object.keys(pending).length > 0,
  }
  return { host: 'h1', vars: {}, reader, diff: false, controller: { find: () => Promise.reject(new Error('x')), render: (t) => t }, task: {} as Task, scripts }
}

const sec = (parts: Record<string, string>) =>
  Object.entries(parts)
    .map(([k, v]) => `@@${k}\n${v}${v === '' || v.endsWith('\n') ? '' : '\n'}`)
    .join('')
const DAEMON_DOWN =
  'connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\ninternal error: failed to initialize ZFS library\n'
const msg = (p: Plan) => (p.status === 'fail' ? p.msg : `(${p.status})`)
const summaries = (p: Plan) => ('changes' in p && p.changes ? p.changes.map((c) => c.summary) : [])
const scripts = (p: Plan) => ('steps' in p ? p.steps.map((s) => s.script) : [])

const pool = { name: 'tank', vdevs: ['/var/lib/zfs/d0.img'], ashift: 12 }

test('zpool: ZFS missing or down fails clearly, unless an earlier task installs or starts it', async () => {
  assert.equal(msg(await zpoolModule.plan(pool, ctx('@@notool\n'))), 'zpool: the zpool command is not installed on h1')
  const predicted = await zpoolModule.plan(pool, ctx('@@notool\n', { 'pkg:zfsutils-linux': 'present' }))
  assert.equal(predicted.status, 'change')
  assert.deepEqual(summaries(predicted), ['create pool tank on /var/lib/zfs/d0.img (predicted: zpool is not installed yet (pkg:zfsutils-linux comes first))'])
  const down = sec({ list: DAEMON_DOWN, listrc: '1' })
  assert.equal(
    msg(await zpoolModule.plan(pool, ctx(down))),
    'zpool: ZFS is not usable on h1: connect: No such file or directory; Please make sure that the zfs-fuse daemon is running.; internal error: failed to initialize ZFS library',
  )
  assert.equal((await zpoolModule.plan(pool, ctx(down, { 'service:zfs-fuse': 'started' }))).status, 'change')
  // a service being stopped does not make ZFS usable
  assert.equal((await zpoolModule.plan(pool, ctx(down, { 'service:zfs-fuse': 'stopped' }))).status, 'fail')
})

test('zpool: the probe asks zpool import where file vdevs live', async () => {
  const c = ctx(sec({ list: '', listrc: '0', import: '', importrc: '1' }))
  const p = await zpoolModule.plan(pool, c)
  assert.equal(c.scripts.length, 1)
  assert.match(c.scripts[0], /zpool import -d \/var\/lib\/zfs 2>&1/)
  assert.deepEqual(scripts(p), ['zpool create -o ashift=12 tank /var/lib/zfs/d0.img'])
})

test('zpool: several importable pools of that name, or a broken one, are not imported blindly', async () => {
  const two = `   pool: tank\n     id: 1\n  state: ONLINE\n   pool: tank\n     id: 2\n  state: ONLINE\n`
  assert.match(
    msg(await zpoolModule.plan(pool, ctx(sec({ list: 'other', listrc: '0', import: two, importrc: '0' })))),
    /2 pools named tank can be imported \(ids 1, 2\)/,
  )
  const broken = `   pool: tank\n     id: 7\n  state: UNAVAIL\n status: One or more devices are missing from the system.\n`
  assert.equal(
    msg(await zpoolModule.plan(pool, ctx(sec({ list: '', listrc: '0', import: broken, importrc: '0' })))),
    'zpool: pool tank is on disk but cannot be imported: state UNAVAIL (One or more devices are missing from the system.)',
  )
  const other = `   pool: backup\n     id: 9\n  state: ONLINE\n`
  assert.equal((await zpoolModule.plan(pool, ctx(sec({ list: '', listrc: '0', import: other, importrc: '0' })))).status, 'change')
})

test('zpool: arguments checked before the host is asked', async () => {
  const c = ctx('')
  assert.match(msg(await zpoolModule.plan({ name: 'mirror1', vdevs: ['/dev/sdb'] }, c)), /not a valid pool name/)
  assert.match(msg(await zpoolModule.plan({ name: 'tank', vdevs: ['/dev/sdb'], ashift: 40 }, c)), /ashift must be between/)
  assert.match(msg(await zpoolModule.plan({ name: 'tank', vdevs: ['/dev/sdb'], state: 'gone' }, c)), /state must be present/)
  assert.equal(c.scripts.length, 0)
})

test('zfs: ZFS missing or down, with and without an earlier installing task', async () => {
  const a = { name: 'tank/data', state: 'present', extra_zfs_properties: { atime: false } }
  assert.equal(msg(await zfsModule.plan(a, ctx('@@notool\n'))), 'zfs: the zfs command is not installed on h1')
  assert.equal((await zfsModule.plan(a, ctx('@@notool\n', { 'pkg:zfs-fuse': 'present' }))).status, 'change')
  const down = sec({ list: DAEMON_DOWN, listrc: '1' })
  assert.match(msg(await zfsModule.plan(a, ctx(down))), /^zfs: cannot inspect tank\/data: connect: No such file/)
  const p = await zfsModule.plan(a, ctx(down, { 'service:zfs-fuse': 'started' }))
  assert.deepEqual(scripts(p), ['zfs create -p -o atime=off tank/data'])
})

test('zfs: a missing dataset on an existing pool is created; a snapshot of a missing dataset fails', async () => {
  const missing = "cannot open 'tank/data': dataset does not exist"
  const p = await zfsModule.plan({ name: 'tank/data', state: 'present' }, ctx(sec({ list: missing, listrc: '1', dep: 'tank', deprc: '0' })))
  assert.deepEqual(scripts(p), ['zfs create -p tank/data'])
  assert.deepEqual('steps' in p ? p.steps[0].effects : undefined, [{ key: 'zfs:tank/data', value: 'present' }])
  const snap = await zfsModule.plan({ name: 'tank/data@s', state: 'present' }, ctx(sec({ list: missing, listrc: '1', dep: missing, deprc: '1' })))
  assert.equal(msg(snap), 'zfs: cannot snapshot tank/data: it does not exist')
  const predicted = await zfsModule.plan(
    { name: 'tank/data@s', state: 'present' },
    ctx(sec({ list: missing, listrc: '1', dep: missing, deprc: '1' }), { 'zfs:tank/data': 'present' }),
  )
  assert.equal(predicted.status, 'change')
})

test('zfs: volumes grow but never shrink, and a file system is not a volume', async () => {
  const vol = (size: string) => ({ name: 'tank/lh', state: 'present', extra_zfs_properties: { volsize: size } })
  const have = (type: string, volsize: string) => ctx(sec({ list: 'tank/lh', listrc: '0', get: `type\t${type}\t-\nvolsize\t${volsize}\tlocal\n`, getrc: '0' }))
  assert.equal((await zfsModule.plan(vol('1G'), have('volume', '1073741824'))).status, 'ok')
  const grow = await zfsModule.plan(vol('2G'), have('volume', '1073741824'))
  assert.deepEqual(scripts(grow), ['zfs set volsize=2G tank/lh'])
  assert.deepEqual(summaries(grow), ['volsize: 1073741824 → 2G'])
  assert.match(
    msg(await zfsModule.plan(vol('512M'), have('volume', '1073741824'))),
    /would shrink from 1073741824 to 512M bytes; k3sbook never shrinks a volume/,
  )
  assert.match(msg(await zfsModule.plan(vol('1G'), have('filesystem', '-'))), /tank\/lh exists as a filesystem, not a volume/)
  const created = await zfsModule.plan(vol('1G'), ctx(sec({ list: "cannot open 'tank/lh': dataset does not exist", listrc: '1', dep: 'tank', deprc: '0' })))
  assert.deepEqual('steps' in created ? created.steps[0].effects : undefined, [
    { key: 'zfs:tank/lh', value: 'present' },
    { key: 'dev:/dev/zvol/tank/lh', value: 'present' },
  ])
})

test('filesystem: what blkid says decides', async () => {
  const a = { dev: '/dev/sdb1', fstype: 'ext4' }
  assert.deepEqual(scripts(await filesystemModule.plan(a, ctx(sec({ type: '', rc: '2' })))), ['mkfs.ext4 -F /dev/sdb1'])
  assert.equal((await filesystemModule.plan(a, ctx(sec({ type: 'ext4', rc: '0' })))).status, 'ok')
  assert.equal(
    msg(await filesystemModule.plan(a, ctx(sec({ type: 'xfs', rc: '0' })))),
    "filesystem: '/dev/sdb1' is already used as xfs, use force=true to overwrite",
  )
  assert.match(
    msg(await filesystemModule.plan(a, ctx(sec({ type: 'blkid: error: /dev/sdb1: Permission denied', rc: '4' })))),
    /blkid \/dev\/sdb1 failed \(exit 4\)/,
  )
  assert.equal(msg(await filesystemModule.plan(a, ctx('@@noblkid\n'))), 'filesystem: blkid is not installed on h1 (util-linux)')
  assert.equal(msg(await filesystemModule.plan(a, ctx('@@missing\n'))), 'filesystem: device /dev/sdb1 not found')
  assert.equal((await filesystemModule.plan({ dev: '/dev/sdb1', state: 'absent' }, ctx('@@missing\n'))).status, 'ok')
  assert.match(msg(await filesystemModule.plan({ dev: '/dev/sdb1' }, ctx(''))), /fstype is required/)
})

test('filesystem: check mode sees the file system an earlier task would make', async () => {
  const pend = { 'fs:/dev/sdb1': 'ext4' }
  assert.equal((await filesystemModule.plan({ dev: '/dev/sdb1', fstype: 'ext4' }, ctx(sec({ type: '', rc: '2' }), pend))).status, 'ok')
  assert.match(msg(await filesystemModule.plan({ dev: '/dev/sdb1', fstype: 'xfs' }, ctx(sec({ type: '', rc: '2' }), pend))), /already used as ext4/)
  assert.deepEqual(scripts(await filesystemModule.plan({ dev: '/dev/sdb1', state: 'absent' }, ctx(sec({ type: '', rc: '2' }), pend))), [
    'wipefs --all /dev/sdb1',
  ])
  // wiped by an earlier task: a new file system is made even though blkid still sees xfs
  const wiped = { 'fs:/dev/sdb1': 'absent' }
  assert.deepEqual(scripts(await filesystemModule.plan({ dev: '/dev/sdb1', fstype: 'ext4' }, ctx(sec({ type: 'xfs', rc: '0' }), wiped))), [
    'mkfs.ext4 -F /dev/sdb1',
  ])
  assert.equal((await filesystemModule.plan({ dev: '/dev/sdb1', state: 'absent' }, ctx(sec({ type: 'xfs', rc: '0' }), wiped))).status, 'ok')
})
