// Hostile values reach the host as literal data: paths, contents and arguments with quotes,
// spaces, $(…), backticks, newlines, globs and leading dashes (property tests in a temp directory).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { expandLikeAnsible } from '../../src/modules/command.js'
import { cleanup, planOnly, run, tempDir } from './harness.js'

const UNITS = [
  "'",
  '"',
  '$',
  '(',
  ')',
  '`',
  '\\',
  ' ',
  '\n',
  '\t',
  '-',
  '*',
  '?',
  '[',
  ']',
  ';',
  '&',
  '|',
  '<',
  '>',
  '~',
  '#',
  '!',
  '{',
  '}',
  'a',
  'Z',
  '0',
  'é',
  '日',
  '%',
  '=',
  ':',
  ',',
  '.',
]
const hostile = (min = 0, max = 12) => fc.string({ unit: fc.constantFrom(...UNITS), minLength: min, maxLength: max })
/** A file name: anything but '/' and NUL, and not '.' or '..'. */
const fileName = hostile(1, 12).filter((s) => s !== '.' && s !== '..')
const RUNS = 25

test('copy: any name, any content, written exactly; second run is ok', async () => {
  const dir = await tempDir()
  try {
    await fc.assert(
      fc.asyncProperty(fileName, hostile(0, 40), async (name, content) => {
        const dest = join(dir, name)
        const r = await run('copy', { content, dest })
        assert.equal(r.result.failed, false)
        assert.equal(await readFile(dest, 'utf8'), content)
        assert.equal(((await stat(dest)).mode & 0o777).toString(8), '644')
        assert.equal((await planOnly('copy', { content, dest })).status, 'ok')
      }),
      { numRuns: RUNS },
    )
    // no temp files left behind
    assert.equal((await readdir(dir)).filter((n) => n.startsWith('.k3sbook.')).length, 0)
  } finally {
    await cleanup(dir)
  }
})

test('lineinfile: any line text lands verbatim in a hostile-named file', async () => {
  const dir = await tempDir()
  try {
    await fc.assert(
      fc.asyncProperty(
        fileName,
        hostile(1, 30).filter((l) => !/[\r\n]/.test(l)),
        async (name, line) => {
          const path = join(dir, 'l-' + name)
          await run('lineinfile', { path, line, create: true })
          assert.ok(readFileSync(path, 'utf8').split('\n').includes(line))
          assert.equal((await planOnly('lineinfile', { path, line })).status, 'ok')
        },
      ),
      { numRuns: RUNS },
    )
  } finally {
    await cleanup(dir)
  }
})

test('file: directories and links with hostile names, parents included', async () => {
  const base = await tempDir()
  try {
    await fc.assert(
      fc.asyncProperty(fileName, fileName, async (a, b) => {
        // A directory per run, so a shrunk counterexample does not see an earlier run's leftovers.
        const dir = await mkdtemp(join(base, 'r'))
        const path = join(dir, 'd-' + a, b)
        await run('file', { path, state: 'directory' })
        assert.ok((await stat(path)).isDirectory())
        assert.equal((await planOnly('file', { path, state: 'directory' })).status, 'ok')
        const link = join(dir, 'ln-' + a)
        await run('file', { path: link, src: path, state: 'link', force: true })
        assert.equal((await planOnly('file', { path: link, src: path, state: 'link' })).status, 'ok')
        await run('file', { path: join(dir, 'd-' + a), state: 'absent' })
        await run('file', { path: link, state: 'absent' })
        assert.deepEqual(await readdir(dir), [])
      }),
      { numRuns: RUNS },
    )
  } finally {
    await cleanup(base)
  }
})

/** Ansible's expanduser for ~user, for the expected values below. */
function homeOf(user: string): string | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':')
    if (f[0] === user) return f[5]
  }
  return undefined
}

test('command argv: every argument arrives as one literal argument (after Ansible-style $VAR/~ expansion)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(hostile(0, 16), { minLength: 1, maxLength: 5 }), async (args) => {
      const r = await run('command', { argv: ['printf', '%s\\0', ...args], strip_empty_ends: false })
      assert.equal(r.result.rc, 0)
      const got = String(r.result.stdout).split('\0').slice(0, -1)
      const want = args.map((a) => {
        const e = expandLikeAnsible(a, process.env)
        const m = /^~([^/]+)(.*)$/s.exec(e)
        const h = m ? homeOf(m[1]) : undefined
        return m && h ? h.replace(/\/+$/, '') + m[2] : e
      })
      assert.deepEqual(got, want)
    }),
    { numRuns: 60 },
  )
})

test('command free form: quoted words stay single arguments; shell metacharacters are not run', async () => {
  const dir = await tempDir()
  try {
    const evil = join(dir, 'pwned')
    const r = await run('command', { _raw_params: `printf '%s|' "a b" '$(touch ${evil})' \`touch ${evil}\` ';' '&&' -rf` })
    assert.equal(r.result.stdout, `a b|$(touch ${evil})|\`touch|${evil}\`|;|&&|-rf|`)
    await assert.rejects(stat(evil))
  } finally {
    await cleanup(dir)
  }
})
