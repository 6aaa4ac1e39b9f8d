// Oracle tests: the same inventory files through our loader and through Debian's ansible-core,
// comparing selected hosts (and their order), group trees and merged variables.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Diagnostics, formatDiagnostic, ValidationError } from '../../src/errors.js'
import type { Inventory } from '../../src/model.js'
import { hostInventoryVars, limitHosts, loadInventory, resolvePattern } from '../../src/inventory/index.js'
import {
  ansibleGetHosts,
  ansibleHostExpr,
  ansibleInventoryList,
  ansibleListHosts,
  ansiblePatternHosts,
  INTERNAL_VARS,
  scratchCopy,
} from './ansible-oracle.js'

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'inventory')

function ansibleAvailable(): void {
  try {
    execFileSync('ansible-playbook', ['--version'], { stdio: 'ignore' })
  } catch {
    throw new Error('ansible-playbook (Debian package ansible-core) is needed for the oracle tests: apt-get install ansible-core')
  }
}

function load(sources: string[]): Inventory {
  const d = new Diagnostics()
  const inv = loadInventory(sources, d)
  assert.deepEqual(d.errors.map(formatDiagnostic), [], 'no load errors')
  return inv
}

/** Our answer for a pattern: hosts, or the error text. */
function ours(inv: Inventory, p: string | string[], limit?: string, baseDir?: string): string[] | string {
  try {
    const hosts = resolvePattern(inv, p, { baseDir })
    return limit === undefined ? hosts : limitHosts(inv, hosts, limit, { baseDir })
  } catch (e) {
    if (e instanceof ValidationError) return `error: ${e.message}`
    throw e
  }
}

/** What `ansible-inventory --list` prints for the group tree (json_inventory without vars). */
function groupTree(inv: Inventory): Record<string, { hosts?: string[]; children?: string[] }> {
  const out: Record<string, { hosts?: string[]; children?: string[] }> = {}
  const seen = new Set<string>()
  const visit = (name: string) => {
    const g = inv.groups.get(name)!
    const entry: { hosts?: string[]; children?: string[] } = {}
    if (name !== 'all' && g.hosts.length) entry.hosts = [...g.hosts]
    if (g.children.length) entry.children = [...g.children]
    for (const c of g.children)
      if (!seen.has(c)) {
        seen.add(c)
        visit(c)
      }
    if (Object.keys(entry).length) out[name] = entry
  }
  visit('all')
  return out
}

function ansibleTree(list: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(list)) if (k !== '_meta') out[k] = v
  return out
}

function ourHostvars(inv: Inventory, playbookDir?: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const h of inv.hosts.keys()) {
    const v = hostInventoryVars(inv, h, playbookDir)
    const kept: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) if (!INTERNAL_VARS.has(k)) kept[k] = x
    if (Object.keys(kept).length) out[h] = kept
  }
  return out
}

// Every kind of pattern: groups, nested groups, unions, intersections, exclusions, globs,
// regexes, subscripts (negative, open-ended, the [x:0] quirk, the old [x-y] form), host names,
// unknown names, implicit localhost and hosts that came from ranges.
const PATTERNS: (string | string[])[] = [
  'all', '*', 'web', 'db', 'db_primary', 'prod', 'staging', 'lb', 'edge', 'deep', 'ungrouped', 'orphan',
  'web:db', 'web,db', 'web , db', 'db:web', 'web:&staging', 'prod:!web', 'all:!prod', '!web', '&db', 'web:db:&prod',
  'web:db:!db_primary', 'prod:&web:!web01.example.com', 'lb:!edge', 'lb:&deep', '!lb:edge', 'staging:!web:db',
  'web0*', 'web0?.example.com', '*.example.com', 'db-[ab]', 'db-[!a]', 'stage*', 'e*', 'd*', '*1', 'al*', 'ungr*', '*[0-9]',
  '~web0[13]', '~(db|lb)', '~.*example', '~^e', '~e$', '~DB', '~(?i)DB-A',
  'web[0]', 'web[-1]', 'web[0:2]', 'web[1:]', 'db[1]', 'prod[2:3]', 'lb[0:0]', 'lb[-2]', 'web[1-2]', 'web*[0]', 'prod[10:]',
  'prod:&web[0:1]', 'web[0:1]:db[0]:!web01.example.com', 'all[3:5]:!bastion',
  'bastion', 'db-x', 'web01.example.com', 'lone1', 'o1:lone1', 'extra*', 'extra3', 'stage09', 'nosuch', 'nosuch:web',
  'web:nosuch*', 'localhost', 'localhost:web', '127.0.0.1', 'web:!localhost', ['web', 'lb'], ['db[0]', '!db-a'],
]

// Order-sensitive patterns also run for real (slow: Ansible spends ~40 ms per host per play).
const LIMIT = 'prod,lb:!web02.example.com:!edge1'
const K3S_PATTERNS = ['k3s_cluster', 'server', 'agent', 'k3s_cluster:!server', 'agent[0]', '192.16.35.1*', '~192\\.16\\.35\\.1[23]']
const RUN_PATTERNS = ['d*', 'prod:&web:!web01.example.com', '~(db|lb)', 'db:web', 'lb:&deep', 'e*', 'localhost:web', '*1']

describe('oracle: ansible-core on the same inventories', () => {
  let dir: string
  const results: Record<string, Promise<any>> = {}
  before(() => {
    ansibleAvailable()
    dir = scratchCopy(FIXTURES)
    writeFileSync(join(dir, 'limit.txt'), 'web01.example.com\nlb*\n\n')
    const pinv = join(dir, 'patterns', 'inventory.yml')
    const prec = [join(dir, 'prec', 'inv', 'hosts.yml'), join(dir, 'prec', 'inv2', 'hosts.ini')]
    // all ansible runs start at once; each test awaits its own
    const ini = join(dir, 'ini', 'hosts.ini')
    const api = ansibleGetHosts(dir, [
      { sources: [pinv], patterns: PATTERNS },
      { sources: [ini], patterns: PATTERNS },
      { sources: [pinv], patterns: PATTERNS, limit: LIMIT },
      { sources: [pinv], patterns: ['web[9]', '~web(['] },
      { sources: [join(dir, 'k3s', 'inventory.yml')], patterns: K3S_PATTERNS },
      { sources: ['h1,h2:2222, h3 ,'], patterns: ['all', 'ungrouped', 'h2', 'h*'] },
    ])
    ;[results.yamlApi, results.iniApi, results.limitApi, results.errApi, results.k3sPatterns, results.hostList] = [0, 1, 2, 3, 4, 5].map((i) =>
      api.then((r) => r[i]),
    )
    results.yamlList = ansibleListHosts(dir, [pinv], PATTERNS)
    results.iniList = ansibleListHosts(dir, [ini], PATTERNS)
    results.yamlRun = ansiblePatternHosts(dir, [pinv], RUN_PATTERNS)
    results.limitRun = ansiblePatternHosts(dir, [pinv], ['all', 'web', 'staging:lb', 'localhost'], ['--limit', '@limit.txt'])
    results.precList = ansibleInventoryList(dir, prec, join(dir, 'prec', 'pb'))
    results.precNoPb = ansibleInventoryList(dir, prec)
    results.precMagic = ansibleHostExpr(dir, prec, join(dir, 'prec', 'pb'), "{'g': group_names, 's': inventory_hostname_short, 'x': x, 'y': y, 'z': z | default(None), 'dir': inventory_dir | basename}")
    results.iniVars = ansibleInventoryList(dir, [ini])
    results.patternsList = ansibleInventoryList(dir, [pinv])
    results.k3sList = ansibleInventoryList(dir, [join(dir, 'k3s', 'inventory.yml')])
    results.k3sIniList = ansibleInventoryList(dir, [join(dir, 'k3s', 'hosts.ini')])
    results.k3sMagic = ansibleHostExpr(dir, [join(dir, 'k3s', 'inventory.yml')], join(dir, 'k3s'), "{'g': group_names, 's': inventory_hostname_short, 'groups': groups}")
    results.dirList = ansibleInventoryList(dir, [join(dir, 'dirsrc')])
  })

  const compare = (inv: Inventory, api: (string[] | string)[], list: string[][] | undefined, limit?: string) =>
    PATTERNS.map((p, i) => {
      const mine = ours(inv, p, limit)
      const bad =
        JSON.stringify(mine) !== JSON.stringify(api[i]) ||
        (list !== undefined && JSON.stringify(Array.isArray(mine) ? [...mine].sort() : mine) !== JSON.stringify(list[i]))
      return bad ? { p, ansible: api[i], listHosts: list?.[i], ours: mine } : undefined
    }).filter(Boolean)

  it(`selects the same hosts in the same order as ansible-core for ${PATTERNS.length} patterns (YAML inventory)`, async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    assert.deepEqual(compare(inv, await results.yamlApi, (await results.yamlList).hosts), [])
  })

  it('orders hosts as a real ansible-playbook run does (ansible_play_hosts_all)', async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    const { hosts } = await results.yamlRun
    assert.deepEqual(RUN_PATTERNS.map((p) => ours(inv, p)), hosts)
    // and the in-process oracle agrees with the run on the same patterns
    const api = await results.yamlApi
    assert.deepEqual(RUN_PATTERNS.map((p) => api[PATTERNS.indexOf(p)]), hosts)
  })

  it('selects the same hosts for the same patterns on an INI inventory', async () => {
    const inv = load([join(dir, 'ini', 'hosts.ini')])
    assert.deepEqual(compare(inv, await results.iniApi, (await results.iniList).hosts), [])
  })

  it('applies a --limit to every pattern of the table as ansible-core does', async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    assert.deepEqual(compare(inv, await results.limitApi, undefined, LIMIT), [])
  })

  it('applies --limit @file as ansible-playbook does', async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    const { hosts } = await results.limitRun
    assert.deepEqual(
      ['all', 'web', 'staging:lb', 'localhost'].map((p) => ours(inv, p, '@limit.txt', dir)),
      hosts,
    )
    assert.ok(hosts[0].length > 0, 'the limit file selected hosts')
  })

  it('fails where ansible fails: out-of-range index and a bad regex', async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    const [e1, e2] = await results.errApi
    assert.equal(e1, "error: No hosts matched the subscripted pattern 'web[9]'")
    assert.equal(ours(inv, 'web[9]'), e1)
    // Ansible's ":" splitting drops the unbalanced "[" before compiling
    assert.equal(e2, 'error: Invalid host list pattern: ~web(')
    assert.match(String(ours(inv, '~web([')), /^error: host pattern "~web\(" is not a valid regular expression/)
  })

  it('warns for patterns that match nothing, as ansible does', async () => {
    const { warnings } = await results.yamlList
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    const ourWarnings: string[] = []
    for (const p of PATTERNS) resolvePattern(inv, p, { warn: (m) => ourWarnings.push(m) })
    const noMatch = (ws: string[]) => [...new Set(ws.filter((w) => w.startsWith('Could not match')))].sort()
    assert.deepEqual(noMatch(ourWarnings), noMatch(warnings))
    assert.ok(noMatch(warnings).length >= 2)
  })

  it('merges variables like ansible-inventory: file vars, group_vars/host_vars files and folders, priority, two sources, playbook dir', async () => {
    const inv = load([join(dir, 'prec', 'inv', 'hosts.yml'), join(dir, 'prec', 'inv2', 'hosts.ini')])
    const withPb = await results.precList
    assert.deepEqual(ourHostvars(inv, join(dir, 'prec', 'pb')), withPb._meta.hostvars)
    const noPb = await results.precNoPb
    assert.deepEqual(ourHostvars(inv), noPb._meta.hostvars)
    assert.deepEqual(groupTree(inv), ansibleTree(noPb))
    // spot checks that the fixture really exercises each rule
    assert.equal(withPb._meta.hostvars.h3.z, 'pb_c', 'playbook group_vars beat inventory group vars')
    assert.equal(noPb._meta.hostvars.h3.z, 'c_file', 'ansible_group_priority 10 beats d (same depth)')
    assert.equal(noPb._meta.hostvars.h1.x, 'hv_h1')
    assert.equal(noPb._meta.hostvars.h1.gb, 'b_noext', 'group_vars/b wins over group_vars/b.yml')
    assert.equal(noPb._meta.hostvars.h3.cx, 'sub', 'group_vars/c/ files merged in name order, recursively')
  })

  it('gives the same group_names, inventory_hostname_short and merged values in a playbook run', async () => {
    const inv = load([join(dir, 'prec', 'inv', 'hosts.yml'), join(dir, 'prec', 'inv2', 'hosts.ini')])
    const magic = await results.precMagic
    const pb = join(dir, 'prec', 'pb')
    const mine: Record<string, unknown> = {}
    for (const h of inv.hostOrder) {
      const v = hostInventoryVars(inv, h, pb)
      mine[h] = { g: v.group_names, s: v.inventory_hostname_short, x: v.x, y: v.y, z: v.z ?? null, dir: String(v.inventory_dir).split('/').pop() }
    }
    assert.deepEqual(mine, magic)
  })

  it('reads INI values as Python literals, like ansible', async () => {
    const inv = load([join(dir, 'ini', 'hosts.ini')])
    const list = await results.iniVars
    assert.deepEqual(ourHostvars(inv), list._meta.hostvars)
    assert.deepEqual(groupTree(inv), ansibleTree(list))
  })

  it('loads the k3s-ansible inventories unchanged (YAML sample and the older INI layout)', async () => {
    const inv = load([join(dir, 'k3s', 'inventory.yml')])
    const list = await results.k3sList
    assert.deepEqual(ourHostvars(inv), list._meta.hostvars)
    assert.deepEqual(groupTree(inv), ansibleTree(list))
    assert.equal(list._meta.hostvars['192.16.35.12'].extra_server_args, '--disable traefik')
    const magic = await results.k3sMagic
    for (const h of inv.hostOrder) {
      const v = hostInventoryVars(inv, h)
      assert.deepEqual({ g: v.group_names, s: v.inventory_hostname_short }, { g: (magic[h] as any).g, s: (magic[h] as any).s })
    }
    const { groupsMap } = await import('../../src/inventory/index.js')
    assert.deepEqual(groupsMap(inv), (magic[inv.hostOrder[0]] as any).groups)
    assert.deepEqual(K3S_PATTERNS.map((p) => ours(inv, p)), await results.k3sPatterns)

    const ini = load([join(dir, 'k3s', 'hosts.ini')])
    const iniList = await results.k3sIniList
    assert.deepEqual(ourHostvars(ini), iniList._meta.hostvars)
    assert.deepEqual(groupTree(ini), ansibleTree(iniList))
  })

  it('reads a folder source like ansible (sorted, recursive, *.ini and *.txt skipped, group_vars beside the folder)', async () => {
    const d = new Diagnostics()
    const inv = loadInventory([join(dir, 'dirsrc')], d)
    assert.deepEqual(d.errors, [])
    const list = await results.dirList
    assert.deepEqual(ourHostvars(inv), list._meta.hostvars)
    assert.deepEqual(groupTree(inv), ansibleTree(list))
    assert.ok(d.warnings.some((w) => w.message.includes('03-ignored.ini skipped')))
  })

  it('treats "h1,h2:2222, h3 ," as a host list, as ansible does', async () => {
    const inv = load(['h1,h2:2222, h3 ,'])
    assert.deepEqual(['all', 'ungrouped', 'h2', 'h*'].map((p) => ours(inv, p)), await results.hostList)
    assert.equal(hostInventoryVars(inv, 'h2').ansible_port, 2222)
  })

  it('matches ansible on the patterns inventory variables and group tree', async () => {
    const inv = load([join(dir, 'patterns', 'inventory.yml')])
    const list = await results.patternsList
    assert.deepEqual(ourHostvars(inv), list._meta.hostvars)
    assert.deepEqual(groupTree(inv), ansibleTree(list))
  })
})
