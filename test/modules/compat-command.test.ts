// command's behaviours found by Ansible's own integration targets (test/compat), held in the normal
// suite. Ansible's command execs argv itself: a program that is not there is Python's OSError, a
// failed result with rc 2, empty stdout/stderr and "[Errno 2] No such file or directory: b'…'"
// (command_nonexisting), not a shell's "not found" with rc 127.
// chdir is the physical directory (Python os.chdir), so a shell's $PWD has symlinks resolved.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { commandResult, commandScript } from '../../src/modules/command.js'
import type { Plan, Step, StepResult } from '../../src/modules/types.js'

function runLocally(argv: string[]) {
  const script = commandScript({ argv })
  const r = spawnSync('/bin/sh', ['-c', script])
  const step = { describe: argv.join(' '), script } as Step
  const res = { rc: r.status ?? 1, stdout: r.stdout, stderr: r.stderr, step, durationMs: 1 } as StepResult
  const plan: Plan = { status: 'change', changes: [], steps: [step], result: { cmd: argv } }
  return commandResult(plan, [res], {}, false)
}

describe('command as Ansible runs it', () => {
  it('a program not found is errno 2 with empty output, not the shell 127', () => {
    const r = runLocally(['commandthatdoesnotexist', '--would-be-awkward'])
    assert.equal(r.rc, 2)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, '')
    assert.equal(r.failed, true)
    assert.equal(r.changed, false)
    assert.equal(r.msg, "[Errno 2] No such file or directory: b'commandthatdoesnotexist'")
    assert.equal(runLocally(['/nonexistent/prog']).rc, 2)
  })
  it('programs on PATH and by path still run (builtins are not programs)', () => {
    assert.equal(runLocally(['echo', 'hi']).stdout, 'hi')
    assert.equal(runLocally(['/bin/echo', 'hi']).stdout, 'hi')
    assert.equal(runLocally(['cd', '/']).rc, 2)
  })
})

describe('chdir as Ansible does it (command_shell target)', () => {
  it('is the physical directory: a shell sees $PWD with symlinks resolved, as after Python os.chdir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k3sbook-chdir-'))
    try {
      mkdirSync(join(dir, 'www_root/site'), { recursive: true })
      symlinkSync(join(dir, 'www_root'), join(dir, 'www'))
      const r = spawnSync('/bin/sh', ['-c', commandScript({ shellCmd: 'dirname "$PWD"', chdir: join(dir, 'www/site') })])
      assert.equal(r.stdout.toString().trim(), join(realpathSync(dir), 'www_root'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
