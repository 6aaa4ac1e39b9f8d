// Every shape of secret through every output mode: a vaulted multi-line PEM key, a vaulted inline
// value passed through filters (upper, b64encode, regex_replace, to_json, replace, concatenation, a
// for loop) and set_fact, a failing command whose stderr holds the PEM, a no_log loop and a failing
// no_log command. Plain, JSON, a terminal, check --diff, -vvv and K3SBOOK_TRACE=1: every byte of
// output and every file k3sbook wrote on the controller is searched for every derived form.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { encryptVault } from '../../src/vault.js'
import { sh } from '../executor/helpers.js'
import { cli, filesUnder, tree, ttyRun } from './helpers.js'

const PASSWORD = 'shapes vault password'
const INLINE = `s3cr-${randomBytes(10).toString('hex')}`
const PEM_LINES = ['-----BEGIN TEST PRIVATE KEY-----', ...Array.from({ length: 5 }, () => randomBytes(48).toString('base64')), '-----END TEST PRIVATE KEY-----']
const PEM = PEM_LINES.join('\n') + '\n'
const NOLOG_ITEMS = [`item-${randomBytes(8).toString('hex')}`, `item-${randomBytes(8).toString('hex')}`]
const NOLOG_ERR = `nolog-err-${randomBytes(8).toString('hex')}`

const FORMS: Record<string, string> = {
  inline: INLINE,
  upper: INLINE.toUpperCase(),
  base64: Buffer.from(INLINE).toString('base64'),
  regex_replace: INLINE.replace(/[0-9]/g, '#'),
  replace: INLINE.replaceAll('-', '_'),
  set_fact_b64: Buffer.from(INLINE.toUpperCase()).toString('base64'),
  nolog_item0: NOLOG_ITEMS[0],
  nolog_item1: NOLOG_ITEMS[1],
  nolog_err: NOLOG_ERR,
  // a cut piece, as a parser's error message quotes its input
  prefix: INLINE.slice(0, 10),
}
PEM_LINES.forEach((l, i) => (FORMS[`pem line ${i}`] = l))

function indent(text: string, n: number): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n')
}

const PLAYBOOK = `- name: Secret shapes
  hosts: all
  gather_facts: false
  vars_files:
    - secrets.yml
  vars:
    greeting: hello world
    inline_value: !vault |
${indent(encryptVault(INLINE, PASSWORD), 6)}
  tasks:
    - name: The PEM key in a file
      copy:
        content: "{{ pem_key }}"
        dest: /etc/shapes/key.pem
        mode: "0600"
    - name: The inline value through filters
      copy:
        dest: /etc/shapes/derived
        mode: "0600"
        content: |
          upper {{ inline_value | upper }}
          b64 {{ inline_value | b64encode }}
          re {{ inline_value | regex_replace('[0-9]', '#') }}
          json {{ {'k': inline_value} | to_json }}
          repl {{ inline_value | replace('-', '_') }}
          cat {{ 'pre:' ~ inline_value ~ ':post' }}
          {% for x in [1] %}loop {{ inline_value | upper }}{% endfor %}
    - name: Derived through set_fact
      set_fact:
        shouted_b64: "{{ inline_value | upper | b64encode }}"
    - name: Show it
      debug:
        msg: "derived {{ shouted_b64 }}"
    - name: Show it as a var
      debug:
        var: shouted_b64
    - name: A plain var (debug var=, item 9)
      debug: var=greeting
    - name: An undefined var
      debug:
        var: nope
    - name: A failing command whose stderr holds the key
      shell: printf '%s' "$KEY" >&2; exit 4
      environment:
        KEY: "{{ pem_key }}"
      ignore_errors: true
    - name: Hidden loop
      command: echo {{ item }}
      loop: ${JSON.stringify(NOLOG_ITEMS)}
      no_log: true
    - name: Hidden failure
      command: sh -c 'echo ${NOLOG_ERR} >&2; echo ${NOLOG_ERR}; exit 2'
      no_log: true
      ignore_errors: true
`

// Failures whose messages would carry a secret: a module's own message, fail/assert messages,
// a command that is not found, a file path, and template errors that quote the value.
const ERRORS = `- name: Secret errors
  hosts: all
  gather_facts: false
  vars_files:
    - secrets.yml
  vars:
    inline_value: !vault |
${indent(encryptVault(INLINE, PASSWORD), 6)}
  tasks:
    - name: fail with it
      fail:
        msg: "refused {{ inline_value }}"
      ignore_errors: true
    - name: assert with it
      assert:
        that: inline_value == 'x'
        fail_msg: "wrong {{ inline_value | upper }}"
      ignore_errors: true
    - name: run it as a command
      command: "{{ inline_value }} --flag"
      ignore_errors: true
    - name: a path holding it
      copy:
        content: "x"
        dest: "/nonexistent-dir/{{ inline_value | b64encode }}/f"
      ignore_errors: true
    - name: a lookup of it
      debug:
        msg: "{{ lookup('file', inline_value) }}"
      ignore_errors: true
    - name: parse it as JSON
      debug:
        msg: "{{ inline_value | from_json }}"
      ignore_errors: true
    - name: parse it as YAML
      debug:
        msg: "{{ ('a: b: ' ~ inline_value ~ ' ' ~ inline_value) | from_yaml }}"
      ignore_errors: true
    - name: parse it as a date
      debug:
        msg: "{{ inline_value | to_datetime }}"
      ignore_errors: true
    - name: the PEM key as a command
      command: "{{ pem_key | regex_replace('\\n', ' ') }}"
      ignore_errors: true
    - name: the PEM key in a failing template
      debug:
        msg: "{{ pem_key | from_yaml | int }}"
      ignore_errors: true
`

describe('every secret shape in every output mode', () => {
  let lab!: LabInfo & { stop(): Promise<void> }
  let dir: string
  const outputs: string[] = []
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'shapes' })
    dir = tree({
      'site.yml': PLAYBOOK,
      'secrets.yml': encryptVault(`pem_key: |\n${indent(PEM, 2)}\n`, PASSWORD),
      'errors.yml': ERRORS,
      'fatal.yml': ERRORS.split('  tasks:')[0] + '  tasks:\n    - name: fatal\n      command: "{{ inline_value }}"\n',
      'vault-pass': PASSWORD + '\n',
    })
  })
  after(() => lab?.stop())

  const args = ['site.yml', '-i', lab ? lab.inventoryPath : '', '--vault-password-file', 'vault-pass']
  function clean(label: string, text: string): void {
    outputs.push(text)
    for (const [name, form] of Object.entries(FORMS)) assert.ok(!text.includes(form), `${label}: the ${name} form leaked:\n${text}`)
  }
  async function disturb(): Promise<void> {
    await sh(lab, 1, 'mkdir -p /etc/shapes; printf "old\\n" > /etc/shapes/key.pem; printf "old\\n" > /etc/shapes/derived')
  }

  test('plain, JSON, terminal, check --diff, -vvv and traces show none of them', async () => {
    args[2] = lab.inventoryPath
    await disturb()
    const plain = await cli(['run', ...args, '--diff', '-vvv', '-o', 'plain'], { cwd: dir })
    clean('plain', plain.stdout + plain.stderr)
    assert.equal(plain.code, 0, plain.stdout + plain.stderr)
    // the run did what it should, and says so with the secrets masked
    assert.match(plain.stdout, /\+\*{8}/, 'the PEM diff is shown, masked')
    assert.match(plain.stdout, /shouted_b64: \*{8}/)
    assert.match(plain.stdout, /debug +\S+ +greeting: hello world\n/)
    assert.match(plain.stdout, /debug +\S+ +nope: VARIABLE IS NOT DEFINED!\n/)
    assert.match(plain.stdout, /the output has been hidden due to the no_log/)
    assert.equal(await sh(lab, 1, 'cat /etc/shapes/key.pem'), PEM)
    assert.match(await sh(lab, 1, 'cat /etc/shapes/derived'), new RegExp(`upper ${FORMS.upper}\\n`))

    await disturb()
    const json = await cli(['run', ...args, '--diff', '-vvv', '-o', 'json'], { cwd: dir })
    clean('json', json.stdout + json.stderr)
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; var?: string; value?: unknown; task?: string; changes?: unknown; msg?: string })
    assert.ok(
      events.some((e) => e.type === 'debug' && e.var === 'shouted_b64' && e.value === '********'),
      'the debug event carries the (masked) value',
    )
    assert.ok(
      events.some((e) => e.type === 'debug' && e.var === 'greeting' && e.value === 'hello world'),
      'the debug event carries the value',
    )
    for (const e of events.filter((e) => e.type === 'host:result' && (e.task === 'Hidden loop' || e.task === 'Hidden failure'))) {
      assert.deepEqual(
        Object.keys(e).filter((k) => !['type', 'play', 'task', 'pos', 'host', 'check', 'status', 'msg', 'durationMs', 'ignored'].includes(k)),
        [],
        'a no_log result carries its name and status only',
      )
      // (a no_log loop carries no items: neither their labels nor their number)
    }

    await disturb()
    clean('tty', await ttyRun(['run', ...args, '--diff', '-vvv', '-o', 'tty'], dir))

    await disturb()
    const check = await cli(['check', ...args, '-vvv', '-o', 'plain'], { cwd: dir })
    clean('check --diff', check.stdout + check.stderr)

    await disturb()
    // a dump file that exists already, readable by all: it is made 0600 before anything is written
    const dumpPrefix = join(dir, 'dump')
    writeFileSync(`${dumpPrefix}.${lab.hosts[0].name}.sh`, '', { mode: 0o644 })
    chmodSync(`${dumpPrefix}.${lab.hosts[0].name}.sh`, 0o644)
    const traced = await cli(['run', ...args, '--diff', '-o', 'plain'], { cwd: dir, env: { K3SBOOK_TRACE: '1', K3SBOOK_TRACE_DUMP: dumpPrefix } })
    clean('K3SBOOK_TRACE=1', traced.stdout + traced.stderr)
    assert.match(traced.stderr, /round trip \d+: \(hidden: no_log\)/)
    const dumps = filesUnder(dir).filter((f) => f.path.startsWith(dumpPrefix))
    assert.equal(dumps.length, 1, 'the read-ahead script was dumped')
    assert.ok(dumps[0].bytes.length > 0, 'the dump is not empty')
    for (const f of dumps) {
      assert.equal(f.mode, 0o600, `${f.path} is ${f.mode.toString(8)}`)
      clean(f.path, f.bytes.toString('latin1'))
    }

    // the project folder: the playbook and the vault files as given, and whatever k3sbook wrote there
    const given = new Set(['site.yml', 'secrets.yml', 'vault-pass'].map((f) => `${dir}/${f}`))
    for (const f of filesUnder(dir).filter((f) => !given.has(f.path))) clean(f.path, f.bytes.toString('latin1'))
    for (const f of filesUnder(lab.dir).filter((f) => !f.path.endsWith('.pid'))) clean(f.path, f.bytes.toString('latin1'))
  })

  test('the --confirm preview and error messages (module, fail, assert, command not found, paths, template errors) show none of them', async () => {
    args[2] = lab.inventoryPath
    await disturb()
    const preview = await cli(['run', ...args, '--confirm', '-vvv', '-o', 'plain'], { cwd: dir })
    clean('--confirm preview', preview.stdout + preview.stderr)
    assert.match(preview.stderr, /--confirm needs a terminal to ask on; nothing was changed/)
    assert.match(preview.stdout, /\+\*{8}/, 'the preview shows the PEM diff, masked')

    const eargs = ['errors.yml', ...args.slice(1)]
    for (const mode of ['plain', 'json']) {
      const r = await cli(['run', ...eargs, '-vvv', '-o', mode], { cwd: dir })
      clean(`errors (${mode})`, r.stdout + r.stderr)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal((r.stdout.match(/ignor/gi) ?? []).length >= 10, true, `every task failed and was ignored:\n${r.stdout}`)
    }
    const traced = await cli(['run', ...eargs, '-o', 'plain'], { cwd: dir, env: { K3SBOOK_TRACE: '1' } })
    clean('errors (K3SBOOK_TRACE=1)', traced.stdout + traced.stderr)
    clean('errors (tty)', await ttyRun(['run', ...eargs, '-vvv', '-o', 'tty'], dir))
    // not ignored: the error ends the run, and its message is masked too
    const fatal = await cli(['run', 'fatal.yml', ...args.slice(1), '-o', 'plain'], { cwd: dir })
    assert.equal(fatal.code, 2, fatal.stdout + fatal.stderr)
    clean('errors (fatal)', fatal.stdout + fatal.stderr)
  })
})
