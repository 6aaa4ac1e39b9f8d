// The exit codes of `k3sbook check` and `k3sbook run --check` on a lab host, through the CLI
// (bin/k3sbook.js: dist/ when built, else src/ through tsx), as the README documents them:
// check exits 2 when anything would change or is unknown, 3 when a task fails, 0 when nothing
// would change; run --check exits as a run does (0 unless a task failed, 2, or a host was
// unreachable, 4). The check recap counts the unknowns.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { k3 } from '../helpers/bin.js'
import { sh } from '../executor/helpers.js'

const play = (tasks: string) => `- name: Exit codes
  hosts: lab
  gather_facts: false
  tasks:
${tasks}`

const WRITE = `    - name: A file
      copy:
        content: "exit codes\\n"
        dest: /etc/k3sbook-exit-test
        mode: "0644"
`
// The command is not run in check mode, so what the copy writes is unknown; the file exists, so
// whether it changes is unknown too.
const UNKNOWN = `    - name: A command's output
      command: hostname
      register: name_out
    - name: A file from it
      copy:
        content: "{{ name_out.stdout }}\\n"
        dest: /etc/k3sbook-exit-unknown
`
const FAIL = `    - name: A task that fails
      fail:
        msg: on purpose
`

describe('exit codes of check and run --check', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let d: string
  const pb = (name: string, text: string) => {
    const p = join(d, name)
    writeFileSync(p, text)
    return p
  }
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'chkexit' })
    d = mkdtempSync(join(tmpdir(), 'k3sbook-chkexit-'))
  })
  after(() => lab?.stop())

  test('something would change: check 2, run --check 0; nothing would: both 0', async () => {
    const p = pb('write.yml', play(WRITE))
    const inv = ['-i', lab.inventoryPath]
    const check = await k3(['check', p, ...inv, '--output', 'plain'])
    assert.equal(check.code, 2, check.stdout + check.stderr)
    assert.match(check.stdout, /unknown=0/)
    const runCheck = await k3(['run', '--check', p, ...inv, '--output', 'plain'])
    assert.equal(runCheck.code, 0, runCheck.stdout + runCheck.stderr)
    assert.equal(await sh(lab, lab.hosts[0].index, 'test -e /etc/k3sbook-exit-test && echo there || echo absent'), 'absent\n')
    const real = await k3(['run', p, ...inv, '--output', 'plain'])
    assert.equal(real.code, 0, real.stdout + real.stderr)
    assert.doesNotMatch(real.stdout, /unknown=/, 'a real run has no unknowns in its recap')
    assert.equal((await k3(['check', p, ...inv, '--output', 'plain'])).code, 0)
    assert.equal((await k3(['run', '--check', p, ...inv, '--output', 'plain'])).code, 0)
  })

  test('only an unknown: check 2 (a possible change), run --check 0, the recap counts it', async () => {
    await sh(lab, lab.hosts[0].index, 'echo old > /etc/k3sbook-exit-unknown')
    const p = pb('unknown.yml', play(UNKNOWN))
    const inv = ['-i', lab.inventoryPath]
    const check = await k3(['check', p, ...inv, '--output', 'plain'])
    assert.equal(check.code, 2, check.stdout + check.stderr)
    // the command would change (counted), the copy is unknown (counted as a possible change too)
    assert.match(check.stdout, /changed=2 .*unknown=1/)
    assert.match(check.stdout, /name_out(\.stdout)? is not known in check mode: .*is not run in check mode/)
    const runCheck = await k3(['run', '--check', p, ...inv, '--output', 'plain'])
    assert.equal(runCheck.code, 0, runCheck.stdout + runCheck.stderr)
    assert.match(runCheck.stdout, /unknown=1/)
  })

  test('a task fails: check 3, run --check 2', async () => {
    const p = pb('fail.yml', play(WRITE + FAIL))
    const inv = ['-i', lab.inventoryPath]
    const check = await k3(['check', p, ...inv, '--output', 'plain'])
    assert.equal(check.code, 3, check.stdout + check.stderr)
    const runCheck = await k3(['run', '--check', p, ...inv, '--output', 'plain'])
    assert.equal(runCheck.code, 2, runCheck.stdout + runCheck.stderr)
  })
})
