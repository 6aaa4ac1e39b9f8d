// A large template's text costs about its size in memory, not 50 times that: nunjucks' lexer read
// a run of text one character at a time (`t += current()`), so every byte became a one-character
// string in a rope kept by the parse tree (a 50 MB template: 2.5 GB peak RSS, minutes in the
// garbage collector). Measured here on the parse tree the template engine keeps, with the output
// checked byte for byte; the whole module with --diff is measured in docs/RELIABILITY.md.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseTemplate } from '../../src/template/parser.js'
import { BASE_LEX, render } from '../../src/template/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

test('a 10 MB template: its parse tree holds about its size, and it renders byte for byte', () => {
  const plain = 'plain configuration text line, nothing to render on it at all\n'
  const lines: string[] = []
  for (let i = 0; i < 160_000; i++) lines.push(i % 50 === 0 ? `value {{ v }} on line ${i}\n` : plain)
  const text = lines.join('')
  gc()
  const before = process.memoryUsage().heapUsed
  const root = parseTemplate(text, BASE_LEX)
  gc()
  const held = (process.memoryUsage().heapUsed - before) / 1e6
  console.log(`parse tree of ${(text.length / 1e6).toFixed(1)} MB of template: ${held.toFixed(0)} MB of heap`)
  assert.ok(root)
  // before: 32 bytes of rope per character, 300+ MB here
  assert.ok(held < 3 * (text.length / 1e6) + 20, `${held} MB held`)
  assert.equal(render(text, { v: 'x' }), text.replaceAll('{{ v }}', 'x'))
})
