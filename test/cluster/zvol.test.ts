// Longhorn's data on an ext4 zvol needs kernel ZFS; zfs-fuse (what the lab runs) has no zvols.
// With the zvol asked for, the zfs role either sets kernel ZFS up (Debian contrib, zfs-dkms, the
// kernel's headers, modprobe) or stops before touching the node, saying exactly what is missing.
// The lab's shared kernel has no ZFS module and the lab reaches no Debian mirror, so both
// refusals are what a lab host can show: zfs-fuse asked to make a zvol, and kernel ZFS missing
// with installing it turned off.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { run, sh } from '../executor/helpers.js'

const ROLES = join(import.meta.dirname, '../../roles')

test("the zfs role refuses Longhorn's zvol without kernel ZFS, naming what is missing", async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'zvol' })
  const host = lab.hosts[0].name
  const play = join(lab.dir, 'zvol.yml')
  writeFileSync(
    play,
    `- hosts: all\n  become: true\n  roles:\n    - role: ${join(ROLES, 'zfs')}\n      vars:\n        zfs_longhorn_zvol: { enabled: true, name: tank/longhorn, size: 64M, mountpoint: /var/lib/longhorn }\n`,
  )
  const failure = (r: Awaited<ReturnType<typeof run>>) => {
    const f = r.results.filter((e) => e.status === 'failed')
    assert.equal(f.length, 1, JSON.stringify(r.results.map((e) => [e.task, e.status])))
    assert.equal(r.summary.exitCode === 0, false)
    return f[0]
  }

  // zfs-fuse: refused before anything is installed
  const fuse = await run(play, [lab.inventoryPath], { extraVars: ['zfs_package=zfs-fuse'] })
  const f1 = failure(fuse)
  assert.equal(f1.task, "Longhorn's zvol needs kernel ZFS, which zfs-fuse is not")
  assert.match(f1.msg ?? '', /zfs_package is zfs-fuse, which has no zvols/)
  assert.match(f1.msg ?? '', /zfs_package: zfsutils-linux/)
  assert.match(f1.msg ?? '', /contrib component and installs zfs-dkms with linux-headers-<kernel>/)
  assert.equal(fuse.results.filter((e) => e.status === 'changed').length, 0, 'nothing changed on the node')

  // kernel ZFS asked for, /dev/zfs missing, installing it turned off: the packages to install, by name
  const kernel = (await sh(lab, 1, 'uname -r')).trim()
  const off = await run(play, [lab.inventoryPath], { extraVars: ['zfs_package=zfsutils-linux', '{"zfs_install_kernel_module": false}'] })
  const f2 = failure(off)
  assert.equal(f2.task, 'Kernel ZFS missing and not to be installed')
  assert.match(f2.msg ?? '', new RegExp(`${host} has no kernel ZFS \\(/dev/zfs is missing\\)`))
  assert.ok((f2.msg ?? '').includes(`apt-get install zfs-dkms zfsutils-linux linux-headers-${kernel} and modprobe zfs`), f2.msg)
  assert.match(f2.msg ?? '', /enable the contrib component/)
  assert.equal(off.results.filter((e) => e.status === 'changed').length, 0, 'nothing changed on the node')
  assert.equal((await sh(lab, 1, 'test -e /etc/apt/sources.list.d/k3sbook-contrib.list && echo yes || echo no')).trim(), 'no')
})
