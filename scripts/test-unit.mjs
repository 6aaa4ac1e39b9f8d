#!/usr/bin/env node
// The unit tier: test files that need no root, no lab and no built dist/ (checked by running them
// as uid 65534 on a copy of the tree; see CONTRIBUTING.md). Under a minute; run it before pushing.
// A new test file that needs none of those belongs here.
// Usage: npm run test:unit [-- FILTER...]
import { fileURLToPath } from 'node:url'
import { runFiles } from './test-pool.mjs'
import { withCompiledTests } from './test-build.mjs'

export const UNIT = [
  'test/architecture/imports.test.ts',
  'test/architecture/module-names.test.ts',
  'test/connection/deadline.test.ts',
  'test/connection/sshconfig.test.ts',
  'test/executor/lazyvars.test.ts',
  'test/executor/prefetch.test.ts',
  'test/inventory/connection.test.ts',
  'test/inventory/load.test.ts',
  'test/inventory/parsing.test.ts',
  'test/inventory/patterns.test.ts',
  'test/inventory/vars.test.ts',
  'test/lab/net.test.ts',
  'test/modules/commands.test.ts',
  'test/modules/common/modules.test.ts',
  'test/modules/controller.test.ts',
  'test/modules/edit-oracle.test.ts',
  'test/modules/facts-distribution.test.ts',
  'test/modules/provision/helpers.test.ts',
  'test/modules/provision/local.test.ts',
  'test/modules/provision/pure.test.ts',
  'test/modules/provision/schemas.test.ts',
  'test/modules/roundtrips.test.ts',
  'test/modules/schema.test.ts',
  'test/modules/storage/parsers.test.ts',
  'test/modules/storage/plans.test.ts',
  'test/playbook/kv.test.ts',
  'test/playbook/load.test.ts',
  'test/playbook/required.test.ts',
  'test/playbook/tags.test.ts',
  'test/reliability/paths.test.ts',
  'test/reliability/vault-load.test.ts',
  'test/template/template.test.ts',
]

// Run as a script (not when imported for its list)
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const filters = process.argv.slice(2)
  // the longest files first, so that the tier ends when its longest file ends, not after it
  const FIRST = ['test/executor/prefetch.test.ts', 'test/modules/provision/local.test.ts', 'test/playbook/load.test.ts']
  const rank = (f) => (FIRST.includes(f) ? FIRST.indexOf(f) : FIRST.length)
  const files = UNIT.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort((a, b) => rank(a) - rank(b))
  // compiled first as `npm test` does (scripts/test-build.mjs); through tsx where the checkout is
  // not writable (the uid 65534 check) or the compile fails
  process.exitCode = await withCompiledTests(files, (compiled) =>
    runFiles(files, { concurrency: Number(process.env.K3SBOOK_TEST_CONCURRENCY ?? '4'), compiled }),
  )
}
