// The bad-input corpus: every folder under test/fixtures/bad is a small project with mistakes;
// `k3sbook validate` must print exactly the lines in its expected.txt, exit with the expected
// status (5 unless an `exit` file says otherwise), and never open a connection. It runs the CLI as
// installed (the bundle with its code cache) when `npm test` built it, else the current sources.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runBuilt } from './cli.js'

const BAD = join(ROOT, 'test', 'fixtures', 'bad')
const cases = readdirSync(BAD).sort()

describe('bad-input corpus', { concurrency: 8 }, () => {
  it('has at least 45 cases', () => {
    assert.ok(cases.length >= 45, `only ${cases.length} cases`)
  })
  for (const name of cases) {
    it(name, async () => {
      const dir = join(BAD, name)
      const argsFile = join(dir, 'args')
      const args = existsSync(argsFile) ? readFileSync(argsFile, 'utf8').split('\n').filter(Boolean) : ['site.yml', '-i', 'inventory.yml']
      const expected = readFileSync(join(dir, 'expected.txt'), 'utf8')
      const exitFile = join(dir, 'exit')
      const wantExit = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : 5
      const r = await runBuilt(['validate', ...args], dir)
      assert.doesNotMatch(r.stderr, /FORBIDDEN/, 'validate must not contact any host')
      assert.equal(r.stdout, expected, `stderr: ${r.stderr}`)
      assert.equal(r.code, wantExit)
      if (wantExit !== 0) assert.match(r.stdout, /^\S+:\d+:\d+: /m, 'errors carry file:line:col')
    })
  }
})
