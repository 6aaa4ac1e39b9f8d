// Files a host wrote on the control machine stay host data whichever path later names them: fetch
// marks its destination before writing it (its folders may not exist yet), a read may come through
// a symlinked project folder or its target.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isHostFile, markHostFile } from '../../src/hostfiles.js'

const d = mkdtempSync(join(tmpdir(), 'k3sbook-hostfiles-'))
after(() => rmSync(d, { recursive: true, force: true }))

test('a fetched file is known by its own path, through a symlinked folder, and by its real path', () => {
  mkdirSync(join(d, 'real'))
  symlinkSync(join(d, 'real'), join(d, 'link'))
  // marked through the link, before fetch made the folders below it
  const viaLink = join(d, 'link', 'fetched', 'web1', 'etc', 'motd')
  markHostFile(viaLink)
  mkdirSync(join(d, 'real', 'fetched', 'web1', 'etc'), { recursive: true })
  writeFileSync(join(d, 'real', 'fetched', 'web1', 'etc', 'motd'), '{{ lookup("pipe", "id") }}\n')
  assert.equal(isHostFile(viaLink), true)
  assert.equal(isHostFile(join(d, 'real', 'fetched', 'web1', 'etc', 'motd')), true, 'by the real path')
  assert.equal(isHostFile(join(d, 'link', 'fetched', 'web1', '..', 'web1', 'etc', 'motd')), true)
  // and the other way round: marked by the real path, read through the link
  const real = join(d, 'real', 'other')
  markHostFile(real)
  assert.equal(isHostFile(join(d, 'link', 'other')), true)
  assert.equal(isHostFile(join(d, 'real', 'own.yml')), false, "the playbook's own files are not")
})
