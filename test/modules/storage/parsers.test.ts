// Pure parts of the storage modules, on output captured from zfs-fuse 0.7 and OpenZFS 2.x.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Ajv } from 'ajv'
import {
  checkDatasetName,
  isSizeProp,
  parseZfsGet,
  parseZfsSize,
  sameZfsValue,
  zfsCreateScript,
  zfsError,
  zfsPropertyDiff,
  zfsProps,
  zfsValue,
} from '../../../src/modules/zfs.js'
import { importDirs, parseZpoolGet, parseZpoolImport, parseZpoolList, vdevWords, zpoolCreateScript, zpoolImportScript } from '../../../src/modules/zpool.js'
import { classifyFs, mkfsScript } from '../../../src/modules/filesystem.js'
import { storageModules } from '../../../src/modules/storage.js'
import { getModule } from '../../../src/modules/registry.js'
import { ArgError } from '../../../src/errors.js'

test('sizes: zfs(8) units, fractions, none', () => {
  assert.equal(parseZfsSize('1G'), 1073741824)
  assert.equal(parseZfsSize('1073741824'), 1073741824)
  assert.equal(parseZfsSize('1.5G'), 1610612736)
  assert.equal(parseZfsSize('1.50g'), 1610612736)
  assert.equal(parseZfsSize('1536M'), 1610612736)
  assert.equal(parseZfsSize('1.5GB'), 1610612736)
  assert.equal(parseZfsSize('128k'), 131072)
  assert.equal(parseZfsSize('100G'), 107374182400)
  assert.equal(parseZfsSize('2T'), 2 * 1024 ** 4)
  assert.equal(parseZfsSize('512B'), 512)
  assert.equal(parseZfsSize('none'), 0)
  assert.equal(parseZfsSize('lots'), undefined)
  assert.equal(parseZfsSize('1Q'), undefined)
  assert.equal(parseZfsSize(''), undefined)
})

test('values compare as zfs get -p prints them', () => {
  assert.ok(sameZfsValue('quota', '1.5G', '1610612736'))
  assert.ok(sameZfsValue('volsize', '100G', '107374182400'))
  assert.ok(sameZfsValue('recordsize', '64K', '65536'))
  assert.ok(sameZfsValue('quota', 'none', '0'))
  assert.ok(!sameZfsValue('quota', '1G', '2147483648'))
  assert.ok(sameZfsValue('userquota@alice', '1M', '1048576'))
  assert.ok(sameZfsValue('mountpoint', '/var/lib/x/', '/var/lib/x'))
  assert.ok(sameZfsValue('mountpoint', '/', '/'))
  assert.ok(!sameZfsValue('mountpoint', '/a', '/b'))
  assert.ok(sameZfsValue('compression', 'lz4', 'lz4'))
  assert.ok(!sameZfsValue('compression', 'lz4', 'on'))
  assert.ok(!sameZfsValue('copies', '1K', '1024'), 'copies is not a size')
  assert.ok(!sameZfsValue('atime', 'off', undefined))
  assert.ok(isSizeProp('refreservation') && !isSizeProp('atime'))
})

test('property values: YAML booleans back to on/off, numbers to text, bad names refused', () => {
  assert.equal(zfsValue(false), 'off')
  assert.equal(zfsValue(true), 'on')
  assert.equal(zfsValue(2), '2')
  assert.deepEqual(zfsProps({ atime: false, compression: 'lz4', copies: 2 }, 'p'), [
    ['atime', 'off'],
    ['compression', 'lz4'],
    ['copies', '2'],
  ])
  assert.deepEqual(zfsProps(undefined, 'p'), [])
  assert.throws(() => zfsProps({ 'a b': 1 }, 'p'), ArgError)
  assert.throws(() => zfsProps(['x'], 'p'), ArgError)
  assert.throws(() => zfsProps({ x: { y: 1 } }, 'p'), ArgError)
})

// zfs-fuse: zfs get -H -p -o property,value,source quota,recordsize,mountpoint,compression,atime,com.example:foo,type tank/a
const ZFS_GET = [
  'quota\t1610612736\tlocal',
  'recordsize\t65536\tlocal',
  'mountpoint\t/var/lib/zfs/m/\tlocal',
  'compression\toff\tdefault',
  'atime\toff\tinherited from tank',
  'com.example:foo\t-\t-',
  'com.example:bar\ta b\tlocal',
  'type\tfilesystem\t-',
  'casesensitivity\tsensitive\t-',
  '',
].join('\n')

test('zfs get output', () => {
  const m = parseZfsGet(ZFS_GET)
  assert.deepEqual(m.get('atime'), { value: 'off', source: 'inherited from tank' })
  assert.deepEqual(m.get('com.example:bar'), { value: 'a b', source: 'local' })
  assert.equal(m.get('type')?.value, 'filesystem')
  assert.equal(m.size, 9)
})

test('property diff: local values that match are kept, inherited or default ones are pinned, creation-only ones noted', () => {
  const have = parseZfsGet(ZFS_GET)
  const d = zfsPropertyDiff(
    [
      ['quota', '1.5G'],
      ['recordsize', '128K'],
      ['mountpoint', '/var/lib/zfs/m'],
      ['compression', 'off'],
      ['atime', 'off'],
      ['com.example:foo', 'x'],
      ['com.example:bar', 'a b'],
      ['casesensitivity', 'insensitive'],
    ],
    have,
  )
  assert.deepEqual(d.set, [
    { prop: 'recordsize', value: '128K', before: '65536' },
    { prop: 'compression', value: 'off', before: 'off (default)' },
    { prop: 'atime', value: 'off', before: 'off (inherited from tank)' },
    { prop: 'com.example:foo', value: 'x', before: '(unset)' },
  ])
  assert.equal(d.notes.length, 1)
  assert.match(d.notes[0], /casesensitivity is sensitive, not insensitive/)
  assert.deepEqual(zfsPropertyDiff([['quota', '1610612736']], have), { set: [], notes: [] })
})

test('dataset names', () => {
  for (const ok of ['tank', 'tank/a', 'tank/a-b_c.d:e', 'tank/a@snap-1']) checkDatasetName(ok)
  for (const bad of ['', '/tank', 'tank/', 'tank//a', 'tank/a@b@c', '-x', 'tank/a b', "tank/a'b"]) assert.throws(() => checkDatasetName(bad), ArgError, bad)
})

test('zfs create command lines: -V/-b for volumes, -o for the rest, values quoted', () => {
  assert.equal(
    zfsCreateScript({
      name: 'tank/data',
      kind: 'filesystem',
      props: [
        ['compression', 'gzip'],
        ['atime', 'off'],
        ['mountpoint', '/srv/my data'],
      ],
    }),
    "zfs create -p -o compression=gzip -o atime=off -o 'mountpoint=/srv/my data' tank/data",
  )
  assert.equal(
    zfsCreateScript({
      name: 'tank/lh',
      kind: 'volume',
      props: [
        ['volsize', '100G'],
        ['volblocksize', '16K'],
      ],
    }),
    'zfs create -p -V 100G -b 16K tank/lh',
  )
  assert.equal(zfsCreateScript({ name: 'tank/a@s', kind: 'snapshot', props: [] }), 'zfs snapshot tank/a@s')
  assert.equal(zfsCreateScript({ name: 'tank/b', kind: 'clone', origin: 'tank/a@s', props: [] }), 'zfs clone -p tank/a@s tank/b')
})

test('zfs errors drop the usage text', () => {
  const out = "bad property list: invalid property 'xyz'\nusage:\n\tget [-rHp] ...\n\nThe following properties are supported:\n"
  assert.equal(zfsError(out), "bad property list: invalid property 'xyz'")
  assert.equal(
    zfsError('connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\n'),
    'connect: No such file or directory; Please make sure that the zfs-fuse daemon is running.',
  )
})

// zfs-fuse: zpool import -d /var/lib/zfs/vd
const IMPORT = `  pool: tank
    id: 15021366918452386974
 state: ONLINE
action: The pool can be imported using its name or numeric identifier.
config:

	tank                      ONLINE
	  /var/lib/zfs/vd/d0.img  ONLINE
`
// OpenZFS 2.1, two pools, one of them damaged.
const IMPORT2 = `   pool: data
     id: 1234
  state: ONLINE
 action: The pool can be imported using its name or numeric identifier.
 config:

	data        ONLINE
	  sdb       ONLINE

   pool: old
     id: 99
  state: UNAVAIL
 status: One or more devices are missing from the system.
 action: The pool cannot be imported. Attach the missing
	devices and try again.
 config:

	old         UNAVAIL  insufficient replicas
	  sdc       UNAVAIL
`

test('zpool import listing', () => {
  assert.deepEqual(parseZpoolImport(IMPORT), [{ name: 'tank', id: '15021366918452386974', state: 'ONLINE' }])
  assert.deepEqual(parseZpoolImport(IMPORT2), [
    { name: 'data', id: '1234', state: 'ONLINE' },
    { name: 'old', id: '99', state: 'UNAVAIL', status: 'One or more devices are missing from the system.' },
  ])
  assert.deepEqual(parseZpoolImport(''), [])
  assert.deepEqual(parseZpoolImport('no pools available to import\n'), [])
})

test('zpool list and get (table form, which zfs-fuse and OpenZFS both print)', () => {
  assert.deepEqual(parseZpoolList('tank\nbackup\n'), ['tank', 'backup'])
  assert.deepEqual(parseZpoolList(''), [])
  const get = `NAME  PROPERTY    VALUE     SOURCE
tank  ashift      12        local
tank  autoexpand  off       default
tank  comment     two words local
`
  const m = parseZpoolGet(get, 'tank')
  assert.deepEqual(m.get('ashift'), { value: '12', source: 'local' })
  assert.deepEqual(m.get('autoexpand'), { value: 'off', source: 'default' })
  assert.deepEqual(m.get('comment'), { value: 'two words', source: 'local' })
  assert.equal(m.has('PROPERTY'), false)
  // -H output parses the same way
  assert.deepEqual(parseZpoolGet('tank\tashift\t12\tlocal\n', 'tank').get('ashift'), { value: '12', source: 'local' })
})

test('vdevs: plain lists, keywords, community.general mappings; where import looks', () => {
  assert.deepEqual(vdevWords(['/dev/sdb', '/dev/sdc']), ['/dev/sdb', '/dev/sdc'])
  assert.deepEqual(vdevWords(['mirror', '/dev/sdb', '/dev/sdc']), ['mirror', '/dev/sdb', '/dev/sdc'])
  assert.deepEqual(
    vdevWords([
      { type: 'mirror', disks: ['/dev/sdb', '/dev/sdc'] },
      { role: 'cache', disks: ['/dev/nvme0n1'] },
      { disks: ['/dev/sdd'], type: 'stripe' },
    ]),
    ['mirror', '/dev/sdb', '/dev/sdc', 'cache', '/dev/nvme0n1', '/dev/sdd'],
  )
  assert.deepEqual(vdevWords('/a/b.img /a/c.img'), ['/a/b.img', '/a/c.img'])
  assert.throws(() => vdevWords([{ disks: [] }]), ArgError)
  assert.deepEqual(importDirs(['/dev/sdb', 'sdc']), [])
  assert.deepEqual(importDirs(['/var/lib/zfs/d0.img', '/var/lib/zfs/d1.img', '/srv/d2.img']), ['/var/lib/zfs', '/srv'])
  assert.deepEqual(importDirs(['mirror', '/var/lib/zfs/d0.img', '/dev/sdb']), ['/var/lib/zfs', '/dev'])
})

test('zpool create and import scripts', () => {
  const w = {
    name: 'tank',
    vdevs: ['/var/lib/zfs/d 0.img'],
    ashift: 12,
    poolProps: [['autoexpand', 'on']] as [string, string][],
    fsProps: [
      ['compression', 'gzip'],
      ['mountpoint', 'none'],
    ] as [string, string][],
    dirs: ['/var/lib/zfs'],
  }
  assert.equal(zpoolCreateScript(w), "zpool create -o ashift=12 -o autoexpand=on -O compression=gzip -O mountpoint=none tank '/var/lib/zfs/d 0.img'")
  assert.equal(
    zpoolImportScript(w),
    ['set -e', 'zpool import -d /var/lib/zfs tank', 'zpool set autoexpand=on tank', 'zfs set compression=gzip tank', 'zfs set mountpoint=none tank', ''].join(
      '\n',
    ),
  )
  assert.equal(zpoolImportScript({ ...w, dirs: [], poolProps: [], fsProps: [] }), 'set -e\nzpool import tank\n')
})

test('filesystem: blkid types and mkfs command lines', () => {
  assert.equal(classifyFs('', 'ext4'), 'none')
  assert.equal(classifyFs('ext4\n', 'ext4'), 'same')
  assert.equal(classifyFs('ext4', 'ext4dev'), 'same')
  assert.equal(classifyFs('LVM2_member', 'lvm'), 'same')
  assert.equal(classifyFs('ext3', 'ext4'), 'other')
  assert.equal(classifyFs('zfs_member', 'ext4'), 'other')
  assert.equal(mkfsScript('ext4', '/dev/zvol/tank/longhorn'), 'mkfs.ext4 -F /dev/zvol/tank/longhorn')
  assert.equal(mkfsScript('xfs', '/srv/a b.img', '-L data  -m crc=1'), "mkfs.xfs -f -L data -m crc=1 '/srv/a b.img'")
  assert.equal(mkfsScript('vfat', '/dev/sdb1'), 'mkfs.vfat /dev/sdb1')
  assert.equal(mkfsScript('lvm', '/dev/sdb'), 'pvcreate -f /dev/sdb')
})

function compile(schema: object) {
  const warnings: unknown[] = []
  const ajv = new Ajv({
    strict: true,
    allErrors: true,
    logger: { log: () => {}, warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => warnings.push(a) },
  })
  return { v: ajv.compile(schema), warnings }
}

test('schemas compile strictly, document every argument, and accept what the zfs role writes', () => {
  for (const m of storageModules) {
    const { warnings } = compile(m.schema)
    assert.deepEqual(warnings, [], m.name)
    assert.equal((m.schema as any).additionalProperties, false)
    for (const [k, p] of Object.entries((m.schema as any).properties)) assert.ok((p as any).description, `${m.name}.${k} has a description`)
  }
  assert.equal(getModule('community.general.zpool'), getModule('zpool'))
  assert.equal(getModule('community.general.zfs')?.name, 'zfs')
  assert.equal(getModule('community.general.filesystem')?.name, 'filesystem')
  const byName = new Map(storageModules.map((m) => [m.name, compile(m.schema).v]))
  const ok: Array<[string, object]> = [
    ['zpool', { name: 'tank', vdevs: ['/var/lib/zfs/d0.img'], ashift: '{{ item.ashift }}', properties: {}, filesystem_properties: { compression: 'lz4' } }],
    ['zpool', { name: 'tank', vdevs: [{ type: 'mirror', disks: ['/dev/sda', '/dev/sdb'] }], pool_properties: { autoexpand: true }, ashift: 12 }],
    ['zfs', { name: 'tank/data', state: 'present', extra_zfs_properties: { mountpoint: '/data', atime: false } }],
    ['zfs', { name: 'tank/longhorn', state: 'present', extra_zfs_properties: { volsize: '100G' } }],
    ['filesystem', { dev: '/dev/zvol/tank/longhorn', fstype: 'ext4' }],
    ['filesystem', { device: '/srv/img', type: 'xfs', force: 'yes', opts: '-L x' }],
  ]
  for (const [n, a] of ok) assert.ok(byName.get(n)!(a), `${n} ${JSON.stringify(a)}: ${JSON.stringify(byName.get(n)!.errors)}`)
  const bad: Array<[string, object]> = [
    ['zpool', { vdevs: ['/dev/sdb'] }],
    ['zpool', { name: 'tank', vdev: ['/dev/sdb'] }],
    ['zpool', { name: 'tank', vdevs: [{ disk: ['/dev/sdb'] }] }],
    ['zfs', { name: 'tank/a' }],
    ['zfs', { name: 'tank/a', state: 'gone' }],
    ['zfs', { name: 'tank/a', state: 'present', properties: {} }],
    ['filesystem', { fstype: 'ext4' }],
    ['filesystem', { dev: '/dev/sdb', fstype: 'ntfs' }],
    ['filesystem', { dev: '/dev/sdb', fstype: 'ext4', resizefs: true }],
  ]
  for (const [n, a] of bad) assert.equal(byName.get(n)!(a), false, `${n} ${JSON.stringify(a)} must be rejected`)
})
