// Dev-time cross-check of k3sbook's distribution facts against Ansible's own unit-test fixtures
// (test/units/module_utils/facts/system/distribution/fixtures/*.json in a checkout of ansible/ansible:
// each holds a distro's release files and the facts Ansible computes from them). Nothing of them is
// copied here; the path is given:
//
//   node --import tsx test/compat/distribution.ts /path/to/ansible/test/units/module_utils/facts/system/distribution/fixtures
//
// Only Linux fixtures are tried (k3sbook's facts are Linux's); each of the fixture's `result` keys
// is compared. Prints each disagreement and the count that agree. CI has no copy of Ansible:
// test/modules/facts-distribution.test.ts holds release texts written for this project.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { distributionFacts } from '../../src/modules/lib/facts.js'

interface Fixture {
  name: string
  input: Record<string, string>
  result: Record<string, string>
  'platform.system'?: string
}

const dir = process.argv[2]
if (!dir) {
  console.error('usage: distribution.ts FIXTURES_DIR')
  process.exit(5)
}
let tried = 0
let agree = 0
const families = new Map<string, [number, number]>()
for (const f of readdirSync(dir)
  .filter((x) => x.endsWith('.json'))
  .sort()) {
  const fx = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture
  if ((fx['platform.system'] ?? 'Linux') !== 'Linux') continue
  tried++
  // what the facts probe would read: each file's lines (grep -s ''), and which exist
  const files = new Map<string, string[]>()
  const exists = new Set<string>()
  for (const [p, text] of Object.entries(fx.input)) {
    exists.add(p)
    files.set(p, text.replace(/\n$/, '').split('\n'))
  }
  const got = distributionFacts(files, exists)
  const diffs = Object.entries(fx.result).filter(([k, v]) => String(got[k]) !== String(v))
  const fam = String(fx.result.os_family)
  const c = families.get(fam) ?? [0, 0]
  c[1]++
  if (!diffs.length) {
    agree++
    c[0]++
  } else console.log(`${f}: ${diffs.map(([k, v]) => `${k} ansible ${JSON.stringify(v)} k3sbook ${JSON.stringify(got[k])}`).join('; ')}`)
  families.set(fam, c)
}
console.log(`${agree} of ${tried} Linux fixtures agree on every result key`)
console.log([...families].map(([k, [a, n]]) => `${k} ${a}/${n}`).join(', '))
