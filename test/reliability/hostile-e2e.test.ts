// Hostile values through whole playbooks on a lab host: quotes, spaces, $(…), backticks,
// newlines, leading dashes, globs and non-ASCII in file names, file contents, lines, command
// arguments (argv form), template output and dict keys arrive as literal data; non-UTF-8 bytes
// arrive exactly through `copy: src`. A property test (fast-check) over full runs, bounded in count.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { labExec } from '../../src/lab/index.js'
import { run } from '../executor/helpers.js'
import { tree } from './helpers.js'

const notExpanded = (s: string) => !s.startsWith('~') && !/\$[A-Za-z_{]/.test(s)
const UNITS = [
  "'",
  '"',
  '$',
  '(',
  ')',
  '`',
  '\\',
  ' ',
  '\n',
  '\t',
  '-',
  '*',
  '?',
  '[',
  ']',
  ';',
  '&',
  '|',
  '<',
  '>',
  '~',
  '#',
  '!',
  '{',
  '}',
  'a',
  'Z',
  '0',
  'é',
  '日',
  '%',
  '=',
  ':',
  ',',
  '.',
]
/** Jinja2 delimiters in a variable's value are templated again (as in Ansible): not literal data. */
const noJinja = (s: string) => !/\{\{|\{%|\{#/.test(s)
const hostile = (min = 0, max = 12) => fc.string({ unit: fc.constantFrom(...UNITS), minLength: min, maxLength: max }).filter(noJinja)
const fileName = hostile(1, 12).filter((s) => s !== '.' && s !== '..')
const RUNS = Number(process.env.HOSTILE_RUNS ?? 16)

const PLAYBOOK = `- name: hostile data
  hosts: all
  gather_facts: false
  tasks:
    - name: A directory
      file:
        path: "/srv/hostile/{{ name }}"
        state: directory
    - name: Content
      copy:
        content: "{{ content }}"
        dest: "/srv/hostile/{{ name }}/{{ name }}.txt"
    - name: Bytes
      copy:
        src: bytes.bin
        dest: "/srv/hostile/{{ name }}/bytes"
    - name: A line
      lineinfile:
        path: "/srv/hostile/{{ name }}/lines"
        line: "{{ line }}"
        create: true
    - name: Template
      template:
        src: t.j2
        dest: "/srv/hostile/{{ name }}/tpl"
    - name: Arguments
      command:
        argv: [/bin/sh, -c, 'for a; do printf "%s|" "$a"; done > "$0"', "/srv/hostile/{{ name }}/argv", "{{ arg1 }}", "{{ arg2 }}"]
`

const TEMPLATE = 'value={{ tval }}\n{% for k, v in data.items() %}{{ k }}={{ v }};{% endfor %}\n'

describe('hostile values through playbooks on a lab host', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'hostile' })
    dir = tree({ 'site.yml': PLAYBOOK, 'templates/t.j2': TEMPLATE })
  })
  after(() => lab?.stop())

  /** A file of the host read as bytes (base64 across the nsenter pipe); the path passed as argv. */
  async function hostFile(name: string, file: string): Promise<Buffer> {
    const r = await labExec(lab, 1, ['/bin/sh', '-c', 'cd -- "/srv/hostile/$1" && base64 -w0 -- "$2"', 'sh', name, file])
    assert.equal(r.code, 0, r.stderr)
    return Buffer.from(r.stdout, 'base64')
  }

  test('copy, file, lineinfile, template and command (argv) keep every value literal', async () => {
    const values = fc.record({
      name: fileName,
      content: hostile(0, 40),
      line: hostile(1, 30).filter((l) => !/[\r\n]/.test(l) && l.trim() === l),
      // Like Ansible, the command module expands a leading ~ and $NAME / ${NAME} in argv
      // (os.path.expanduser/expandvars); everything else must arrive literally.
      arg1: hostile(0, 12).filter(notExpanded),
      arg2: hostile(1, 12)
        .map((s) => '-' + s)
        .filter(notExpanded),
      tval: hostile(0, 20),
      keys: fc.uniqueArray(
        hostile(1, 8).map((k) => 'k' + k),
        { maxLength: 3 },
      ),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    })
    let runs = 0
    await fc.assert(
      fc.asyncProperty(values, async (v) => {
        runs++
        await labExec(lab, 1, ['rm', '-rf', '/srv/hostile'])
        // "@" is no UNIT: appended to a value ending in "{" it cannot make a Jinja2 delimiter ("{#")
        const data = Object.fromEntries(v.keys.map((k, i) => [k, `${v.tval}@${i}`]))
        const vars = join(dir, 'vars.json')
        writeFileSync(vars, JSON.stringify({ name: v.name, content: v.content, line: v.line, arg1: v.arg1, arg2: v.arg2, tval: v.tval, data }))
        // non-UTF-8 bytes: always an invalid sequence in the file, plus the generated ones
        const bytes = Buffer.concat([Buffer.from([0xff, 0xfe, 0x80, 0x00]), Buffer.from(v.bytes)])
        writeFileSync(join(dir, 'bytes.bin'), bytes)
        const r = await run(join(dir, 'site.yml'), [lab.inventoryPath], { extraVars: ['@' + vars] })
        assert.equal(r.summary.exitCode, 0, JSON.stringify(r.results.filter((e) => e.status === 'failed')))

        const listing = await labExec(lab, 1, ['find', '/srv/hostile', '-mindepth', '1', '-maxdepth', '1', '-printf', '%P\\0'])
        assert.deepEqual(listing.stdout.split('\0').filter(Boolean), [v.name], 'exactly one directory, with the literal name')
        assert.equal((await hostFile(v.name, v.name + '.txt')).toString(), v.content)
        assert.equal(
          createHash('sha256')
            .update(await hostFile(v.name, 'bytes'))
            .digest('hex'),
          createHash('sha256').update(bytes).digest('hex'),
        )
        assert.equal((await hostFile(v.name, 'lines')).toString(), v.line + '\n')
        // what ansible-playbook's template module writes for this template (checked by hand with
        // ansible-core 2.14: an empty loop leaves no line of its own)
        const pairs = Object.entries(data)
          .map(([k, x]) => `${k}=${x};`)
          .join('')
        const tpl = `value=${v.tval}\n${pairs ? pairs + '\n' : ''}`
        assert.equal((await hostFile(v.name, 'tpl')).toString(), tpl)
        assert.equal((await hostFile(v.name, 'argv')).toString(), `${v.arg1}|${v.arg2}|`)
      }),
      { numRuns: RUNS, endOnFailure: true },
    )
    assert.equal(runs, RUNS)
  })

  test("templates cannot reach the controller's files or environment except through lookups", async () => {
    const canary = `canary-${process.pid}-${Date.now()}`
    process.env.K3SBOOK_CANARY = canary
    const secretFile = join(dir, 'controller-only.txt')
    writeFileSync(secretFile, canary + '-file\n')
    const attempts: Record<string, string> = {
      env: '{{ K3SBOOK_CANARY | default("none") }}|{{ environ | default("none") }}|{{ env | default("none") }}',
      include: `{% include '${secretFile}' %}`,
      climb: `{% include '../../../../../../..${secretFile}' %}`,
      python: "{{ ''.__class__.__mro__[1].__subclasses__() }}",
      globals: '{{ cycler.__init__.__globals__ | default("none") }}|{{ self.__dict__ | default("none") }}',
      lookup: "{{ lookup('env', 'K3SBOOK_CANARY') }}|{{ lookup('file', '" + secretFile + "') }}",
    }
    const files: Record<string, string> = {}
    let tasks = ''
    for (const [k, t] of Object.entries(attempts)) {
      files[`templates/${k}.j2`] = t + '\n'
      tasks += `    - name: ${k}\n      template:\n        src: ${k}.j2\n        dest: /srv/sandbox/${k}\n      ignore_errors: true\n`
    }
    const d = tree({
      ...files,
      'sandbox.yml': `- hosts: all\n  gather_facts: false\n  tasks:\n    - file:\n        path: /srv/sandbox\n        state: directory\n${tasks}`,
    })
    try {
      const r = await run(join(d, 'sandbox.yml'), [lab.inventoryPath])
      const status = (k: string) => r.results.find((e) => e.task === k)!
      const onHost = async (k: string) => (await labExec(lab, 1, ['cat', `/srv/sandbox/${k}`])).stdout
      // what was written holds nothing of the controller; what could not be rendered failed
      assert.equal(status('env').status, 'changed')
      assert.equal(await onHost('env'), 'none|none|none\n')
      for (const k of ['include', 'climb', 'python', 'globals']) {
        const e = status(k)
        if (e.status === 'failed') assert.ok(e.msg && !e.msg.includes(canary), `${k}: ${e.msg}`)
        else assert.ok(!(await onHost(k)).includes(canary) && !(await onHost(k)).includes('class'), `${k} wrote ${await onHost(k)}`)
      }
      assert.equal(status('include').status, 'failed', 'an include outside the template search path is refused')
      assert.equal(status('climb').status, 'failed')
      // the explicit lookups are the way in, as in Ansible
      assert.equal(await onHost('lookup'), `${canary}|${canary}-file\n`)
    } finally {
      delete process.env.K3SBOOK_CANARY
    }
  })
})
