// README.md's commands, as written, through the built CLI (bin/k3sbook.js, so run `npm run build`
// first), with `k3sbook` on PATH as scripts/setup.sh puts it. Every `k3sbook …` line of its shell
// blocks and of the CLI synopsis names a command and options that exist; the vault block runs as
// it is and its file is what the cluster commands then read; the cluster commands check the
// repository's playbooks and inventory (with --list-hosts added where they would contact hosts);
// the lab example runs as it is against a lab of its own (its name changed, as two test runs may
// share this machine); and the yaml-language-server line finds what `k3sbook schema` wrote.
// Not run here: scripts/setup.sh and `npm run demo` (the set-up and the demo themselves).
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { CLI } from '../helpers/pty.js'

const ROOT = join(import.meta.dirname, '../..')
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

const temps: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-readme-'))
  temps.push(d)
  return d
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

/** `k3sbook` on PATH (as scripts/setup.sh links it), a HOME of its own, no Ansible settings. */
function userEnv(): NodeJS.ProcessEnv {
  const bin = tmp()
  writeFileSync(join(bin, 'k3sbook'), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`)
  chmodSync(join(bin, 'k3sbook'), 0o755)
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: tmp(), PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' }
  for (const k of Object.keys(env)) if (k.startsWith('ANSIBLE_') || k.startsWith('K3SBOOK_')) delete env[k]
  return env
}

/** A shell line as a user types it (bash, as the README's blocks are). */
function shell(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((done, reject) => {
    const child = spawn('bash', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (b) => (out += b))
    child.stderr.on('data', (b) => (out += b))
    child.on('error', reject)
    child.on('close', (code) => done({ code, out }))
  })
}

/** The fenced blocks: language and text. */
const blocks = [...README.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }))
const shBlocks = blocks.filter((b) => b.lang === 'sh')
const blockWith = (s: string) => {
  const found = shBlocks.filter((b) => b.text.includes(s))
  assert.equal(found.length, 1, `one sh block of README.md has "${s}"`)
  return found[0].text
}

/** The block's commands: one per line, a here-document taken whole with its line. */
function commands(text: string): string[] {
  const out: string[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]
    if (!line.trim() || line.trimStart().startsWith('#')) continue
    const here = /<<'?(\w+)'?/.exec(line)
    if (here) {
      while (++i < lines.length && lines[i] !== here[1]) line += '\n' + lines[i]
      line += '\n' + here[1]
    }
    out.push(line)
  }
  return out
}

/** A command line without its trailing `# comment`. */
const uncommented = (line: string) => line.replace(/\s+#\s.*$/, '')

// ------------------------------------------------------------------ options against the real CLI

const helpCache = new Map<string, Promise<{ code: number | null; out: string }>>()
function help(path: string[]): Promise<{ code: number | null; out: string }> {
  const key = path.join(' ')
  if (!helpCache.has(key)) helpCache.set(key, shell(`k3sbook ${key} --help`, ROOT, helpEnv))
  return helpCache.get(key)!
}
const helpEnv = userEnv()

const OPTION = /(?:^|[\s[|(])(--?[A-Za-z][\w-]*)/g
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Every option of a synopsis or command line is one its (sub)command's help lists. */
async function checkOptions(line: string): Promise<void> {
  const words = uncommented(line).replace(/^k3sbook\s+/, '')
  const top = await help([])
  const commandNames = [...top.out.matchAll(/^ {2}(\w+)\s/gm)].map((m) => m[1])
  const first = words.split(/\s+/)[0]
  // `lab up … | status | down …` and `vault encrypt|decrypt|…`: each subcommand on its own
  let parts: { path: string[]; text: string }[]
  if (first === 'lab')
    parts = words
      .slice(4)
      .split(' | ')
      .map((seg) => ({ path: ['lab', seg.trim().split(/\s+/)[0]], text: seg }))
  else if (first === 'vault')
    parts = words
      .split(/\s+/)[1]
      .split('|')
      .map((sub) => ({ path: ['vault', sub], text: '' }))
  else if (commandNames.includes(first)) parts = [{ path: [first], text: words.slice(first.length) }]
  else parts = [{ path: ['adhoc'], text: words }] // the short form: k3sbook PATTERN -a ARGS
  for (const { path, text } of parts) {
    const h = await help(path)
    assert.equal(h.code, 0, `${line}: \`k3sbook ${path.join(' ')} --help\`: ${h.out}`)
    // a quoted argument is a value, not options
    const bare = text.replace(/'[^']*'|"[^"]*"/g, "''")
    for (const [, opt] of bare.matchAll(OPTION)) {
      assert.match(h.out, new RegExp(`(?:^|[\\s,])${esc(opt)}(?=[\\s,=]|$)`, 'm'), `README: \`${line.trim()}\`: k3sbook ${path.join(' ')} has no ${opt}`)
    }
  }
}

describe("README.md's commands", () => {
  test('every k3sbook line of the shell blocks, the CLI synopsis and the inline examples names options the CLI has', async () => {
    const lines: string[] = []
    for (const b of shBlocks) for (const c of commands(b.text)) if (/^k3sbook\s/.test(c)) lines.push(c)
    const synopsis = blocks.find((b) => b.lang === '' && /^k3sbook run PLAYBOOK/m.test(b.text))
    assert.ok(synopsis, 'the CLI synopsis block')
    // a synopsis line continued on indented lines is one line
    for (const l of synopsis.text.replace(/\n\s+(?=\[)/g, ' ').split('\n')) if (l.startsWith('k3sbook ')) lines.push(l)
    // inline: `k3sbook adhoc web -m ping`, `k3sbook all -a 'uptime' --forks 10`, …
    for (const m of README.matchAll(/`(k3sbook [^`]+)`/g)) if (!/[A-Z]{3,}|…/.test(m[1])) lines.push(m[1])
    assert.ok(lines.length > 25, `${lines.length} lines`)
    for (const l of lines) await checkOptions(l)
  })

  test('the vault block runs as written; the cluster commands then check the playbooks with its secrets', async () => {
    const proj = tmp()
    // the repository's layout: playbooks and roles and the inventory, nothing written into the checkout
    cpSync(join(ROOT, 'playbooks'), join(proj, 'playbooks'), { recursive: true })
    for (const d of ['roles', 'inventory']) symlinkSync(join(ROOT, d), join(proj, d))
    const env = userEnv()
    const vault = blockWith('k3sbook vault encrypt')
    const r = await shell(`set -e\n${vault}`, proj, env)
    assert.equal(r.code, 0, r.out)
    const file = join(proj, 'secrets.vault.yml')
    assert.match(readFileSync(file, 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const plain = /<<'END'\n([\s\S]*?)\nEND/.exec(vault)![1] + '\n'
    assert.equal((await shell('k3sbook vault view secrets.vault.yml --vault-password-file ~/.k3sbook-vault', proj, env)).out, plain)

    // "then add to the commands below:" … exactly as the block says
    const add = /then add to the commands below:\s+(.+)$/m.exec(vault)![1].trim()
    const cluster = commands(blockWith('k3sbook validate playbooks/site.yml')).map(uncommented)
    assert.ok(cluster.length >= 5)
    const results = await Promise.all(
      cluster.map((c) => shell(`${c} ${add}${/^k3sbook (run|check)\s/.test(c) ? ' --list-hosts' : ''}`, proj, env).then((x) => ({ c, ...x }))),
    )
    for (const { c, code, out } of results) {
      assert.equal(code, 0, `${c}\n${out}`)
      if (c.startsWith('k3sbook validate')) assert.match(out, /^ok: /m, out)
      else assert.match(out, /hosts \(\d+\):/, out)
    }
    const agents = results.find((x) => x.c.includes('--limit k3s_agent'))!
    const inventory = parse(readFileSync(join(ROOT, 'inventory/cluster.yml'), 'utf8'))
    for (const h of Object.keys(inventory.all.children.k3s_server.hosts)) assert.doesNotMatch(agents.out, new RegExp(`\\b${h}\\b`))
  })

  test('the lab example runs as written (under a lab name of its own) and does what its comments say', async () => {
    const name = `rdme-${process.pid.toString(36)}`
    const d = tmp()
    const text = blockWith('k3sbook lab up')
      .replace(/\bdemo\b/g, name)
      .replaceAll('/tmp/hello.yml', join(d, 'hello.yml'))
    const env = userEnv()
    const steps = commands(text)
    try {
      const got: { c: string; code: number | null; out: string }[] = []
      for (const c of steps) got.push({ c, ...(await shell(c, d, env)) })
      const codes = got.map((g) => `${g.c.split('\n')[0]} → ${g.code}`)
      const show = got.map((g) => `$ ${g.c}\n${g.out}`).join('\n')
      assert.deepEqual(
        got.map((g) => g.code),
        // check exits 2: something would change
        steps.map((c) => (/^k3sbook check/.test(c) ? 2 : 0)),
        `${codes.join('\n')}\n${show}`,
      )
      const at = (re: RegExp) => got.filter((g) => re.test(g.c))
      const [check] = at(/^k3sbook check/)
      assert.match(check.out, /would change/, show)
      assert.match(check.out, /greeted/, 'the handler would run')
      const [first, second] = at(/^k3sbook run/)
      assert.match(first.out, /:\s+ok=2\s+changed=2\b/, show) // the file, and the handler
      assert.match(second.out, /:\s+ok=1\s+changed=0\b/, show)
      assert.ok(!existsSync(`/var/lib/k3sbook/labs/${name}`), 'the lab is down')
    } finally {
      if (existsSync(`/var/lib/k3sbook/labs/${name}`)) spawnSync(process.execPath, [CLI, 'lab', 'down', '--name', name], { env })
    }
  })

  test("the yaml-language-server line points from a playbook at what the README's schema command writes", async () => {
    const bullet = /`(k3sbook schema --out ([^`\s]+))`[\s\S]*?`# yaml-language-server: \$schema=([^`\s]+)`/.exec(README)
    assert.ok(bullet, 'the schema command and the yaml-language-server line')
    const [, command, , schemaRef] = bullet
    const proj = tmp()
    cpSync(join(ROOT, 'playbooks'), join(proj, 'playbooks'), { recursive: true })
    const r = await shell(command, proj, userEnv())
    assert.equal(r.code, 0, r.out)
    // the editor resolves the reference from the playbook's own folder
    const schemaFile = resolve(proj, 'playbooks', schemaRef)
    assert.ok(existsSync(schemaFile), `${schemaRef} from playbooks/ is ${schemaFile}: not written (${r.out})`)
    assert.match(r.out, new RegExp(esc(schemaFile)))
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8'))
    const printed = spawnSync(process.execPath, [CLI, 'schema', 'playbook'], { encoding: 'utf8' })
    assert.deepEqual(schema, JSON.parse(printed.stdout), 'the playbook schema')
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)
    for (const f of readdirSync(join(proj, 'playbooks'))) {
      const first = `# yaml-language-server: $schema=${schemaRef}\n`
      const doc = parse(first + readFileSync(join(proj, 'playbooks', f), 'utf8'))
      assert.ok(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`)
    }
    for (const k of ['tasks', 'handlers', 'inventory']) assert.ok(existsSync(join(schemaFile, '..', `${k}.schema.json`)), k)
  })
})
