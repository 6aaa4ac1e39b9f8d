// known_hosts's pure parts against what Ansible's module does (its functions transcribed in the
// comments' cases) and the controller's ssh-keygen: hashed names that ssh-keygen -F finds.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { hashHostKey, knownHostsEdit, normalizeKey, searchHostKey } from '../../../src/modules/known_hosts.js'

const K1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEyMSYt0Zhxm1Xi8BzBTKAEIpWjB6wJnj25jHl83d0mZ'
const K2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtR7jaQdLSjlNEtBQiIm8lzLSHVnwaYl3NeP7KrmMX9'

describe('known_hosts pure functions', () => {
  it('normalizeKey reads a marker, host, type and key, dropping a comment', () => {
    assert.deepEqual(normalizeKey(`@cert-authority *.example ${K1} comment\n`), {
      options: '@cert-authority',
      host: '*.example',
      type: 'ssh-ed25519',
      key: K1.split(' ')[1],
    })
    assert.deepEqual(normalizeKey(`h ${K1} user@box`), { host: 'h', type: 'ssh-ed25519', key: K1.split(' ')[1] })
  })
  it('searchHostKey: the same key is found, another key of the type is replaced, the line number is kept', () => {
    const out = `# Host h found: line 3 \nh ${K1}\n`
    assert.deepEqual(searchHostKey(out, `h ${K1}\n`), { found: true, replace: false, foundLine: 3 })
    assert.deepEqual(searchHostKey(out, `h ${K2}\n`), { found: true, replace: true, foundLine: 3 })
    assert.deepEqual(searchHostKey(out, 'h ecdsa-sha2-nistp256 AAAA\n'), { found: true, replace: true })
    assert.deepEqual(searchHostKey(out, undefined), { found: true, replace: false })
    // a hashed line matches a hashed key whatever the salt
    assert.deepEqual(searchHostKey(`# Host h found: line 1 \n|1|a|b ${K1}\n`, `|1|c|d ${K1}\n`), { found: true, replace: false, foundLine: 1 })
  })
  it("state=absent with another key of the same type removes that line (Ansible's behaviour)", () => {
    const text = `a ${K2}\nh ${K1}\nz ${K2}\n`
    const s = searchHostKey(`# Host h found: line 2 \nh ${K1}\n`, `h ${K2}\n`)
    assert.equal(knownHostsEdit(text, s, 'absent', `h ${K2}\n`), `a ${K2}\nz ${K2}\n`)
  })
  it('present: the replaced line goes and the key is appended; a last line without newline is joined as Ansible joins it', () => {
    const s = { found: true, replace: true, foundLine: 1 }
    assert.equal(knownHostsEdit(`h ${K1}\nz ${K2}\n`, s, 'present', `h ${K2}\n`), `z ${K2}\nh ${K2}\n`)
    assert.equal(knownHostsEdit(`z ${K2}`, { found: false, replace: false }, 'present', `h ${K1}\n`), `z ${K2}h ${K1}\n`)
  })
  it("hashHostKey writes a line the controller's ssh-keygen -F finds under the host's name only", () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-kh-'))
    try {
      const f = join(dir, 'kh')
      const line = hashHostKey('host.example', `host.example ${K1}`)
      assert.match(line, /^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 /)
      writeFileSync(f, line + '\n')
      assert.match(spawnSync('ssh-keygen', ['-F', 'host.example', '-f', f], { encoding: 'utf8' }).stdout, /found: line 1/)
      assert.equal(spawnSync('ssh-keygen', ['-F', 'other.example', '-f', f], { encoding: 'utf8' }).stdout, '')
      assert.match(hashHostKey('h', `@revoked h ${K1}`), /^@revoked \|1\|/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
