// lineinfile/blockinfile edits compared with Ansible itself: fixtures/*-oracle.json hold inputs,
// arguments and what ansible-playbook 2.14 produced (regenerate with test/modules/oracle.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { editLines } from '../../src/modules/lineinfile.js'
import { editBlock } from '../../src/modules/blockinfile.js'
import type { OracleCase } from './oracle.js'

const load = (name: string): OracleCase[] => JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'))
const b = (v: unknown) => v === true || v === 'yes' || v === 'true'

function ours(kind: 'line' | 'block', c: OracleCase): { failed: boolean; output?: string | null; changed?: boolean; msg?: string } {
  const a = c.args as Record<string, string | undefined>
  try {
    if (c.input === null) {
      if ((a.state ?? 'present') === 'absent')
        return { failed: false, output: null, changed: false, msg: kind === 'line' ? 'file not present' : 'File x not present' }
      if (!b(c.args.create)) return { failed: true }
    }
    const r =
      kind === 'line'
        ? editLines(c.input ?? '', {
            line: a.line,
            regexp: a.regexp,
            search_string: a.search_string,
            state: (a.state as 'absent') ?? 'present',
            insertafter: a.insertafter,
            insertbefore: a.insertbefore,
            backrefs: b(c.args.backrefs),
            firstmatch: b(c.args.firstmatch),
          })
        : editBlock(c.input ?? undefined, {
            block: a.block,
            marker: a.marker,
            state: (a.state as 'absent') ?? 'present',
            insertafter: a.insertafter,
            insertbefore: a.insertbefore,
          })
    // A file is only written when something changed (a created file with nothing in it stays absent).
    return { failed: false, output: r.changed ? r.text : c.input, changed: r.changed, msg: r.msg }
  } catch {
    return { failed: true }
  }
}

for (const [kind, file] of [
  ['line', 'lineinfile-oracle.json'],
  ['block', 'blockinfile-oracle.json'],
] as const) {
  test(`${kind}infile edits match ansible-playbook on every recorded case`, () => {
    const cases = load(file)
    assert.ok(cases.length > 100)
    let compared = 0
    for (const [i, c] of cases.entries()) {
      const got = ours(kind, c)
      const where = `case ${i}: ${JSON.stringify(c.input)} ${JSON.stringify(c.args)}`
      assert.equal(got.failed, !!c.failed, `${where}: failed (ansible msg: ${c.msg})`)
      if (c.failed) continue
      assert.equal(got.output, c.output, `${where}: resulting file`)
      assert.equal(got.changed, c.changed, `${where}: changed`)
      if (c.input !== null) assert.equal(got.msg, c.msg, `${where}: msg`)
      compared++
    }
    assert.ok(compared > 90)
  })
}
