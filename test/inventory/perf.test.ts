// Loading and variable lookup on a large inventory: files are read once, not per host.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { performance } from 'node:perf_hooks'
import { Diagnostics } from '../../src/errors.js'
import { groupsMap, hostInventoryVars, loadInventory, resolvePattern } from '../../src/inventory/index.js'
import { tree } from './helpers.js'

/** 10 regions × 10 racks × 50 hosts = 5000 hosts, 111 group_vars files, 1000 host_vars files. */
export function bigInventory(): { dir: string; hosts: number } {
  const files: Record<string, string> = {}
  let yml = 'all:\n  vars: {env: big}\n  children:\n'
  for (let r = 0; r < 10; r++) {
    yml += `    region${r}:\n      vars: {region: r${r}}\n      children:\n`
    files[`group_vars/region${r}.yml`] = `region_gv: ${r}\nlist: [1, 2, 3]\n`
    for (let k = 0; k < 10; k++) {
      yml += `        rack${r}_${k}:\n          hosts:\n            n${r}-${k}-[00:49]:\n          vars: {rack: ${k}}\n`
      files[`group_vars/rack${r}_${k}.yml`] = `rack_gv: ${k}\nnested: {a: {b: ${k}}}\n`
    }
  }
  files['inv.yml'] = yml
  files['group_vars/all.yml'] = 'k3s_version: v1.30.2+k3s1\n'
  for (let i = 0; i < 1000; i++) files[`host_vars/n${i % 10}-${Math.floor(i / 100) % 10}-${String(i % 50).padStart(2, '0')}.yml`] = `hv: ${i}\n`
  return { dir: tree(files), hosts: 5000 }
}

/**
 * Counts the file-system calls `fn` makes (the named imports of node:fs in src/ are live bindings:
 * syncBuiltinESMExports makes them see the wrapped functions).
 */
function countFsCalls<T>(fn: () => T): { result: T; calls: number } {
  const names = ['readFileSync', 'readdirSync', 'statSync', 'existsSync', 'realpathSync'] as const
  const saved = names.map((n) => fs[n])
  let calls = 0
  for (const [i, n] of names.entries()) {
    const orig = saved[i] as (...a: unknown[]) => unknown
    ;(fs as unknown as Record<string, unknown>)[n] = (...a: unknown[]) => {
      calls++
      return orig(...a)
    }
  }
  syncBuiltinESMExports()
  try {
    return { result: fn(), calls }
  } finally {
    for (const [i, n] of names.entries()) (fs as unknown as Record<string, unknown>)[n] = saved[i]
    syncBuiltinESMExports()
  }
}

it('loads a 5000-host inventory and resolves every host\'s variables quickly', (t) => {
  const { dir } = bigInventory()
  const t0 = performance.now()
  const diags = new Diagnostics()
  const inv = loadInventory([`${dir}/inv.yml`], diags)
  const t1 = performance.now()
  assert.deepEqual(diags.errors, [])
  assert.equal(inv.hosts.size, 5000)
  for (const h of inv.hostOrder) hostInventoryVars(inv, h, dir)
  const t2 = performance.now()
  for (const h of inv.hostOrder) hostInventoryVars(inv, h, dir)
  const t3 = performance.now()
  const pats = ['all', 'region3', 'rack1_*:&region1', 'all:!region0', '~n5-.-0[0-4]', 'region9[10:20]', 'n1-1-*', 'region*:!rack2_2']
  for (const p of pats) resolvePattern(inv, p)
  const t4 = performance.now()
  groupsMap(inv)
  const t5 = performance.now()
  const v = hostInventoryVars(inv, 'n3-4-07', dir)
  assert.equal(v.rack_gv, 4)
  assert.equal(v.region_gv, 3)
  assert.equal(v.k3s_version, 'v1.30.2+k3s1')
  t.diagnostic(
    `load ${(t1 - t0).toFixed(0)} ms; vars for 5000 hosts cold ${(t2 - t1).toFixed(0)} ms, warm ${(t3 - t2).toFixed(1)} ms; ` +
      `${pats.length} patterns ${(t4 - t3).toFixed(1)} ms; groupsMap ${(t5 - t4).toFixed(1)} ms`,
  )
  // The point is "no per-host file reading": counted, not timed (times move with the machine's load).
  // 1 inventory file, 111 group_vars and 1000 host_vars files, and their two folders.
  const files = 1 + 111 + 1000
  // a fresh copy, so no cache of the timed pass above answers
  const fresh = bigInventory().dir
  const { result: again, calls: loadCalls } = countFsCalls(() => loadInventory([`${fresh}/inv.yml`], new Diagnostics()))
  const { calls: varsCalls } = countFsCalls(() => {
    for (const h of again.hostOrder) hostInventoryVars(again, h, fresh)
  })
  const { calls: warmCalls } = countFsCalls(() => {
    for (const h of again.hostOrder) hostInventoryVars(again, h, fresh)
  })
  t.diagnostic(`file-system calls: load ${loadCalls}, vars for 5000 hosts cold ${varsCalls}, warm ${warmCalls}`)
  assert.ok(loadCalls >= files, `the count sees every file read (${loadCalls})`)
  assert.ok(loadCalls + varsCalls <= 3 * files, `file-system calls grow with the files, not the hosts: ${loadCalls} + ${varsCalls}`)
  assert.ok(warmCalls <= 5000, `warm lookups touch the disk at most once per host: ${warmCalls}`)
})
