// Regular expressions that backtrack in polynomial time (the ReDoS class) on host output, host
// files and user files: each place is fed its worst case, 200 kB long (a run of spaces, slashes,
// newlines or digits that does not reach the end of the line), and must give the right answer
// within a generous bound. Before the rewrite (src/text.ts and the hand-written parsers) these took
// minutes to hours each: sysctl.conf's line regex needed 400 s for a 1 kB line, zpool's 13 s for
// 3 kB, and /\/+$/ 10 s for 55 kB; the bound only has to tell linear from quadratic.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
import { bracketRuns, cutSpaceComment, dollarRefs, iniGroupName, keywordValue, splitBeforeKeys, starPieces } from '../../src/text.js'
import { parseSshConfig, resolveSshConfig, splitKeyValue } from '../../src/connection/sshconfig.js'
import { wildcardMatch } from '../../src/connection/knownhosts.js'
import { fnmatchTranslate, splitHostPattern } from '../../src/inventory/patterns.js'
import { varPieces } from '../../src/modules/command.js'
import { cronRead, cronRender } from '../../src/modules/cron.js'
import { parseServiceFacts } from '../../src/modules/service_facts.js'
import { loadIn, tree } from '../inventory/helpers.js'
import { fnmatch } from '../../src/modules/lib/facts.js'

const N = 200_000
const SP = ' '.repeat(N)
const BOUND_MS = 2000

/** CPU time, not wall time: a loaded machine stretches the wall clock, backtracking burns CPU. */
function bounded<T>(what: string, f: () => T): T {
  const c0 = process.cpuUsage()
  const r = f()
  const c = process.cpuUsage(c0)
  const ms = (c.user + c.system) / 1000
  assert.ok(ms < BOUND_MS, `${what}: ${ms.toFixed(0)} ms of CPU for ${N} characters`)
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

// The user's own files and arguments: ~/.ssh/config, INI inventories, host patterns (`hosts:`,
// `--limit`), `$VAR` in command arguments; and a host's crontab and `service --status-all`.
// Found with the recheck ReDoS checker (every regex literal in src/) and, for globs, by hand: a
// host pattern or an ssh_config `Host` pattern became `.*a.*a…b`, which backtracks in
// O(name^stars) (10 stars against a 30-character name: 1.5 s; 12 against 40: no end).
// Before, at 20 kB: ssh_config's comment cut 3.4 s, its -o argument split 1.2 s, an INI group
// line 0.7 s, a `~[[[…` host pattern 1.8 s, `${${…` in a command 0.9 s; quadratic, so 200 kB
// took 100 times that.
test('linear parsers of user files match the regexes they replace', () => {
  const alpha = ['a', 'B', '1', ' ', '\t', '\n', '\r', '=', '#', ':', ']', '[', '$', '{', '}', '_', '\u2028', '-']
  let seed = 7
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  for (let n = 0; n < 30_000; n++) {
    const s = Array.from({ length: Math.floor(rnd() * 12) }, () => alpha[Math.floor(rnd() * alpha.length)]).join('')
    const kv = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*?)\s*$/s.exec(s)
    assert.deepEqual(keywordValue(s, { leading: true, trimValue: true }), kv ? [kv[1], kv[2]] : undefined, JSON.stringify(s))
    const line = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=\s*|\s+)(.*)$/.exec(s)
    assert.deepEqual(keywordValue(s), line ? [line[1], line[2]] : undefined, JSON.stringify(s))
    assert.equal(cutSpaceComment(s), s.replace(/\s+#.*$/, ''), JSON.stringify(s))
    const g = /^([^:\]\s]+)\s*(?:#.*)?$/.exec(s)
    assert.equal(iniGroupName(s), g ? g[1] : undefined, JSON.stringify(s))
    assert.deepEqual(bracketRuns(s), s.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [], JSON.stringify(s))
    const refs = [...s.matchAll(/\$(\w+|\{[^}]*\})/g)].map((m) => ({ index: m.index, text: m[0], ref: m[1] }))
    assert.deepEqual(dollarRefs(s), refs, JSON.stringify(s))
    assert.deepEqual(splitBeforeKeys(s), s.split(/\s+(?=\w+=)/), JSON.stringify(s))
  }
  // globs: the atomic form matches what `.*` for each star matched
  const globs = ['*', 'a*', '*a', 'a*b*c', '*a*a*b', '**', 'a?*b', '*[ab]*c', '*[!a]*', 'x*y*', '*.example.*']
  const names = ['', 'a', 'ab', 'abc', 'aabcc', 'aab', 'xay', 'x', 'db.example.com', 'cab', 'ba', 'acbc']
  for (const p of globs)
    for (const n of names) {
      const old = new RegExp(`^(?:${p.replace(/\?/g, '.').replace(/\*/g, '.*').replace('[!', '[^')})$`, 's').test(n)
      assert.equal(new RegExp(`^(?:${fnmatchTranslate(p)})$`, 's').test(n), old, `${p} ${n}`)
      if (!p.includes('[')) assert.equal(wildcardMatch(p, n), old, `${p} ${n}`)
    }
  assert.equal(starPieces(['a']), 'a')
})

test('~/.ssh/config: hostile lines and Host patterns are read in linear time', () => {
  const tabs = '\t'.repeat(N)
  // a value with a comment after 200 kB of tabs
  const cfg = bounded('ssh_config comment', () => parseSshConfig(`Host web\n  User admin${tabs}\x00${tabs}#${tabs}c\n`, '/cfg'))
  assert.deepEqual(resolveSshConfig(cfg, 'web').options.get('user'), ['admin \x00'])
  // a line that is not `Keyword value` (a lone CR in its value): refused at its line
  bounded('ssh_config bad line', () => assert.throws(() => parseSshConfig(`Host web\nUser${tabs}x\ry\n`, '/cfg'), /cannot parse ssh config line/))
  // an -o argument (ansible_ssh_common_args)
  assert.deepEqual(
    bounded('-o Key=Value', () => splitKeyValue(`A\tA${tabs}=`)),
    ['A', `A${tabs}=`],
  )
  // `Host *a*a*a…b` against a long host name: no match, at once
  const star = '*a'.repeat(30) + 'b'
  const many = parseSshConfig(`Host ${star}\n  User nobody\n`, '/cfg')
  assert.equal(
    bounded('Host glob', () => resolveSshConfig(many, 'a'.repeat(N)).options.get('user')),
    undefined,
  )
  assert.equal(
    bounded('wildcardMatch', () => wildcardMatch(star, 'a'.repeat(N) + 'b')),
    true,
  )
})

test('INI inventory and host patterns: hostile lines and patterns in linear time', () => {
  const hashes = '#'.repeat(N)
  const dir = tree({ 'hosts.ini': `[web]\nw1\n[all:children]\nweb${hashes}\r:\nweb #${hashes}\n` })
  const { inv, messages } = bounded('INI children line', () => loadIn(dir, ['hosts.ini']))
  assert.ok(inv.groups.has('web'))
  // the first line is no group name (the CR ends it before the colon): reported, not hung on
  assert.ok(
    messages.some((m) => /expected a group name/.test(m)),
    messages.join('\n'),
  )
  assert.deepEqual(
    bounded('host pattern ~[[[', () => splitHostPattern('~' + '['.repeat(N))),
    ['~'],
  )
  // a glob with 30 stars against a long host name (`--limit '*a*a…b'`)
  const re = new RegExp(`^(?:${fnmatchTranslate('*a'.repeat(30) + 'b')})$`, 's')
  assert.equal(
    bounded('host glob', () => re.test('a'.repeat(N))),
    false,
  )
  assert.equal(
    bounded('host glob', () => re.test('a'.repeat(N) + 'b')),
    true,
  )
})

test('command arguments, a host crontab and service --status-all: linear on their worst cases', () => {
  const refs = bounded('$VAR expansion', () => varPieces('${'.repeat(N / 2) + '$HOME'))
  assert.deepEqual(refs[refs.length - 1], { v: 'HOME', raw: '$HOME' })
  const crontab = `# (${'version'.repeat(N / 7)}\n# (/tmp/${'installed on'.repeat(N / 12)}\n* * * * * true\n`
  const read = bounded('crontab header', () => cronRead(crontab, false))
  assert.equal(read.lines.length, 3)
  assert.equal(
    bounded('crontab render', () => cronRender(['x', '\n'.repeat(N) + '\x00'])),
    'x\n' + '\n'.repeat(N) + '\x00\n',
  )
  const services = bounded('service --status-all', () => parseServiceFacts(`@@sysv\nrc=0\ninitd=1\n${'\n'.repeat(N)} [ + ]  ssh\n`))
  assert.equal(services.ssh?.state, 'running')
  assert.deepEqual(
    bounded('key= terms', () => splitBeforeKeys('f' + SP + 'x' + SP + '=')),
    ['f' + SP + 'x' + SP + '='],
  )
})
