// The executor against real sshd lab hosts: every core module, twice (the second run changes
// nothing), check mode predicting the real run and changing nothing, --limit, a host dying mid-run,
// and the same playbook under Debian's ansible-playbook giving the same statuses and files.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { stopSshd } from '../../src/lab/index.js'
import { changedTasks, fingerprint, run, sh, statuses } from './helpers.js'
import { ansibleEnv } from '../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../fixtures/e2e/all-modules.yml')
const execFileP = promisify(execFile)

describe('core modules on 5 lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 5, tag: 'exec' })
  })
  after(() => lab?.stop())

  test('check predicts the real run and changes nothing; the second run changes nothing', async () => {
    const hosts = lab.hosts.map((h) => h.name)
    const before = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))

    const check = await run(PLAYBOOK, [lab.inventoryPath], { check: true, diff: true })
    assert.equal(check.summary.failed, false, JSON.stringify(check.results.filter((r) => r.status === 'failed')))
    const afterCheck = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))
    assert.deepEqual(afterCheck, before, 'check mode changed a host')
    // diffs are there for file content
    assert.ok(check.results.some((r) => r.task === 'Config from a template' && r.diff?.[0]?.after.includes('listen = 0.0.0.0:8080')))

    const first = await run(PLAYBOOK, [lab.inventoryPath])
    assert.equal(first.summary.exitCode, 0)
    for (const h of hosts) {
      // Every change the run made was predicted; what check could not know (what reads the output of
      // a read-only command that ran, with check_mode: false, before the files it reads were
      // written) is reported as unknown, never as ok.
      const predicted = check.results.filter((e) => e.host === h && e.status === 'changed').map((e) => (e.handler ? 'handler: ' : '') + e.task)
      const unknown = check.results.filter((e) => e.host === h && e.status === 'unknown').map((e) => e.task)
      assert.deepEqual(unknown, ['Remember facts', 'Check what we learned', 'Say it'], `unknown in check on ${h}`)
      assert.deepEqual(
        changedTasks(first, h).filter((t) => !unknown.includes(t)),
        predicted,
        `check's prediction for ${h}`,
      )
      assert.equal(first.summary.recap[h].rescued, 1)
      assert.equal(first.summary.recap[h].failed, 0)
    }
    assert.ok(changedTasks(first, hosts[0]).includes('handler: app config changed'))

    const second = await run(PLAYBOOK, [lab.inventoryPath])
    for (const h of hosts) assert.equal(second.summary.recap[h].changed, 0, `second run changed on ${h}: ${changedTasks(second, h)}`)

    const recheck = await run(PLAYBOOK, [lab.inventoryPath], { check: true })
    for (const h of hosts) assert.equal(recheck.summary.recap[h].changed, 0, `check after convergence on ${h}: ${changedTasks(recheck, h)}`)

    // what the modules wrote
    const conf = await sh(
      lab,
      1,
      'stat -c "%a %U" /opt/k3sbook-e2e/app.conf; cat /opt/k3sbook-e2e/app.conf; readlink /opt/k3sbook-e2e/current.conf; cat /opt/k3sbook-e2e/settings',
    )
    assert.match(
      conf,
      /^640 root\n# app config for exec-[a-z0-9-]+-1\nlisten = 0\.0\.0\.0:8080\nuser alice\nuser bob\n\/opt\/k3sbook-e2e\/app\.conf\nlog_level=info\n# BEGIN ANSIBLE MANAGED BLOCK\nuser=alice\nuser=bob\n# END ANSIBLE MANAGED BLOCK\n$/,
    )
  })

  test('--limit touches only the matched hosts', async () => {
    const pb = join(import.meta.dirname, '../fixtures/e2e/limit.yml')
    const before = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))
    const r = await run(pb, [lab.inventoryPath], { limit: `${lab.hosts[1].name}:${lab.hosts[3].name}` })
    assert.equal(r.summary.exitCode, 0)
    assert.deepEqual(Object.keys(r.summary.recap).sort(), [lab.hosts[1].name, lab.hosts[3].name].sort())
    const afterRun = await Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))
    lab.hosts.forEach((h, i) => {
      if (i === 1 || i === 3) assert.notEqual(afterRun[i], before[i], `${h.name} should have changed`)
      else assert.equal(afterRun[i], before[i], `${h.name} is outside --limit but changed`)
    })
  })

  test('a host whose sshd dies mid-run is unreachable and the others finish', async () => {
    const pb = join(import.meta.dirname, '../fixtures/e2e/slow.yml')
    const victim = lab.hosts[2]
    const running = run(pb, [lab.inventoryPath])
    await new Promise((r) => setTimeout(r, 1200))
    await stopSshd(lab, victim.index, { all: true })
    const r = await running
    assert.equal(r.summary.recap[victim.name].unreachable, 1)
    assert.equal(r.summary.exitCode, 4)
    const unreachable = r.results.find((e) => e.host === victim.name && e.status === 'unreachable')
    assert.ok(unreachable?.msg, 'the cause is reported')
    for (const h of lab.hosts.filter((x) => x !== victim)) {
      assert.equal(r.summary.recap[h.name].unreachable, 0)
      assert.equal(r.summary.recap[h.name].failed, 0)
      assert.equal(statuses(r, h.name).get('After the pause'), 'changed')
    }
  })
})

describe('differential against ansible-playbook', () => {
  let a: LabInfo & { stop(): Promise<void> }
  let b: LabInfo & { stop(): Promise<void> }
  before(async () => {
    ;[a, b] = await Promise.all([startLab({ hosts: 2, tag: 'kb' }), startLab({ hosts: 2, tag: 'ans' })])
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
  })

  async function ansible(inventory: string): Promise<Map<string, Map<string, string>>> {
    const { stdout } = await execFileP('ansible-playbook', ['-i', inventory, PLAYBOOK], {
      env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
      maxBuffer: 64 * 1024 * 1024,
    }).catch((e: { stdout: string }) => e)
    const out = JSON.parse(stdout.slice(stdout.indexOf('{')))
    const byHost = new Map<string, Map<string, string>>()
    for (const play of out.plays) {
      for (const t of play.tasks) {
        for (const [host, res] of Object.entries<Record<string, unknown>>(t.hosts)) {
          if (t.task.name === 'Handlers now') continue
          const status = res.failed ? 'failed' : res.skipped ? 'skipped' : res.changed ? 'changed' : 'ok'
          const m = byHost.get(host) ?? new Map()
          const name = (t.task.name as string) === 'app config changed' ? 'handler: app config changed' : t.task.name
          m.set(name, status)
          byHost.set(host, m)
        }
      }
    }
    return byHost
  }

  async function files(lab: LabInfo, host: number): Promise<string> {
    const out = await sh(
      lab,
      host,
      'cd /opt/k3sbook-e2e && for f in $(ls -A | sort); do printf "%s %s " "$f" "$(stat -c %a "$f")"; if [ -L "$f" ]; then readlink "$f"; else sha256sum < "$f" | cut -c1-16; fi; done',
    )
    return out
  }

  test('same per-task statuses, first run and re-run, and the same files', async () => {
    for (const pass of ['first', 'second']) {
      const ours = await run(PLAYBOOK, [a.inventoryPath])
      const theirs = await ansible(b.inventoryPath)
      for (let i = 0; i < 2; i++) {
        const mine = statuses(ours, a.hosts[i].name)
        const ref = theirs.get(b.hosts[i].name)!
        assert.deepEqual(Object.fromEntries(mine), Object.fromEntries(ref), `${pass} run, host ${i + 1}`)
      }
    }
    for (let i = 1; i <= 2; i++) {
      const mine = (await files(a, i)).replaceAll(a.name, 'LAB')
      const ref = (await files(b, i)).replaceAll(b.name, 'LAB')
      // app.conf names its host: compare it after normalising the lab name
      const conf = await sh(a, i, 'cat /opt/k3sbook-e2e/app.conf')
      const confRef = await sh(b, i, 'cat /opt/k3sbook-e2e/app.conf')
      assert.equal(conf.replaceAll(a.name, 'LAB'), confRef.replaceAll(b.name, 'LAB'))
      assert.deepEqual(strip(mine, 'app.conf'), strip(ref, 'app.conf'))
    }
  })
})

function strip(listing: string, name: string): string {
  return listing.replace(new RegExp(`${name} (\\d+) [0-9a-f]{16}`), `${name} $1`)
}

describe('control flow against ansible-playbook', () => {
  const CONTROL = join(import.meta.dirname, '../fixtures/e2e/control.yml')
  let a: LabInfo & { stop(): Promise<void> }
  let b: LabInfo & { stop(): Promise<void> }
  before(async () => {
    ;[a, b] = await Promise.all([startLab({ hosts: 3, tag: 'cfk' }), startLab({ hosts: 3, tag: 'cfa' })])
  })
  after(async () => {
    await a?.stop()
    await b?.stop()
  })

  async function ansibleRecap(inventory: string): Promise<Record<string, Record<string, number>>> {
    const { stdout } = await execFileP('ansible-playbook', ['-i', inventory, CONTROL], {
      env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
      maxBuffer: 64 * 1024 * 1024,
    }).catch((e: { stdout: string }) => e)
    return JSON.parse(stdout.slice(stdout.indexOf('{'))).stats
  }

  test('serial, run_once, delegate_to, until, ignore_errors, loop_control, failed_when and strategy free: same recap and files as Ansible, twice', async () => {
    for (const pass of ['first', 'second']) {
      const ours = await run(CONTROL, [a.inventoryPath])
      const theirs = await ansibleRecap(b.inventoryPath)
      for (let i = 0; i < 3; i++) {
        const mine = ours.summary.recap[a.hosts[i].name]
        const ref = theirs[b.hosts[i].name]
        for (const k of ['ok', 'changed', 'failed', 'skipped', 'ignored', 'unreachable'] as const)
          assert.equal(
            mine[k],
            ref[k === 'failed' ? 'failures' : k],
            `${pass} run, host ${i + 1}, ${k}: k3sbook ${JSON.stringify(mine)} ansible ${JSON.stringify(ref)}`,
          )
      }
    }
    for (let i = 1; i <= 3; i++) {
      const listing = (lab: LabInfo) =>
        sh(lab, i, 'cd /opt/k3sbook-ctl && for f in $(ls -A | sort); do printf "%s: " "$f"; cat "$f" | tr "\\n" " "; echo; done')
      assert.equal((await listing(a)).replaceAll(a.name, 'LAB'), (await listing(b)).replaceAll(b.name, 'LAB'), `files on host ${i}`)
    }
  })
})
