// Output caps on a lab host through the real CLI, with the controller's peak RSS measured by GNU
// time: a command printing 600 MB keeps the first and last MiB of its stdout with a note of what
// was dropped (before: 1.5 GB RSS and a JavaScript-internal error), and a 50 MB file or template
// copied with --diff prints Ansible's one-line "diff skipped" note instead of a 50 MB diff (a
// template over the limit too; a 50 MB template is not used here: rendering and checking 50 MB of
// template text takes minutes and GBs in the template engine, see docs/RELIABILITY.md).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { useLab } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { timed, tree } from './helpers.js'

const FLOOD = `- hosts: all
  gather_facts: false
  tasks:
    - name: Flood
      shell: "printf start; head -c 600000000 /dev/zero | tr '\\\\0' x; printf 'the-end\\\\n'; head -c 300000000 /dev/zero >&2"
      register: flood
    - name: What was kept
      copy:
        dest: /tmp/flood-kept.txt
        content: "{{ flood.stdout | length }} {{ flood.stdout[:5] }} {{ flood.stdout[-7:] }} {{ flood.stderr | length }}\\n{{ flood.stdout | regex_search('\\\\[k3sbook: [^]]*\\\\]') }}\\n"
`

const BIG = `- hosts: all
  gather_facts: false
  tasks:
    - name: Big copy
      copy: { src: big.txt, dest: /tmp/big-copy.txt }
    - name: Big template
      template: { src: big.j2, dest: /tmp/big-template.txt }
    - name: Small copy
      copy: { content: "small {{ 1 + 1 }}\\n", dest: /tmp/small.txt }
`

test('600 MB of stdout keeps head and tail with a note; 50 MB diffs are skipped with a note; RSS stays bounded', { timeout: 600_000 }, async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'caps' })
  const line = 'y'.repeat(99) + '\n'
  const dir = tree({ 'flood.yml': FLOOD, 'big.yml': BIG, 'big.txt': line.repeat(500_000), 'templates/big.j2': `{{ 'first' }}\n` + line.repeat(2_000) })

  const f = await timed(['run', 'flood.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
  assert.equal(f.code, 0, f.stdout + f.stderr)
  const kept = await sh(lab, 1, 'cat /tmp/flood-kept.txt')
  const [head, note] = kept.split('\n')
  const [len, first, last, errLen] = head.split(' ')
  // 1 MiB + 1 MiB, the note between, the real start and end
  assert.ok(Number(len) > 2 * 1024 * 1024 && Number(len) < 2 * 1024 * 1024 + 8192, `kept ${len} characters`)
  assert.equal(first, 'start')
  assert.equal(last, 'the-end')
  assert.ok(Number(errLen) < 2 * 1024 * 1024 + 8192, `kept ${errLen} characters of stderr`)
  assert.match(note, /^\[k3sbook: \d+ bytes \(\d+\.\d MiB\) of output dropped here; the first and last 1024 KiB are kept\]$/)
  const dropped = Number(/(\d+) bytes/.exec(note)![1])
  assert.ok(Math.abs(dropped - (600_000_012 - 2 * 1024 * 1024)) < 8192, `dropped ${dropped}`)
  console.log(`600 MB flood: peak RSS ${f.maxRssMb.toFixed(0)} MB`)
  assert.ok(f.maxRssMb < 400, `peak RSS ${f.maxRssMb} MB`)

  await sh(lab, 1, `head -c 60000000 /dev/zero | tr '\\0' z > /tmp/big-copy.txt; cp /tmp/big-copy.txt /tmp/big-template.txt`)
  const b = await timed(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain', '--diff'], dir)
  assert.equal(b.code, 0, b.stdout + b.stderr)
  assert.match(b.stdout, /\+\+\+ after: \/tmp\/big-copy\.txt\ndiff skipped: destination file size is greater than 104448\n/)
  assert.match(b.stdout, /\+\+\+ after: \/tmp\/big-template\.txt\ndiff skipped: destination file size is greater than 104448\n/)
  assert.match(b.stdout, /\+small 2\n/, 'a small file still gets its diff')
  assert.doesNotMatch(b.stdout, /yyyyyyyyyy|zzzzzzzzzz/)
  assert.ok(b.stdout.length < 10_000, `${b.stdout.length} characters of output`)
  assert.equal((await sh(lab, 1, 'wc -c < /tmp/big-copy.txt')).trim(), String(50_000_000))
  assert.equal((await sh(lab, 1, 'wc -c < /tmp/big-template.txt')).trim(), String(6 + 200_000))
  console.log(`50 MB copy and 200 KB template with --diff (host files 60 MB): peak RSS ${b.maxRssMb.toFixed(0)} MB`)

  // the other side: the host files are small now, the new content is large
  await sh(lab, 1, `printf 'old\\n' > /tmp/big-copy.txt; printf 'old\\n' > /tmp/big-template.txt; rm -f /tmp/small.txt`)
  const c = await timed(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'json', '--diff'], dir)
  assert.equal(c.code, 0, c.stdout + c.stderr)
  const diffs = c.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; task?: string; diff?: Array<{ skipped?: string; before: string; after: string }> })
    .filter((e) => e.type === 'host:result' && e.diff)
  assert.deepEqual(
    diffs.map((e) => [e.task, e.diff![0].skipped]),
    [
      ['Big copy', 'diff skipped: source file size is greater than 104448'],
      ['Big template', 'diff skipped: source file size is greater than 104448'],
      ['Small copy', undefined],
    ],
  )
  assert.ok(c.stdout.length < 10_000, `${c.stdout.length} characters of output`)
  console.log(`the same, host files small: peak RSS ${c.maxRssMb.toFixed(0)} MB`)
  for (const r of [b, c]) assert.ok(r.maxRssMb < 600, `peak RSS ${r.maxRssMb} MB`)
})
