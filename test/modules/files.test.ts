// The file modules, four ways each against a real temp directory: a fresh state plans a change;
// plan() touches nothing; check mode (effects into an overlay, nothing applied) changes nothing and
// predicts the applied state; after apply the same task plans ok.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Vars } from '../../src/model.js'
import { check, cleanup, loadTemplateEngine, Overlay, planOnly, run, tempDir, treeHash, type Ctx } from './harness.js'

before(loadTemplateEngine)

const modeOf = async (p: string) => ((await stat(p)).mode & 0o7777).toString(8).padStart(4, '0')

/** The four properties every module must have, for a task that changes something once. */
async function fourWays(
  name: string,
  args: (dir: string) => Vars,
  setup: (dir: string) => Promise<void> = async () => {},
  ctx: (dir: string) => Ctx = () => ({}),
) {
  const dir = await tempDir()
  try {
    await setup(dir)
    const a = args(dir)
    const h0 = await treeHash(dir)
    const p1 = await planOnly(name, a, ctx(dir))
    assert.equal(p1.status, 'change', `${name}: fresh state should plan a change, got ${JSON.stringify(p1)}`)
    assert.equal(await treeHash(dir), h0, `${name}: plan() changed the target`)
    const overlay = new Overlay()
    const c = await check(name, a, overlay, ctx(dir))
    assert.equal(c.plan.status, 'change')
    assert.equal(c.result.changed, true)
    assert.equal(await treeHash(dir), h0, `${name}: check mode changed the target`)
    // The declared effects are what applying would do: through the overlay the same task is ok.
    const p2 = await planOnly(name, a, { ...ctx(dir), overlay })
    assert.equal(p2.status, 'ok', `${name}: overlay should predict the applied state, got ${JSON.stringify(p2)}`)
    const r = await run(name, a, ctx(dir))
    assert.equal(r.result.changed, true)
    assert.equal(r.result.failed, false)
    assert.notEqual(await treeHash(dir), h0)
    const p3 = await planOnly(name, a, ctx(dir))
    assert.equal(p3.status, 'ok', `${name}: after apply it should plan ok, got ${JSON.stringify(p3)}`)
    const r2 = await run(name, a, ctx(dir))
    assert.equal(r2.result.changed, false)
    return { dir, result: r.result, rerun: r2.result }
  } catch (e) {
    await cleanup(dir)
    throw e
  }
}

test('copy content: four ways, mode, result shape, diff only when asked', async () => {
  const { dir, result, rerun } = await fourWays('copy', (d) => ({ content: 'hello\n', dest: join(d, 'a.txt'), mode: '0640' }))
  try {
    assert.equal(await readFile(join(dir, 'a.txt'), 'utf8'), 'hello\n')
    assert.equal(await modeOf(join(dir, 'a.txt')), '0640')
    assert.equal(result.checksum, 'f572d396fae9206628714fb2ce00f72e94f2258f') // sha1("hello\n"), as Ansible reports
    assert.equal(result.mode, '0640')
    assert.equal(result.state, 'file')
    assert.equal(rerun.checksum, result.checksum)
    const p = await planOnly('copy', { content: 'bye\n', dest: join(dir, 'a.txt') }, { diff: true })
    assert.equal(p.status, 'change')
    assert.deepEqual(p.status === 'change' && p.changes[0].diff, { path: join(dir, 'a.txt'), before: 'hello\n', after: 'bye\n' })
    const q = await planOnly('copy', { content: 'bye\n', dest: join(dir, 'a.txt') })
    assert.equal(q.status === 'change' && q.changes[0].diff, undefined)
  } finally {
    await cleanup(dir)
  }
})

test('copy keeps an existing mode when none is given, backs up, and only mode changes are attribute steps', async () => {
  const dir = await tempDir()
  try {
    const f = join(dir, 'k')
    await writeFile(f, 'old\n')
    await chmod(f, 0o600)
    const r = await run('copy', { content: 'new\n', dest: f, backup: 'yes' })
    assert.equal(await modeOf(f), '0600')
    assert.match(String(r.result.backup_file), /k\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/)
    assert.equal(await readFile(String(r.result.backup_file), 'utf8'), 'old\n')
    const p = await planOnly('copy', { content: 'new\n', dest: f, mode: 0o644 })
    assert.ok(p.status === 'change' && p.steps.length === 1 && !p.steps[0].stdin, 'same content: no bytes sent')
    await run('copy', { content: 'new\n', dest: f, mode: 0o644 })
    assert.equal(await modeOf(f), '0644')
    // force=false never replaces an existing file
    assert.equal((await planOnly('copy', { content: 'other', dest: f, force: false })).status, 'ok')
  } finally {
    await cleanup(dir)
  }
})

test('copy src: file into a directory, directory with and without trailing slash, validate', async () => {
  const ctl = await tempDir('k3sbook-ctl-')
  const { dir } = await fourWays(
    'copy',
    (d) => ({ src: 'tree', dest: d + '/', mode: '0600' }),
    async () => {
      await mkdir(join(ctl, 'files', 'tree', 'sub'), { recursive: true })
      await writeFile(join(ctl, 'files', 'tree', 'x'), 'X')
      await writeFile(join(ctl, 'files', 'tree', 'sub', 'y'), 'Y')
    },
    () => ({ base: ctl }),
  )
  try {
    assert.equal(await readFile(join(dir, 'tree', 'sub', 'y'), 'utf8'), 'Y')
    assert.equal(await modeOf(join(dir, 'tree', 'x')), '0600')
    await run('copy', { src: 'tree/', dest: join(dir, 'flat') }, { base: ctl })
    assert.equal(await readFile(join(dir, 'flat', 'sub', 'y'), 'utf8'), 'Y')
    await mkdir(join(dir, 'into'))
    await run('copy', { src: 'tree/x', dest: join(dir, 'into') }, { base: ctl })
    assert.equal(await readFile(join(dir, 'into', 'x'), 'utf8'), 'X')
    await assert.rejects(run('copy', { content: 'bad', dest: join(dir, 'v'), validate: 'grep -q good %s' }), /failed to validate/)
    await assert.rejects(stat(join(dir, 'v')))
    const ok = await run('copy', { content: 'good', dest: join(dir, 'v'), validate: 'grep -q good %s' })
    assert.equal(ok.result.changed, true)
    // Ansible's wording (lineinfile target: 'validate must contain %s: /some/path' in msg)
    const noPct = await planOnly('lineinfile', { path: join(dir, 'v'), line: 'other', validate: '/some/path' }).catch((e: Error) => ({ msg: e.message }))
    assert.match(JSON.stringify(noPct), /validate must contain %s: \/some\/path/)
    const missing = await planOnly('copy', { content: 'x', dest: join(dir, 'nodir', 'f') })
    assert.deepEqual(missing.status === 'fail' && missing.msg, `Destination directory ${join(dir, 'nodir')} does not exist`)
  } finally {
    await cleanup(dir)
    await cleanup(ctl)
  }
})

test('copy remote_src', async () => {
  const { dir } = await fourWays(
    'copy',
    (d) => ({ src: join(d, 's'), dest: join(d, 'd'), remote_src: true }),
    (d) => writeFile(join(d, 's'), 'remote\n'),
  )
  try {
    assert.equal(await readFile(join(dir, 'd'), 'utf8'), 'remote\n')
  } finally {
    await cleanup(dir)
  }
})

test('template: renders with host vars, four ways; template into a directory an earlier file task would create is predicted in check mode', async () => {
  const ctl = await tempDir('k3sbook-ctl-')
  await mkdir(join(ctl, 'templates'))
  await writeFile(join(ctl, 'templates', 'app.conf.j2'), 'name={{ app }}\n{% for p in ports %}\nport={{ p }}\n{% endfor %}\n')
  const vars = { app: 'web', ports: [80, 443] }
  const { dir, result } = await fourWays(
    'template',
    (d) => ({ src: 'app.conf.j2', dest: join(d, 'app.conf'), mode: 'u=rw,g=r,o=' }),
    undefined,
    () => ({ base: ctl, vars }),
  )
  try {
    assert.equal(await readFile(join(dir, 'app.conf'), 'utf8'), 'name=web\nport=80\nport=443\n')
    assert.equal(await modeOf(join(dir, 'app.conf')), '0640')
    assert.equal(result.mode, '0640')
    // Check mode across tasks: the directory does not exist, a file task would create it.
    const overlay = new Overlay()
    const h0 = await treeHash(dir)
    const alone = await planOnly('template', { src: 'app.conf.j2', dest: join(dir, 'etc', 'app.conf') }, { base: ctl, vars })
    assert.equal(alone.status, 'fail', 'without the directory the template cannot be written')
    const mk = await check('file', { path: join(dir, 'etc'), state: 'directory' }, overlay)
    assert.equal(mk.plan.status, 'change')
    const t = await check('template', { src: 'app.conf.j2', dest: join(dir, 'etc', 'app.conf') }, overlay, { base: ctl, vars, diff: true })
    assert.equal(t.plan.status, 'change')
    assert.equal(t.plan.status === 'change' && t.plan.changes[0].diff?.after, 'name=web\nport=80\nport=443\n')
    // and a stat after it sees the predicted file
    const s = await check('stat', { path: join(dir, 'etc', 'app.conf'), checksum_algorithm: 'sha256' }, overlay)
    assert.equal((s.result.stat as Vars).exists, true)
    assert.equal(await treeHash(dir), h0)
    // newline_sequence and trim_blocks=false
    await run('template', { src: 'app.conf.j2', dest: join(dir, 'crlf'), newline_sequence: '\\r\\n', trim_blocks: false }, { base: ctl, vars })
    assert.equal(await readFile(join(dir, 'crlf'), 'utf8'), 'name=web\r\n\r\nport=80\r\n\r\nport=443\r\n')
  } finally {
    await cleanup(dir)
    await cleanup(ctl)
  }
})

test('file state=directory: parents created with the mode, four ways; recurse', async () => {
  const { dir } = await fourWays('file', (d) => ({ path: join(d, 'a', 'b', 'c'), state: 'directory', mode: '0750' }))
  try {
    for (const p of ['a', 'a/b', 'a/b/c']) assert.equal(await modeOf(join(dir, p)), '0750', p)
    await writeFile(join(dir, 'a', 'b', 'f'), 'x')
    await chmod(join(dir, 'a', 'b', 'f'), 0o600)
    const rec = { path: join(dir, 'a'), state: 'directory', recurse: true, mode: 'u=rwX,g=rX,o=rX' }
    assert.equal((await planOnly('file', rec)).status, 'change')
    await run('file', rec)
    assert.equal(await modeOf(join(dir, 'a', 'b', 'f')), '0644')
    assert.equal(await modeOf(join(dir, 'a', 'b', 'c')), '0755')
    assert.equal((await planOnly('file', rec)).status, 'ok')
    const bad = await planOnly('file', { path: join(dir, 'a', 'b', 'f'), state: 'directory' })
    assert.deepEqual(bad.status === 'fail' && bad.msg, `${join(dir, 'a', 'b', 'f')} already exists as a file`)
  } finally {
    await cleanup(dir)
  }
})

test('file state=touch creates (and like Ansible re-touching reports a change); preserve times is idempotent', async () => {
  const { dir } = await fourWays('file', (d) => ({ path: join(d, 't'), state: 'touch', mode: '0600', modification_time: 'preserve', access_time: 'preserve' }))
  try {
    assert.equal(await modeOf(join(dir, 't')), '0600')
    assert.equal((await planOnly('file', { path: join(dir, 't'), state: 'touch' })).status, 'change')
  } finally {
    await cleanup(dir)
  }
})

test('file state=link, state=absent, state=file, hard', async () => {
  const { dir } = await fourWays(
    'file',
    (d) => ({ path: join(d, 'ln'), src: 'target', state: 'link' }),
    (d) => writeFile(join(d, 'target'), 'T'),
  )
  try {
    assert.equal(await readlink(join(dir, 'ln')), 'target')
    // retarget
    await writeFile(join(dir, 'other'), 'O')
    await run('file', { path: join(dir, 'ln'), src: 'other', state: 'link' })
    assert.equal(await readlink(join(dir, 'ln')), 'other')
    const refuse = await planOnly('file', { path: join(dir, 'target'), src: 'other', state: 'link' })
    assert.deepEqual(refuse.status === 'fail' && refuse.msg, `refusing to convert from file to symlink for ${join(dir, 'target')}`)
    const noSrc = await planOnly('file', { path: join(dir, 'l2'), src: 'missing', state: 'link' })
    assert.equal(noSrc.status, 'fail')
    assert.equal((await planOnly('file', { path: join(dir, 'l2'), src: 'missing', state: 'link', force: true })).status, 'change')
    const absent = await planOnly('file', { path: join(dir, 'nothing'), state: 'file' })
    assert.deepEqual(absent.status === 'fail' && absent.msg, `file (${join(dir, 'nothing')}) is absent, cannot continue`)
    // hard link
    await run('file', { path: join(dir, 'hard'), src: join(dir, 'target'), state: 'hard' })
    assert.equal((await stat(join(dir, 'hard'))).ino, (await stat(join(dir, 'target'))).ino)
    assert.equal((await planOnly('file', { path: join(dir, 'hard'), src: join(dir, 'target'), state: 'hard' })).status, 'ok')
  } finally {
    await cleanup(dir)
  }
  const d2 = await fourWays(
    'file',
    (d) => ({ path: join(d, 'gone'), state: 'absent' }),
    async (d) => {
      await mkdir(join(d, 'gone', 'x'), { recursive: true })
      await symlink('/etc', join(d, 'gone', 'x', 'etc'))
    },
  )
  await cleanup(d2.dir)
  const d3 = await fourWays(
    'file',
    (d) => ({ path: join(d, 'f'), mode: 'go-rwx' }),
    async (d) => {
      await writeFile(join(d, 'f'), 'x')
      await chmod(join(d, 'f'), 0o644)
    },
  )
  try {
    assert.equal(await modeOf(join(d3.dir, 'f')), '0600')
    assert.equal(d3.result.mode, '0600')
  } finally {
    await cleanup(d3.dir)
  }
})

test('lineinfile: four ways, create, backup, attribute-only change message', async () => {
  const { dir, result } = await fourWays(
    'lineinfile',
    (d) => ({ path: join(d, 'conf'), regexp: '^port=', line: 'port=8080' }),
    (d) => writeFile(join(d, 'conf'), 'a=1\nport=80\n'),
  )
  try {
    assert.equal(await readFile(join(dir, 'conf'), 'utf8'), 'a=1\nport=8080\n')
    assert.equal(result.msg, 'line replaced')
    const missing = await planOnly('lineinfile', { path: join(dir, 'new', 'x'), line: 'l' })
    assert.deepEqual(missing.status === 'fail' && missing.msg, `Destination ${join(dir, 'new', 'x')} does not exist !`)
    const c = await run('lineinfile', { path: join(dir, 'new', 'x'), line: 'l', create: true, mode: '0600' })
    assert.equal(c.result.msg, 'line added')
    assert.equal(await readFile(join(dir, 'new', 'x'), 'utf8'), 'l\n')
    assert.equal(await modeOf(join(dir, 'new', 'x')), '0600')
    const m = await run('lineinfile', { path: join(dir, 'new', 'x'), line: 'l', mode: '0644' })
    assert.equal(m.result.msg, 'ownership, perms or SE linux context changed')
    const b = await run('lineinfile', { path: join(dir, 'conf'), line: 'z', backup: true })
    assert.match(String(b.result.backup), /conf\.\d+\./)
    // a symlinked file is edited through the link, as in Ansible
    await symlink('conf', join(dir, 'link'))
    await run('lineinfile', { path: join(dir, 'link'), line: 'via-link' })
    assert.equal(await readlink(join(dir, 'link')), 'conf')
    assert.match(await readFile(join(dir, 'conf'), 'utf8'), /via-link\n$/)
  } finally {
    await cleanup(dir)
  }
})

test('lineinfile: an empty regexp or search_string replaces the last line and warns in `warnings`, as Ansible', async () => {
  const dir = await tempDir()
  try {
    await writeFile(join(dir, 'r'), 'a\nb\n')
    const r = await run('lineinfile', { path: join(dir, 'r'), regexp: '', line: 'c' })
    assert.equal(r.result.changed, true)
    assert.equal(await readFile(join(dir, 'r'), 'utf8'), 'a\nc\n')
    // the lineinfile target asserts this text (warning_message in result.warnings)
    assert.deepEqual(r.result.warnings, [
      'The regular expression is an empty string, which will match every line in the file. ' +
        'This may have unintended consequences, such as replacing the last line in the file rather than appending. ' +
        "If this is desired, use '^' to match every line in the file and avoid this warning.",
    ])
    await writeFile(join(dir, 's'), 'a\nb\n')
    const s = await run('lineinfile', { path: join(dir, 's'), search_string: '', line: 'c' })
    assert.equal(await readFile(join(dir, 's'), 'utf8'), 'a\nc\n')
    assert.deepEqual(s.result.warnings, [
      'The search string is an empty string, which will match every line in the file. ' +
        'This may have unintended consequences, such as replacing the last line in the file rather than appending.',
    ])
    const none = await run('lineinfile', { path: join(dir, 's'), line: 'c' })
    assert.equal(none.result.warnings, undefined)
  } finally {
    await cleanup(dir)
  }
})

test('blockinfile: four ways, replace and remove the block', async () => {
  const { dir, result } = await fourWays(
    'blockinfile',
    (d) => ({ path: join(d, 'hosts'), block: '10.0.0.1 a\n10.0.0.2 b' }),
    (d) => writeFile(join(d, 'hosts'), '127.0.0.1 localhost\n'),
  )
  try {
    assert.equal(
      await readFile(join(dir, 'hosts'), 'utf8'),
      '127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 a\n10.0.0.2 b\n# END ANSIBLE MANAGED BLOCK\n',
    )
    assert.equal(result.msg, 'Block inserted')
    await run('blockinfile', { path: join(dir, 'hosts'), block: 'x' })
    assert.equal(await readFile(join(dir, 'hosts'), 'utf8'), '127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n')
    const r = await run('blockinfile', { path: join(dir, 'hosts'), state: 'absent' })
    assert.equal(r.result.msg, 'Block removed')
    assert.equal(await readFile(join(dir, 'hosts'), 'utf8'), '127.0.0.1 localhost\n')
  } finally {
    await cleanup(dir)
  }
})

test('stat: Ansible keys, sha1 by default, other algorithms, links, missing paths, plan only reads', async () => {
  const dir = await tempDir()
  try {
    const f = join(dir, 'f')
    await writeFile(f, 'hello\n')
    await chmod(f, 0o640)
    await symlink('f', join(dir, 'l'))
    const h0 = await treeHash(dir)
    const r = await run('stat', { path: f })
    const st = r.result.stat as Vars
    assert.equal(r.result.changed, false)
    assert.equal(st.exists, true)
    assert.equal(st.isreg, true)
    assert.equal(st.isdir, false)
    assert.equal(st.mode, '0640')
    assert.equal(st.size, 6)
    assert.equal(st.checksum, 'f572d396fae9206628714fb2ce00f72e94f2258f')
    assert.equal(st.pw_name, 'root')
    assert.equal(st.rusr, true)
    assert.equal(st.woth, false)
    for (const k of [
      'uid',
      'gid',
      'inode',
      'dev',
      'nlink',
      'mtime',
      'atime',
      'ctime',
      'gr_name',
      'readable',
      'writeable',
      'executable',
      'isuid',
      'isgid',
      'islnk',
    ])
      assert.ok(k in st, k)
    const s2 = (await run('stat', { path: f, checksum_algorithm: 'sha256', get_mime: false })).result.stat as Vars
    assert.equal(s2.checksum, '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03')
    const l = (await run('stat', { path: join(dir, 'l') })).result.stat as Vars
    assert.equal(l.islnk, true)
    assert.equal(l.lnk_target, 'f')
    assert.equal(l.lnk_source, f)
    assert.equal(((await run('stat', { path: join(dir, 'l'), follow: true })).result.stat as Vars).isreg, true)
    assert.deepEqual((await run('stat', { path: join(dir, 'nope') })).result.stat, { exists: false })
    assert.equal(await treeHash(dir), h0)
  } finally {
    await cleanup(dir)
  }
})
