// Pure decision helpers of mount, modprobe, user, group, hostname, unarchive and uri, tested on the
// text the host tools print (fstab, /proc/mounts, getent, tar -tv, curl -D -).
import { test } from 'node:test'
import { createHash } from 'node:crypto'
import assert from 'node:assert/strict'
import { fstabEdit, fstabOpts, mountedAt, parseFstabLine, formatFstabLine } from '../../../src/modules/mount.js'
import { commentOut, loadsModule, moduleLoaded, optionsFor, parseConfDump } from '../../../src/modules/modprobe.js'
import { parseGroups, groupCommand } from '../../../src/modules/group.js'
import { memberOf, parsePasswd, parseShadow, useraddArgs, usermodArgs, PASSWORD_ARG, type UserWant } from '../../../src/modules/user.js'
import { hostnameFacts, staticHostname, validHostname } from '../../../src/modules/hostname.js'
import { archiveFormat, parseHostCheck, parseManifest, permOctal, unarchiveDiff } from '../../../src/modules/unarchive.js'
import { bodyTooLarge, curlScript, formUrlencode, parseCurlOutput, uriRequest, uriResult } from '../../../src/modules/uri.js'
import { awaited, waitSpec } from '../../../src/modules/wait_for.js'

test('fstab: replace the line for a mount point, keep identical lines byte for byte, append, remove, escape blanks', () => {
  const e = { src: '/dev/sdb1', path: '/var/lib/longhorn', fstype: 'ext4', opts: 'defaults', dump: '0', passno: '2' }
  const fstab = '# <file system> <mount point>\nUUID=abc /  ext4 errors=remount-ro 0 1\n/dev/sdb1   /var/lib/longhorn  ext4  defaults  0  2\n'
  assert.equal(fstabEdit(fstab, '/var/lib/longhorn', e), fstab, 'same fields: untouched, spacing kept')
  assert.equal(
    fstabEdit(fstab, '/var/lib/longhorn/', { ...e, opts: 'noatime' }),
    '# <file system> <mount point>\nUUID=abc /  ext4 errors=remount-ro 0 1\n/dev/sdb1 /var/lib/longhorn ext4 noatime 0 2\n',
  )
  assert.equal(fstabEdit('', '/mnt/x', { ...e, path: '/mnt/x' }), '/dev/sdb1 /mnt/x ext4 defaults 0 2\n')
  assert.equal(
    fstabEdit(fstab + '/dev/sdc /var/lib/longhorn xfs defaults 0 0\n', '/var/lib/longhorn', undefined),
    '# <file system> <mount point>\nUUID=abc /  ext4 errors=remount-ro 0 1\n',
  )
  const sp = { ...e, path: '/mnt/my disk' }
  assert.equal(formatFstabLine(sp), '/dev/sdb1 /mnt/my\\040disk ext4 defaults 0 2')
  assert.deepEqual(parseFstabLine(formatFstabLine(sp)), sp)
  assert.equal(parseFstabLine('  # comment'), undefined)
  assert.deepEqual(parseFstabLine('/dev/x /y'), { src: '/dev/x', path: '/y', fstype: 'auto', opts: 'defaults', dump: '0', passno: '0' })
  assert.equal(fstabOpts(undefined, true), 'defaults')
  assert.equal(fstabOpts(undefined, false), 'noauto')
  assert.equal(fstabOpts('defaults,noatime', true), 'noatime')
  assert.equal(fstabOpts('noauto,ro', true), 'ro')
})

test('/proc/mounts: the topmost mount at a path counts, octal escapes read', () => {
  const pm = 'overlay / overlay rw 0 0\ntmpfs /mnt/a tmpfs rw,size=1024k 0 0\n/dev/sdb /mnt/a ext4 rw 0 0\ntmpfs /mnt/my\\040disk tmpfs rw 0 0\n'
  assert.equal(mountedAt(pm, '/mnt/a')?.src, '/dev/sdb')
  assert.equal(mountedAt(pm, '/mnt/my disk')?.fstype, 'tmpfs')
  assert.equal(mountedAt(pm, '/mnt'), undefined)
})

test('modprobe: loaded from /proc/modules, modules.builtin or /sys/module; config files edited', () => {
  const proc = 'br_netfilter 32768 0 - Live 0x0\nbridge 311296 1 br_netfilter, Live 0x0\n'
  assert.equal(moduleLoaded(proc, '', false, 'br-netfilter'), true)
  assert.equal(moduleLoaded('', 'kernel/fs/overlayfs/overlay.ko\n', false, 'overlay'), true)
  assert.equal(moduleLoaded('', '', true, 'overlay'), true)
  assert.equal(moduleLoaded(proc, 'kernel/fs/overlayfs/overlay.ko\n', false, 'ip_vs'), false)
  assert.equal(loadsModule('# k3s\noverlay\nbr_netfilter # for flannel\n', 'br_netfilter'), true)
  assert.equal(loadsModule('#br_netfilter\n', 'br_netfilter'), false)
  assert.equal(optionsFor('options bonding mode=1\noptions bonding max_bonds=2 mode=4\n', 'bonding'), 'max_bonds=2 mode=4')
  assert.equal(commentOut('overlay\nbr_netfilter\n', 'br_netfilter', 'load'), 'overlay\n#br_netfilter\n')
  assert.equal(commentOut('options bonding mode=1\nalias bond0 bonding\n', 'bonding', 'options'), '#options bonding mode=1\nalias bond0 bonding\n')
  const dump = `@@F /etc/modules-load.d/k3s.conf\n${Buffer.from('overlay\n').toString('base64')}\n@@F /etc/modprobe.d/x.conf\n\n`
  assert.deepEqual(parseConfDump(dump), [
    { path: '/etc/modules-load.d/k3s.conf', text: 'overlay\n' },
    { path: '/etc/modprobe.d/x.conf', text: '' },
  ])
})

test('group: getent parsed; groupadd/groupmod only for what differs', () => {
  const g = parseGroups('docker:x:998:alice,bob\nk3s:x:1001:\n')
  assert.deepEqual(g.get('docker'), { name: 'docker', gid: 998, members: ['alice', 'bob'] })
  assert.deepEqual(groupCommand('k3s', { gid: 1001 }, g.get('k3s')), undefined)
  assert.deepEqual(groupCommand('k3s', { gid: 1002, nonUnique: true }, g.get('k3s')), ['groupmod', '-g', '1002', '-o', 'k3s'])
  assert.deepEqual(groupCommand('new', { system: true }, undefined), ['groupadd', '-r', 'new'])
})

test('user: useradd arguments as Ansible builds them, usermod only for differences', () => {
  const base: UserWant = { name: 'k3s', nonUnique: false, append: false, updatePassword: 'always', createHome: true, moveHome: false, system: false }
  assert.deepEqual(useraddArgs({ ...base, uid: 1500, groups: ['docker', 'adm'], shell: '/bin/bash', comment: 'K3s admin' }, false), [
    'useradd',
    '-u',
    '1500',
    '-G',
    'docker,adm',
    '-c',
    'K3s admin',
    '-s',
    '/bin/bash',
    '-m',
    'k3s',
  ])
  assert.deepEqual(useraddArgs({ ...base, createHome: false, system: true, password: '$6$x' }, true), ['useradd', '-N', '-p', PASSWORD_ARG, '-M', '-r', 'k3s'])
  const cur = parsePasswd('k3s:x:1500:1500:K3s admin:/home/k3s:/bin/bash')!
  const groups = parseGroups('k3s:x:1500:\ndocker:x:998:k3s\nadm:x:4:syslog,k3s\nsudo:x:27:\n')
  const member = memberOf(groups, 'k3s')
  assert.deepEqual(member, ['docker', 'adm'])
  const shadow = parseShadow('k3s:$6$abc:19000:0:99999:7:::')!
  assert.deepEqual(usermodArgs({ ...base, uid: 1500, groups: ['adm', 'docker'], shell: '/bin/bash', password: '$6$abc' }, cur, shadow, member).args, [])
  assert.deepEqual(usermodArgs({ ...base, groups: ['sudo'], append: true }, cur, shadow, member).args, ['-a', '-G', 'sudo'])
  assert.deepEqual(usermodArgs({ ...base, groups: ['docker'], append: true }, cur, shadow, member).args, [])
  assert.deepEqual(usermodArgs({ ...base, groups: [] }, cur, shadow, member).args, ['-G', ''])
  assert.deepEqual(usermodArgs({ ...base, shell: '/bin/sh', home: '/srv/k3s', moveHome: true }, cur, shadow, member).args, [
    '-d',
    '/srv/k3s',
    '-m',
    '-s',
    '/bin/sh',
  ])
  assert.deepEqual(usermodArgs({ ...base, password: '$6$new' }, cur, shadow, member).args, ['-p', PASSWORD_ARG])
  assert.deepEqual(usermodArgs({ ...base, password: '$6$new', updatePassword: 'on_create' }, cur, shadow, member).args, [])
  assert.deepEqual(usermodArgs({ ...base, passwordLock: true }, cur, shadow, member).args, ['-L'])
  assert.deepEqual(usermodArgs({ ...base, passwordLock: false }, cur, parseShadow('k3s:!$6$abc:1::::::'), member).args, ['-U'])
  assert.deepEqual(usermodArgs({ ...base, expires: 1735689600 }, cur, shadow, member).args, ['-e', '2025-01-01'])
  assert.deepEqual(usermodArgs({ ...base, expires: -1 }, cur, shadow, member).args, [])
})

test('hostname: validity, /etc/hostname read, facts', () => {
  assert.equal(validHostname('node-1.lab.example'), true)
  assert.equal(validHostname('-bad'), false)
  assert.equal(validHostname('under_score'), false)
  assert.equal(staticHostname('# set by cloud-init\nnode1\n'), 'node1')
  assert.deepEqual(hostnameFacts('n1.k3s.lan'), {
    ansible_hostname: 'n1',
    ansible_nodename: 'n1.k3s.lan',
    ansible_fqdn: 'n1.k3s.lan',
    ansible_domain: 'k3s.lan',
  })
})

test('unarchive: tar -tv (C-quoted) and sums parsed into members, compared with what dest holds', () => {
  const out = [
    '@@list',
    'drwxr-xr-x root/root         0 2026-11-29 17:54 ""/',
    'drwxr-xr-x root/root         0 2026-11-29 17:54 "a"/',
    '-rw-r--r-- root/root         4 2026-11-29 17:54 "a/sp ace\\"q.txt"',
    '-rwxr-xr-x root/root         3 2026-11-29 17:54 "a/bin"',
    'lrwxrwxrwx root/root         0 2026-11-29 17:54 "a/link" -> "bin"',
    'hrwxr-xr-x root/root         0 2026-11-29 17:54 "a/hard" link to "a/bin"',
    '@@sums',
    'a/sp ace"q.txt',
    `${'1'.repeat(64)}  -`,
    'a/bin',
    `${'2'.repeat(64)}  -`,
    '@@end',
  ].join('\n')
  const m = parseManifest(out, 'tar')
  assert.deepEqual(
    m.map((x) => [x.path, x.type]),
    [
      ['a', 'directory'],
      ['a/sp ace"q.txt', 'file'],
      ['a/bin', 'file'],
      ['a/link', 'link'],
      ['a/hard', 'hardlink'],
    ],
  )
  assert.equal(m[1].sha256, '1'.repeat(64))
  assert.equal(m[2].mode, '0755')
  assert.equal(m[3].target, 'bin')
  const host = parseHostCheck(
    [
      'D\ta\t755|root|root\t',
      `F\ta/sp ace"q.txt\t644|root|root\t${'1'.repeat(64)}`,
      `F\ta/bin\t755|root|root\t${'2'.repeat(64)}`,
      'L\ta/link\t777|root|root\tbin',
      `F\ta/hard\t755|root|root\t${'2'.repeat(64)}`,
    ].join('\n'),
  )
  assert.deepEqual(unarchiveDiff(m, host), [])
  host.set('a/bin', { ...host.get('a/bin')!, sha256: '3'.repeat(64) })
  host.set('a/link', { type: 'M' })
  assert.deepEqual(unarchiveDiff(m, host), ['a/bin: content differs', 'a/link: missing'])
  assert.deepEqual(unarchiveDiff(m.slice(0, 1), host, { owner: 'k3s' }), ['a: owner root'])
  assert.equal(permOctal('-rwsr-xr-t'), '5755')
  assert.equal(archiveFormat('x.bin', Buffer.from('PK\x03\x04')), 'zip')
  assert.equal(archiveFormat('x.zip', Buffer.from([0x1f, 0x8b, 8, 0])), 'tar')
  const zipinfo = [
    'Archive:  k3s.zip',
    'Zip file size: 880 bytes, number of entries: 3',
    'drwxr-xr-x  3.0 unx        0 bx stor 26-Nov-29 17:54 dir/',
    '-rw-r--r--  3.0 unx        4 tx stor 26-Nov-29 17:54 dir/f with space',
    'lrwxrwxrwx  3.0 unx        5 bx stor 26-Nov-29 17:54 dir/link',
    '3 files, 9 bytes uncompressed, 9 bytes compressed:  0.0%',
  ].join('\n')
  const zip = parseManifest(
    `@@list\n${zipinfo}\n@@sums\ndir/f with space\n${'4'.repeat(64)}  -\ndir/link\n${createHash('sha256').update('f').digest('hex')}  -\n@@end`,
    'zip',
  )
  assert.deepEqual(
    zip.map((z) => [z.path, z.type]),
    [
      ['dir', 'directory'],
      ['dir/f with space', 'file'],
      ['dir/link', 'link'],
    ],
  )
  assert.equal(zip[1].sha256, '4'.repeat(64))
  assert.deepEqual(unarchiveDiff(zip.slice(2), parseHostCheck('L\tdir/link\t777|root|root\tf')), [])
  assert.deepEqual(unarchiveDiff(zip.slice(2), parseHostCheck('L\tdir/link\t777|root|root\tg')), ['dir/link: link differs'])
})

test('uri: request built as Ansible encodes bodies; curl output split into status, headers, body', () => {
  const q = uriRequest({
    url: 'http://x/api',
    method: 'post',
    body: { a: 1, b: 'two words' },
    body_format: 'form-urlencoded',
    url_username: 'u',
    url_password: 'p',
  })
  assert.equal(q.method, 'POST')
  assert.equal(q.body, 'a=1&b=two+words')
  assert.equal(q.headers['Content-Type'], 'application/x-www-form-urlencoded')
  assert.equal(q.followRedirects, false, 'safe: POST is not redirected')
  const s = curlScript(q)
  assert.match(s, /--anyauth/)
  assert.doesNotMatch(s, /'p'|\bp@/, 'password not in the script')
  assert.equal(
    uriRequest({ url: 'http://x', body: { a: [1] }, body_format: 'json', headers: { 'content-type': 'application/merge-patch+json' } }).headers['content-type'],
    'application/merge-patch+json',
  )
  assert.equal(formUrlencode([['k', 'v&w']]), 'k=v%26w')
  assert.throws(() => uriRequest({ url: 'http://x', method: 'GET POST' }), /single word/)

  const body = '{"ok":true}'
  const raw = Buffer.from(
    `HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}\n@@k3sbook-uri@@ 200 ${body.length} http://x/b\n@@rc 0\n`,
  )
  const r = parseCurlOutput(raw)
  assert.equal(r.status, 200)
  assert.equal(r.url, 'http://x/b')
  assert.equal(r.body.toString(), body)
  assert.equal(r.headers.content_type, 'application/json')
  const res = uriResult(r, uriRequest({ url: 'http://x/a' }), [200], false)
  assert.deepEqual(res.json, { ok: true })
  assert.equal(res.redirected, true)
  assert.equal(res.changed, false)
  assert.equal(res.content, undefined)
  assert.equal(res.msg, `OK (${body.length} bytes)`)
  const nf = parseCurlOutput(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno\n@@k3sbook-uri@@ 404 2 http://x/a\n@@rc 0\n'))
  const bad = uriResult(nf, uriRequest({ url: 'http://x/a' }), [200, 201], true)
  assert.equal(bad.failed, true)
  assert.equal(bad.msg, 'Status code was 404 and not [200, 201]: HTTP Error 404: Not Found')
  assert.equal(bad.content, 'no')
  const refused = parseCurlOutput(Buffer.from('\n@@k3sbook-uri@@ 000 0 http://x/a\n@@rc 7\n'))
  assert.equal(refused.status, -1)
  assert.match(
    String(uriResult(refused, uriRequest({ url: 'http://x/a' }), [200], false, 'curl: (7) Failed to connect').msg),
    /^Status code was -1 and not \[200\]: Request failed: curl: \(7\)/,
  )
  // a body announced as larger than the limit is not downloaded: curl stops at the headers (63)
  assert.match(curlScript(uriRequest({ url: 'http://x/a' }), 1000), / --max-filesize 1000 /)
  assert.doesNotMatch(curlScript(uriRequest({ url: 'http://x/a', method: 'HEAD' }), 1000), /max-filesize/)
  const stopped = parseCurlOutput(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 5000000\r\n\r\n\n@@k3sbook-uri@@ 200 0 http://x/a\n@@rc 63\n'))
  assert.equal(
    bodyTooLarge(stopped, 'http://x/a', 1024 * 1024),
    'uri: the response body of http://x/a is 5000000 bytes (4.8 MiB), more than the 1 MiB k3sbook reads from a host into memory; raise the limit with K3SBOOK_MAX_HOST_READ (bytes, or e.g. 512M)',
  )
  // curl ≥ 8.4 also stops a body of unknown length once it passes the limit: no size to name
  const unknown = parseCurlOutput(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\n@@k3sbook-uri@@ 200 1048576 http://x/a\n@@rc 63\n'))
  assert.match(String(bodyTooLarge(unknown, 'http://x/a', 1024 * 1024)), /^uri: the response body of http:\/\/x\/a is more than the 1 MiB k3sbook reads/)
  assert.equal(bodyTooLarge(nf, 'http://x/a', 1024 * 1024), undefined)
})

test('wait_for: the check-mode reason says what is awaited', () => {
  assert.equal(awaited(waitSpec({ port: 6443 })), '127.0.0.1:6443 is not open yet')
  assert.equal(awaited(waitSpec({ path: '/x', search_regex: 'ready' })), '/x does not contain ready yet')
})
