#!/usr/bin/env node
// Runs every test file with node's test runner (Node 20's --test does not expand globs).
// Usage: npm test [-- FILTER...]   (FILTER: substrings of test file paths)
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { runFiles } from './test-pool.mjs'
import { withCompiledTests } from './test-build.mjs'

function walk(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (name === 'fixtures' || name === 'node_modules') continue
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}
const filters = process.argv.slice(2)
// The files that take longest start first, so the run does not end waiting on one of them alone
// (measured with K3SBOOK_TEST_CPU=1: wall and CPU time per file); the rest in alphabetical order.
const LONGEST_FIRST = [
  'test/cluster/systemd.test.ts',
  'test/executor/lab.test.ts',
  'test/cluster/site.test.ts',
  'test/cli/habits.test.ts',
  'test/modules/apt_key/differential.test.ts',
  'test/modules/system/differential.test.ts',
  'test/reliability/host-reads.test.ts',
  'test/modules/apt_repository/differential.test.ts',
  'test/modules/bridge.test.ts',
  'test/reliability/interrupt.test.ts',
  'test/reliability/bad-yaml.test.ts',
]
const rank = (f) => (LONGEST_FIRST.includes(f) ? LONGEST_FIRST.indexOf(f) : LONGEST_FIRST.length)
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .sort((a, b) => rank(a) - rank(b))
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
// The CLI runs from dist/ when it exists: build first so tests never run a stale CLI (skipped when
// the bundle is newer than every source it is built from, as right after the set-up's build).
function newest(dir) {
  let t = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs)
  }
  return t
}
const bundle = 'dist/k3sbook.cjs'
const fresh =
  existsSync(bundle) &&
  statSync(bundle).mtimeMs >
    Math.max(newest('src'), ...['package.json', 'tsconfig.json', 'scripts/bundle.mjs', 'scripts/build-validators.mjs'].map((f) => statSync(f).mtimeMs))
if (!fresh) {
  const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' })
  if (build.status !== 0) process.exit(build.status ?? 1)
}
// Test files run 3 at a time: most of their time is spent waiting on lab hosts and ansible, and
// every lab test makes its own uniquely named lab. K3SBOOK_TEST_CONCURRENCY overrides.
// Each file is timed; the slowest are listed at the end.
// The files are compiled first (scripts/test-build.mjs: ~65 s less CPU over the suite than tsx in
// every file); should that fail, they run through tsx as they are.
process.exitCode = await withCompiledTests(files, (compiled) => runFiles(files, { concurrency: Number(process.env.K3SBOOK_TEST_CONCURRENCY ?? '3'), compiled }))
