// The module toolkit's shared pieces, one of each: Ansible's boolean conversion (the same words
// for module arguments, keywords, inventory variables, coercion and truthy/falsy), Python's
// shlex.split, the atomic write every file-writing module and upload goes through, the files()
// probe checked against the controller's own lstat/stat, and module capabilities the executor
// reads instead of module names. Root-free: hosts here are the local machine, below a temp folder.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Ajv } from 'ajv'
import { asBool, BOOL_PATTERN } from '../../src/bool.js'
import { atomicWriteScript, INLINE_MAX, inlineWrite, printfFormat } from '../../src/connection/atomic.js'
import { LocalConnection } from '../../src/connection/local.js'
import { shQuote } from '../../src/connection/quote.js'
import { ArgError, Diagnostics, formatDiagnostic, K3sbookError } from '../../src/errors.js'
import { coerceValue } from '../../src/executor/coerce.js'
import type { RunEvent } from '../../src/executor/events.js'
import { runPlaybook } from '../../src/executor/run.js'
import { ansibleBool } from '../../src/inventory/index.js'
import { shlexSplit as iniSplit } from '../../src/inventory/pyliteral.js'
import { bool, filesProbe, toBool } from '../../src/modules/lib/index.js'
import { getModule, moduleNames } from '../../src/modules/registry.js'
import { optBool } from '../../src/playbook/load.js'
import { loadProject } from '../../src/playbook/project.js'
import { shlexSplit } from '../../src/shlex.js'
import { evalCondition } from '../../src/template/index.js'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-toolkit-'))
  dirs.push(d)
  return d
}

// ansible.module_utils.parsing.convert_bool
const TRUE_WORDS = ['y', 'yes', 'on', '1', 'true', 't']
const FALSE_WORDS = ['n', 'no', 'off', '0', 'false', 'f']
const NOT_BOOLEAN = ['', '1.0', '0.0', 'maybe', 'tru', 'yess', 'nope', '2', 'enable']

test("booleans: convert_bool's exact words, any case, stripped; numbers 1 and 0 only", () => {
  const cases = (w: string) => [w, w.toUpperCase(), w[0].toUpperCase() + w.slice(1), ` ${w}\t`]
  for (const w of TRUE_WORDS) for (const v of cases(w)) assert.equal(asBool(v), true, JSON.stringify(v))
  for (const w of FALSE_WORDS) for (const v of cases(w)) assert.equal(asBool(v), false, JSON.stringify(v))
  for (const v of NOT_BOOLEAN) assert.equal(asBool(v), undefined, JSON.stringify(v))
  assert.equal(asBool(1), true)
  assert.equal(asBool(0), false)
  assert.equal(asBool(2), undefined)
  assert.equal(asBool(null), undefined)
  // The schema accepts exactly the words the parser accepts.
  const re = new RegExp(BOOL_PATTERN)
  for (const w of [...TRUE_WORDS, ...FALSE_WORDS]) for (const v of cases(w)) assert.ok(re.test(v), JSON.stringify(v))
  for (const v of NOT_BOOLEAN) assert.ok(!re.test(v), JSON.stringify(v))
  const validate = new Ajv({ strict: false }).compile({ type: 'object', properties: { b: bool('x') } })
  assert.ok(validate({ b: 'T' }) && validate({ b: 'Off' }) && validate({ b: '{{ x }}' }) && validate({ b: 1 }))
  assert.ok(!validate({ b: 'perhaps' }) && !validate({ b: 2 }))
})

test('booleans: one parser for module arguments, keywords, inventory variables, coercion and truthy', () => {
  // `t` and `f` are booleans everywhere (one parser read `t` as false, another did not know it).
  assert.equal(toBool('t', false), true)
  assert.equal(toBool('F', true), false)
  assert.throws(
    () => toBool('1.0', false, 'force'),
    (e: unknown) => e instanceof ArgError && e instanceof K3sbookError && /force: "1.0" is not a boolean/.test(e.message),
  )
  assert.equal(optBool('t'), true)
  assert.equal(optBool('perhaps'), undefined)
  assert.equal(ansibleBool('t', 'ansible_become'), true)
  assert.throws(() => ansibleBool('1.0', 'ansible_become'), /ansible_become must be a boolean/)
  assert.equal(coerceValue({ type: 'boolean' }, 'T'), true)
  assert.equal(coerceValue({ type: 'boolean' }, 'f'), false)
  assert.equal(coerceValue({ type: 'boolean' }, 1), true)
  assert.equal(coerceValue({ type: 'boolean' }, 'perhaps'), 'perhaps', 'left for the module to reject with its name')
  // truthy/falsy(convert_bool=True) use boolean(): "f" is false.
  assert.equal(evalCondition("'f' is falsy(convert_bool=True)", {}), true)
  assert.equal(evalCondition("'off' is truthy(convert_bool=True)", {}), false)
  assert.equal(evalCondition("'maybe' is truthy(convert_bool=True)", {}), true)
})

test('no_log rendered to "t" hides the output, as Ansible\'s boolean() reads it', async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'inventory.yml'), 'all:\n  hosts:\n    one: { ansible_connection: local }\n')
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: all
  gather_facts: false
  vars: { quiet: t }
  tasks:
    - debug: { msg: "the-secret-value" }
      no_log: "{{ quiet }}"
`,
  )
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, 'site.yml'), inventories: [join(dir, 'inventory.yml')], extraVars: [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const events: RunEvent[] = []
  await runPlaybook(project as never, { connect: (h) => new LocalConnection(h) }, (e) => events.push(e))
  assert.ok(events.some((e) => e.type === 'host:result'))
  assert.doesNotMatch(JSON.stringify(events), /the-secret-value/)
})

test("shlex.split: Python's whitespace only, so a non-breaking space stays in the word", () => {
  assert.deepEqual(shlexSplit('a\u00a0b c'), ['a\u00a0b', 'c'])
  assert.deepEqual(shlexSplit('a\u2003b\tc\r\nd'), ['a\u2003b', 'c', 'd'])
  assert.deepEqual(shlexSplit('"a \\x \\" \\\\"'), ['a \\x " \\'])
  assert.throws(() => shlexSplit('"a\\'), /No escaped character/)
  assert.throws(() => shlexSplit("'a"), /No closing quotation/)
  // The INI inventory's split is the same one, with comments.
  assert.deepEqual(iniSplit('h\u00a0x a=1 # c d\nb=2'), ['h\u00a0x', 'a=1', 'b=2'])
  assert.deepEqual(iniSplit('a=b#c d'), ['a=b'])
})

/** Runs a script with /bin/sh, stdin given, in its own process group. */
function sh(script: string, stdin: Buffer | string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    c.stderr.on('data', (d) => (stderr += d))
    c.on('close', (code) => resolve({ code, stderr }))
    c.stdin.end(stdin)
  })
}

test('the atomic write: whole content replaces the target keeping its mode; a short write leaves it as it was', async () => {
  const d = tempDir()
  const target = join(d, 'conf')
  writeFileSync(target, 'old\n')
  chmodSync(target, 0o640)
  const ok = await sh(atomicWriteScript(target, { size: 4 }), 'new\n')
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(readFileSync(target, 'utf8'), 'new\n')
  assert.equal(statSync(target).mode & 0o7777, 0o640)
  // Fewer bytes than announced (the controller died mid-transfer): refused, nothing left behind.
  const short = await sh(atomicWriteScript(target, { size: 100 }), 'trunc')
  assert.notEqual(short.code, 0)
  assert.match(short.stderr, /short write/)
  assert.equal(readFileSync(target, 'utf8'), 'new\n')
  assert.deepEqual(readdirSync(d), ['conf'])
  // A failing line before the rename (validation) also leaves the target.
  const bad = await sh(atomicWriteScript(target, { size: 1, beforeRename: ['false'] }), 'x')
  assert.notEqual(bad.code, 0)
  assert.equal(readFileSync(target, 'utf8'), 'new\n')
  assert.deepEqual(readdirSync(d), ['conf'])
})

test('the atomic write: when the caller sets an absolute mode and owner, the kept ones are not put there first; the result is the same', async () => {
  const d = tempDir()
  const script = (setsMode: boolean, setsOwner: boolean) =>
    atomicWriteScript(join(d, 'conf'), { size: 4, beforeRename: ['chown 0:0 "$t"', 'chmod 0604 "$t"'], setsMode, setsOwner })
  assert.match(script(false, false), /stat -L -c '%a %u:%g'[\s\S]*umask/, 'both kept: one stat')
  assert.doesNotMatch(script(true, true), /stat|umask/)
  assert.match(script(true, false), /^if \[ -e "\$d" \]; then\n {2}chown "\$\(stat -L -c %u:%g -- "\$d"\)" "\$t" 2>\/dev\/null \|\| true\nfi$/m)
  assert.doesNotMatch(script(true, false), /stat -L -c %a|umask/)
  assert.match(script(false, true), /stat -L -c %a[\s\S]*else\n {2}chmod "\$\(printf %o/)
  for (const [m, o] of [
    [false, false],
    [true, true],
    [true, false],
    [false, true],
  ]) {
    rmSync(join(d, 'conf'), { force: true })
    const fresh = await sh(script(m, o), 'new\n') // a new file
    assert.equal(fresh.code, 0, fresh.stderr)
    writeFileSync(join(d, 'conf'), 'old\n')
    chmodSync(join(d, 'conf'), 0o640)
    const replaced = await sh(script(m, o), 'new\n') // a file replaced
    assert.equal(replaced.code, 0, replaced.stderr)
    assert.equal(readFileSync(join(d, 'conf'), 'utf8'), 'new\n')
    assert.equal(statSync(join(d, 'conf')).mode & 0o7777, 0o604)
  }
})

test('the atomic write: a hang-up mid-transfer removes the temp file and leaves the target', async () => {
  const d = tempDir()
  const target = join(d, 'big')
  writeFileSync(target, 'before\n')
  const c = spawn('/bin/sh', ['-c', atomicWriteScript(target, { size: 1 << 20 })], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
  const closed = new Promise<number | null>((r) => c.on('close', (code) => r(code)))
  c.stdin.write(Buffer.alloc(4096, 'x'))
  // Wait until the temp file exists and holds what was sent so far.
  for (let i = 0; i < 200 && !readdirSync(d).some((n) => n.startsWith('.k3sbook.') && statSync(join(d, n)).size > 0); i++)
    await new Promise((r) => setTimeout(r, 10))
  assert.ok(
    readdirSync(d).some((n) => n.startsWith('.k3sbook.')),
    'the temp file is beside the target',
  )
  process.kill(-c.pid!, 'SIGHUP')
  await closed
  assert.deepEqual(readdirSync(d), ['big'])
  assert.equal(readFileSync(target, 'utf8'), 'before\n')
})

/** Runs `script` with `shell` (`-c`), nothing on stdin. */
function run(shell: string[], script: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(shell[0], [...shell.slice(1), '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    c.stderr.on('data', (d) => (stderr += d))
    c.on('close', (code) => resolve({ code, stderr }))
  })
}

const SHELLS = [['/bin/sh'], ['/usr/bin/dash'], ['/usr/bin/bash'], ['/usr/bin/busybox', 'sh']].filter(([p]) => existsSync(p))

test('the atomic write with the content inside the script: every byte exactly, in every shell; mode and owner kept', async () => {
  assert.ok(SHELLS.length >= 3, 'dash, bash and BusyBox are installed (scripts/setup.sh)')
  const d = tempDir()
  const every = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256))
  const texts = [
    every,
    Buffer.from("a'b\\c%d%%s\\n\\0101\n\tend"),
    Buffer.alloc(0),
    Buffer.from('no newline at the end'),
    Buffer.from('-$\\:a leading dash'),
    Buffer.from('--'),
    Buffer.from('ünïcode ✓\n'),
  ]
  for (const shell of SHELLS)
    for (const [i, content] of texts.entries()) {
      const target = join(d, `f${i}`)
      writeFileSync(target, 'old\n')
      chmodSync(target, 0o640)
      const script = inlineWrite(atomicWriteScript(target, { size: content.length }), content)!
      assert.doesNotMatch(script, /base64|wc -c|cat /, 'no process carries the content')
      const r = await run(shell, script)
      assert.equal(r.code, 0, `${shell.join(' ')}: ${r.stderr}`)
      assert.deepEqual(readFileSync(target), content, `${shell.join(' ')}, text ${i}`)
      assert.equal(statSync(target).mode & 0o7777, 0o640)
    }
  // The format holds no single quote: quoting it again (become's `sh -c`) adds nothing.
  assert.doesNotMatch(printfFormat(every), /'/)
  // Too large, or not an atomic write from stdin: nothing to inline.
  assert.ok(inlineWrite(atomicWriteScript(join(d, 'x'), { size: INLINE_MAX }), Buffer.alloc(INLINE_MAX, 'x')))
  assert.equal(inlineWrite(atomicWriteScript(join(d, 'x'), { size: INLINE_MAX + 1 }), Buffer.alloc(INLINE_MAX + 1, 'x')), undefined)
  assert.equal(inlineWrite(atomicWriteScript(join(d, 'x'), { size: 9000 }), Buffer.alloc(9000, 0)), undefined, 'four characters a byte: over the bound')
  assert.equal(inlineWrite(atomicWriteScript(join(d, 'x'), { size: 3 }), 'four'), undefined, 'a size that is not the content')
  assert.equal(inlineWrite(atomicWriteScript(join(d, 'x'), { fromPath: '/etc/hosts' }), 'x'), undefined)
})

test('the atomic write with the content inside the script: cut off anywhere in the content, nothing runs', async () => {
  const d = tempDir()
  const target = join(d, 'conf')
  writeFileSync(target, 'before\n')
  const content = Buffer.from('line one\nline two\n'.repeat(20))
  // As the host's shell gets it: inside `( eval '…' )` (connection/ssh.ts), then the input ends.
  const whole = `( eval ${shQuote(inlineWrite(atomicWriteScript(target, { size: content.length }), content)!)} )\n`
  const at = whole.indexOf('line two')
  for (const cut of [at, at + 100, whole.lastIndexOf('line one')]) {
    for (const shell of SHELLS) {
      const c = spawn(shell[0], shell.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] })
      const closed = new Promise((r) => c.on('close', r))
      c.stdin.end(whole.slice(0, cut))
      await closed
      assert.equal(readFileSync(target, 'utf8'), 'before\n', `${shell.join(' ')}, cut at ${cut}`)
      assert.deepEqual(readdirSync(d), ['conf'])
    }
  }
})

test('the atomic write with the content inside the script: a full disk fails it before the rename', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: a small tmpfs in a mount namespace of its own')
  const d = tempDir()
  const script = [
    'set -e',
    `mount -t tmpfs -o size=8k tmpfs ${shQuote(d)}`,
    `printf old > ${shQuote(join(d, 'conf'))}`,
    // not inside `if`: the shell ignores `set -e` there
    'set +e',
    `( ${inlineWrite(atomicWriteScript(join(d, 'conf'), { size: 24 * 1024 }), Buffer.alloc(24 * 1024, 'x'))!.replace(/\n/g, '\n  ')} )`,
    '[ $? -ne 0 ] || echo WRITTEN',
    `cat ${shQuote(join(d, 'conf'))}; echo; ls -A ${shQuote(d)}`,
    `[ $(stat -f -c %b ${shQuote(d)}) -le 2 ] || echo 'the file system is larger than asked'`,
  ].join('\n')
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', '/bin/sh', '-c', script], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.slice(0, 200), 'old\nconf\n', 'not written: the target kept, the temp file removed')
  assert.match(r.stderr, /No space left on device: \/.*\/conf needs 24576 bytes/)
})

test("copy and file stat the path after a change only when the task's result is read (registered)", async () => {
  const d = tempDir()
  const conn = new LocalConnection('local')
  const { makeReader } = await import('../../src/executor/reader.js')
  const plan = async (name: string, args: object, resultRead: boolean | undefined) => {
    const ctx = {
      host: 'local',
      vars: {},
      reader: makeReader(conn),
      diff: false,
      controller: { find: async () => Promise.reject(new Error('none')), render: (t: string) => t },
      task: { module: name, args } as never,
      resultRead,
    }
    const p = await getModule(name)!.plan(args as never, ctx as never)
    assert.ok('steps' in p, JSON.stringify(p))
    return p.steps.map((s) => s.script).join('\n')
  }
  for (const [name, args] of [
    ['copy', { content: 'x\n', dest: join(d, 'f') }],
    ['file', { path: join(d, 'dir'), state: 'directory' }],
  ] as const) {
    assert.match(await plan(name, args, true), /#k3sbook-stat/, `${name}: registered`)
    assert.match(await plan(name, args, undefined), /#k3sbook-stat/, `${name}: unknown counts as read`)
    assert.doesNotMatch(await plan(name, args, false), /#k3sbook-stat|stat -L -c '#/, `${name}: nobody reads the result`)
  }
  // The executor says so from the task: register (or until) reads the result.
  const { planContext } = await import('../../src/executor/task.js')
  const tc = (task: object) => ({ diff: false, controller: () => ({}), task }) as never
  assert.equal(planContext(tc({ module: 'copy', register: 'r' }), 'h', {}, makeReader(conn)).resultRead, true)
  assert.equal(planContext(tc({ module: 'copy', until: ['r is success'] }), 'h', {}, makeReader(conn)).resultRead, true)
  assert.equal(planContext(tc({ module: 'copy' }), 'h', {}, makeReader(conn)).resultRead, false)
})

test('every module that writes a file writes it through the atomic write with the size check', async () => {
  // Modules that used a script of their own (no size check) before: plan each against a local host.
  const d = tempDir()
  const conn = new LocalConnection('local')
  const { makeReader } = await import('../../src/executor/reader.js')
  const ctx = (args: object) => ({
    host: 'local',
    vars: {},
    reader: makeReader(conn),
    diff: false,
    controller: { find: async () => Promise.reject(new Error('none')), render: (t: string) => t },
    task: { module: 'x', args } as never,
  })
  const plans = [
    ['sysctl', { name: 'vm.swappiness', value: 10, sysctl_file: join(d, 'sysctl.conf'), reload: false }],
    ['kube_manifest', { path: join(d, 'm.yaml'), content: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } }],
  ] as const
  for (const [name, args] of plans) {
    const m = getModule(name)!
    const plan = await m.plan(args as never, ctx(args) as never)
    assert.ok('steps' in plan, `${name}: ${JSON.stringify(plan)}`)
    const writes = plan.steps.filter((s) => s.effects?.some((e) => 'state' in e && e.state === 'file'))
    assert.ok(writes.length > 0, name)
    for (const s of writes) {
      assert.match(s.script, /mv -Tf -- "\$t" "\$d"/, name)
      assert.match(s.script, new RegExp(`wc -c < "\\$t"\\) -eq ${Buffer.byteLength(s.stdin ?? '')} `), name)
      assert.ok(inlineWrite(s.script, s.stdin ?? ''), `${name}: its small content can ride inside the script`)
    }
  }
})

test("files(): the probe answers what the controller's own lstat/stat say, for odd names and links", async () => {
  const d = tempDir()
  mkdirSync(join(d, 'dir'))
  writeFileSync(join(d, 'file'), 'hello\n')
  writeFileSync(join(d, 'new\nline'), 'nl')
  writeFileSync(join(d, '-dash'), '')
  chmodSync(join(d, '-dash'), 0o4711)
  symlinkSync('file', join(d, 'link'))
  symlinkSync('nowhere', join(d, 'dangling'))
  symlinkSync('new\nline', join(d, 'oddlink'))
  const names = ['dir', 'file', 'new\nline', '-dash', 'link', 'dangling', 'oddlink', 'missing']
  const paths = names.map((n) => join(d, n))
  const conn = new LocalConnection('local')
  for (const follow of [false, true]) {
    const probe = filesProbe([{ paths, opts: { sha256: true, content: true, follow } }])
    const r = await conn.exec(probe.script)
    const got = probe.parse(r.stdout)[0]
    for (const p of paths) {
      const info = got.get(p)
      let st
      try {
        st = follow ? statSync(p) : lstatSync(p)
      } catch {
        assert.deepEqual(info, { path: p, exists: false }, p)
        continue
      }
      assert.ok(info?.exists, p)
      const type = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other'
      assert.equal(info.type, type, p)
      assert.equal(info.mode, (st.mode & 0o7777).toString(8).padStart(4, '0'), p)
      assert.deepEqual([info.uid, info.gid, info.size, info.mtime], [st.uid, st.gid, st.size, Math.floor(st.mtimeMs / 1000)], p)
      assert.equal(info.linkTarget, lstatSync(p).isSymbolicLink() ? readlinkSync(p) : undefined, p)
      // Digest and content are of the file the path leads to (a link to a file has them too).
      let leadsToFile = false
      try {
        leadsToFile = statSync(p).isFile()
      } catch {}
      if (leadsToFile) {
        const bytes = readFileSync(p)
        assert.equal(info.sha256, createHash('sha256').update(bytes).digest('hex'), p)
        assert.deepEqual(info.content, bytes, p)
      } else assert.equal(info.sha256, undefined, p)
    }
  }
})

test('capabilities live on the modules: which are planned ahead, which results exist only after a run', () => {
  const having = (k: 'readAhead' | 'resultAfterRun' | 'controllerOnly') => moduleNames().filter((n) => getModule(n)![k] && getModule(n)!.name === n)
  assert.deepEqual(having('readAhead'), [
    'apt',
    'blockinfile',
    'command',
    'copy',
    'fetch',
    'file',
    'filesystem',
    'find',
    'gather_facts',
    'getent',
    'group',
    'hostname',
    'kube_manifest',
    'lineinfile',
    'modprobe',
    'mount',
    'ping', // one probe: its answer can ride in the read-ahead batch
    'replace',
    'script', // creates/removes are read ahead; the script itself runs only when applied
    'service',
    'setup',
    'shell',
    'slurp',
    'stat',
    'sysctl',
    'systemd',
    'template',
    'user',
    'zfs',
    'zpool',
  ])
  assert.deepEqual(having('resultAfterRun'), ['command', 'fetch', 'get_url', 'raw', 'script', 'shell', 'slurp', 'tempfile', 'unarchive', 'uri'])
  // No module planned ahead runs on the controller, waits, or reaches the network.
  for (const n of having('readAhead')) assert.ok(!getModule(n)!.controllerOnly && !['wait_for', 'get_url', 'uri', 'unarchive'].includes(n), n)
  assert.deepEqual(getModule('set_fact')!.setsVars!({ a: 1, b: 2, cacheable: true }), ['a', 'b'])
  assert.ok(getModule('meta')!.playControl && getModule('debug')!.printsResult)
  assert.ok(getModule('command')!.freeFormOptions!.has('creates') && getModule('shell')!.freeFormOptions === getModule('command')!.freeFormOptions)
})
