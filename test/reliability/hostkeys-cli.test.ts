// Host keys through `k3sbook run` against a lab host: an unknown key is refused with its
// fingerprint and the way to trust it; --accept-new-host-keys records it; a changed key is
// refused always, even with --accept-new-host-keys, and known_hosts is left as it was.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { cli, tree } from './helpers.js'

describe('host keys through the run command', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  let kh: string
  let fingerprint: string
  let hostKey: string
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'hostkey' })
    const h = lab.hosts[0]
    dir = tree({
      'site.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n      changed_when: false\n',
      kh: '',
    })
    kh = join(dir, 'kh')
    writeFileSync(
      join(dir, 'inv.yml'),
      `all:\n  hosts:\n    ${h.name}:\n      ansible_host: ${h.address}\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: ${lab.keyPath}\n    ansible_ssh_common_args: -o UserKnownHostsFile=${kh} -o GlobalKnownHostsFile=/dev/null\n`,
    )
    const pub = join(lab.dir, 'ssh_host_ed25519_key.pub')
    hostKey = readFileSync(pub, 'utf8').split(' ')[1]
    fingerprint = execFileSync('ssh-keygen', ['-lf', pub]).toString().split(' ')[1]
  })
  after(() => lab?.stop())

  const go = (...extra: string[]) => cli(['run', 'site.yml', '-i', 'inv.yml', '-o', 'plain', ...extra], { cwd: dir })

  test('unknown key: refused with the fingerprint and the hint; nothing recorded', async () => {
    const r = await go()
    assert.equal(r.code, 4, r.stdout + r.stderr)
    assert.match(r.stdout, /unreachable/)
    assert.ok(r.stdout.includes(fingerprint), `fingerprint ${fingerprint} not in:\n${r.stdout}`)
    assert.match(r.stdout, /--accept-new-host-keys/)
    assert.equal(readFileSync(kh, 'utf8'), '')
  })

  test('--accept-new-host-keys records the key; the next run needs no flag', async () => {
    const r = await go('--accept-new-host-keys')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const recorded = readFileSync(kh, 'utf8')
    assert.ok(recorded.includes(hostKey), recorded)
    assert.match(recorded, new RegExp(`^${lab.hosts[0].address.replaceAll('.', '\\.')} ssh-ed25519 `, 'm'))
    const again = await go()
    assert.equal(again.code, 0, again.stdout)
  })

  test('a changed key is refused even with --accept-new-host-keys, and known_hosts is untouched', async () => {
    const other = tree({})
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other, 'k')])
    const wrong = `${lab.hosts[0].address} ${readFileSync(join(other, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`
    writeFileSync(kh, wrong)
    for (const flags of [[], ['--accept-new-host-keys']]) {
      const r = await go(...flags)
      assert.equal(r.code, 4, r.stdout + r.stderr)
      assert.ok(r.stdout.includes(fingerprint), r.stdout)
      assert.match(r.stdout, /chang|does not match|mismatch/i)
      assert.equal(readFileSync(kh, 'utf8'), wrong)
    }
  })

  test('a host known by a key of another type is not new: refused with both fingerprints, even with --accept-new-host-keys', async () => {
    const other = tree({})
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(other, 'k')])
    const rsaFp = execFileSync('ssh-keygen', ['-lf', join(other, 'k.pub')])
      .toString()
      .split(' ')[1]
    const known = `${lab.hosts[0].address} ${readFileSync(join(other, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`
    writeFileSync(kh, known)
    for (const flags of [[], ['--accept-new-host-keys']]) {
      const r = await go(...flags)
      assert.equal(r.code, 4, r.stdout + r.stderr)
      assert.ok(r.stdout.includes(fingerprint), `the offered key's ${fingerprint} is not in:\n${r.stdout}`)
      assert.ok(r.stdout.includes(rsaFp), `the known key's ${rsaFp} is not in:\n${r.stdout}`)
      assert.match(r.stdout, /HOST KEY CHANGED/)
      assert.equal(readFileSync(kh, 'utf8'), known, 'known_hosts was changed')
    }
  })

  test('--accept-new-host-keys writes a hashed name into a hashed known_hosts', async () => {
    const other = tree({})
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other, 'k')])
    // one hashed entry for another host: the file hashes its names
    writeFileSync(join(other, 'plain'), `192.0.2.1 ${readFileSync(join(other, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`)
    execFileSync('ssh-keygen', ['-q', '-H', '-f', join(other, 'plain')])
    const hashedBefore = readFileSync(join(other, 'plain'), 'utf8')
    assert.match(hashedBefore, /^\|1\|/)
    writeFileSync(kh, hashedBefore)
    const r = await go('--accept-new-host-keys')
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const after = readFileSync(kh, 'utf8')
    assert.ok(after.startsWith(hashedBefore), after)
    const added = after.slice(hashedBefore.length)
    assert.match(added, /^\|1\|[^ ]+ ssh-ed25519 /, `appended unhashed: ${added}`)
    assert.equal(added.includes(lab.hosts[0].address), false, added)
    // OpenSSH finds the host by its hashed name, and the next run needs no flag
    const found = execFileSync('ssh-keygen', ['-F', lab.hosts[0].address, '-f', kh]).toString()
    assert.ok(found.includes(hostKey), found)
    assert.equal((await go()).code, 0)
  })
})
