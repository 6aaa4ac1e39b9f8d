// The common modules without a lab: their pure functions (expected values from Python 3's re and
// fnmatch, as Ansible runs them), include_vars and pause on the controller, and the four-way test
// for replace and find on this machine below a temp folder (LocalConnection).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LocalConnection } from '../../../src/connection/local.js'
import { Overlay } from '../../../src/executor/reader.js'
import type { Task } from '../../../src/model.js'
import { subn, replaceText, replaceModule } from '../../../src/modules/replace.js'
import { contentMatches, findModule, parseAge, parseSize, pfilter } from '../../../src/modules/find.js'
import { includeVarsModule } from '../../../src/modules/include_vars.js'
import { pauseModule } from '../../../src/modules/pause.js'
import { parseGetent } from '../../../src/modules/getent.js'
import { getModule } from '../../../src/modules/registry.js'
import { noController, runModule, tempDir } from '../provision/harness.js'
import { makeReader } from '../../../src/executor/reader.js'

const conn = new LocalConnection('testhost')

test('subn is Python re.subn with MULTILINE (empty matches, backreferences, $ before newlines)', () => {
  assert.deepEqual(subn('x*', '-', 'abxd'), ['-a-b--d-', 5])
  assert.deepEqual(subn('^a', 'A', 'a\nba\na'), ['A\nba\nA', 2])
  assert.deepEqual(subn('(\\w+)=(\\d+)$', '\\2=\\1', 'k=1\nj=22\n'), ['1=k\n22=j\n', 2])
  assert.deepEqual(subn('$', '!', 'a\nb\n'), ['a!\nb!\n!', 3])
  assert.deepEqual(subn('^$', 'E', 'a\n\nb\n'), ['a\nE\nb\nE', 2])
  assert.deepEqual(subn('b*', '<\\g<0>>', 'abbc'), ['<>a<bb><>c<>', 4])
  assert.deepEqual(subn('(?P<k>a)', '[\\g<k>]', 'aXa'), ['[a]X[a]', 2])
})

test('replaceText: only between after and before; a section pattern that does not match is a no-op with a message', () => {
  const text = 'a=1\n# start\na=2\n# end\na=3\n'
  assert.deepEqual(replaceText(text, { regexp: '^a', replace: 'A', after: '# start', before: '# end' }), {
    text: 'a=1\n# start\nA=2\n# end\na=3\n',
    count: 1,
    changed: true,
    msg: '1 replacements made',
  })
  assert.equal(replaceText(text, { regexp: '^a', replace: 'A', after: '# end' }).text, 'a=1\n# start\na=2\n# end\nA=3\n')
  assert.equal(replaceText(text, { regexp: '^a', replace: 'A', before: '# start' }).text, 'A=1\n# start\na=2\n# end\na=3\n')
  const none = replaceText(text, { regexp: 'a', after: 'NOPE' })
  assert.equal(none.changed, false)
  assert.equal(none.msg, 'Pattern for before/after params did not match the given file: NOPE(?P<subsection>.*)')
  // replacing a match by itself is no change (Ansible compares the text)
  assert.deepEqual(replaceText('a\n', { regexp: 'a', replace: 'a' }), { text: 'a\n', count: 1, changed: false, msg: '' })
})

test("find's filters: fnmatch and re.match on base names, age and size units, contains per line or whole file", () => {
  assert.equal(pfilter('.a.txt', ['*.txt'], [], false), true)
  assert.equal(pfilter('a.TXT', ['*.txt'], [], false), false)
  assert.equal(pfilter('a[1].txt', ['a[[]1].txt'], [], false), true)
  assert.equal(pfilter('b', ['[!a]'], [], false), true)
  assert.equal(pfilter('a.txt', ['*'], ['*.txt'], false), false)
  assert.equal(pfilter('two', ['^t'], [], true), true)
  assert.equal(pfilter('xtwo', ['t'], [], true), false, 're.match is anchored at the start')
  assert.equal(parseAge('2d'), 172800)
  assert.equal(parseAge('-1w'), -604800)
  assert.equal(parseSize('10k'), 10240)
  assert.equal(parseSize('-5'), -5)
  assert.throws(() => parseSize('10x'), /failed to process size/)
  assert.equal(contentMatches('first\nneedle here\n', 'needle', false), true)
  assert.equal(contentMatches('first\na needle\n', 'needle', false), false, 'per line: re.match from the line start')
  assert.equal(contentMatches('first\na needle\n', 'needle', true), true)
})

test('parseGetent: one key per line, a key seen twice becomes a list of records', () => {
  assert.deepEqual(parseGetent('root:x:0:0:root:/root:/bin/bash\n', ':'), { root: ['x', '0', '0', 'root', '/root', '/bin/bash'] })
  assert.deepEqual(parseGetent('127.0.0.1 localhost\n127.0.0.1 other\n', undefined), { '127.0.0.1': [['localhost'], ['other']] })
})

function fakeTask(baseDir: string, rolePath?: string): Task {
  return {
    kind: 'task',
    module: 'include_vars',
    moduleKey: 'include_vars',
    args: {},
    when: [],
    tags: [],
    vars: {},
    notify: [],
    baseDir,
    role: rolePath ? { name: 'r', path: rolePath, defaults: {}, vars: {}, params: {} } : undefined,
  } as unknown as Task
}

test("include_vars: a role's vars/ first, directories walked in sorted order, name and files_matching, errors as failures", async (t) => {
  const d = await tempDir(t)
  const role = join(d, 'roles/r')
  await mkdir(join(role, 'vars/os/deeper'), { recursive: true })
  await writeFile(join(role, 'vars/main.yml'), 'main_only: 1\n')
  await writeFile(join(role, 'vars/debian.yml'), 'pkg: apt\n')
  await writeFile(join(d, 'debian.yml'), 'pkg: wrong-one\n')
  await writeFile(join(role, 'vars/os/b.yml'), 'x: b\n')
  await writeFile(join(role, 'vars/os/a.yml'), 'x: a\nonly_a: true\n')
  await writeFile(join(role, 'vars/os/deeper/c.json'), '{"x": "c"}')
  await writeFile(join(role, 'vars/os/notes.txt'), 'not yaml: [')
  await writeFile(join(role, 'vars/list.yml'), '- 1\n- 2\n')
  const ctx = { host: 'h', vars: { playbook_dir: d }, reader: makeReader(conn), diff: false, controller: noController, task: fakeTask(d, role) }
  const plan = (args: Record<string, unknown>) => includeVarsModule.plan(args, ctx)

  const one = await plan({ _raw_params: 'debian.yml' })
  assert.equal(one.status, 'ok')
  assert.deepEqual((one as any).result.ansible_facts, { pkg: 'apt' })
  assert.deepEqual((one as any).result.ansible_included_var_files, [join(role, 'vars/debian.yml')])

  const dir = await plan({ dir: 'os', ignore_unknown_extensions: true })
  assert.equal(dir.status, 'ok', JSON.stringify(dir))
  assert.deepEqual((dir as any).result.ansible_facts, { x: 'c', only_a: true }, 'a, b, then deeper/c: the last file wins')
  const named = await plan({ dir: 'os', name: 'os_vars', files_matching: '^[ab]' })
  assert.deepEqual((named as any).result.ansible_facts, { os_vars: { x: 'b', only_a: true } })
  const depth1 = await plan({ dir: 'os', depth: 1, ignore_files: ['notes.txt'] })
  assert.deepEqual((depth1 as any).result.ansible_facts, { x: 'b', only_a: true })

  const bad = await plan({ dir: 'os' })
  assert.equal(bad.status, 'fail')
  assert.match((bad as any).msg, /notes\.txt does not have a valid extension: yaml, yml, json/)
  const list = await plan({ file: 'list.yml' })
  assert.equal(list.status, 'fail')
  assert.match((list as any).msg, /must be stored as a dictionary\/hash/)
  const missing = await plan({ file: 'nope.yml' })
  assert.equal(missing.status, 'fail')
  assert.match((missing as any).msg, /Could not find or access 'nope.yml'/)
  const mixed = await plan({ file: 'debian.yml', depth: 1 })
  assert.equal((mixed as any).msg, 'You are mixing file only and dir only arguments, these are incompatible')
  assert.ok(getModule('include_vars')!.controllerOnly && getModule('ansible.builtin.include_vars')!.namesAtRun)
})

test('pause: waits the seconds it is given (on a timer); without a duration it warns and goes on', async () => {
  const t0 = Date.now()
  const p = await pauseModule.plan({ seconds: 1 }, { task: fakeTask('.') } as never)
  assert.ok(Date.now() - t0 >= 990, 'waited a second')
  assert.equal(p.status, 'ok')
  assert.equal((p as any).result.delta, 1)
  assert.match((p as any).result.stdout, /^Paused for 1(\.\d+)? seconds$/)
  const t1 = Date.now()
  const q = await pauseModule.plan({ prompt: 'go?' }, { task: fakeTask('.') } as never)
  // it does not wait for an answer (it would wait forever): the bound is for a loaded machine
  assert.ok(Date.now() - t1 < 10_000)
  assert.deepEqual((q as any).result.warnings, ['Not waiting for response to prompt as stdin is not interactive'])
  assert.equal((await pauseModule.plan({ seconds: 1, minutes: 1 }, {} as never)).status, 'fail')
})

test('replace, four ways: fresh plans a change, applied plans ok, planning changes nothing, check mode diffs and predicts', async (t) => {
  const d = await tempDir(t)
  const f = join(d, 'app.conf')
  await writeFile(f, 'port=80\nhost=a\nport=81\n', { mode: 0o640 })
  const args = { path: f, regexp: '^port=(\\d+)$', replace: 'port=\\g<1>0' }
  const overlay = new Overlay()
  const check = await runModule(replaceModule, args, conn, { check: true, diff: true, overlay })
  assert.equal(check.plan.status, 'change')
  assert.equal(await readFile(f, 'utf8'), 'port=80\nhost=a\nport=81\n', 'check mode changed nothing')
  const diff = (check.plan as any).changes[0].diff
  assert.equal(diff.before, 'port=80\nhost=a\nport=81\n')
  assert.equal(diff.after, 'port=800\nhost=a\nport=810\n')
  // a later task reading the file in the same check run sees the predicted text
  const later = await replaceModule.plan(
    { path: f, regexp: '^port=800$', replace: 'port=1' },
    { host: 'h', vars: {}, reader: makeReader(conn, overlay), diff: false, controller: noController, task: fakeTask(d) },
  )
  assert.equal(later.status, 'change', 'predicted from the overlay, not the unchanged file')

  const run = await runModule(replaceModule, args, conn)
  assert.equal(run.failed, undefined)
  assert.equal(run.result.msg, '2 replacements made')
  assert.equal(await readFile(f, 'utf8'), 'port=800\nhost=a\nport=810\n')
  const again = await runModule(replaceModule, { ...args, regexp: '^port=(\\d\\d)$' }, conn)
  assert.equal(again.plan.status, 'ok')
  assert.equal(again.result.changed, false)
  assert.equal((await import('node:fs')).statSync(f).mode & 0o777, 0o640, 'mode kept')

  const missing = await runModule(replaceModule, { path: join(d, 'nope'), regexp: 'x' }, conn)
  assert.equal(missing.plan.status, 'fail')
  assert.equal(missing.result.msg, `Path ${join(d, 'nope')} does not exist !`)
  assert.equal(missing.result.rc, 257)
  const badRe = await runModule(replaceModule, { path: f, regexp: '(' }, conn)
  assert.equal(badRe.plan.status, 'fail')
  assert.equal(await readFile(f, 'utf8'), 'port=800\nhost=a\nport=810\n', 'a bad expression changes nothing')
})

test('find on a temp tree: types, hidden names, depth, links, contains, checksums; planning changes nothing', async (t) => {
  const d = await tempDir(t)
  await mkdir(join(d, 'sub/deeper'), { recursive: true })
  await mkdir(join(d, '.hid'))
  await writeFile(join(d, 'sub/one.txt'), 'x\n')
  await writeFile(join(d, 'sub/deeper/two.txt'), 'first\nneedle\n')
  await writeFile(join(d, '.hid/three.txt'), 'needle\n')
  await writeFile(join(d, '.dot.txt'), 'z')
  await symlink('sub', join(d, 'ln'))
  const paths = async (args: Record<string, unknown>) => {
    const r = await runModule(findModule, { paths: d, ...args }, conn)
    assert.equal(r.plan.status, 'ok', JSON.stringify(r.plan))
    return (r.result.files as { path: string }[]).map((f) => f.path.slice(d.length)).sort()
  }
  assert.deepEqual(await paths({ patterns: '*.txt' }), [])
  assert.deepEqual(await paths({ patterns: '*.txt', recurse: true }), ['/.hid/three.txt', '/sub/deeper/two.txt', '/sub/one.txt'])
  assert.deepEqual(await paths({ patterns: '*.txt', recurse: true, hidden: true }), ['/.dot.txt', '/.hid/three.txt', '/sub/deeper/two.txt', '/sub/one.txt'])
  assert.deepEqual(await paths({ recurse: true, depth: 2 }), ['/.hid/three.txt', '/sub/one.txt'])
  assert.deepEqual(await paths({ file_type: 'link' }), ['/ln'])
  assert.deepEqual(await paths({ file_type: 'directory', recurse: true, hidden: 'yes' }), ['/.hid', '/sub', '/sub/deeper'])
  assert.deepEqual(await paths({ recurse: true, contains: 'needle' }), ['/.hid/three.txt', '/sub/deeper/two.txt'])
  const sums = await runModule(findModule, { paths: join(d, 'sub'), get_checksum: true }, conn)
  assert.equal((sums.result.files as any[])[0].checksum, (await import('node:crypto')).createHash('sha1').update('x\n').digest('hex'))
  const missing = await runModule(findModule, { paths: join(d, 'nope') }, conn)
  assert.equal(missing.result.msg, 'Not all paths examined, check warnings for details')
  assert.deepEqual(missing.result.skipped_paths, { [join(d, 'nope')]: `'${join(d, 'nope')}' is not a directory` })
  const bad = await runModule(findModule, { paths: d, size: '1x' }, conn)
  assert.equal(bad.plan.status, 'fail')
})
