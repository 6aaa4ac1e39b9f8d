// Read-ahead (src/executor/prefetch.ts) and the controller file cache (ctlfiles.ts): batched probes
// give exactly what separate probes give, a no-change re-run costs a round trip or two per host,
// nothing fetched before a step applies is used after it, and renders are shared only when their
// inputs are the same. Hosts here are LocalConnection hosts writing below a temp folder.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { LocalConnection } from '../../src/connection/local.js'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { HostResultEvent, RunEvent } from '../../src/executor/events.js'
import { ControllerCache } from '../../src/executor/ctlfiles.js'
import { batchScript, parseBatch } from '../../src/executor/prefetch.js'
import { filesProbe, type FilesQuestion } from '../../src/executor/reader.js'
import { runPlaybook, type RunSummary } from '../../src/executor/run.js'
import { loadProject } from '../../src/playbook/project.js'

const dirs: string[] = []
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-prefetch-'))
  dirs.push(d)
  return d
}

test('a batch gives each probe the stdout, stderr and exit code it gives alone', async () => {
  const conn = new LocalConnection('local')
  const probes = [
    { script: 'printf "no newline at the end"' },
    { script: 'echo out; echo err >&2; echo err2 >&2; exit 3' },
    { script: 'printf "trailing\\n\\n\\n"; printf "e\\n\\n" >&2' },
    { script: 'exit 0' },
    { script: '' },
    { script: 'echo "$GREETING, $NAME"', env: { GREETING: 'hello', NAME: "it's me" } },
    { script: "printf '\\n@@abcdef0123456789abcdef0 0 5\\n\\n@@0123.\\n'; printf 'a/b/7\\n' >&2; (exit 9)" },
    { script: "printf 'err\\000with nul' >&2" },
    { script: 'printf "\\377\\001\\002 bytes"; cat; echo "stdin was empty"' },
    { script: 'if then fi' },
    { script: 'x=1; cd /; set -e; false' },
    { script: 'echo "$x" "$(pwd)"' },
  ]
  const nonce = 'abcdef0123456789abcdef01'
  const tmp = tempDir()
  const r = await conn.exec(batchScript(probes, nonce), { env: { TMPDIR: tmp } })
  const batched = parseBatch(r.stdout, r.stderr, probes.length, nonce)
  assert.deepEqual(readdirSync(tmp), [], 'the batch leaves no temp file')
  for (const [i, p] of probes.entries()) {
    const alone = await conn.exec(p.script, { env: p.env })
    const b = batched[i]
    assert.ok(b, `probe ${i} missing from the batch output`)
    assert.equal(b.rc, alone.rc, `rc of probe ${i}: ${p.script}`)
    assert.deepEqual(b.stdout, alone.stdout, `stdout of probe ${i}: ${p.script}`)
    // sh names itself differently in a syntax error message (-c vs eval): compare the gist.
    if (p.script === 'if then fi') assert.match(b.stderr.toString(), /syntax error/i)
    else assert.deepEqual(b.stderr, alone.stderr, `stderr of probe ${i}: ${p.script}`)
  }
})

test('a batch cut short keeps the probes that finished', () => {
  const nonce = 'n1'
  const out = Buffer.from(`one\n@@n1 0 0\ntwo`)
  const r = parseBatch(out, Buffer.from('\n@@n1 0\n'), 2, nonce)
  assert.equal(r[0]?.stdout.toString(), 'one')
  assert.equal(r[1], undefined)
})

test('files() questions merged into one probe get the answers their own probes give', async () => {
  const conn = new LocalConnection('local')
  const d = tempDir()
  mkdirSync(join(d, 'dir'))
  mkdirSync(join(d, 'locked'), { mode: 0o700 })
  writeFileSync(join(d, 'file'), 'hello\n')
  writeFileSync(join(d, 'empty'), '')
  writeFileSync(join(d, 'with space'), 'x')
  writeFileSync(join(d, 'new\nline'), 'nl')
  writeFileSync(join(d, 'back\\slash'), 'bs')
  writeFileSync(join(d, '-dash'), 'dash')
  writeFileSync(join(d, "quo'te"), 'q')
  writeFileSync(join(d, 'locked', 'inside'), 'secret')
  const { symlinkSync } = await import('node:fs')
  symlinkSync('file', join(d, 'link'))
  symlinkSync('nowhere', join(d, 'dangling'))
  symlinkSync('dir', join(d, 'dirlink'))
  symlinkSync('new\nline', join(d, 'oddlink'))
  const names = [
    'dir',
    'locked',
    'file',
    'empty',
    'with space',
    'new\nline',
    'back\\slash',
    '-dash',
    "quo'te",
    'link',
    'dangling',
    'dirlink',
    'oddlink',
    'missing',
    'dir/missing',
    'file/under-a-file',
  ]
  const p = (n: string) => join(d, n)
  const questions: FilesQuestion[] = [
    { paths: names.map(p), opts: {} },
    { paths: names.map(p), opts: { follow: true } },
    { paths: names.map(p), opts: { sha256: true } },
    { paths: names.map(p), opts: { sha256: true, content: true, follow: true } },
    { paths: [p('file'), p('dir')], opts: { content: true } },
    { paths: [p('link')], opts: { sha256: true } },
    { paths: [], opts: {} },
  ]
  const merged = filesProbe(questions)
  const r = await conn.exec(merged.script)
  assert.equal(r.rc, 0, r.stderr.toString())
  const answers = merged.parse(r.stdout)
  for (const [i, q] of questions.entries()) {
    const own = filesProbe([q])
    const alone = await conn.exec(own.script)
    const want = own.parse(alone.stdout)[0]
    const got = answers[i]
    assert.deepEqual(got, want, `question ${i} ${JSON.stringify(q.opts)}`)
  }
  // Stat once per path (and once more with -L), sha256sum once for all: far fewer processes.
  assert.equal((merged.script.match(/\bstat -/g) ?? []).length, 4, 'stat runs once per mode (and once more per mode only on failure)')
  assert.equal((merged.script.match(/sha256sum/g) ?? []).length, 2)
})

test('a merged files probe cut short or failing gives no answer it cannot vouch for', async () => {
  const conn = new LocalConnection('local')
  const d = tempDir()
  writeFileSync(join(d, 'a'), 'a')
  writeFileSync(join(d, 'b'), 'b')
  const q: FilesQuestion[] = [{ paths: [join(d, 'a'), join(d, 'b')], opts: { sha256: true } }]
  const merged = filesProbe(q)
  const r = await conn.exec(merged.script)
  const full = r.stdout.toString('latin1')
  // Cut before the end: the reader sees no line for the paths, so it says it cannot stat them.
  const cut = merged.parse(Buffer.from(full.slice(0, full.indexOf('@@follow')), 'latin1'))
  assert.deepEqual([...cut[0].keys()], [])
  // A path removed between the test and the stat: stat is re-run per path, the gone one is unknown.
  const raced = merged.script.replace(/(echo\n)(if \[ \$# -gt 0 \]; then stat -c)/, `$1rm -f -- ${JSON.stringify(join(d, 'a'))}\n$2`)
  assert.notEqual(raced, merged.script)
  const rr = await conn.exec(raced)
  const got = merged.parse(rr.stdout)[0]
  assert.equal(got.has(join(d, 'a')), false, 'the vanished path has no answer')
  assert.equal(got.get(join(d, 'b'))?.exists, true)
  assert.equal(got.get(join(d, 'b'))?.sha256, '3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d')
})

// ------------------------------------------------------------------ runs

interface Run {
  summary: RunSummary
  results: HostResultEvent[]
}

async function runIn(dir: string, playbook: string, opts: { check?: boolean; extraVars?: string[] } = {}): Promise<Run> {
  const diags = new Diagnostics()
  const project = loadProject({ playbook: join(dir, playbook), inventories: [join(dir, 'inventory.yml')], extraVars: opts.extraVars ?? [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const events: RunEvent[] = []
  const summary = await runPlaybook(project as never, { connect: (h) => new LocalConnection(h), check: opts.check }, (e) => events.push(e))
  return { summary, results: events.filter((e): e is HostResultEvent => e.type === 'host:result') }
}

function failures(r: Run): string {
  return r.results
    .filter((e) => e.status === 'failed')
    .map((e) => `${e.host} ${e.task}: ${e.msg}`)
    .join('\n')
}

function project(files: Record<string, string>): string {
  const dir = tempDir()
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

const inventory = (dir: string) => `
all:
  hosts:
    one: { root: ${dir}/one }
    two: { root: ${dir}/two }
  vars:
    ansible_connection: local
`

test('a no-change re-run and check mode cost a few round trips per host, not one per task', async () => {
  const dir = tempDir()
  const files = {
    'inventory.yml': inventory(dir),
    'templates/app.conf.j2': 'host={{ inventory_hostname }}\nport={{ port }}\n',
    'templates/shared.j2': 'port={{ port }}\n',
    'files/motd': 'hello\n',
    'site.yml': `
- hosts: all
  gather_facts: false
  vars: { port: 8080 }
  tasks:
    - file: { path: "{{ root }}", state: directory, mode: "0755" }
    - file: { path: "{{ root }}/conf", state: directory }
    - copy: { src: motd, dest: "{{ root }}/motd", mode: "0644" }
    - copy: { content: "x=1\\n", dest: "{{ root }}/x" }
    - template: { src: app.conf.j2, dest: "{{ root }}/app.conf" }
    - template: { src: shared.j2, dest: "{{ root }}/conf/shared" }
    - lineinfile: { path: "{{ root }}/settings", line: "a=1", create: true }
    - lineinfile: { path: "{{ root }}/settings", regexp: "^b=", line: "b=2" }
    - file: { src: "{{ root }}/app.conf", dest: "{{ root }}/current", state: link }
    - command: touch {{ root }}/marker
      args: { creates: "{{ root }}/marker" }
    - stat: { path: "{{ root }}/app.conf" }
      register: st
    - set_fact: { size: "{{ st.stat.size }}" }
    - copy: { content: "size={{ size }}\\n", dest: "{{ root }}/size" }
`,
  }
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  const first = await runIn(dir, 'site.yml')
  assert.equal(failures(first), '')
  assert.equal(first.summary.changed, true)
  assert.equal(readFileSync(join(dir, 'one/app.conf'), 'utf8'), 'host=one\nport=8080\n')
  assert.equal(readFileSync(join(dir, 'two/app.conf'), 'utf8'), 'host=two\nport=8080\n')
  assert.equal(readFileSync(join(dir, 'one/size'), 'utf8'), 'size=19\n')

  const again = await runIn(dir, 'site.yml')
  assert.equal(failures(again), '')
  assert.deepEqual(
    again.results.filter((e) => e.status !== 'ok').map((e) => `${e.host} ${e.task} ${e.status}`),
    [],
  )
  // One batch, and one for the last copy (its content depends on a fact set in between).
  for (const [h, n] of Object.entries(again.summary.roundTrips)) assert.ok(n <= 2, `${h}: ${n} round trips on a no-change re-run`)

  const check = await runIn(dir, 'site.yml', { check: true })
  assert.equal(failures(check), '')
  assert.equal(check.summary.changed, false)
  for (const [h, n] of Object.entries(check.summary.roundTrips)) assert.ok(n <= 2, `${h}: ${n} round trips in check mode`)
})

test('what a step changes is seen by the next task, never a probe fetched before it', async () => {
  const dir = project({})
  writeFileSync(join(dir, 'inventory.yml'), inventory(dir))
  writeFileSync(
    join(dir, 'site.yml'),
    `
- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ root }}", state: directory }
    - copy: { content: "a=1\\n", dest: "{{ root }}/f" }
    # without create: fails if it planned against the file as it was before the copy (absent)
    - lineinfile: { path: "{{ root }}/f", line: "b=2" }
    - stat: { path: "{{ root }}/f" }
      register: st
    - copy: { content: "{{ st.stat.size }}\\n", dest: "{{ root }}/size" }
    - command: sh -c 'echo c=3 >> {{ root }}/f'
    - lineinfile: { path: "{{ root }}/f", line: "c=3" }
      register: third
    - copy: { content: "{{ 'changed' if third.changed else 'unchanged' }}\\n", dest: "{{ root }}/third" }
`,
  )
  const r = await runIn(dir, 'site.yml')
  assert.equal(failures(r), '')
  for (const h of ['one', 'two']) {
    assert.equal(readFileSync(join(dir, h, 'f'), 'utf8'), 'a=1\nb=2\nc=3\n')
    assert.equal(readFileSync(join(dir, h, 'size'), 'utf8'), '8\n')
    // the command appended c=3: lineinfile must have seen it (not the cached content without it)
    assert.equal(readFileSync(join(dir, h, 'third'), 'utf8'), 'unchanged\n')
  }
})

/** A project of the two local hosts below its own folder, with this site.yml. */
function siteProject(site: string): string {
  const dir = project({})
  writeFileSync(join(dir, 'inventory.yml'), inventory(dir))
  writeFileSync(join(dir, 'site.yml'), site)
  return dir
}

test('arguments that depend on a result registered in between are planned with that result', async () => {
  const dir = siteProject(
    `
- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ root }}", state: directory }
    - stat: { path: "{{ root }}/flag" }
      register: flag
    - copy:
        content: "{{ 'had flag' if flag.stat.exists else 'no flag' }}\\n"
        dest: "{{ root }}/{{ 'with' if flag.stat.exists else 'without' }}"
`,
  )
  mkdirSync(join(dir, 'one'))
  writeFileSync(join(dir, 'one', 'flag'), '')
  const r = await runIn(dir, 'site.yml')
  assert.equal(failures(r), '')
  assert.equal(readFileSync(join(dir, 'one', 'with'), 'utf8'), 'had flag\n')
  assert.equal(readFileSync(join(dir, 'two', 'without'), 'utf8'), 'no flag\n')
  const again = await runIn(dir, 'site.yml')
  assert.equal(again.summary.changed, false)
})

test('a loop whose arguments use a fact set in between costs one round trip at its turn, not one per item', async () => {
  const dir = siteProject(
    `
- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ root }}/conf", state: directory }
    - stat: { path: "{{ root }}/conf" }
      register: conf
    - set_fact: { conf_dir: "{{ conf.stat.path }}" }
    - copy:
        content: "{{ item }}\\n"
        dest: "{{ conf_dir }}/{{ item }}"
      loop: [a, b, c, d, e]
    - file: { path: "{{ conf_dir }}/{{ item }}", mode: "0600" }
      loop: [a, b, c, d, e]
`,
  )
  const first = await runIn(dir, 'site.yml')
  assert.equal(failures(first), '')
  assert.equal(readFileSync(join(dir, 'two', 'conf', 'c'), 'utf8'), 'c\n')
  const again = await runIn(dir, 'site.yml')
  assert.equal(failures(again), '')
  assert.equal(again.summary.changed, false)
  // The first stretch (file, stat) and the stretch that starts at the copy loop, once the fact is set.
  for (const [host, trips] of Object.entries(again.summary.roundTrips)) assert.ok(trips <= 2, `${host}: ${trips} round trips`)
})

// ------------------------------------------------------------------ controller files

test('a controller file is read again when it changes', () => {
  const dir = tempDir()
  const f = join(dir, 'a.txt')
  writeFileSync(f, 'one')
  const c = new ControllerCache()
  assert.equal(c.read(f)?.toString(), 'one')
  writeFileSync(f, 'two!')
  utimesSync(f, new Date(), new Date(Date.now() + 5000))
  assert.equal(c.read(f)?.toString(), 'two!')
  assert.equal(c.read(join(dir, 'missing')), undefined)
  assert.equal(c.read(dir), undefined)
})

test('a template is rendered once per distinct input, and never shared when it reads more than its names', () => {
  const c = new ControllerCache()
  let renders = 0
  const render = (out: string) => () => {
    renders++
    return out
  }
  const t = 'port={{ port }} {% if tls is defined %}tls{% endif %}'
  assert.equal(c.render(t, { port: 1, inventory_hostname: 'a' }, 'f', render('A')), 'A')
  assert.equal(c.render(t, { port: 1, inventory_hostname: 'b' }, 'f', render('B')), 'A')
  assert.equal(renders, 1)
  c.render(t, { port: 2 }, 'f', render('C'))
  c.render(t, { port: 1, tls: true }, 'f', render('D'))
  // an undefined value is the same input as a missing one; null is not
  assert.equal(c.render(t, { port: 1, tls: undefined }, 'f', render('E')), 'A')
  c.render(t, { port: 1, tls: null }, 'f', render('F'))
  assert.equal(renders, 4)
  for (const impure of [
    "{{ lookup('pipe', 'date') }}",
    '{{ now() }}',
    "{% include 'x.j2' %}",
    '{{ hostvars[inventory_hostname].x }}',
    '{{ vars["port"] }}',
    '{{ 10 | random }}',
    "{{ '%H:%M:%S' | strftime }}",
    "{{ 'files/*' | fileglob }}",
    "{{ 'link' | realpath }}",
    "{{ 'x' | vault('pw') }}",
  ]) {
    const before: number = renders
    c.render(impure, { port: 1, inventory_hostname: 'a' }, 'f', render('x'))
    c.render(impure, { port: 1, inventory_hostname: 'a' }, 'f', render('x'))
    assert.equal(renders, before + 2, impure)
  }
})

test("facts cost no round trip of their own: they go with the play's first read-ahead; a templated gather_facts is decided as Ansible does", async () => {
  const dir = tempDir()
  const dirFiles = {
    'inventory.yml': inventory(dir),
    'site.yml': `
- hosts: all
  gather_facts: "{{ gather | default(false) | bool }}"
  tasks:
    - file: { path: "{{ root }}", state: directory, mode: "0755" }
    - copy: { content: "a\\n", dest: "{{ root }}/a" }
    - lineinfile: { path: "{{ root }}/b", line: "b=1", create: true }
    - name: facts
      assert: { that: ["(ansible_facts.hostname is defined) == (gather | default(false) | bool)"] }
- hosts: all
  gather_facts: "{{ gather | default(false) | bool }}"
  tasks:
    - name: reads a fact first
      copy: { content: "{{ ansible_facts.system }}\\n", dest: "{{ root }}/system" }
      when: gather | default(false) | bool
`,
  }
  const d = project(dirFiles)
  const gathered = (r: Run) => r.results.filter((e) => e.task === 'Gathering Facts').map((e) => `${e.host} ${e.status}`)
  const first = await runIn(d, 'site.yml', { extraVars: ['gather=true'] })
  assert.equal(failures(first), '')
  assert.deepEqual(gathered(first).sort(), ['one ok', 'one ok', 'two ok', 'two ok'])
  assert.equal(readFileSync(join(dir, 'one/system'), 'utf8'), 'Linux\n')
  const on = await runIn(d, 'site.yml', { extraVars: ['gather=true'] })
  assert.equal(failures(on), '')
  assert.equal(on.summary.changed, false)
  // Ansible: `{{ gather | default(false) | bool }}` with gather unset is false: no facts.
  const offAgain = await runIn(d, 'site.yml')
  assert.equal(failures(offAgain), '')
  assert.deepEqual(gathered(offAgain), [])
  assert.equal(offAgain.summary.changed, false)
  // Without facts, one round trip for the run (the second play's task is skipped). With facts, one
  // per play: each play's facts ride with its first read-ahead (the second play's task reads a
  // fact, planned with the facts the first play gathered and answered when its facts are in).
  // Facts sent on their own would make it 4.
  for (const [h, n] of Object.entries(offAgain.summary.roundTrips)) assert.equal(n, 1, `${h}: ${n} round trips without facts`)
  for (const [h, n] of Object.entries(on.summary.roundTrips)) assert.equal(n, 2, `${h}: ${n} round trips with facts in both plays`)
})

test("a change stats its path afterwards only for a task whose result is read (registered): the registered result has the path's attributes", async () => {
  const dir = tempDir()
  const files = {
    'inventory.yml': `
all:
  hosts:
    one: { root: ${dir}/one }
  vars:
    ansible_connection: local
`,
    'site.yml': `
- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "{{ root }}/a", state: directory, mode: "0750" }
    - copy: { content: "x\\n", dest: "{{ root }}/a/f", mode: "0640" }
    - file: { path: "{{ root }}/b", state: directory, mode: "0750" }
      register: dir_b
    - copy: { content: "y\\n", dest: "{{ root }}/b/g", mode: "0640" }
      register: file_g
    - assert:
        that:
          - dir_b.mode == "0750" and dir_b.state == "directory" and dir_b.uid is number
          - file_g.mode == "0640" and file_g.size == 2 and file_g.owner | length > 0 and file_g.gid == dir_b.gid
`,
  }
  const p = project(files)
  const scripts: string[] = []
  const diags = new Diagnostics()
  const proj = loadProject({ playbook: join(p, 'site.yml'), inventories: [join(p, 'inventory.yml')], extraVars: [] }, diags)
  assert.ok(proj && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const events: RunEvent[] = []
  const connect = (h: string) => {
    const c = new LocalConnection(h)
    const exec = c.exec.bind(c)
    c.exec = (script, o) => (scripts.push(script), exec(script, o))
    return c
  }
  mkdirSync(join(dir, 'one'), { recursive: true })
  const summary = await runPlaybook(proj as never, { connect }, (e) => events.push(e))
  const results = events.filter((e): e is HostResultEvent => e.type === 'host:result')
  assert.equal(summary.exitCode, 0, results.map((e) => `${e.task}: ${e.msg}`).join('\n'))
  const statted = scripts.filter((s) => s.includes('#k3sbook-stat')).map((s) => /-- (\S+); \} 2>\/dev\/null \|\| true\n$/.exec(s)?.[1])
  assert.deepEqual(statted, [`${dir}/one/b`, `${dir}/one/b/g`], 'only the registered changes are statted after')
})
