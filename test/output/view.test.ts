// The terminal view, as an operator sees it: k3sbook runs in a real pseudo-terminal (script(1)),
// and what it wrote is fed to a terminal emulator (xterm.js, headless) to read the screen and the
// scrollback exactly as a terminal would show them. Lab hosts over SSH, plus hosts with
// `ansible_connection: local` to reach 150 hosts without 150 sshd.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import xterm from '@xterm/headless'
import { useLab, type LabInfo } from '../helpers/lab.js'
import { sshCommonArgs } from '../../src/lab/files.js'

const ROOT = join(import.meta.dirname, '../..')
const CLI = join(ROOT, 'bin/k3sbook.js')

/** Runs the CLI on a pseudo-terminal of the given size; `answer` is typed when the question shows. */
function ptyRun(args: string[], size: { rows: number; cols: number }, answer?: { when: string; text: string }): Promise<{ raw: string; code: number }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
  const cmd = `stty rows ${size.rows} cols ${size.cols}; exec ${quoted}`
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, env: { ...process.env, TERM: 'xterm-256color' }, stdio: ['pipe', 'pipe', 'pipe'] })
    let raw = ''
    child.stdout.on('data', (b: Buffer) => {
      raw += b.toString()
      if (answer && raw.includes(answer.when) && !child.stdin.writableEnded) child.stdin.end(answer.text)
    })
    child.stderr.on('data', (b: Buffer) => (raw += b.toString()))
    const t = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(t)
      resolve({ raw, code: code ?? 1 })
    })
  })
}

/** The terminal's scrollback and screen after `raw`, one string per row, as xterm.js draws it. */
async function screen(raw: string, size: { rows: number; cols: number }): Promise<string[]> {
  const term = new xterm.Terminal({ rows: size.rows, cols: size.cols, scrollback: 100_000, allowProposedApi: true })
  // script(1) turns \n into \r\n already; the emulator must not add a second carriage return
  await new Promise<void>((r) => term.write(raw, r))
  const buf = term.buffer.active
  const rows: string[] = []
  for (let i = 0; i < buf.length; i++) {
    const line = buf.getLine(i)
    // a row continued from the previous one (a long line wrapped) is joined back
    if (line?.isWrapped && rows.length) rows[rows.length - 1] += line.translateToString(true)
    else rows.push(line?.translateToString(true) ?? '')
  }
  term.dispose()
  return rows
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')

function inventory(lab: LabInfo, locals: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-view-'))
  const file = join(dir, 'inventory.yml')
  const doc = {
    all: {
      children: {
        lab: {
          hosts: Object.fromEntries(lab.hosts.map((h) => [h.name, { ansible_host: h.address }])),
          vars: { ansible_user: 'root', ansible_ssh_private_key_file: lab.keyPath, ansible_ssh_common_args: sshCommonArgs(lab.knownHostsPath) },
        },
        local: { hosts: Object.fromEntries(locals.map((h) => [h, {}])), vars: { ansible_connection: 'local' } },
      },
    },
  }
  writeFileSync(file, stringify(doc))
  return file
}

test('150 hosts in a 30-row terminal: the play collapses to counts, failed and slow hosts; no line lost or duplicated', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'v150' })
  const [slowHost, sshFailed] = lab.hosts.map((h) => h.name)
  const locals = Array.from({ length: 148 }, (_, i) => `n${String(i + 1).padStart(3, '0')}`)
  const inv = inventory(lab, locals)
  const dir = join(inv, '..')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const pb = join(dir, 'view.yml')
  writeFileSync(
    pb,
    stringify([
      {
        name: 'View',
        hosts: 'all',
        gather_facts: false,
        tasks: [
          { name: 'Touch a marker', command: 'true' },
          {
            name: 'Fail on two hosts',
            shell: 'echo out-line-1; echo out-line-2; echo err-line >&2; exit 3',
            when: `inventory_hostname in ['n007', '${sshFailed}']`,
          },
          { name: 'Slow on one host', command: 'sleep 5', when: `inventory_hostname == '${slowHost}'`, changed_when: false },
          { name: 'Fine', command: 'true', changed_when: false },
        ],
      },
    ]),
  )
  const size = { rows: 30, cols: 160 }
  const { raw, code } = await ptyRun(['run', pb, '-i', inv, '--forks', '50'], size)
  assert.equal(code, 2, strip(raw).slice(-3000))
  const rows = await screen(raw, size)
  const count = (re: RegExp) => rows.filter((r) => re.test(r)).length
  assert.equal(count(/^PLAY \[View\]/), 1, 'the play title once')
  // the live block, in its final frame, once: never a stale frame left in the scrollback
  assert.equal(count(/150 hosts\s+ok=\d+ changed=\d+/), 1, rows.join('\n'))
  assert.equal(count(/✖ n007: Fail on two hosts/), 1)
  assert.equal(count(new RegExp(`✖ ${sshFailed}: Fail on two hosts`)), 1)
  // no host has a live line of its own: 150 lines would not fit 30 rows
  assert.equal(count(/^\s*\S?\s*n\d{3}\s+ok=\d+ changed=/), 0)
  // the slow host was shown while it ran (the block is redrawn as time passes)
  assert.match(strip(raw), new RegExp(`⏳ ${slowHost}: Slow on one host for \\d+s`))
  // after the play: which tasks changed on which hosts (all 150 changed the marker), then the failures
  const changedAt = rows.findIndex((r) => r === 'Changed:')
  assert.ok(changedAt > 0, 'a Changed: section after the play')
  const changedLine = rows[changedAt + 1]
  for (const h of [...locals, ...lab.hosts.map((x) => x.name)]) assert.ok(changedLine.includes(h), `${h} in the changed list`)
  assert.match(changedLine, /: Touch a marker$/)
  const failure = rows.slice(rows.findIndex((r) => r.startsWith('FAILED: n007')))
  assert.match(failure.join('\n'), /command: echo out-line-1; echo out-line-2; echo err-line >&2; exit 3 \(exit 3\)/)
  assert.match(failure.join('\n'), /stdout \(last lines\): out-line-1\n\s+out-line-2/)
  assert.match(failure.join('\n'), /stderr: err-line/)
  // the recap: every host exactly once
  const recap = rows.slice(rows.indexOf('PLAY RECAP') + 1).filter((r) => / : ok=/.test(r))
  assert.equal(recap.length, 150)
  assert.equal(new Set(recap.map((r) => r.split(/\s+/)[0])).size, 150)
})

test('a failed host stops at its failure while the others go on; --confirm shows the changes and diffs before asking', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'vtty' })
  const [a, b] = lab.hosts.map((h) => h.name)
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-view-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const pb = join(dir, 'fail.yml')
  writeFileSync(
    pb,
    stringify([
      {
        name: 'Stop early',
        hosts: 'all',
        gather_facts: false,
        tasks: [
          { name: 'Fail on one host', command: 'false', when: `inventory_hostname == '${a}'` },
          { name: 'Sleep on the other', command: 'sleep 3', changed_when: false },
          { name: 'Write a file', copy: { content: 'v1\n', dest: '/opt/view.txt' } },
        ],
      },
    ]),
  )
  const size = { rows: 40, cols: 160 }
  const { raw, code } = await ptyRun(['run', pb, '-i', lab.inventoryPath], size)
  assert.equal(code, 2, strip(raw).slice(-2000))
  // a frame in which the failed host is drawn stopped (✖) while the other still runs its task
  const frames = raw.split('\x1b[G').map(strip)
  assert.ok(
    frames.some(
      (f) =>
        new RegExp(`✖ ${a}\\s+ok=0 changed=0 failed=1\\s+✖ stopped at Fail on one host`).test(f) &&
        new RegExp(`${b}\\s+ok=\\d+ changed=\\d+\\s+▸ Sleep on the other`).test(f),
    ),
    'no frame shows the failed host stopped while the other sleeps',
  )
  const rows = await screen(raw, size)
  assert.ok(rows.some((r) => r === 'Changed:'))
  assert.ok(rows.some((r) => r === `  ${b}: Write a file`))
  assert.ok(!rows.some((r) => r.startsWith(`  ${a}`) && r.includes('Write a file')))

  // --confirm in a terminal: the check pass lists what would change and the diff, then asks
  const pb2 = join(dir, 'confirm.yml')
  writeFileSync(
    pb2,
    stringify([{ name: 'Confirm', hosts: 'all', gather_facts: false, tasks: [{ name: 'Write v2', copy: { content: 'v2\n', dest: '/opt/view2.txt' } }] }]),
  )
  const asked = await ptyRun(['run', pb2, '-i', lab.inventoryPath, '--confirm'], size, { when: 'Apply these changes?', text: 'n\n' })
  const text = strip(asked.raw)
  const question = text.indexOf('Apply these changes?')
  assert.ok(question > 0, text)
  const before = text.slice(0, question)
  assert.match(before, /Would change:\s+\S+, \S+: Write v2/)
  assert.match(before, /\+v2/, 'the diff is shown before the question')
  assert.match(text, /aborted: nothing was changed/)
})

test('-v says why a task was skipped; plain failures show the command, exit code and the tail of stdout; JSON says when a host leaves the play', async (t) => {
  const lab = await useLab(t, { hosts: 2, tag: 'vpl' })
  const [a] = lab.hosts.map((h) => h.name)
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-view-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const pb = join(dir, 'plain.yml')
  writeFileSync(
    pb,
    stringify([
      {
        name: 'Plain',
        hosts: 'all',
        gather_facts: false,
        tasks: [
          { name: 'Only on the first', command: 'true', when: `inventory_hostname == '${a}'` },
          {
            name: 'Rescued here',
            block: [{ name: 'Fails inside', command: 'false' }],
            rescue: [{ name: 'Rescue', debug: { msg: 'rescued' } }],
          },
          { name: 'Fails with output', shell: 'printf "one\\ntwo\\nthree\\n"; exit 4', when: `inventory_hostname == '${a}'` },
        ],
      },
    ]),
  )
  const run = (args: string[]) =>
    new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'run', pb, '-i', lab.inventoryPath, ...args], { cwd: ROOT })
      let out = ''
      child.stdout.on('data', (b: Buffer) => (out += b.toString()))
      child.on('close', () => resolve(out))
    })
  const plain = await run(['--output', 'plain', '-v'])
  assert.match(plain, new RegExp(`skipped\\s+\\S+  Only on the first .*\\n\\s+skipped: the condition "inventory_hostname == '${a}'" was false`))
  assert.match(plain, /command: printf "one\\ntwo\\nthree\\n"; exit 4 \(exit 4\)/)
  assert.match(plain, /stdout \(last lines\): one\n\s+two\n\s+three/)
  const events = (await run(['--output', 'json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const ends = events.filter((e) => e.type === 'host:end')
  // the rescued failure ends no host; the failure with nothing to rescue ends the first host, once
  assert.deepEqual(
    ends.map((e) => [e.host, e.status]),
    [[a, 'failed']],
  )
  const endAt = events.findIndex((e) => e.type === 'host:end')
  const failAt = events.findIndex((e) => e.type === 'host:result' && e.task === 'Fails with output' && e.host === a)
  assert.ok(failAt >= 0 && endAt > failAt, 'host:end follows the failure')
})
