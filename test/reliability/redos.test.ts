// Regular expressions that backtrack in polynomial time (the ReDoS class) on host output, host
// files and user files: each place is fed its worst case, 200 kB long (a run of spaces, slashes,
// newlines or digits that does not reach the end of the line), and must give the right answer
// within a generous bound. Before the rewrite (src/text.ts and the hand-written parsers) these took
// minutes to hours each: sysctl.conf's line regex needed 400 s for a 1 kB line, zpool's 13 s for
// 3 kB, and /\/+$/ 10 s for 55 kB; the bound only has to tell linear from quadratic.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cutAt, jinjaSpans, oneLine, splitAssignment, stripTags, trimEndOf, trimOf } from '../../src/text.js'
import { sysctlEdit, sysctlFileValue } from '../../src/modules/sysctl.js'
import { parseZpoolImport } from '../../src/modules/zpool.js'
import { commentOut, loadsModule, optionsFor } from '../../src/modules/modprobe.js'
import { pickChecksumLine, urlFileName } from '../../src/modules/get_url.js'
import { editLines } from '../../src/modules/lineinfile.js'
import { render, templateValue } from '../../src/template/index.js'
import { unifiedDiff } from '../../src/output/common.js'

const N = 200_000
const SP = ' '.repeat(N)
const BOUND_MS = 2000

function bounded<T>(what: string, f: () => T): T {
  const t0 = performance.now()
  const r = f()
  const ms = performance.now() - t0
  assert.ok(ms < BOUND_MS, `${what}: ${ms.toFixed(0)} ms for ${N} characters`)
  return r
}

test('linear helpers match the regexes they replace, and stay linear on their worst case', () => {
  for (const s of ['', 'a', 'a//', '///', 'a/b/', 'x\r\n\n', '\n\n']) {
    assert.equal(trimEndOf(s, '/'), s.replace(/\/+$/, ''))
    assert.equal(trimEndOf(s, '\r\n'), s.replace(/[\r\n]+$/, ''))
  }
  for (const s of ['a', 'a#b', '#', 'x?y#z', '']) assert.equal(cutAt(s, '?#'), s.replace(/[?#].*$/, ''))
  for (const s of ['a\nb', 'a \n  \n b', '\n a', 'a \n', 'a\n\n', 'x y', ' \n\n \n ']) assert.equal(oneLine(s), s.replace(/\s*\n\s*/g, ' '))
  for (const s of ['<b>x</b>', 'a<!-- c -->b', '<!-->x', 'a < b', '<<<>', 'a<!--b', '<!-- <x> -->y<z']) {
    assert.equal(stripTags(s), s.replace(/<!--[\s\S]*?-->|<[^>]*>/g, ''), s)
  }
  for (const s of ['{{ a }} x {% if b %}', '{{ a', '{%{{ x }}', '{{%', 'a {{ b }} {{ c', '{{ a %} }}']) {
    const re = [...s.matchAll(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g)].map((m) => ({ index: m.index, text: m[0] }))
    assert.deepEqual(jinjaSpans(s), re, s)
  }
  for (const s of ['a=b', 'a = b ', ' k : v', 'k', '=v', 'a:b=c', 'k = v\rx', 'key  =  ']) {
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(s)
    assert.deepEqual(splitAssignment(s), m ? [m[1], m[2]] : undefined, s)
  }
  for (const s of ['  pw \n', '\t\v x y \f', '', ' ']) assert.equal(trimOf(s, ' \t\r\n\f\v'), s.replace(/^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g, ''))
  // ansible.cfg and INI lookups: the line regex was cubic (3 kB of tabs: 13 s)
  assert.deepEqual(
    bounded('splitAssignment', () => splitAssignment('k' + SP + '=' + SP + 'v' + SP)),
    ['k', 'v' + SP],
  )
  assert.equal(
    bounded('splitAssignment', () => splitAssignment('\t' + SP + ':' + SP + '\x00\n')),
    undefined,
  )
  assert.equal(bounded('trimOf', () => trimOf('\x00' + SP + ' \x00', ' ')).length, N + 3)
  assert.equal(bounded('trimEndOf', () => trimEndOf('/'.repeat(N) + 'x/', '/')).length, N + 1)
  assert.equal(
    bounded('cutAt', () => cutAt('#'.repeat(N), '?#')),
    '',
  )
  assert.equal(
    bounded('oneLine', () => oneLine(SP + 'x\n')),
    SP + 'x ',
  )
  assert.equal(bounded('stripTags', () => stripTags('<!--'.repeat(N / 4) + '<'.repeat(N))).length, 2 * N)
  assert.equal(
    bounded('stripTags', () => stripTags('<!--'.repeat(N / 4) + '>')),
    '',
  )
  assert.equal(bounded('jinjaSpans', () => jinjaSpans('{{'.repeat(N / 2) + '{%'.repeat(N / 2))).length, 0)
})

test('host files and host output: sysctl, zpool, modprobe, lineinfile, checksums', () => {
  const conf = `net.ipv4.ip_forward = 1\n-vm.swappiness=${SP}10${SP}\n# x = 2\n; y = 3\nkey${SP}\x00\n`
  assert.equal(
    bounded('sysctl value', () => sysctlFileValue(conf, 'vm.swappiness')),
    '10',
  )
  assert.equal(sysctlFileValue(conf, 'net/ipv4/ip_forward'), '1')
  assert.equal(sysctlFileValue(conf, 'x'), undefined)
  assert.equal(bounded('sysctl edit', () => sysctlEdit(conf, 'vm.swappiness', '5')).split('\n')[1], 'vm.swappiness=5')
  const zp = `   pool: tank${SP}\n     id: 123\n  state: ONLINE\nstatus:${SP}x${SP}\x00\n`
  assert.deepEqual(
    bounded('zpool import', () => parseZpoolImport(zp)),
    [{ name: 'tank', id: '123', state: 'ONLINE', status: `x${SP}\x00` }],
  )
  const mod = `br_netfilter # comment${SP}\x00\n#${'#'.repeat(N)}\noptions zfs zfs_arc_max=1${SP}\n`
  assert.equal(
    bounded('modprobe load', () => loadsModule(mod, 'br_netfilter')),
    true,
  )
  assert.equal(
    bounded('modprobe options', () => optionsFor(mod, 'zfs')),
    'zfs_arc_max=1',
  )
  assert.match(
    bounded('modprobe comment out', () => commentOut(mod, 'br_netfilter', 'load')),
    /^# ?br_netfilter/,
  )
  const file = `a\n${'\n'.repeat(N)}\x00\nlast\n`
  assert.equal(bounded('lineinfile', () => editLines(file, { line: 'last', state: 'present' })).text, file)
  const sums = `abc123${SP}\x00\n0123abcd  k3s\nSHA256 (x) = ff\n`
  assert.equal(
    bounded('checksum file', () => pickChecksumLine(sums, 'k3s')),
    '0123abcd',
  )
  assert.equal(pickChecksumLine('0123abcd *k3s\n', 'k3s'), '0123abcd')
  assert.equal(pickChecksumLine('0123abcdk3s\n', 'k3s'), undefined)
  assert.equal(
    bounded('url file name', () => urlFileName('https://h/k3s' + '/'.repeat(N) + '?' + '#'.repeat(N))),
    'k3s',
  )
})

test('templates and filters: whitespace control, lookup rstrip, int, float, urlsplit, striptags', () => {
  // `{{-` strips the white space before it: /\s*$/ on the text before was quadratic
  assert.equal(
    bounded('whitespace control', () => render(`a${SP}\x00${SP}{{- 'b' }}`, {})),
    `a${SP}\x00b`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-redos-'))
  writeFileSync(join(dir, 'f.txt'), `x${SP}\x00${SP}`)
  assert.equal(
    bounded('lookup file', () => render(`{{ lookup('file', '${join(dir, 'f.txt')}') }}`, {})),
    `x${SP}\x00`,
  )
  const digits = '1'.repeat(N) + 'x'
  assert.equal(
    bounded('int', () => render('{{ d | int }}', { d: digits })),
    '0',
  )
  assert.equal(
    bounded('float', () => render('{{ d | float }}', { d: digits })),
    '0.0',
  )
  assert.equal(
    bounded('urlsplit', () => render("{{ u | urlsplit('path') }}", { u: '//' + '\x00'.repeat(N) + '#\n' })),
    '',
  )
  assert.equal(
    bounded('striptags', () => render('{{ s | striptags }}', { s: '<!--'.repeat(N / 4) })),
    '<!--'.repeat(N / 4),
  )
  bounded('lone variable', () => assert.throws(() => templateValue('{{' + SP + '0', { x: 1 }), /syntax error/))
  assert.equal(templateValue('{{ x }}', { x: 1 }), 1)
})

test('output: a diff keeps one trailing newline', () => {
  const d = unifiedDiff({ path: 'f', before: 'a\n', after: 'b\n' })
  assert.ok(d.endsWith('\n') && !d.endsWith('\n\n'), d)
})
