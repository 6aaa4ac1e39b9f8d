// k3sbook's facts against Ansible's, on the same systemd lab host: Ansible's `setup` module (run by
// Debian's ansible-playbook) and k3sbook's `setup` task (its facts written to a file by the
// playbook). Every fact both give must have the same type and value, but for the few that change
// between two reads (listed below with why); the facts Ansible has and k3sbook lacks are printed
// as a note.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../../helpers/lab.js'
import { run, sh, statuses } from '../../executor/helpers.js'
import { ansibleEnv } from '../../helpers/ansible.js'

const execFileP = promisify(execFile)
const PLAYBOOK = join(import.meta.dirname, '../../fixtures/facts-setup/site.yml')

type Facts = Record<string, unknown>

const SUBSETS = ['!all,!min,hardware', '!all,!min,network', '!all', '!all,!min,loadavg,user']

/**
 * Ansible's setup module on the host, run by Debian's ansible-playbook: once with no arguments,
 * then once per gather_subset in SUBSETS, in one playbook (one run, not five `ansible -m setup`:
 * the same module calls, without four more controller start-ups). Their ansible_facts, in order.
 */
async function ansibleSetups(inventory: string, host: string): Promise<{ all: Facts; subsets: Facts[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'k3sbook-facts-'))
  try {
    const playbook = join(dir, 'setup.yml')
    await writeFile(
      playbook,
      JSON.stringify([
        {
          hosts: host,
          gather_facts: false,
          tasks: [{ name: 'all', setup: null }, ...SUBSETS.map((subset) => ({ name: subset, setup: { gather_subset: subset } }))],
        },
      ]),
    )
    const { stdout } = await execFileP('ansible-playbook', ['-i', inventory, playbook], {
      env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
      maxBuffer: 64 * 1024 * 1024,
    })
    const tasks = JSON.parse(stdout.slice(stdout.indexOf('{'))).plays[0].tasks as { task: { name: string }; hosts: Record<string, { ansible_facts: Facts }> }[]
    assert.deepEqual(
      tasks.map((t) => t.task.name),
      ['all', ...SUBSETS],
    )
    const facts = tasks.map((t) => t.hosts[host].ansible_facts)
    return { all: facts[0], subsets: facts.slice(1) }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const keys = (v: unknown) => Object.keys(v as object).sort()

/**
 * The facts that change between Ansible's read and k3sbook's (a second or more apart), compared
 * for what does not change; the rest are compared whole.
 */
const VOLATILE: Record<string, (mine: unknown, theirs: unknown) => void> = {
  // the clock moves: the same fields, the same zone
  ansible_date_time: (a, b) => {
    const x = a as Record<string, string>
    const y = b as Record<string, string>
    assert.deepEqual(keys(x), keys(y))
    for (const k of ['tz', 'tz_dst', 'tz_offset']) assert.equal(x[k], y[k], k)
    for (const k of keys(x)) assert.equal(typeof x[k], 'string', k)
    assert.ok(Math.abs(Number(x.epoch) - Number(y.epoch)) < 900, 'epoch')
  },
  // uptime moves on
  ansible_uptime_seconds: (a, b) => assert.ok(typeof a === 'number' && Math.abs(a - (b as number)) < 900, `${a} vs ${b}`),
  // free memory and load change with what the (shared) machine does
  ansible_memfree_mb: (a, b) => assert.equal(typeof a, typeof b),
  ansible_memory_mb: (a, b) => {
    const x = a as Record<string, Record<string, number>>
    const y = b as Record<string, Record<string, number>>
    assert.deepEqual(keys(x), keys(y))
    for (const k of keys(x)) assert.deepEqual(keys(x[k]), keys(y[k]), k)
    assert.equal(x.real.total, y.real.total)
    assert.equal(x.swap.total, y.swap.total)
  },
  // os.getloadavg() gives the kernel's fixed-point values, /proc/loadavg two decimals; and it moves
  ansible_loadavg: (a, b) => {
    assert.deepEqual(keys(a), keys(b))
    for (const v of Object.values(a as object)) assert.equal(typeof v, 'number')
  },
  // Ansible's order is that of a Python set (it goes through one): the same names
  ansible_interfaces: (a, b) => assert.deepEqual([...(a as string[])].sort(), [...(b as string[])].sort()),
  // the environment of each tool's own SSH session: the client's source port (SSH_CLIENT,
  // SSH_CONNECTION), a tty Ansible may ask for (SSH_TTY), the program the shell ran (_) and the
  // locale the client forwards (LANG, LC_*) are per connection; the rest must be the same
  ansible_env: (a, b) => {
    const drop = (e: unknown) =>
      Object.fromEntries(
        Object.entries(e as object).filter(([k]) => !['SSH_CLIENT', 'SSH_CONNECTION', 'SSH_TTY', '_', 'LANG'].includes(k) && !k.startsWith('LC_')),
      )
    assert.deepEqual(drop(a), drop(b))
  },
}

describe('facts against ansible setup', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'facts', init: 'systemd' })
  })
  after(() => lab?.stop())

  test("every fact both tools give is Ansible's, in type and value (the volatile ones as documented)", async () => {
    const host = lab.hosts[0]
    const oracle = await ansibleSetups(lab.inventoryPath, host.name)
    const theirs = oracle.all
    const r = await run(PLAYBOOK, [lab.inventoryPath])
    assert.deepEqual(Object.fromEntries(statuses(r, host.name)), {
      Gather: 'ok',
      Subsets: 'ok',
      Record: 'changed',
      'Gathering Facts': 'ok',
      'IPv6 facts as k3s-ansible reads them': 'ok',
    })
    const recorded = JSON.parse(await sh(lab, host.index, 'cat /opt/k3sbook-facts.json')) as { all: Facts; subsets: Facts[] }
    const mine = recorded.all

    // the facts k3s-ansible and roles commonly test must be there
    for (const k of [
      'ansible_all_ipv6_addresses',
      'ansible_default_ipv6',
      'ansible_eth0',
      'ansible_lo',
      'ansible_mounts',
      'ansible_memory_mb',
      'ansible_date_time',
      'ansible_lsb',
      'ansible_pkg_mgr',
      'ansible_env',
      'ansible_dns',
      'ansible_processor',
    ])
      assert.ok(k in mine, `k3sbook gives ${k}`)
    const failures: string[] = []
    for (const k of Object.keys(theirs).sort()) {
      if (!(k in mine)) continue
      try {
        if (VOLATILE[k]) VOLATILE[k](mine[k], theirs[k])
        else assert.deepStrictEqual(mine[k], theirs[k])
      } catch (e) {
        failures.push(
          `${k}: k3sbook ${JSON.stringify(mine[k])?.slice(0, 300)}\n   ansible ${JSON.stringify(theirs[k])?.slice(0, 300)}\n   ${(e as Error).message.split('\n')[0]}`,
        )
      }
    }
    assert.deepEqual(failures, [], failures.join('\n'))
    const lacking = Object.keys(theirs).filter((k) => !(k in mine))
    const extra = Object.keys(mine).filter((k) => !(k in theirs))
    console.log(`note: facts Ansible gives that k3sbook lacks (${lacking.length}): ${lacking.join(', ')}`)
    if (extra.length) console.log(`note: facts k3sbook gives that Ansible did not here: ${extra.join(', ')}`)
    assert.ok(Object.keys(theirs).length - lacking.length > 80, `most facts compared (${Object.keys(theirs).length - lacking.length})`)

    // gather_subset picks the same facts (each fact in Ansible's collector), but for those k3sbook lacks
    for (const [i, subset] of SUBSETS.entries()) {
      const want = Object.keys(oracle.subsets[i])
        .filter((k) => !lacking.includes(k))
        .sort()
      assert.deepEqual(Object.keys(recorded.subsets[i]).sort(), want, subset)
    }
  })
})
