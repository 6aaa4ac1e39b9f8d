// apt_repository's pure parts, cases from ansible-core 2.14's SourcesList.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { aptSourcesEdit, dumpSources, loadSources, parseSourceLine, suggestFilename } from '../../../src/modules/apt_repository.js'

const SP = '/etc/apt/sources.list.d/'

describe('apt_repository pure functions', () => {
  it('parses lines as SourcesList._parse', () => {
    assert.deepEqual(parseSourceLine('  deb   http://x  main  '), { valid: true, enabled: true, source: 'deb http://x main', comment: '' })
    assert.deepEqual(parseSourceLine('#deb http://x main # c '), { valid: true, enabled: false, source: 'deb http://x main', comment: 'c' })
    assert.deepEqual(parseSourceLine('# plain  comment'), { valid: false, enabled: false, source: 'plain  comment', comment: '' })
    assert.throws(() => parseSourceLine('foo bar', true), /foo bar/)
    assert.throws(() => parseSourceLine('# deb http://x main', true))
  })
  it('dumps in the normalized form', () => {
    assert.equal(dumpSources(loadSources('deb  http://x main #c\n\n#deb http://y main\n# note\n')), 'deb http://x main # c\n\n# deb http://y main\n# note\n')
  })
  it('suggests a file name from the host part', () => {
    assert.equal(suggestFilename('deb [arch=amd64] https://user:pw@secure.example/apt stable main'), 'secure_example_apt.list')
    assert.equal(suggestFilename('deb http://repo.example.org/debian bookworm main'), 'repo_example_org_debian.list')
    assert.equal(suggestFilename('deb http://x/y z', 'mine'), 'mine.list')
  })
  it('adds to a new file, enables a disabled line, removes, and rewrites every file normalized', () => {
    const files = new Map([['/etc/apt/sources.list', 'deb  http://a main\n#deb http://b main\n']])
    const add = aptSourcesEdit(files, 'deb http://c/x main', 'present', { sourceParts: SP })
    assert.equal(add.changed, true)
    assert.equal(add.after.get('/etc/apt/sources.list.d/c_x.list'), 'deb http://c/x main\n')
    assert.equal(add.after.get('/etc/apt/sources.list'), 'deb http://a main\n# deb http://b main\n')
    const enable = aptSourcesEdit(files, 'deb http://b main', 'present', { sourceParts: SP })
    assert.equal(enable.after.get('/etc/apt/sources.list'), 'deb http://a main\ndeb http://b main\n')
    assert.equal(enable.newRepos.size, 0)
    const same = aptSourcesEdit(files, 'deb http://a main', 'present', { sourceParts: SP })
    assert.equal(same.changed, false, 'only normalization differs: no change')
    const rm = aptSourcesEdit(new Map([['/x.list', 'deb http://a main\n']]), 'deb http://a main', 'absent', { sourceParts: SP })
    assert.equal(rm.after.has('/x.list'), false)
    assert.equal(rm.changed, true)
  })
})
