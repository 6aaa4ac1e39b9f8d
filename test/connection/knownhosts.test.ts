// known_hosts parsing and judging, on strings and ssh-keygen's own output.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  parseKnownHosts,
  judgeHostKey,
  fingerprint,
  entryMatchesHost,
  decideHostKey,
  knownHostsName,
  parseStrictHostKeyChecking,
  preferredHostKeyAlgorithms,
} from '../../src/connection/knownhosts.js'

const dir = mkdtempSync(join(tmpdir(), 'k3sbook-khu-'))
function genKey(type: string): { blob: Buffer; line: string; fp: string } {
  const f = join(dir, `${type}_${Math.random().toString(36).slice(2)}`)
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f])
  const line = readFileSync(f + '.pub', 'utf8').trim()
  const fp = execFileSync('ssh-keygen', ['-lf', f + '.pub'])
    .toString()
    .split(' ')[1]
  return { blob: Buffer.from(line.split(' ')[1], 'base64'), line: line.split(' ').slice(0, 2).join(' '), fp }
}
const ed = genKey('ed25519')
const ed2 = genKey('ed25519')
const rsa = genKey('rsa')
const ec = genKey('ecdsa')
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

test('fingerprints match ssh-keygen -lf for ed25519, rsa and ecdsa', () => {
  for (const k of [ed, rsa, ec]) assert.equal(fingerprint(k.blob), k.fp)
})

test('parse: comments, markers, host lists, [host]:port, hashed, bad lines skipped', () => {
  const salt = randomBytes(20)
  const hash = createHmac('sha1', salt).update('hashed.example').digest()
  const text = [
    '# comment',
    '',
    `a.example,b.example,10.0.0.1 ${ed.line} comment words`,
    `[c.example]:2222 ${rsa.line}`,
    `|1|${salt.toString('base64')}|${hash.toString('base64')} ${ec.line}`,
    `@revoked * ${ed2.line}`,
    `@cert-authority *.example ${rsa.line}`,
    `@bogus x ${rsa.line}`,
    `d.example ssh-ed25519 ${rsa.line.split(' ')[1]}`, // type does not match the blob: skipped
    'truncated-line ssh-ed25519',
  ].join('\n')
  const e = parseKnownHosts(text, '/kh')
  assert.equal(e.length, 5)
  assert.deepEqual(e[0].patterns, ['a.example', 'b.example', '10.0.0.1'])
  assert.equal(e[0].line, 3)
  assert.ok(entryMatchesHost(e[0], 'B.EXAMPLE', 22), 'host names are case-insensitive')
  assert.equal(entryMatchesHost(e[0], 'a.example', 2222), false, 'a plain entry is for port 22 only')
  assert.ok(entryMatchesHost(e[1], 'c.example', 2222))
  assert.equal(entryMatchesHost(e[1], 'c.example', 22), false)
  assert.ok(entryMatchesHost(e[2], 'hashed.example', 22))
  assert.equal(entryMatchesHost(e[2], 'other.example', 22), false)
  assert.equal(e[3].marker, 'revoked')
  assert.equal(e[4].marker, 'cert-authority')
})

test('judge: known, changed (same type differs), unknown (other types only), revoked', () => {
  const e = parseKnownHosts(`h ${ed.line}\nh ${rsa.line}\n@revoked * ${ed2.line}\n`, '/kh')
  assert.equal(judgeHostKey(e, 'h', 22, ed.blob).status, 'known')
  assert.equal(judgeHostKey(e, 'h', 22, ed2.blob).status, 'revoked')
  const other = parseKnownHosts(`h ${rsa.line}\n`)
  assert.equal(judgeHostKey(other, 'h', 22, ed.blob).status, 'unknown')
  const changed = parseKnownHosts(`h ${ed2.line}\n`)
  const v = judgeHostKey(changed, 'h', 22, ed.blob)
  assert.equal(v.status, 'changed')
  assert.equal(judgeHostKey(changed, 'nothere', 22, ed.blob).status, 'unknown')
})

test('decide: policies and messages', () => {
  const policy = { strict: 'yes' as const, userFiles: ['/u/kh'], globalFiles: ['/etc/ssh/ssh_known_hosts'] }
  const unknown = decideHostKey([], policy, 'h', 2222, ed.blob)
  assert.equal(unknown.accept, false)
  assert.ok(unknown.message!.includes(`[h]:2222`))
  assert.ok(unknown.message!.includes(ed.fp))
  assert.match(unknown.hint!, /--accept-new-host-keys/)
  const acc = decideHostKey([], { ...policy, strict: 'accept-new' }, 'h', 2222, ed.blob)
  assert.deepEqual(acc, { accept: true, append: { file: '/u/kh', line: `[h]:2222 ${ed.line}\n` } })
  const changed = decideHostKey(parseKnownHosts(`[h]:2222 ${ed2.line}\n`, '/u/kh'), { ...policy, strict: 'no' }, 'h', 2222, ed.blob)
  assert.equal(changed.accept, false)
  assert.ok(changed.message!.includes(ed.fp) && changed.message!.includes(ed2.fp))
  assert.equal(knownHostsName('h', 22), 'h')
  assert.equal(parseStrictHostKeyChecking('off'), 'no')
  assert.equal(parseStrictHostKeyChecking('ask'), 'yes')
  assert.equal(parseStrictHostKeyChecking('maybe'), undefined)
})

test('host key algorithms: known types first', () => {
  const e = parseKnownHosts(`h ${rsa.line}\n`)
  const algs = preferredHostKeyAlgorithms(e, 'h', 22)!
  assert.deepEqual(algs.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
  assert.ok(algs.includes('ssh-ed25519'))
  assert.equal(preferredHostKeyAlgorithms(e, 'other', 22), undefined)
})
