// An Ansible user's habits against real lab hosts, through the built CLI (bin/k3sbook.js, so run
// `npm run build` first): ad-hoc commands, Ansible's flags, ansible.cfg and ANSIBLE_* settings,
// selectors that match nothing, bad options, lab exec, validate's warnings, the editor schema,
// vault interop with ansible-vault, Ctrl-C in a terminal, and the packed tarball installed alone.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Ajv } from 'ajv'
import { parse } from 'yaml'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'

const ROOT = join(import.meta.dirname, '../..')
const BIN = join(ROOT, 'bin/k3sbook.js')

interface Result {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/** The CLI as a user runs it, with no Ansible settings from this machine leaking in. */
function k3(args: string[], o: { cwd?: string; env?: Record<string, string>; input?: string; bin?: string } = {}): Promise<Result> {
  const home = mkdtempSync(join(tmpdir(), 'k3sbook-home-'))
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, NO_COLOR: '1', ...o.env }
  for (const k of Object.keys(env)) if (k.startsWith('ANSIBLE_') && !(o.env && k in o.env)) delete env[k]
  const t0 = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [o.bin ?? BIN, ...args], { cwd: o.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b) => (stdout += b))
    child.stderr.on('data', (b) => (stderr += b))
    child.stdin.end(o.input ?? '')
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }))
  })
}

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-habits-'))
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true })
    writeFileSync(join(d, p), text)
  }
  return d
}

const PLAY = `- name: Habits
  hosts: lab
  gather_facts: false
  tasks:
    - name: Stamp
      copy:
        content: "stamp\\n"
        dest: /opt/habits.txt
      tags: [stamp]
      notify: stamped
    - name: Break on request
      fail:
        msg: broken
      when: break_it | default(false) | bool
  handlers:
    - name: stamped
      command: touch /opt/habits-handler
`

describe('an Ansible user on lab hosts', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let proj: string
  /** An inventory that names only the addresses: how to connect comes from flags or ansible.cfg. */
  let bare: string
  before(async () => {
    lab = await startLab({ hosts: 2, tag: 'habits' })
    bare = `lab:\n  hosts:\n${lab.hosts.map((h) => `    ${h.name}:\n      ansible_host: ${h.address}\n`).join('')}`
    proj = dir({ 'site.yml': PLAY, 'bare.yml': bare })
  })
  after(() => lab?.stop())

  const reset = () => Promise.all(lab.hosts.map((h) => sh(lab, h.index, 'rm -f /opt/habits* /opt/adhoc*')))

  test('adhoc: -m ping, -a command output per host, --check changes nothing, --become, the short form, JSON events', async () => {
    await reset()
    const ping = await k3(['adhoc', 'lab', '-i', lab.inventoryPath, '-m', 'ping', '-o', 'plain'])
    assert.equal(ping.code, 0, ping.stdout + ping.stderr)
    for (const h of lab.hosts) assert.match(ping.stdout, new RegExp(`ok\\s+${h.name}\\s+ping`))
    assert.match(ping.stdout, /PLAY RECAP/)

    const cmd = await k3(['all', '-i', lab.inventoryPath, '-a', 'cat /etc/hostname', '-o', 'plain'])
    assert.equal(cmd.code, 0, cmd.stderr)
    for (const h of lab.hosts) assert.match(cmd.stdout, new RegExp(`debug\\s+${h.name}\\s+rc=0 >>\\n${h.name}\\n`))

    const check = await k3(['adhoc', 'lab', '-i', lab.inventoryPath, '-m', 'copy', '-a', 'content=x dest=/opt/adhoc.txt', '--check', '-o', 'plain'])
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stdout, /would change/)
    for (const h of lab.hosts) assert.equal((await sh(lab, h.index, 'ls /opt/adhoc.txt 2>/dev/null || echo none')).trim(), 'none')

    const become = await k3(['adhoc', 'lab', '-i', lab.inventoryPath, '-a', 'id -un', '-b', '--become-user', 'nobody', '--become-method', 'su', '-o', 'plain'])
    assert.equal(become.code, 0, become.stdout + become.stderr)
    assert.equal((become.stdout.match(/rc=0 >>\nnobody\n/g) ?? []).length, 2)

    const json = await k3(['adhoc', 'lab', '-i', lab.inventoryPath, '-m', 'ping', '-o', 'json'])
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      events.filter((e) => e.type === 'host:result').map((e) => e.status),
      ['ok', 'ok'],
    )
    assert.equal(events.at(-1).type, 'run:end')

    const nomatch = await k3(['adhoc', 'labb', '-i', lab.inventoryPath, '-m', 'ping'])
    assert.equal(nomatch.code, 5)
    assert.match(nomatch.stderr, /"labb" matches no host.*closest names: "lab"/)
  })

  test('adhoc --forks and ansible.cfg forks bound the hosts in parallel', async () => {
    // Each host prints when its command started and ended (one kernel clock for all lab hosts):
    // with one fork the two spans never overlap; with more they do. No wall-clock margin involved.
    const spans = async (extra: string[], o: { cwd?: string; env?: Record<string, string> } = {}) => {
      const r = await k3(['adhoc', 'lab', '-i', lab.inventoryPath, '-m', 'shell', '-a', 'date +%s%N; sleep 1; date +%s%N', '-o', 'json', ...extra], o)
      assert.equal(r.code, 0, r.stderr)
      const got = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .filter((e) => e.type === 'host:result')
        .map((e) => String(e.stdout).trim().split('\n').map(BigInt))
        .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      assert.equal(got.length, 2, r.stdout)
      return got[1][0] < got[0][1] // the second started before the first ended
    }
    assert.equal(await spans([]), true, 'default forks run both hosts at once')
    assert.equal(await spans(['--forks', '1']), false, '--forks 1 runs one host at a time')
    const cfg = dir({ 'ansible.cfg': '[defaults]\nforks = 1 ; one at a time\n' })
    assert.equal(await spans([], { cwd: cfg }), false, 'forks = 1 in ansible.cfg')
    assert.equal(await spans([], { cwd: cfg, env: { ANSIBLE_FORKS: '5' } }), true, 'ANSIBLE_FORKS=5 beats ansible.cfg')
    const args = ['adhoc', 'lab', '-i', lab.inventoryPath, '-a', 'true', '-o', 'plain']
    // `#` is not an inline comment in ansible.cfg (configparser as Ansible sets it up)
    const hash = await k3(args, { cwd: dir({ 'ansible.cfg': '[defaults]\nforks = 1 # one\n' }) })
    assert.equal(hash.code, 5)
    assert.match(hash.stderr, /ansible\.cfg \[defaults\] forks: "1 # one" is not a whole number/)
  })

  test('connection flags: -u, --private-key, --ssh-common-args reach hosts an inventory does not describe; inventory vars win', async () => {
    await reset()
    const base = ['run', 'site.yml', '-i', 'bare.yml', '-o', 'plain', '-T', '5']
    const without = await k3(base, { cwd: proj })
    assert.equal(without.code, 4, without.stdout)
    const flags = [
      '-u',
      'root',
      '--private-key',
      lab.keyPath,
      '--ssh-common-args',
      `-o UserKnownHostsFile=${lab.knownHostsPath} -o GlobalKnownHostsFile=/dev/null`,
    ]
    const withFlags = await k3([...base, ...flags], { cwd: proj })
    assert.equal(withFlags.code, 0, withFlags.stdout + withFlags.stderr)
    for (const h of lab.hosts) assert.equal(await sh(lab, h.index, 'cat /opt/habits.txt'), 'stamp\n')
    // an inventory's ansible_user wins over -u (as in Ansible)
    const inv = dir({ 'inv.yml': bare.replace(/ansible_host/g, 'ansible_user: nosuchuser\n      ansible_host') })
    const invWins = await k3([...base.slice(0, 3), join(inv, 'inv.yml'), ...base.slice(4), ...flags], { cwd: proj })
    assert.equal(invWins.code, 4, invWins.stdout)
    assert.match(invWins.stdout, /nosuchuser|authentication/)
    // the key path is where the secret is, not the secret: it is printed as it is
    const badKey = await k3([...base, '-u', 'root', '--private-key', '/nonexistent/key', '--ssh-common-args', flags[5]], { cwd: proj })
    assert.equal(badKey.code, 4)
    assert.doesNotMatch(badKey.stdout + badKey.stderr, /\*\*\*\*\*\*\*\*/)
  })

  test('ansible.cfg: inventory, remote_user, private_key_file, ssh_args, timeout, become*, roles_path, vault_password_file, host_key_checking', async () => {
    await reset()
    const { encryptVault } = await import('../../src/vault.js')
    const known = join(mkdtempSync(join(tmpdir(), 'k3sbook-kh-')), 'known_hosts')
    writeFileSync(known, '')
    const cfg = (extra = '') => `# ansible.cfg as people write it
[defaults]
inventory = bare.yml
remote_user = root ; the lab's user
private_key_file = ${lab.keyPath}
timeout = 5
roles_path = ./elsewhere/roles
vault_password_file = ./vault-pass
${extra}
[privilege_escalation]
become = True
become_user = nobody
become_method = su

[ssh_connection]
ssh_args = -o UserKnownHostsFile=${known} -o GlobalKnownHostsFile=/dev/null
`
    const d = dir({
      'bare.yml': bare,
      'vault-pass': 'pw\n',
      'secret.yml': encryptVault('greeting: from the vault\n', 'pw'),
      'elsewhere/roles/whoami/tasks/main.yml': '- name: Who\n  shell: id -un > /tmp/habits-who; echo "{{ greeting }}" >> /tmp/habits-who\n',
      'play.yml': '- hosts: lab\n  gather_facts: false\n  vars_files: [secret.yml]\n  roles: [whoami]\n',
      'ansible.cfg': cfg(),
    })
    // host_key_checking on (the default): the hosts' keys are unknown, so they are refused
    const refused = await k3(['run', 'play.yml', '-o', 'plain'], { cwd: d })
    assert.equal(refused.code, 4, `${refused.stdout}\n${refused.stderr}`)
    writeFileSync(join(d, 'ansible.cfg'), cfg('host_key_checking = False'))
    const r = await k3(['run', 'play.yml', '-o', 'plain'], { cwd: d })
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /host_key_checking is off: .*accept-new/)
    for (const h of lab.hosts) {
      // become (su to nobody), roles_path and vault_password_file all honoured
      assert.equal(await sh(lab, h.index, 'cat /tmp/habits-who'), 'nobody\nfrom the vault\n')
      assert.match(readFileSync(known, 'utf8'), new RegExp(h.address.replace(/\./g, '\\.')))
    }
    // the environment variable wins over the file; a bad value names where it came from
    const bad = await k3(['run', 'play.yml'], { cwd: d, env: { ANSIBLE_TIMEOUT: 'soon' } })
    assert.equal(bad.code, 5)
    assert.match(bad.stderr, /ANSIBLE_TIMEOUT: "soon" is not a whole number/)
    // ANSIBLE_CONFIG names the file
    const elsewhere = dir({})
    const viaEnv = await k3(['hosts', join(d, 'play.yml')], { cwd: elsewhere, env: { ANSIBLE_CONFIG: join(d, 'ansible.cfg') } })
    assert.equal(viaEnv.code, 0, viaEnv.stderr)
    for (const h of lab.hosts) assert.match(viaEnv.stdout, new RegExp(h.name))
  })

  test('--limit, --tags and --start-at-task that match nothing exit 5 with the closest names; nothing is contacted', async () => {
    await reset()
    const base = ['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain']
    const limit = await k3([...base, '--limit', `${lab.hosts[0].name}x`], { cwd: proj })
    assert.equal(limit.code, 5)
    assert.match(limit.stderr, new RegExp(`--limit "${lab.hosts[0].name}x" matches no host.*closest names: "${lab.hosts[0].name}"`))
    const tags = await k3([...base, '--tags', 'stmp'], { cwd: proj })
    assert.equal(tags.code, 5)
    assert.match(tags.stderr, /--tags "stmp": no task has this tag .*closest: "stamp"/)
    const start = await k3([...base, '--start-at-task', 'Stam'], { cwd: proj })
    assert.equal(start.code, 5)
    assert.match(start.stderr, /--start-at-task "Stam" matches no task name.*closest: "Stamp"/)
    const noLab = await k3(['run', 'site.yml', '--lab', 'nosuchlab'], { cwd: proj })
    assert.equal(noLab.code, 5)
    assert.match(noLab.stderr, /lab "nosuchlab" is not running/)
    for (const h of lab.hosts) assert.equal((await sh(lab, h.index, 'ls /opt/habits.txt 2>/dev/null || echo none')).trim(), 'none')
    // globs still match
    const glob = await k3([...base, '--start-at-task', 'Br*'], { cwd: proj })
    assert.equal(glob.code, 0, glob.stderr)
    assert.doesNotMatch(glob.stdout, /Stamp/)
  })

  test('bad options exit 5; extra arguments are refused; Ansible options k3sbook lacks name its way; list aliases', async () => {
    const bogus = await k3(['run', 'site.yml', '--bogus'], { cwd: proj })
    assert.equal(bogus.code, 5)
    assert.match(bogus.stderr, /unknown option '--bogus'/)
    const extra = await k3(['validate', 'site.yml', 'other.yml'], { cwd: proj })
    assert.equal(extra.code, 5)
    assert.match(extra.stderr, /too many arguments/)
    const flush = await k3(['run', 'site.yml', '--flush-cache'], { cwd: proj })
    assert.equal(flush.code, 5)
    assert.match(flush.stderr, /--flush-cache is not supported: k3sbook keeps no fact cache/)
    const cmd = await k3(['rnu', 'site.yml'], { cwd: proj })
    assert.equal(cmd.code, 5)
    const listHosts = await k3(['run', 'site.yml', '-i', lab.inventoryPath, '--list-hosts'], { cwd: proj })
    assert.equal(listHosts.code, 0)
    assert.match(listHosts.stdout, /hosts \(2\):/)
    const listTasks = await k3(['run', 'site.yml', '--list-tasks'], { cwd: proj })
    assert.match(listTasks.stdout, /Stamp\tTAGS: \[stamp\]/)
    const listTags = await k3(['run', 'site.yml', '--list-tags'], { cwd: proj })
    assert.match(listTags.stdout, /TASK TAGS: \[stamp\]/)
    const syntax = await k3(['run', 'site.yml', '--syntax-check', '-i', lab.inventoryPath], { cwd: proj })
    assert.equal(syntax.code, 0)
    assert.match(syntax.stdout, /^ok: 1 play/m)
  })

  test('--force-handlers runs the handlers of a host that failed after notifying', async () => {
    await reset()
    const base = ['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain', '-e', 'break_it=true']
    const plain = await k3(base, { cwd: proj })
    assert.equal(plain.code, 2)
    for (const h of lab.hosts) assert.equal((await sh(lab, h.index, 'ls /opt/habits-handler 2>/dev/null || echo none')).trim(), 'none')
    await reset()
    const forced = await k3([...base, '--force-handlers'], { cwd: proj })
    assert.equal(forced.code, 2)
    for (const h of lab.hosts) assert.equal((await sh(lab, h.index, 'ls /opt/habits-handler')).trim(), '/opt/habits-handler')
  })

  test('validate, hosts and tasks take --lab; lab exec passes everything after the host through', async () => {
    const v = await k3(['validate', 'site.yml', '--lab', lab.name], { cwd: proj })
    assert.equal(v.code, 0, v.stdout + v.stderr)
    assert.match(v.stdout, /2 hosts/)
    const hs = await k3(['hosts', 'site.yml', '--lab', lab.name], { cwd: proj })
    for (const h of lab.hosts) assert.match(hs.stdout, new RegExp(h.name))
    const ts = await k3(['tasks', 'site.yml', '--lab', lab.name], { cwd: proj })
    assert.equal(ts.code, 0)
    const h = lab.hosts[0].name
    const shc = await k3(['lab', 'exec', h, 'sh', '-c', 'echo $((2+3)); hostname'])
    assert.equal(shc.code, 0, shc.stderr)
    assert.equal(shc.stdout, `5\n${h}\n`)
    const one = await k3(['lab', 'exec', h, 'echo a b c | wc -w'])
    assert.equal(one.stdout.trim(), '3')
    const dashed = await k3(['lab', 'exec', '--name', lab.name, h, '--', 'ls', '-d', '/opt'])
    assert.equal(dashed.stdout, '/opt\n')
  })

  test('Ctrl-C in a terminal: the step in flight finishes, the recap prints, exit 130', async () => {
    // the step marks itself in flight on each host; ^C is typed once both marks are there (a fixed
    // delay typed it before the step had started when the machine was loaded)
    const mark = `/tmp/habits-in-flight-${process.pid}-${Date.now()}`
    const d = dir({
      'slow.yml': `- hosts: lab\n  gather_facts: false\n  tasks:\n    - name: Long step\n      shell: touch ${mark}; sleep 4\n    - name: After\n      command: "true"\n`,
    })
    const marked = lab.hosts.map((h) => `ssh -F ${lab.sshConfigPath} ${h.name} test -e ${mark}`).join(' && ')
    const waitMarked = `i=0; until ${marked}; do i=$((i + 1)); [ $i -lt 200 ] || break; sleep 0.2; done`
    // script(1) gives a real pseudo-terminal; the ^C byte typed into it becomes SIGINT for the run
    const cmd = `${process.execPath} ${BIN} run slow.yml -i ${lab.inventoryPath}`
    const r = spawnSync('sh', ['-c', `(${waitMarked}; printf '\\003'; sleep 10) | script -qfec "${cmd}" /dev/null`], {
      cwd: d,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TERM: 'xterm' },
    })
    const out = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    assert.equal(r.status, 130, out)
    assert.match(out, /interrupted: finishing the steps in flight/)
    assert.match(out, /PLAY RECAP/)
    for (const h of lab.hosts) assert.match(out, new RegExp(`${h.name}\\s+: ok=1\\s+changed=1`))
    assert.match(out, /interrupted in /)
  })

  test('npm pack → install the tarball alone (no dev dependencies) → k3sbook --version and a run work', async () => {
    const work = mkdtempSync(join(tmpdir(), 'k3sbook-pack-'))
    // the tarball of the dist/ the suite runs (scripts/test.mjs builds it first): without
    // --ignore-scripts, prepack would build again (tsc, a minute of CPU) and rewrite dist/ under
    // the test files running at the same time
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
    assert.equal(pack.status, 0, pack.stderr)
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))!
    const app = join(work, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n')
    // the dependencies from npm's cache when it has them (as the set-up's npm ci left it), else the
    // registry. --ignore-scripts: the dependencies' install scripts only compile ssh2's optional
    // native addons (cpu-features, sshcrypto: ~17 of the 19 CPU-seconds this install cost), which
    // are optional (without them ssh2 uses its JavaScript crypto; the bundle requires them as
    // package subpaths, found wherever npm put ssh2), and k3sbook has none of its own
    const inst = spawnSync('npm', ['install', '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', join(work, tgz)], {
      cwd: app,
      encoding: 'utf8',
      timeout: 300_000,
    })
    assert.equal(inst.status, 0, inst.stderr)
    assert.ok(!existsSync(join(app, 'node_modules/typescript')) && !existsSync(join(app, 'node_modules/tsx')), 'dev dependencies were installed')
    const bin = join(app, 'node_modules/.bin/k3sbook')
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' })
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    copyFileSync(join(proj, 'site.yml'), join(app, 'site.yml'))
    const run = spawnSync(bin, ['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'plain', '--tags', 'stamp'], { cwd: app, encoding: 'utf8' })
    assert.equal(run.status, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /PLAY RECAP/)
  })
})

describe('without hosts', () => {
  test('validate warns about mode: 644, when: with {{ }} and a magic variable shadowed, with the fix', async () => {
    const d = dir({
      'w.yml': `- hosts: localhost
  gather_facts: false
  vars:
    groups: mine
  tasks:
    - file:
        path: /tmp/x
        state: touch
        mode: 644
    - file:
        path: /tmp/y
        state: touch
        mode: 0644
    - debug: msg=hi
      when: "{{ groups == 'mine' }}"
`,
    })
    const r = await k3(['validate', 'w.yml'], { cwd: d })
    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, /w\.yml:9:15: warning: mode: 644 is the decimal number 644 \(octal 01204\).*quote it: mode: "0644"/)
    assert.doesNotMatch(r.stdout, /mode: 0644 is/)
    assert.match(r.stdout, /w\.yml:15:13: warning: `when:` is an expression already.*write when: groups == 'mine'/)
    assert.match(r.stdout, /w\.yml:4:5: warning: play variable "groups" shadows Ansible's magic variable/)
  })

  test('several --vault-id: each file decrypts with the id its header names, then any other; a -client script; as ansible-playbook', async () => {
    const d = dir({
      devpw: 'dev-secret\n',
      prodpw: 'prod-secret\n',
      // a client script is asked for one id and answers only for it (as Ansible calls it)
      'prod-client.sh': '#!/bin/sh\n[ "$1" = --vault-id ] && [ "$2" = prod ] && echo prod-secret\n',
      'dev.yml': 'dev_var: from dev\n',
      'prod.yml': 'prod_var: from prod\n',
      'nolabel.yml': 'plain_var: encrypted for prod without a label\n',
      'pb.yml': `- hosts: localhost
  gather_facts: false
  vars_files: [dev.yml, prod.yml, nolabel.yml]
  tasks:
    - name: Every vaulted variable decrypted
      assert:
        that:
          - dev_var == 'from dev'
          - prod_var == 'from prod'
          - plain_var == 'encrypted for prod without a label'
`,
    })
    chmodSync(join(d, 'prod-client.sh'), 0o755)
    const av = (args: string[]) => promisify(execFile)('ansible-vault', args, { cwd: d })
    await av(['encrypt', 'dev.yml', '--vault-id', 'dev@devpw'])
    await av(['encrypt', 'prod.yml', '--vault-id', 'prod@prodpw'])
    await av(['encrypt', 'nolabel.yml', '--vault-password-file', 'prodpw'])
    // prod's secret comes second and from the client script; the unlabelled file is tried with each
    const ids = ['--vault-id', 'dev@devpw', '--vault-id', 'prod@prod-client.sh']
    const run = await k3(['run', 'pb.yml', ...ids, '-o', 'plain', '-i', 'localhost,', '-c', 'local'], { cwd: d })
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /ok\s+localhost\s+Every vaulted variable decrypted/)
    const ap = await promisify(execFile)('ansible-playbook', ['pb.yml', ...ids, '-i', 'localhost,', '-c', 'local'], {
      cwd: d,
      env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False' },
    })
    assert.match(ap.stdout, /ok: \[localhost\][\s\S]*"msg": "All assertions passed"[\s\S]*localhost +: ok=1 +changed=0 +unreachable=0 +failed=0/)
    // no secret fits: the file, the ids tried, exit 5, nothing run
    const wrong = await k3(['run', 'pb.yml', '--vault-id', 'dev@devpw', '-o', 'plain', '-i', 'localhost,', '-c', 'local'], { cwd: d })
    assert.equal(wrong.code, 5, wrong.stdout + wrong.stderr)
    assert.match(wrong.stdout + wrong.stderr, /prod\.yml.*cannot decrypt.*HMAC mismatch/)
    // ansible-vault's own rules for encrypting with several ids: say which one
    const two = await k3(['vault', 'encrypt_string', 'x', '--vault-id', 'dev@devpw', '--vault-id', 'prod@prodpw'], { cwd: d })
    assert.equal(two.code, 5)
    assert.match(two.stderr, /2 vault ids were given \(dev, prod\).*--encrypt-vault-id/s)
    const enc = await k3(['vault', 'encrypt_string', 'chosen', '--name', 'v', ...ids, '--encrypt-vault-id', 'prod'], { cwd: d })
    assert.equal(enc.code, 0, enc.stderr)
    assert.match(enc.stdout, /\$ANSIBLE_VAULT;1\.2;AES256;prod/)
    writeFileSync(join(d, 'v.yml'), enc.stdout)
    const dbg = await promisify(execFile)('ansible', ['localhost', '-m', 'debug', '-a', 'var=v', '-e', '@v.yml', '--vault-id', 'prod@prodpw'], {
      cwd: d,
      env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False' },
    })
    assert.match(dbg.stdout, /"v": "chosen"/)
  })

  test('ansible.cfg is found in ~/.ansible.cfg, then /etc/ansible/ansible.cfg, and only the first is read; vault_identity_list', async () => {
    const d = dir({
      devpw: 'dev-secret\n',
      'dev.yml': 'dev_var: from dev\n',
      'inv-home.yml': 'all:\n  hosts:\n    from-home:\n',
      'inv-etc.yml': 'all:\n  hosts:\n    from-etc:\n',
      'hosts.yml': '- hosts: all\n  gather_facts: false\n  tasks: []\n',
      'pb.yml':
        "- hosts: all\n  gather_facts: false\n  vars_files: [dev.yml]\n  tasks:\n    - name: Decrypted\n      assert: { that: dev_var == 'from dev' }\n",
    })
    await promisify(execFile)('ansible-vault', ['encrypt', 'dev.yml', '--vault-id', 'dev@devpw'], { cwd: d })
    const home = dir({ '.ansible.cfg': `[defaults]\ninventory = ${join(d, 'inv-home.yml')}\nvault_identity_list = dev@${join(d, 'devpw')}\n` })
    const etc = dir({ 'ansible.cfg': `[defaults]\ninventory = ${join(d, 'inv-etc.yml')}\n` })
    // /etc/ansible is this machine's: the test's own is bind-mounted over it in a private mount namespace
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANSIBLE_')))
    const inNs = (args: string[], home: string) =>
      promisify(execFile)(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          'mkdir -p /etc/ansible && mount --bind "$0" /etc/ansible && exec "$@"',
          etc,
          process.execPath,
          BIN,
          ...args,
        ],
        {
          cwd: d,
          env: { ...clean, NO_COLOR: '1', HOME: home },
        },
      ).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      )
    const viaHome = await inNs(['hosts', 'hosts.yml'], home)
    assert.equal(viaHome.code, 0, viaHome.stderr)
    assert.match(viaHome.stdout, /from-home/)
    assert.doesNotMatch(viaHome.stdout, /from-etc/)
    const viaEtc = await inNs(['hosts', 'hosts.yml'], dir({}))
    assert.equal(viaEtc.code, 0, viaEtc.stderr)
    assert.match(viaEtc.stdout, /from-etc/)
    // the vault id listed in ~/.ansible.cfg decrypts the play's vars file
    const run = await inNs(['run', 'pb.yml', '-o', 'plain', '-i', 'localhost,', '-c', 'local'], home)
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /ok\s+localhost\s+Decrypted/)
  })

  test("k3sbook schema validates the repo's playbooks, task files and inventory with ajv, and catches a wrong key", async () => {
    const out = mkdtempSync(join(tmpdir(), 'k3sbook-schema-'))
    const r = await k3(['schema', '--out', out])
    assert.equal(r.code, 0, r.stderr)
    // inlineRefs and optimize off: how ajv writes the validating code, not what it accepts. The three
    // 600 KB schemas compile in 1.7 CPU-s instead of 15.9 (every $ref inlined at each use, then optimised)
    const ajv = new Ajv({ allErrors: true, strict: false, inlineRefs: false, code: { optimize: false } })
    const load = (k: string) => ajv.compile(JSON.parse(readFileSync(join(out, `${k}.schema.json`), 'utf8')))
    const [playbook, tasks, handlers, inventory] = ['playbook', 'tasks', 'handlers', 'inventory'].map(load)
    const yml = (p: string) => parse(readFileSync(p, 'utf8'))
    for (const f of readdirSync(join(ROOT, 'playbooks'))) assert.ok(playbook(yml(join(ROOT, 'playbooks', f))), `${f}: ${ajv.errorsText(playbook.errors)}`)
    let n = 0
    for (const role of readdirSync(join(ROOT, 'roles'))) {
      for (const [sub, v] of [
        ['tasks', tasks],
        ['handlers', handlers],
      ] as const) {
        const folder = join(ROOT, 'roles', role, sub)
        if (!existsSync(folder)) continue
        for (const f of readdirSync(folder).filter((x) => x.endsWith('.yml'))) {
          n++
          assert.ok(v(yml(join(folder, f))), `roles/${role}/${sub}/${f}: ${ajv.errorsText(v.errors)}`)
        }
      }
    }
    assert.ok(n > 10)
    assert.ok(inventory(yml(join(ROOT, 'inventory/cluster.yml'))), ajv.errorsText(inventory.errors))
    assert.equal(tasks([{ name: 'x', copy: { dst: '/tmp/x' } }]), false)
    assert.equal(tasks([{ name: 'x', ansible_builtin_copy: { dest: '/tmp/x' } }]), false)
  })

  test('k3sbook vault and ansible-vault read each other both ways', async () => {
    const d = dir({ pw: 'hunter2-pw\n', 'plain.yml': 'token: s3cret\n' })
    const av = (args: string[]) => promisify(execFile)('ansible-vault', args, { cwd: d })
    // k3sbook encrypts → ansible-vault decrypts
    assert.equal((await k3(['vault', 'encrypt', 'plain.yml', '--vault-password-file', 'pw'], { cwd: d })).code, 0)
    assert.match(readFileSync(join(d, 'plain.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/)
    assert.equal((await av(['view', 'plain.yml', '--vault-password-file', 'pw'])).stdout, 'token: s3cret\n')
    // ansible-vault encrypts (with a vault id label) → k3sbook views and decrypts
    writeFileSync(join(d, 'b.yml'), 'other: value\n')
    await av(['encrypt', 'b.yml', '--vault-id', 'prod@pw'])
    const view = await k3(['vault', 'view', 'b.yml', '--vault-id', 'prod@pw'], { cwd: d })
    assert.equal(view.stdout, 'other: value\n')
    assert.equal((await k3(['vault', 'decrypt', 'b.yml', '--vault-password-file', 'pw'], { cwd: d })).code, 0)
    assert.equal(readFileSync(join(d, 'b.yml'), 'utf8'), 'other: value\n')
    // encrypt_string → ansible-vault reads the !vault value in a vars file (via ansible's debug)
    const s = await k3(['vault', 'encrypt_string', 'the-value', '--name', 'db_password', '--vault-password-file', 'pw'], { cwd: d })
    writeFileSync(join(d, 'vars.yml'), s.stdout)
    const dbg = await promisify(execFile)('ansible', ['localhost', '-m', 'debug', '-a', 'var=db_password', '-e', '@vars.yml', '--vault-password-file', 'pw'], {
      cwd: d,
      env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'False' },
    })
    assert.match(dbg.stdout, /"db_password": "the-value"/)
    // and k3sbook reads ansible-vault's encrypt_string
    const { stdout: avs } = await av(['encrypt_string', 'from-ansible', '--name', 'x', '--vault-password-file', 'pw'])
    writeFileSync(join(d, 'e.yml'), avs)
    const pb = join(d, 'pb.yml')
    writeFileSync(pb, '- hosts: localhost\n  gather_facts: false\n  vars_files: [e.yml]\n  tasks:\n    - debug:\n        msg: "{{ x | length }}"\n')
    const run = await k3(['run', 'pb.yml', '--vault-password-file', 'pw', '-o', 'plain', '-i', 'localhost,', '-c', 'local'], { cwd: d })
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /debug\s+localhost\s+12/)
    chmodSync(join(d, 'pw'), 0o600)
  })
})
