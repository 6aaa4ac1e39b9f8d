// Pure decision helpers of the provisioning modules, tested on the text the host tools print.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cacheIsFresh, missingPackages, parseAptPolicy, parseDpkgQuery, upgradablePackages, installedPackages } from '../../../src/modules/apt.js'
import { parseSystemctlShow, serviceActions, sysvEnabled, sysvRunning } from '../../../src/modules/service.js'
import { parseChecksum, pickChecksumLine, urlFileName } from '../../../src/modules/get_url.js'
import { sysctlEdit, sysctlFileValue } from '../../../src/modules/sysctl.js'
import { helmChart, parseManifests, validateObjects } from '../../../src/modules/kube_manifest.js'
import { fetchDestPath } from '../../../src/modules/fetch.js'
import { waitSpec, timeoutMessage } from '../../../src/modules/wait_for.js'
import { finishedResult, killAfter, parseJob, pyDelta, statusScript, timedOut } from '../../../src/modules/lib/async-job.js'
import { modeArg, toBool, toList } from '../../../src/modules/lib/index.js'
import { parse } from 'yaml'

const DPKG = 'curl\tii \t7.88.1-10+deb12u5\nlibc6:amd64\tii \t2.36-9\njq\tun \t\nvim\trc \t2:9.0\n'

test('dpkg-query: installed only for ii, multiarch suffix dropped, pins compared as globs', () => {
  const m = parseDpkgQuery(DPKG)
  assert.deepEqual(m.get('curl'), { installed: true, version: '7.88.1-10+deb12u5' })
  assert.equal(m.get('libc6')?.installed, true)
  assert.equal(m.get('jq')?.installed, false)
  assert.equal(m.get('vim')?.installed, false) // removed, config files remain
  assert.deepEqual(missingPackages(DPKG, ['curl', 'jq', 'vim', 'nope', 'libc6']), ['jq', 'vim', 'nope'])
  assert.deepEqual(missingPackages(DPKG, ['curl=7.88*', 'curl=8.*']), ['curl=8.*'])
  assert.deepEqual(installedPackages(DPKG, ['curl', 'jq']), ['curl'])
})

test('dpkg-query listing of every package: matched by name or name:arch, foreign arches kept apart', () => {
  const all = 'bash\tamd64\tii \t5.2.15-2\nlibc6\tamd64\tii \t2.36-9\nlibc6\ti386\tun \t\nzlib1g\ti386\tii \t1:1.2.13\njq\tamd64\trc \t1.6\n'
  assert.deepEqual(missingPackages(all, ['bash', 'libc6', 'libc6:amd64', 'libc6:i386', 'zlib1g', 'zlib1g:amd64', 'jq', 'nope']), [
    'libc6:i386',
    'zlib1g:amd64',
    'jq',
    'nope',
  ])
  assert.deepEqual(installedPackages(all, ['libc6', 'libc6:i386', 'zlib1g:i386']), ['libc6', 'zlib1g:i386'])
  assert.deepEqual(missingPackages(all, ['bash=5.2*', 'bash=5.3*']), ['bash=5.3*'])
})

test('apt-cache policy: installed vs candidate decides latest', () => {
  const out = `curl:\n  Installed: 7.88.1-10\n  Candidate: 7.88.1-10+deb12u5\n  Version table:\n     7.88.1-10+deb12u5 500\njq:\n  Installed: (none)\n  Candidate: 1.6-2.1\nzstd:\n  Installed: 1.5.4\n  Candidate: 1.5.4\n`
  const p = parseAptPolicy(out)
  assert.deepEqual(p.get('jq'), { installed: undefined, candidate: '1.6-2.1' })
  assert.deepEqual(upgradablePackages(out, ['curl', 'jq', 'zstd']), ['curl'])
})

test('apt cache_valid_time', () => {
  assert.equal(cacheIsFresh(1000, 1500, 3600), true)
  assert.equal(cacheIsFresh(1000, 5000, 3600), false)
  assert.equal(cacheIsFresh(1000, 1001, 0), false)
  assert.equal(cacheIsFresh(undefined, 1001, 3600), false)
})

test('systemctl show parsing and the actions it leads to', () => {
  const u = parseSystemctlShow('Id=ssh.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n')
  assert.equal(u.loaded, true)
  assert.equal(u.masked, false)
  const cur = { running: u.active === 'active', enabled: u.unitFileState === 'enabled', masked: u.masked }
  assert.deepEqual(serviceActions(cur, { state: 'started', enabled: true }), ['enable', 'start'])
  assert.deepEqual(serviceActions({ running: true, enabled: true, masked: false }, { state: 'started', enabled: true }), [])
  assert.deepEqual(serviceActions({ running: true, enabled: true, masked: false }, { state: 'restarted' }), ['restart'])
  assert.deepEqual(serviceActions({ running: true, enabled: true, masked: false }, { state: 'reloaded' }), ['reload'])
  assert.deepEqual(serviceActions({ running: true, enabled: true, masked: false }, { state: 'stopped', masked: true }), ['mask', 'stop'])
  assert.equal(parseSystemctlShow('LoadState=masked\nUnitFileState=masked\n').masked, true)
})

test('SysV status and rc links', () => {
  assert.equal(sysvRunning(0), true)
  assert.equal(sysvRunning(3), false)
  assert.equal(sysvRunning(4), undefined)
  assert.equal(sysvRunning(4, 0), true)
  assert.equal(sysvRunning(0, 1), false, 'a pattern wins over a status action that only prints its usage')
  assert.equal(sysvEnabled('/etc/rc0.d/K01ssh\n/etc/rc2.d/S01ssh\n'), true)
  assert.equal(sysvEnabled('/etc/rc0.d/K01ssh\n/etc/rc2.d/K01ssh\n'), false)
  // boot-time scripts (Default-Start: S) are enabled through rcS.d
  assert.equal(sysvEnabled('/etc/rcS.d/S01iscsid\n'), true)
  assert.equal(sysvEnabled(''), undefined)
})

test('get_url checksums and sums files', () => {
  assert.deepEqual(parseChecksum('sha256:ABCDEF'), { algo: 'sha256', hex: 'abcdef' })
  assert.deepEqual(parseChecksum('sha256:https://x/sha256sum-amd64.txt'), { algo: 'sha256', sumsUrl: 'https://x/sha256sum-amd64.txt' })
  assert.throws(() => parseChecksum('crc32:00'), /unsupported checksum algorithm/)
  assert.equal(urlFileName('https://github.com/k3s-io/k3s/releases/download/v1.30.0%2Bk3s1/k3s?x=1'), 'k3s')
  const sums = 'aaa1  k3s\nbbb2  k3s-arm64\nccc3 *k3s-airgap-images-amd64.tar.zst\nSHA256 (other) = ddd4\n'
  assert.equal(pickChecksumLine(sums, 'k3s'), 'aaa1')
  assert.equal(pickChecksumLine(sums, 'k3s-arm64'), 'bbb2')
  assert.equal(pickChecksumLine(sums, 'k3s-airgap-images-amd64.tar.zst'), 'ccc3')
  assert.equal(pickChecksumLine(sums, 'other'), 'ddd4')
  assert.equal(pickChecksumLine(sums, 'missing'), undefined)
  assert.equal(pickChecksumLine('eee5\n', 'anything'), 'eee5')
})

test('sysctl file edits', () => {
  const text = '# comment\nnet.ipv4.ip_forward = 0\nvm.swappiness=10\nnet/ipv4/ip_forward=0\n'
  assert.equal(sysctlFileValue(text, 'net.ipv4.ip_forward'), '0')
  assert.equal(sysctlEdit(text, 'net.ipv4.ip_forward', '1'), '# comment\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n')
  assert.equal(sysctlEdit(text, 'net.ipv4.ip_forward', undefined), '# comment\nvm.swappiness=10\n')
  assert.equal(sysctlEdit('', 'a.b', '1'), 'a.b=1\n')
  assert.equal(sysctlEdit('x=1', 'a.b', '2'), 'x=1\na.b=2\n')
})

test('kube_manifest: HelmChart fields, validation, multi-document parsing', () => {
  const hc = helmChart({
    chart: 'longhorn',
    repo: 'https://charts.longhorn.io',
    version: '1.6.2',
    target_namespace: 'longhorn-system',
    values: { defaultSettings: { defaultDataPath: '/tank/longhorn' } },
    set: { 'persistence.defaultClassReplicaCount': 2 },
  })
  assert.equal(hc.apiVersion, 'helm.cattle.io/v1')
  assert.equal(hc.kind, 'HelmChart')
  assert.deepEqual(hc.metadata, { name: 'longhorn', namespace: 'kube-system' })
  const spec = hc.spec as any
  assert.equal(spec.chart, 'longhorn')
  assert.equal(spec.version, '1.6.2')
  assert.equal(spec.targetNamespace, 'longhorn-system')
  assert.deepEqual(parse(spec.valuesContent), { defaultSettings: { defaultDataPath: '/tank/longhorn' } })
  assert.deepEqual(spec.set, { 'persistence.defaultClassReplicaCount': '2' })
  const objs = parseManifests(
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
  )
  assert.equal(validateObjects(objs).length, 2)
  assert.throws(() => validateObjects(parseManifests('kind: Namespace\nmetadata: {name: a}\n')), /document 1 has no apiVersion/)
  assert.throws(() => validateObjects(parseManifests('apiVersion: v1\nkind: Namespace\nmetadata: {}\n')), /has no metadata.name/)
  assert.throws(() => parseManifests('a: [\n'), /YAML error/)
})

test('fetch destination layout follows Ansible', () => {
  assert.equal(fetchDestPath('/backup', 'node1', '/etc/rancher/k3s/k3s.yaml', false), '/backup/node1/etc/rancher/k3s/k3s.yaml')
  assert.equal(fetchDestPath('/backup/kubeconfig', 'node1', '/etc/rancher/k3s/k3s.yaml', true), '/backup/kubeconfig')
  assert.equal(fetchDestPath('/backup/', 'node1', '/etc/rancher/k3s/k3s.yaml', true), '/backup/k3s.yaml')
  assert.equal(fetchDestPath('out', 'h', '/a', false, '/play'), '/play/out/h/a')
  assert.equal(fetchDestPath('out', 'h', 'rel/a', false, '/play'), '/play/out/h/rel/a')
})

test("fetch: no '..' in a source path or a host name leads out of DEST/HOST", () => {
  // the host's path as the host resolves it: ".." stops at its root
  assert.equal(fetchDestPath('/backup', 'node1', '/etc/../../../../root/.ssh/authorized_keys', false), '/backup/node1/root/.ssh/authorized_keys')
  assert.equal(fetchDestPath('/backup', 'node1', '../../x', false), '/backup/node1/x')
  assert.equal(fetchDestPath('/backup/', 'node1', '/srv/../../etc/passwd', true), '/backup/passwd')
  assert.throws(() => fetchDestPath('/backup/', 'node1', '/srv/..', true), /src names no file/)
  for (const host of ['..', '../../root', 'a/b', '.'])
    assert.throws(() => fetchDestPath('/backup', host, '/etc/x', false), /Detected directory traversal, expected to be contained in '\/backup'/, host)
})

test('wait_for argument shapes and messages', () => {
  // Ansible's checks and messages (wait_for.py); the state is reported as given
  assert.throws(() => waitSpec({ path: '/x', state: 'stopped' }), /^ArgError: state=stopped should only be used for checking a port in the wait_for module$/)
  assert.throws(() => waitSpec({ path: '/x', state: 'drained' }), /state=drained should only be used for checking a port/)
  assert.throws(() => waitSpec({ port: 22, exclude_hosts: ['a'] }), /exclude_hosts should only be with state=drained/)
  assert.equal(waitSpec({ port: '22', state: 'present' }).state, 'present')
  assert.throws(() => waitSpec({ port: 22, path: '/x' }), /port and path parameter can not both be passed to wait_for/)
  assert.equal(timeoutMessage(waitSpec({ port: 22 })), 'Timeout when waiting for 127.0.0.1:22')
  assert.equal(timeoutMessage(waitSpec({ port: 22, state: 'absent' })), 'Timeout when waiting for 127.0.0.1:22 to stop.')
  assert.equal(timeoutMessage(waitSpec({ path: '/f', state: 'absent' })), 'Timeout when waiting for /f to be absent.')
  assert.equal(timeoutMessage(waitSpec({ path: '/f', search_regex: 'ok' })), 'Timeout when waiting for search string ok in /f')
})

test("async jobs: async_wrapper's kill time, Python's timedelta text, a job killed for its time", () => {
  // async_wrapper looks 5 s after the start, then every 5 s, and kills at the first look after the time is spent
  assert.deepEqual([1, 2, 5, 6, 20, 21].map(killAfter), [10, 10, 10, 15, 25, 30])
  assert.equal(pyDelta(1_030_805_000n), '0:00:01.030805')
  assert.equal(pyDelta(3_723_000_000_000n), '1:02:03')
  const job = (rc: number, t1: number) =>
    parseJob(
      [
        'file=/root/.ansible_async/j1.2',
        'state=done',
        `rc=${rc}`,
        'start=a',
        'end=b',
        't0=0',
        `t1=${t1 * 1e9}`,
        `meta=${Buffer.from(JSON.stringify({ module: 'shell', args: {}, base: {}, async: 2 })).toString('base64')}`,
      ].join('\n'),
    )
  assert.equal(timedOut(job(137, 10)), true)
  assert.equal(timedOut(job(137, 3)), false, 'a job that killed itself early')
  assert.deepEqual(
    finishedResult('j1.2', job(137, 10), () => ({})),
    { ansible_job_id: 'j1.2', finished: 1, failed: true, msg: 'Timeout exceeded', started: 1, stderr: '', stderr_lines: [], stdout: '', stdout_lines: [] },
  )
  assert.throws(() => statusScript('../../etc/passwd'), /invalid job id/)
})

test('argument coercion: Ansible booleans, lists, modes read as YAML 1.1 numbers', () => {
  assert.equal(toBool('yes', false), true)
  assert.equal(toBool('off', true), false)
  assert.throws(() => toBool('maybe'), /not a boolean/)
  assert.deepEqual(toList('a, b,c'), ['a', 'b', 'c'])
  assert.equal(modeArg(0o644), '0644')
  assert.equal(modeArg('755'), '0755')
  assert.equal(modeArg('u=rw,g=r'), 'u=rw,g=r')
})
