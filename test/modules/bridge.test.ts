// The module bridge on the lab, against Debian's ansible-playbook: modules k3sbook does not
// implement (community.general.alternatives, ansible.posix.authorized_key, a role's library/
// modules) run through Ansible's own module code over k3sbook's connection. The same playbook runs
// under both on two fresh labs, in check mode and for real, twice: equal statuses, equal hosts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { run, sh, statuses } from '../executor/helpers.js'
import { ansibleEnv } from '../helpers/ansible.js'

const PLAYBOOK = join(import.meta.dirname, '../fixtures/bridge/site.yml')
const execFileP = promisify(execFile)

/** Per host, task name → status, from ansible-playbook's json callback. */
async function ansible(inventory: string, args: string[] = []): Promise<Map<string, Map<string, string>>> {
  const { stdout } = await execFileP('ansible-playbook', ['-i', inventory, PLAYBOOK, ...args], {
    env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
    maxBuffer: 64 * 1024 * 1024,
  }).catch((e: { stdout: string }) => e)
  const out = JSON.parse(stdout.slice(stdout.indexOf('{')))
  const byHost = new Map<string, Map<string, string>>()
  for (const play of out.plays)
    for (const t of play.tasks)
      for (const [host, res] of Object.entries<Record<string, unknown>>(t.hosts)) {
        const status = res.failed ? 'failed' : res.skipped ? 'skipped' : res.changed ? 'changed' : 'ok'
        const m = byHost.get(host) ?? new Map<string, string>()
        m.set(String(t.task.name).replace(/^[\w.-]+ : /, ''), status)
        byHost.set(host, m)
      }
  return byHost
}

/** What the playbook manages on a host, read without SSH. */
function effects(lab: LabInfo, host: number): Promise<string> {
  return sh(
    lab,
    host,
    `for n in k3sbook-test k3sbook-bad; do echo "== $n"; update-alternatives --query $n 2>&1; done
     echo "== link"; readlink /usr/local/bin/k3sbook-test || true
     for f in /etc/k3sbook-bridge /etc/k3sbook-bridge/authorized_keys /etc/k3sbook-marker /etc/k3sbook-nocheck; do
       echo "== $f"; if [ -e "$f" ]; then stat -c '%F %a %U' "$f"; [ -f "$f" ] && cat "$f"; else echo absent; fi
     done`,
  )
}

describe('module bridge against ansible-playbook', () => {
  let k: LabInfo & { stop(): Promise<void> }
  let a: LabInfo & { stop(): Promise<void> }
  before(async () => {
    ;[k, a] = await Promise.all([startLab({ hosts: 1, tag: 'brk' }), startLab({ hosts: 1, tag: 'bra' })])
  })
  after(async () => {
    await k?.stop()
    await a?.stop()
  })

  test('check, run, run again: the same statuses and the same host as Ansible', async (t) => {
    const kh = k.hosts[0].name
    const ah = a.hosts[0].name
    const fresh = await effects(k, 1)
    assert.equal(fresh, await effects(a, 1))
    assert.match(fresh, /== \/etc\/k3sbook-marker\nabsent/)

    for (const [label, opts, args] of [
      ['check', { check: true, diff: true }, ['--check', '--diff']],
      ['run', {}, []],
      ['run again', {}, []],
      ['check after', { check: true }, ['--check']],
    ] as const) {
      let t0 = Date.now()
      const ours = await run(PLAYBOOK, [k.inventoryPath], opts)
      const oursMs = Date.now() - t0
      t0 = Date.now()
      const theirs = (await ansible(a.inventoryPath, [...args])).get(ah)
      t.diagnostic(`${label}: k3sbook ${oursMs} ms, ansible-playbook ${Date.now() - t0} ms, round trips ${JSON.stringify(ours.summary.roundTrips)}`)
      // one round trip per bridged task (6), whether checked or run; the asserts run on the controller
      assert.equal(ours.summary.roundTrips[kh], 6, `${label}: round trips`)
      assert.ok(theirs, `${label}: ansible-playbook gave no results`)
      assert.deepEqual(Object.fromEntries(statuses(ours, kh)), Object.fromEntries(theirs), label)
      assert.equal(await effects(k, 1), await effects(a, 1), `${label}: hosts differ`)
      if (label === 'check') assert.equal(await effects(k, 1), fresh, 'check mode changed the host')
    }
    const done = await effects(k, 1)
    assert.match(done, /== \/etc\/k3sbook-marker\nregular file 644 root\nhello/)
    assert.match(done, /Value: \/bin\/false\n\nAlternative: \/bin\/false\nPriority: 5\n\nAlternative: \/bin\/true\nPriority: 10/)
    assert.match(done, /no-pty ssh-ed25519 \S+ k3sbook-bridge/)
  })
})
