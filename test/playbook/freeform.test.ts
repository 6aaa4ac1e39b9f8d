// Free-form command and shell arguments keep their lines and spaces, as Ansible's split_args and
// join_args keep them: the same playbook (a multi-line `shell: |`, options at the end of a
// free-form line, a `>-` command with a continued line) run by ansible-playbook (Debian's
// ansible-core, the oracle) and by k3sbook on the local machine writes the same results.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMAND_OPTIONS as RAW_OPTION_KEYS } from '../../src/modules/command.js'
import { parseKv } from '../../src/kv.js'
import { runCli } from './cli.js'

const PLAY = `- hosts: one
  gather_facts: false
  tasks:
    - name: multi-line free-form shell
      shell: |
        echo one
        if true; then
          echo "two  spaces"
        fi
        printf '%s|\\n' three   four
        cat <<'EOF'
          heredoc   kept
        EOF
      register: r1
    - name: options at the end of a free-form command
      shell: |
        pwd
        echo a=b
        echo last chdir=/tmp
      register: r2
    - name: a continued line
      command: >-
        echo x \\
          y
      register: r3
    - copy:
        content: "{{ [r1.stdout, r2.stdout, r3.stdout, r1.cmd, r2.cmd] | to_json }}"
        dest: "{{ out }}"
`

test('multi-line free-form shell: k3sbook runs what ansible-playbook runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-freeform-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'play.yml'), PLAY)
  writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    one: { ansible_connection: local, ansible_python_interpreter: /usr/bin/python3 }\n')
  const a = spawnSync('ansible-playbook', ['-i', 'inv.yml', 'play.yml', '-e', `out=${join(dir, 'ansible.json')}`], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ANSIBLE_NOCOLOR: '1' },
  })
  assert.equal(a.status, 0, a.stdout + a.stderr)
  const k = await runCli(['run', '-i', 'inv.yml', 'play.yml', '-e', `out=${join(dir, 'k3sbook.json')}`], dir)
  assert.equal(k.code, 0, k.stdout + k.stderr)
  const want = JSON.parse(readFileSync(join(dir, 'ansible.json'), 'utf8')) as string[]
  assert.equal(want[0], 'one\ntwo  spaces\nthree|\nfour|\n  heredoc   kept', 'the oracle ran the script line by line')
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'k3sbook.json'), 'utf8')), want)
})

test('parseKv keeps newlines and runs of spaces in _raw_params (values from Ansible 2.14 parse_kv with check_raw)', () => {
  // expected values printed by ansible.parsing.splitter.parse_kv(s, check_raw=True)
  const cases: [string, Record<string, string>][] = [
    ['echo a\nif true; then\n  echo "x  y"\nfi\n', { _raw_params: 'echo a\nif true; then\n  echo "x  y"\nfi\n' }],
    ['ls   -l chdir=/tmp\n', { chdir: '/tmp', _raw_params: 'ls   -l' }],
    ['echo {{ a }}\n  b=c\nx', { _raw_params: 'echo {{ a }}\n  b=c\nx' }],
    ['set -e\nfor i in 1 2; do\n    echo $i\ndone creates=/x\n', { creates: '/x', _raw_params: 'set -e\nfor i in 1 2; do\n    echo $i\ndone' }],
    ['echo "a\n b"\nc', { _raw_params: 'echo "a\n b"\nc' }],
    ['echo x \\\n  y\n', { _raw_params: 'echo x  y\n' }],
  ]
  for (const [text, want] of cases) assert.deepEqual(parseKv(text, RAW_OPTION_KEYS), want, JSON.stringify(text))
})
