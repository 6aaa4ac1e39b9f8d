// What a person at a terminal types, against a real lab host, through the built CLI (bin/k3sbook.js,
// so run `npm run build` first): --step's questions answered y / n / c, the -k / -K password
// prompts (not echoed, and the passwords really used: an sshd that takes only passwords, a sudo
// that checks the become password), the lab a run picks when no inventory is given, and
// `vault edit` against ansible-vault's own edit.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { CLI, ptyRun, strip } from '../helpers/pty.js'
import { sh } from '../executor/helpers.js'
import { collect } from '../helpers/bin.js'

const temps: string[] = []
function dir(files: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), 'k3sbook-term-'))
  temps.push(d)
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true })
    writeFileSync(join(d, p), text)
  }
  return d
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

/** The environment of a user with no Ansible settings, SSH agent or keys of this machine's. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir(), NO_COLOR: '1', ...extra }
  for (const k of Object.keys(env)) if ((k.startsWith('ANSIBLE_') || k === 'SSH_AUTH_SOCK') && !(k in extra)) delete env[k]
  return env
}

/** The CLI without a terminal. */
function k3(args: string[], o: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return collect(spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, env: cleanEnv(o.env), stdio: ['ignore', 'pipe', 'pipe'] }))
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`

// This machine has no sudo: the host gets a stand-in that checks the password k3sbook's
// SUDO_ASKPASS helper gives against /root/become-pw, logs what it was asked, and switches user
// with su as root can. What is tested is k3sbook's side: the password typed at -K reaches sudo.
const FAKE_SUDO = `#!/bin/sh
user=root; mode=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) mode="\${mode}n" ;;
    -A) mode="\${mode}A" ;;
    -u) shift; user=$1 ;;
    --) shift; break ;;
    *) echo "sudo: unexpected option $1" >&2; exit 1 ;;
  esac
  shift
done
case "$mode" in *A*) got=$("$SUDO_ASKPASS" "[sudo] password:") ;; *) echo "sudo: a password is required" >&2; exit 1 ;; esac
[ "$got" = "$(cat /root/become-pw)" ] || { echo "sudo: incorrect password" >&2; echo "wrong $user" >> /root/sudo.log; exit 1; }
echo "ok $user" >> /root/sudo.log
exec su -s /bin/sh -c "$3" "$user"
`

describe('at a terminal, on a lab host', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'term' })
  })
  after(() => lab?.stop())

  test('--step: y runs the task, n skips it, c runs it and every task after it without asking', async () => {
    await sh(lab, 1, 'rm -f /opt/step-*')
    const tasks = ['One', 'Two', 'Three', 'Four'].map((n) => `    - name: ${n}\n      command: touch /opt/step-${n.toLowerCase()}\n`).join('')
    const d = dir({ 'step.yml': `- hosts: lab\n  gather_facts: false\n  tasks:\n${tasks}` })
    // (the view may trim the question's trailing space when it redraws)
    const ask = (task: string) => `Perform task: ${task} (N)o/(y)es/(c)ontinue:`
    const r = await ptyRun(['run', 'step.yml', '-i', lab.inventoryPath, '--step'], {
      cwd: d,
      env: cleanEnv(),
      exchanges: [
        { expect: ask('One'), send: 'y\r' },
        { expect: ask('Two'), send: 'n\r' },
        { expect: ask('Three'), send: 'c\r' },
      ],
    })
    const out = strip(r.raw)
    assert.equal(r.code, 0, out)
    assert.equal(r.answered, 3, out)
    assert.doesNotMatch(out, /Perform task: Four/, 'continue asks no more')
    assert.equal(await sh(lab, 1, 'cd /opt && ls -d step-* | sort | tr "\\n" " "'), 'step-four step-one step-three ')
    // without a terminal there is no one to ask: it says so instead of running anything
    const piped = await k3(['run', 'step.yml', '-i', lab.inventoryPath, '--step', '-o', 'plain'], { cwd: d })
    assert.notEqual(piped.code, 0)
    assert.match(piped.stdout + piped.stderr, /--step needs a terminal to ask on/)
  })

  test('-k and -K: both prompts show, what is typed is not echoed, and the passwords log in and become', async () => {
    const h = lab.hosts[0]
    const sshPw = `ssh pw'${process.pid}`
    const becomePw = `become "pw" ${process.pid}`
    // a second sshd on the host that takes only passwords (the lab's own takes only keys)
    await sh(
      lab,
      1,
      `set -e
printf '%s\\n' ${q(`root:${sshPw}`)} | chpasswd
printf '%s' ${q(becomePw)} > /root/become-pw
printf '%s' ${q(FAKE_SUDO)} > /usr/local/bin/sudo && chmod 0755 /usr/local/bin/sudo
rm -f /root/sudo.log /tmp/pw-who
printf '%s\\n' 'ListenAddress ${h.address}:2222' 'HostKey /etc/ssh/ssh_host_ed25519_key' 'PermitRootLogin yes' \
  'PubkeyAuthentication no' 'PasswordAuthentication yes' 'KbdInteractiveAuthentication no' 'UsePAM no' 'UseDNS no' \
  'PidFile /run/sshd-pw.pid' > /etc/ssh/sshd_pw_config
[ -e /run/sshd-pw.pid ] || /usr/sbin/sshd -f /etc/ssh/sshd_pw_config`,
    )
    const key = readFileSync(lab.knownHostsPath, 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[0].split(',').includes(h.address))!
    assert.ok(key, 'the lab records its host key')
    const d = dir({
      known_hosts: `[${h.address}]:2222 ${key.split(' ').slice(1).join(' ')}\n`,
      'who.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Who\n      shell: id -un > /tmp/pw-who\n',
    })
    writeFileSync(
      join(d, 'inv.yml'),
      `all:\n  hosts:\n    ${h.name}:\n      ansible_host: ${h.address}\n      ansible_port: 2222\n` +
        `      ansible_ssh_common_args: -o UserKnownHostsFile=${join(d, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null\n`,
    )
    const args = ['run', 'who.yml', '-i', 'inv.yml', '-u', 'root', '-k', '-b', '--become-user', 'nobody', '-K', '-T', '30']
    const r = await ptyRun(args, {
      cwd: d,
      env: cleanEnv(),
      exchanges: [
        { expect: 'SSH password: ', send: `${sshPw}\r` },
        { expect: 'BECOME password: ', send: `${becomePw}\r` },
      ],
    })
    const out = strip(r.raw)
    assert.equal(r.code, 0, out)
    assert.equal(r.answered, 2)
    // the terminal echoed nothing that was typed (k3sbook's masking of secrets has no part in this:
    // an echo is the terminal's, not the program's output)
    assert.ok(!r.raw.includes(sshPw) && !r.raw.includes(becomePw) && !r.raw.includes(String(process.pid)), out)
    assert.equal(await sh(lab, 1, 'cat /tmp/pw-who'), 'nobody\n')
    assert.equal(await sh(lab, 1, 'cat /root/sudo.log'), 'ok nobody\n')
    // a wrong SSH password does not log in: the host is unreachable
    const wrong = await ptyRun(args, {
      cwd: d,
      env: cleanEnv(),
      exchanges: [
        { expect: 'SSH password: ', send: 'not-it\r' },
        { expect: 'BECOME password: ', send: `${becomePw}\r` },
      ],
    })
    assert.equal(wrong.code, 4, strip(wrong.raw))
    assert.match(strip(wrong.raw), /authentication/i)
    // a wrong become password is refused by sudo: the task fails
    const badBecome = await ptyRun(args, {
      cwd: d,
      env: cleanEnv(),
      exchanges: [
        { expect: 'SSH password: ', send: `${sshPw}\r` },
        { expect: 'BECOME password: ', send: 'not-it\r' },
      ],
    })
    assert.equal(badBecome.code, 2, strip(badBecome.raw))
    assert.equal(await sh(lab, 1, 'tail -n 1 /root/sudo.log'), 'wrong nobody\n')
    // no terminal, no prompt: the run stops before anything is contacted
    const piped = await k3(args, { cwd: d })
    assert.equal(piped.code, 5, piped.stderr)
    assert.match(piped.stderr, /a password prompt \("SSH password"\) needs a terminal/)
  })

  test('no inventory given: one running lab is used; with two running the run stops (exit 5) and names them', async () => {
    // the CLI sees a labs folder holding only this file's labs (others may run labs on this machine)
    const second = await startLab({ hosts: 1, tag: 'term2' })
    try {
      const view = dir()
      for (const l of [lab, second]) symlinkSync(l.dir, join(view, l.name))
      const d = dir({ 'x.yml': '- hosts: lab\n  gather_facts: false\n  tasks:\n    - name: Mark\n      shell: hostname > /opt/which-lab\n' })
      for (const l of [lab, second]) await sh(l, 1, 'rm -f /opt/which-lab')
      const two = await k3(['run', 'x.yml', '-o', 'plain'], { cwd: d, env: { K3SBOOK_LAB_DIR: view } })
      assert.equal(two.code, 5, two.stdout + two.stderr)
      const names = [lab.name, second.name].sort().join(', ')
      assert.match(two.stderr, new RegExp(`2 labs are running \\(${names}\\)`))
      assert.match(two.stderr, /--lab NAME, or give -i INVENTORY/)
      for (const l of [lab, second]) assert.equal((await sh(l, 1, 'cat /opt/which-lab 2>/dev/null || echo none')).trim(), 'none')
      // --lab picks one of them
      const named = await k3(['run', 'x.yml', '-o', 'plain', '--lab', second.name], { cwd: d, env: { K3SBOOK_LAB_DIR: view } })
      assert.equal(named.code, 0, named.stdout + named.stderr)
      assert.equal(await sh(second, 1, 'cat /opt/which-lab'), `${second.hosts[0].name}\n`)
      await sh(second, 1, 'rm -f /opt/which-lab')
      // one lab left: it is used, and the run says so
      rmSync(join(view, second.name))
      const one = await k3(['run', 'x.yml', '-o', 'plain'], { cwd: d, env: { K3SBOOK_LAB_DIR: view } })
      assert.equal(one.code, 0, one.stdout + one.stderr)
      assert.match(one.stderr, new RegExp(`using the inventory of the running lab "${lab.name}"`))
      assert.equal(await sh(lab, 1, 'cat /opt/which-lab'), `${lab.hosts[0].name}\n`)
      assert.equal((await sh(second, 1, 'cat /opt/which-lab 2>/dev/null || echo none')).trim(), 'none')
    } finally {
      await second.stop()
    }
  })
})

describe('vault edit', () => {
  const av = (args: string[], cwd: string, env: NodeJS.ProcessEnv) => promisify(execFile)('ansible-vault', args, { cwd, env })

  test('re-encrypts what the editor wrote, keeps the vault id of the header, leaves an unchanged file as it was: as ansible-vault edit', async () => {
    const d = dir({ pw: 'edit-pw\n', 'secret.yml': 'token: one\n' })
    const editor = join(d, 'ed.sh')
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/one/two/" "$1"\nprintf "added: yes\\n" >> "$1"\n')
    chmodSync(editor, 0o755)
    const env = cleanEnv({ EDITOR: editor })
    // ansible-vault encrypts with a labelled vault id (format 1.2); a copy for ansible-vault's own edit
    await av(['encrypt', 'secret.yml', '--vault-id', 'prod@pw'], d, env)
    copyFileSync(join(d, 'secret.yml'), join(d, 'oracle.yml'))
    const before = readFileSync(join(d, 'secret.yml'))

    const r = await k3(['vault', 'edit', 'secret.yml', '--vault-password-file', 'pw'], { cwd: d, env: { EDITOR: editor } })
    assert.equal(r.code, 0, r.stderr)
    await av(['edit', 'oracle.yml', '--vault-password-file', 'pw'], d, env)
    const edited = readFileSync(join(d, 'secret.yml'), 'utf8')
    assert.notEqual(edited, before.toString())
    // the header line is the one ansible-vault's edit writes (the file's vault id kept)
    assert.equal(edited.split('\n')[0], readFileSync(join(d, 'oracle.yml'), 'utf8').split('\n')[0])
    assert.equal(edited.split('\n')[0], '$ANSIBLE_VAULT;1.2;AES256;prod')
    const want = 'token: two\nadded: yes\n'
    assert.equal((await av(['view', 'secret.yml', '--vault-password-file', 'pw'], d, env)).stdout, want)
    assert.equal((await k3(['vault', 'view', 'secret.yml', '--vault-password-file', 'pw'], { cwd: d })).stdout, want)

    // an editor that changes nothing: the bytes stay (ansible-vault too)
    const now = readFileSync(join(d, 'secret.yml'))
    const same = await k3(['vault', 'edit', 'secret.yml', '--vault-password-file', 'pw'], { cwd: d, env: { EDITOR: 'true' } })
    assert.equal(same.code, 0, same.stderr)
    assert.ok(readFileSync(join(d, 'secret.yml')).equals(now), 'unchanged content rewrote the file')
    const oracle = readFileSync(join(d, 'oracle.yml'))
    await av(['edit', 'oracle.yml', '--vault-password-file', 'pw'], d, cleanEnv({ EDITOR: 'true' }))
    assert.ok(readFileSync(join(d, 'oracle.yml')).equals(oracle), 'ansible-vault rewrote an unchanged file')

    // an editor that fails: the file is left as it was (ansible-vault would save what it wrote)
    const failing = await k3(['vault', 'edit', 'secret.yml', '--vault-password-file', 'pw'], { cwd: d, env: { EDITOR: 'false' } })
    assert.notEqual(failing.code, 0)
    assert.match(failing.stderr, /the editor \(false\) exited with 1: secret\.yml left as it was/)
    assert.ok(readFileSync(join(d, 'secret.yml')).equals(now))

    // a symlink is followed, as ansible-vault does: the link stays a link, its target is re-encrypted
    mkdirSync(join(d, 'real'))
    copyFileSync(join(d, 'secret.yml'), join(d, 'real/secret.yml'))
    symlinkSync('real/secret.yml', join(d, 'link.yml'))
    const viaLink = await k3(['vault', 'edit', 'link.yml', '--vault-password-file', 'pw'], { cwd: d, env: { EDITOR: editor } })
    assert.equal(viaLink.code, 0, viaLink.stderr)
    assert.ok(lstatSync(join(d, 'link.yml')).isSymbolicLink(), 'the link was replaced by a file')
    assert.equal((await av(['view', 'real/secret.yml', '--vault-password-file', 'pw'], d, env)).stdout, 'token: two\nadded: yes\nadded: yes\n')
  })
})
