// Reporters: snapshots of the plain and JSON outputs for a fixed event stream (every status,
// a diff, a failure with command and stderr, a handler, a warning, the recap), and the listr2 view
// in a real pseudo-terminal on lab hosts, ending with the recap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { RunEvent } from '../../src/executor/events.js'
import { emptyCounts } from '../../src/executor/events.js'
import { PlainReporter } from '../../src/output/plain.js'
import { JsonReporter } from '../../src/output/json.js'
import { Redactor, visible } from '../../src/output/common.js'
import { useLab } from '../helpers/lab.js'

const SNAP = join(import.meta.dirname, 'snapshots')
const ROOT = join(import.meta.dirname, '../..')

function snapshot(name: string, actual: string): void {
  const file = join(SNAP, name)
  if (process.env.UPDATE_SNAPSHOTS === '1' || !existsSync(file)) writeFileSync(file, actual)
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept)`)
}

const pos = (line: number) => ({ file: 'roles/app/tasks/main.yml', line, col: 3 })
const recap = { web1: { ...emptyCounts(), ok: 4, changed: 2 }, web2: { ...emptyCounts(), ok: 2, failed: 1, skipped: 1 } }

const EVENTS: RunEvent[] = [
  { type: 'run:start', playbook: 'playbooks/app.yml', check: false, diff: true, time: '2026-01-01T00:00:00.000Z' },
  { type: 'play:start', play: 'App', hosts: ['web1', 'web2'], pos: { file: 'playbooks/app.yml', line: 1, col: 3 } },
  { type: 'task:start', play: 'App', task: 'Config', module: 'template', hosts: ['web1', 'web2'], pos: pos(1) },
  {
    type: 'host:result',
    play: 'App',
    task: 'Config',
    pos: pos(1),
    host: 'web1',
    status: 'changed',
    check: false,
    changes: ['content', 'mode 0644 → 0600'],
    diff: [{ path: '/etc/app.conf', before: 'port=1\nsecret=s3cr3t-value\n', after: 'port=2\nsecret=s3cr3t-value\n' }],
    durationMs: 12,
  },
  { type: 'host:result', play: 'App', task: 'Config', pos: pos(1), host: 'web2', status: 'ok', check: false, durationMs: 3 },
  { type: 'task:end', play: 'App', task: 'Config', durationMs: 14 },
  {
    type: 'host:result',
    play: 'App',
    task: 'Start',
    pos: pos(7),
    host: 'web2',
    status: 'failed',
    check: false,
    msg: 'start app: exit code 1',
    command: 'service app start',
    rc: 1,
    stderr: 'app: port in use',
    durationMs: 40,
  },
  { type: 'host:result', play: 'App', task: 'Optional', pos: pos(12), host: 'web2', status: 'skipped', check: false, durationMs: 0 },
  { type: 'warning', message: 'could not match supplied host pattern, ignoring: db', pos: { file: 'playbooks/app.yml', line: 2, col: 10 } },
  {
    type: 'host:result',
    play: 'App',
    task: 'restart app',
    pos: pos(20),
    host: 'web1',
    status: 'changed',
    check: false,
    handler: true,
    changes: ['restart app'],
    durationMs: 30,
  },
  { type: 'play:end', play: 'App', durationMs: 100 },
  { type: 'run:end', recap, durationMs: 1234, check: false, interrupted: false, roundTrips: { web1: 7, web2: 6 }, exitCode: 2 },
]

test('plain output: one line per host per task with status and position, diffs, failure details, recap', () => {
  let out = ''
  const r = new Redactor()
  r.add('s3cr3t-value')
  const rep = new PlainReporter((s) => (out += s), { diff: true, redactor: r })
  for (const e of EVENTS) rep.handle(e)
  assert.ok(!out.includes('s3cr3t-value'))
  snapshot('plain.txt', out)
})

test('JSON output: one parseable event per line, the documented contract, secrets redacted', () => {
  let out = ''
  const r = new Redactor()
  r.add('s3cr3t-value')
  const rep = new JsonReporter((s) => (out += s), r)
  for (const e of EVENTS) rep.handle(e)
  const lines = out.trim().split('\n')
  assert.equal(lines.length, EVENTS.length)
  const parsed = lines.map((l) => JSON.parse(l))
  assert.deepEqual(
    parsed.map((e) => e.type),
    EVENTS.map((e) => e.type),
  )
  assert.ok(!out.includes('s3cr3t-value'))
  snapshot('events.jsonl', out)
})

test('the listr2 view renders in a terminal and ends with the recap', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'tty' })
  const pb = join(ROOT, 'test/fixtures/e2e/limit.yml')
  const cmd = `${process.execPath} ${join(ROOT, 'bin/k3sbook.js')} run ${pb} -i ${lab.inventoryPath} --output tty`
  // script(1) gives the command a real pseudo-terminal, as a user's shell would
  const { stdout } = await promisify(execFile)('script', ['-qfec', cmd, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '120' },
    cwd: ROOT,
  })
  const plain = stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
  assert.match(plain, /PLAY \[Touch only limited hosts\]/)
  for (const h of lab.hosts) assert.match(plain, new RegExp(`${h.name}\\s+ok=1 changed=1`))
  assert.match(plain, /PLAY RECAP\r?\n/)
  assert.match(plain, /changed in \d+\.\d+s/)
  assert.ok(stdout.includes('\x1b['), 'drawn with terminal escapes (listr2), not plain lines')
})

test("visible(): a host's control characters are written as escapes, newlines and tabs kept, in linear time", () => {
  assert.equal(visible('a\tb\nc'), 'a\tb\nc')
  assert.equal(visible('ok\x1b[2K\rFAKE\x07'), 'ok^[[2K^MFAKE^G')
  assert.equal(visible('\x1b]52;c;cHduZWQ=\x07'), '^[]52;c;cHduZWQ=^G')
  assert.equal(visible('\x00\x7f\u009b\u202egnp.exe\u2066'), '^@^?<U+009B><U+202E>gnp.exe<U+2066>')
  assert.equal(visible('ünïcödé 漢字 ✔'), 'ünïcödé 漢字 ✔')
  const big = '\x1b'.repeat(1_000_000)
  const t0 = process.hrtime.bigint()
  assert.equal(visible(big).length, 2_000_000)
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000, 'linear')
})

test("a host's terminal escapes are shown, not obeyed, in plain lines and in the listr2 view", async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'esc' })
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-esc-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // erase the line and fake a success, set the title and the clipboard (OSC 52), a C1 CSI, a
  // right-to-left override: in a failure's stderr and stdout, and in a debug message
  const hostile = String.raw`printf 'ok line\033[2K\rFAKE ok\033]0;pwned\007\033]52;c;cHduZWQ=\007 \302\233 \342\200\256gnp.exe'`
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  gather_facts: false
  tasks:
    - shell: |
        ${hostile}
      register: r
    - debug: { msg: "{{ r.stdout }}" }
    - shell: |
        ${hostile} >&2; ${hostile}; exit 3
`,
  )
  const cli = `${process.execPath} ${join(ROOT, 'bin/k3sbook.js')} run ${join(dir, 'site.yml')} -i ${lab.inventoryPath}`
  const raw = ['\x1b]', '\x07', '\r', '\u009b', '\u202e']
  const plain = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'bin/k3sbook.js'), 'run', join(dir, 'site.yml'), '-i', lab.inventoryPath, '--output', 'plain'],
    {
      cwd: ROOT,
    },
  ).catch((e: { stdout: string; stderr: string }) => e)
  const text = plain.stdout + plain.stderr
  for (const c of [...raw, '\x1b']) assert.ok(!text.includes(c), `plain output holds ${JSON.stringify(c)}:\n${text}`)
  assert.match(text, /debug +\S+ +ok line\^\[\[2K\^MFAKE ok\^\[\]0;pwned\^G\^\[\]52;c;cHduZWQ=\^G <U\+009B> <U\+202E>gnp\.exe/)
  assert.match(text, /stderr: ok line\^\[\[2K\^MFAKE ok/)
  assert.match(text, /stdout \(last lines\): ok line\^\[\[2K\^MFAKE ok/)
  // the listr2 view draws with its own escapes; none of the host's arrives
  const { stdout } = await promisify(execFile)('script', ['-qfec', `${cli} --output tty; true`, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '200' },
    cwd: ROOT,
  })
  for (const c of ['\x1b]', '\x07', '\u009b', '\u202e']) assert.ok(!stdout.includes(c), `the terminal got ${JSON.stringify(c)}`)
  assert.ok(stdout.includes('^[]52;c;cHduZWQ=^G'), stdout)
})
