// command and shell: Ansible's registered shape, creates/removes, chdir, stdin, argv passed
// literally, variable expansion like Ansible's (expandvars, then expanduser), and the four ways.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { commandResult, shlexSplit, expandLikeAnsible } from '../../src/modules/command.js'
import { check, cleanup, Overlay, planOnly, run, tempDir, treeHash } from './harness.js'

test('shlexSplit is Python shlex.split (POSIX)', () => {
  assert.deepEqual(shlexSplit(`echo 'a b' "c \\"d\\"" e\\ f  g`), ['echo', 'a b', 'c "d"', 'e f', 'g'])
  assert.deepEqual(shlexSplit(`a "x\\ny" 'it''s'`), ['a', 'x\\ny', 'its'])
  assert.deepEqual(shlexSplit(`""`), [''])
  assert.throws(() => shlexSplit(`echo 'oops`), /No closing quotation/)
})

test('expandLikeAnsible follows os.path.expandvars then expanduser', () => {
  const env = { HOME: '/root', X: 'x', EMPTY: '' }
  assert.equal(expandLikeAnsible('$X-${X}-$NOPE-${NOPE}-$EMPTY.', env), 'x-x-$NOPE-${NOPE}-.')
  assert.equal(expandLikeAnsible('~/a', env), '/root/a')
  assert.equal(expandLikeAnsible('a~', env), 'a~')
  assert.equal(expandLikeAnsible('$(id)`id`', env), '$(id)`id`')
})

test('command: registered result has Ansible keys; non-zero rc fails with msg', async () => {
  const ok = await run('command', { _raw_params: `printf 'a\\nb\\n\\n'` })
  assert.equal(ok.result.rc, 0)
  assert.equal(ok.result.stdout, 'a\nb')
  assert.deepEqual(ok.result.stdout_lines, ['a', 'b'])
  assert.equal(ok.result.stderr, '')
  assert.deepEqual(ok.result.stderr_lines, [])
  assert.deepEqual(ok.result.cmd, ['printf', 'a\\nb\\n\\n'])
  assert.equal(ok.result.changed, true)
  assert.equal(ok.result.failed, false)
  assert.match(String(ok.result.start), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/)
  assert.match(String(ok.result.delta), /^0:00:0\d\.\d{6}$/)
  const bad = await run('command', { argv: ['sh', '-c', 'echo err >&2; exit 3'] })
  assert.equal(bad.result.rc, 3)
  assert.equal(bad.result.failed, true)
  assert.equal(bad.result.msg, 'non-zero return code')
  assert.equal(bad.result.stderr, 'err')
  const none = await planOnly('command', {})
  assert.deepEqual(none.status === 'fail' && none.msg, 'no command given')
})

test("command: `executable` is ignored with Ansible's warning in `warnings`; shell uses it without one", async () => {
  const c = await run('command', { _raw_params: 'ls /dev/null', executable: '/bogus' })
  assert.equal(c.result.stdout, '/dev/null')
  assert.deepEqual(c.result.warnings, ["As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '/bogus'."])
  const s = await run('shell', { _raw_params: 'echo hi', executable: '/bin/sh' })
  assert.equal(s.result.stdout, 'hi')
  assert.equal(s.result.warnings, undefined)
})

test('command: creates/removes make it ok with Ansible messages; four ways with a guarded command', async () => {
  const dir = await tempDir()
  try {
    const marker = join(dir, 'done')
    const args = { _raw_params: `touch ${marker}`, creates: marker }
    const h0 = await treeHash(dir)
    assert.equal((await planOnly('command', args)).status, 'change')
    assert.equal(await treeHash(dir), h0)
    const overlay = new Overlay()
    const c = await check('command', args, overlay)
    assert.equal(c.plan.status, 'change')
    // The executor registers a checked, unapplied plan as not run (tasks that read it are unknown;
    // no key of k3sbook's own in it); what the module would register in Ansible's words is its
    // result() without steps.
    assert.equal(c.result.changed, true)
    assert.equal(c.result.check_mode, undefined)
    assert.equal(commandResult(c.plan, undefined, args, false).msg, 'Command would have run if not in check mode')
    assert.equal(await treeHash(dir), h0)
    // A later task depending on the created path can't be predicted: unknown, with the reason.
    const later = await planOnly('command', { _raw_params: 'true', removes: marker }, { overlay })
    assert.equal(later.status, 'unknown')
    const r = await run('command', args)
    assert.equal(r.result.changed, true)
    const again = await run('command', args)
    assert.equal(again.plan.status, 'ok')
    assert.equal(again.result.changed, false)
    assert.equal(again.result.msg, `Did not run command since '${marker}' exists`)
    assert.equal(again.result.stdout, `skipped, since ${marker} exists`)
    const rm = await run('command', { _raw_params: 'true', removes: join(dir, 'nothing*') })
    assert.equal(rm.result.msg, `Did not run command since '${join(dir, 'nothing*')}' does not exist`)
    // globs, and relative paths under chdir
    await writeFile(join(dir, 'x.log'), '')
    assert.equal((await planOnly('command', { _raw_params: 'true', creates: '*.log', chdir: dir })).status, 'ok')
  } finally {
    await cleanup(dir)
  }
})

test('command: chdir, stdin (newline added unless told), strip_empty_ends, variable expansion', async () => {
  const dir = await tempDir()
  try {
    await mkdir(join(dir, 'w d'))
    assert.equal((await run('command', { _raw_params: 'pwd', chdir: join(dir, 'w d') })).result.stdout, join(dir, 'w d'))
    assert.equal((await run('command', { argv: ['wc', '-c'], stdin: 'hi' })).result.stdout, '3')
    assert.equal((await run('command', { argv: ['wc', '-c'], stdin: 'hi', stdin_add_newline: false })).result.stdout, '2')
    assert.equal((await run('command', { argv: ['printf', 'x\\n\\n'], strip_empty_ends: false })).result.stdout, 'x\n\n')
    assert.equal(
      (await run('command', { _raw_params: 'echo $HOME ~ "$NOPE_K3S" $(id)' })).result.stdout,
      `${process.env.HOME} ${process.env.HOME} $NOPE_K3S $(id)`,
    )
    const miss = await run('command', { _raw_params: 'true', chdir: join(dir, 'missing') })
    assert.equal(miss.result.failed, true)
    assert.match(String(miss.result.msg), /^Unable to change directory before execution/)
  } finally {
    await cleanup(dir)
  }
})

test('shell: pipes, executable, creates; argv joined like Ansible', async () => {
  const r = await run('shell', { _raw_params: 'echo one two | wc -w; echo e >&2' })
  assert.equal(r.result.stdout, '2')
  assert.equal(r.result.stderr, 'e')
  assert.equal(r.result.cmd, 'echo one two | wc -w; echo e >&2')
  const b = await run('shell', { cmd: 'echo ${BASH_VERSION:+bash}', executable: '/bin/bash' })
  assert.equal(b.result.stdout, 'bash')
  const f = await run('shell', { _raw_params: 'exit 7' })
  assert.equal(f.result.rc, 7)
  assert.equal(f.result.failed, true)
})
