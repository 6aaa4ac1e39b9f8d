// Whatever the login shell of the user k3sbook logs in as, the connection starts: sshd runs the
// first command (`exec /bin/sh -c '…'`, which also reports the uid, coreutils' timeout and the
// shell's pid) through that user's own shell. Users with sh, bash, zsh, tcsh and fish as their
// login shell on a lab host: a command and a small write (its content inside the script, starting
// with "-" and holding "%", "\" and a quote) arrive byte for byte, and the run says who it ran as.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { useLab } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { cli, tree } from './helpers.js'

const SHELLS = ['/bin/sh', '/bin/bash', '/usr/bin/zsh', '/usr/bin/tcsh', '/usr/bin/fish']
const CONTENT = "-x%s \\n 'q' \\\\ end\n"

test('sh, bash, zsh, tcsh and fish as the login shell: the connection starts, a command and a write arrive exactly', async (t) => {
  const missing = SHELLS.filter((s) => !existsSync(s))
  assert.deepEqual(missing, [], 'scripts/setup.sh installs zsh, tcsh and fish')
  const lab = await useLab(t, { hosts: 1, tag: 'shells' })
  const users = SHELLS.map((s, i) => ({ shell: s, name: `k3sb${i}${s.split('/').pop()}` }))
  for (const u of users)
    await sh(
      lab,
      1,
      `useradd -m -s ${u.shell} ${u.name} && usermod -p '*' ${u.name} && mkdir -p /home/${u.name}/.ssh && cp /root/.ssh/authorized_keys /home/${u.name}/.ssh/ && chown -R ${u.name}: /home/${u.name}/.ssh`,
    )
  const d = tree({
    'site.yml': `- hosts: all
  gather_facts: false
  tasks:
    - command: id -un
      register: who
    - copy: { content: ${JSON.stringify(CONTENT)}, dest: "/tmp/written-by-{{ ansible_user }}" }
    - assert: { that: ["who.stdout == ansible_user"] }
`,
  })
  for (const u of users) {
    const r = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-e', `ansible_user=${u.name}`], { cwd: d })
    assert.equal(r.code, 0, `${u.shell}: ${r.stdout}${r.stderr}`)
    const got = await sh(lab, 1, `base64 -w0 /tmp/written-by-${u.name}; stat -c ' %U' /tmp/written-by-${u.name}`)
    const [b64, owner] = got.trim().split(' ')
    assert.equal(Buffer.from(b64, 'base64').toString(), CONTENT, u.shell)
    assert.equal(owner, u.name, u.shell)
  }
})
