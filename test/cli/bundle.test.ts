// The CLI as installed runs from dist/k3sbook.cjs (scripts/bundle.mjs) through bin/k3sbook.js
// with V8's code cache. The bundle must behave exactly as the modules it is made of: the whole
// bad-input corpus runs through it (test/playbook/corpus.test.ts, when `npm test` built it), the
// compiled modules without the bundle say the same on a case, and a damaged or stale cache changes
// nothing.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runEntry } from '../playbook/cli.js'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'k3sbook.js')
const BUNDLE = join(ROOT, 'dist', 'k3sbook.cjs')
const CACHE_DIR = join(ROOT, 'dist', '.code-cache')
const BAD = join(ROOT, 'test', 'fixtures', 'bad')

function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return runEntry(BIN, args, cwd, env)
}

function cacheFile(): string {
  const st = statSync(BUNDLE)
  return join(CACHE_DIR, `${st.size}-${Math.floor(st.mtimeMs)}-${process.versions.v8}.bin`)
}

it('npm run build made the bundle (npm test builds first unless it is newer than its sources)', () => {
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing`)
  assert.doesNotMatch(readFileSync(BUNDLE, 'latin1'), /[^\x00-\x7f]/, 'the bundle is ASCII (bin reads it as latin1)')
})

it('the code cache is written once, and a damaged one is refused by V8 and replaced', async () => {
  const dir = join(BAD, 'action-forms')
  const want = readFileSync(join(dir, 'expected.txt'), 'utf8')
  const first = await cli(['validate', 'site.yml', '-i', 'inventory.yml'], dir)
  assert.equal(first.stdout, want)
  const file = cacheFile()
  assert.ok(existsSync(file), 'a validate run leaves a code cache for this bundle')
  // Marked as written by a `run` (level 2): only V8 refusing it makes the launcher write it again.
  writeFileSync(file, Buffer.concat([Buffer.from([2]), Buffer.alloc(4096, 0x5a)]))
  const damaged = await cli(['validate', 'site.yml', '-i', 'inventory.yml'], dir)
  assert.equal(damaged.stdout, want, `stderr: ${damaged.stderr}`)
  assert.equal(damaged.code, first.code)
  const after = readFileSync(file)
  assert.ok(after.length > 4097 && after.subarray(1, 64).some((b) => b !== 0x5a), 'the damaged cache was replaced')
  const plain = await cli(['validate', 'site.yml', '-i', 'inventory.yml'], dir, { K3SBOOK_NO_CODE_CACHE: '1', K3SBOOK_NO_BUNDLE: '1' })
  assert.equal(plain.stdout, want, 'the compiled modules without the bundle say the same')
})
