// expanduser, expandvars, realpath, fileglob, strftime, to_datetime, vault and unvault, and the
// csvfile lookup, against Python: Debian's /usr/bin/python3 running os.path, time, datetime, csv and
// Ansible 2.14's own filter functions (plugins/filter/core.py, encryption.py), with the same
// environment (HOME, TZ, variables, current folder) on both sides.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { render, templateValue } from '../../src/template/index.js'
import { pyCsvRows } from '../../src/template/plugins.js'
import { isSecret } from '../../src/secrets.js'

const DIR = mkdtempSync(join(tmpdir(), 'k3sbook-ctlfilters-'))
after(() => rmSync(DIR, { recursive: true, force: true }))

function py(script: string, input: unknown, env: Record<string, string> = {}, cwd = DIR): unknown {
  const full = `import json, sys, os, warnings\nwarnings.simplefilter('ignore')\n${script}`
  const r = spawnSync('/usr/bin/python3', ['-c', full], { input: JSON.stringify(input), encoding: 'utf8', env: { ...process.env, ...env }, cwd })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** Run fn with process.env and the current folder changed as given (restored after). */
function withEnv<T>(env: Record<string, string | undefined>, fn: () => T, cwd = DIR): T {
  const old: Record<string, string | undefined> = {}
  for (const k of Object.keys(env)) {
    old[k] = process.env[k]
    if (env[k] === undefined) delete process.env[k]
    else process.env[k] = env[k]
  }
  const oldCwd = process.cwd()
  process.chdir(cwd)
  try {
    return fn()
  } finally {
    process.chdir(oldCwd)
    for (const k of Object.keys(old)) {
      if (old[k] === undefined) delete process.env[k]
      else process.env[k] = old[k]
    }
  }
}

const tv = (t: string, vars: Record<string, unknown> = {}) => templateValue(t, vars)

describe('expanduser, expandvars, realpath are os.path', () => {
  const ENV = { HOME: '/home/tester/', K3S_A: 'alpha', K3S_EMPTY: '', K3S_SP: 'has space' }
  const paths = [
    '~',
    '~/',
    '~/x/y',
    '~root',
    '~root/.ssh',
    '~nosuchuser123/x',
    'x/~',
    '',
    '/abs',
    '$K3S_A/b',
    '${K3S_A}b',
    '$K3S_NOPE/x',
    '${K3S_NOPE}',
    '$',
    'a$K3S_EMPTY.b',
    '$K3S_SP',
    '${K3S_A',
    '$$K3S_A',
    '~/$K3S_A',
  ]
  it('expanduser and expandvars, many paths', () => {
    const want = py('print(json.dumps([[os.path.expanduser(p), os.path.expandvars(p)] for p in json.load(sys.stdin)]))', paths, ENV)
    const got = withEnv(ENV, () => paths.map((p) => [tv('{{ p | expanduser }}', { p }), tv('{{ p | expandvars }}', { p })]))
    assert.deepEqual(got, want)
  })
  it('expanduser without HOME reads the passwd entry', () => {
    const want = py('print(json.dumps(os.path.expanduser("~/k")))', null, { HOME: '' })
    // Python treats an empty HOME as set (and empty): the path is '/k'
    assert.equal(
      withEnv({ HOME: '' }, () => tv('{{ "~/k" | expanduser }}')),
      want,
    )
  })
  it('realpath resolves symlinks of what exists, `..` after them, and keeps the rest', () => {
    mkdirSync(join(DIR, 'real/sub'), { recursive: true })
    symlinkSync(join(DIR, 'real/sub'), join(DIR, 'link'))
    symlinkSync('real', join(DIR, 'rel'))
    symlinkSync('loop2', join(DIR, 'loop1'))
    symlinkSync('loop1', join(DIR, 'loop2'))
    const paths = ['link', 'link/..', 'link/../x', 'rel/sub/./f', join(DIR, 'link'), 'missing/../y', '.', '..', '/', '//x', 'loop1/z', 'a//b/']
    const want = py('print(json.dumps([os.path.realpath(p) for p in json.load(sys.stdin)]))', paths)
    const got = withEnv({}, () => paths.map((p) => tv('{{ p | realpath }}', { p })))
    assert.deepEqual(got, want)
  })
  it('a non-string is a TypeError as in Python', () => {
    assert.throws(() => render('{{ 5 | expanduser }}', {}), /expected str, bytes or os.PathLike object, not int/)
  })
})

describe('fileglob is glob.glob of regular files', () => {
  it('many patterns, relative and absolute', () => {
    const g = join(DIR, 'glob')
    mkdirSync(join(g, 'd1'), { recursive: true })
    mkdirSync(join(g, 'd2'), { recursive: true })
    for (const f of ['a.txt', 'b.txt', '.hidden.txt', 'c.log', 'd1/x.txt', 'd2/y.txt', 'd2/.z.txt', '[x].txt']) writeFileSync(join(g, f), f)
    const pats = [
      'glob/*.txt',
      'glob/*',
      'glob/.*',
      'glob/*/*.txt',
      'glob/d?/*',
      'glob/[ab].txt',
      'glob/[!a].txt',
      'glob/nothing*',
      'glob/a.txt',
      'glob/d1',
      join(g, '*.log'),
      'glob/*/.*',
      'glob/**',
    ]
    // in glob.glob's own order (the folder's, as os.scandir gives it), not sorted
    const want = py('import glob\nprint(json.dumps([[x for x in glob.glob(p) if os.path.isfile(x)] for p in json.load(sys.stdin)]))', pats)
    const got = withEnv({}, () => pats.map((p) => tv('{{ p | fileglob }}', { p })))
    assert.deepEqual(got, want)
  })
})

describe("Ansible's file tests are os.path on the control machine", () => {
  it('directory, file, link, exists, link_exists, abs, mount and their is_ names, many paths', () => {
    const f = join(DIR, 'ft')
    mkdirSync(join(f, 'dir'), { recursive: true })
    writeFileSync(join(f, 'file'), 'x')
    symlinkSync('file', join(f, 'link-file'))
    symlinkSync('dir', join(f, 'link-dir'))
    symlinkSync('nowhere', join(f, 'broken'))
    const paths = [
      'ft/dir',
      'ft/file',
      'ft/link-file',
      'ft/link-dir',
      'ft/broken',
      'ft/missing',
      'ft/file/under',
      join(f, 'dir'),
      '',
      '.',
      '/',
      '/proc',
      '/etc/passwd',
      'ft/dir/..',
      'a\u0000b',
    ]
    const names = ['directory', 'is_dir', 'file', 'is_file', 'link', 'is_link', 'exists', 'link_exists', 'abs', 'is_abs', 'mount', 'is_mount']
    const want = py(
      'import ansible.plugins.test.files as m\nt = m.TestModule().tests()\nprint(json.dumps([[t[n](p) for n in ' +
        JSON.stringify(names) +
        '] for p in json.load(sys.stdin)]))',
      paths,
    )
    const got = withEnv({}, () => paths.map((p) => names.map((n) => tv(`{{ p is ${n} }}`, { p }))))
    assert.deepEqual(got, want)
  })
  it('same_file follows links; a missing path is FileNotFoundError; a non-string a TypeError', () => {
    const want = py(
      'import ansible.plugins.test.files as m\nt = m.TestModule().tests()\nprint(json.dumps([t["same_file"](a, b) for a, b in json.load(sys.stdin)]))',
      [
        ['ft/file', 'ft/link-file'],
        ['ft/file', 'ft/dir'],
        ['ft/dir', join(DIR, 'ft/link-dir')],
      ],
    )
    const got = withEnv({}, () =>
      [
        ['ft/file', 'ft/link-file'],
        ['ft/file', 'ft/dir'],
        ['ft/dir', join(DIR, 'ft/link-dir')],
      ].map(([a, b]) => tv('{{ a is same_file(b) }}', { a, b })),
    )
    assert.deepEqual(got, want)
    assert.throws(() => withEnv({}, () => tv("{{ 'ft/missing' is is_same_file('ft/file') }}")), /\[Errno 2\] No such file or directory: 'ft\/missing'/)
    assert.throws(
      () => withEnv({}, () => tv('{{ none is directory }}', { none: null })),
      /stat: path should be string, bytes, os.PathLike or integer, not NoneType/,
    )
  })
})

describe('strftime is time.strftime', () => {
  const FMTS = [
    '%Y-%m-%d %H:%M:%S',
    '%a %A %b %B %d %e %j',
    '%I %l %p %P %k',
    '%U %W %V %G %g %u %w',
    '%c',
    '%x %X %D %F %T %R %r',
    '%y %C %h %n %t %%',
    '%s',
    '%z %Z',
    'plain',
    '%Q unknown',
  ]
  const SECONDS = [0, 1, 86399, 951782400, 1700000000, 1704067199, 1735689600.75, -86400 * 365, 2147483648, '1700000000', 1609459200]
  for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York']) {
    it(`TZ=${tz}: formats × epochs, local and utc`, () => {
      const input = FMTS.flatMap((f) =>
        SECONDS.flatMap((s) => [
          [f, s, false],
          [f, s, true],
        ]),
      )
      const want = py(
        `import time
from ansible.plugins.filter.core import strftime
out = []
for f, s, u in json.load(sys.stdin):
    out.append(strftime(f, s, u))
print(json.dumps(out))`,
        input,
        { TZ: tz },
      )
      const got = withEnv({ TZ: tz }, () => input.map(([f, s, u]) => tv('{{ f | strftime(s, utc=u) }}', { f, s, u })))
      assert.deepEqual(got, want)
    })
  }
  it("a bad epoch value is Ansible's error; no second is now", () => {
    assert.throws(() => render("{{ '%Y' | strftime('soon') }}", {}), /Invalid value for epoch value \(soon\)/)
    assert.equal(tv("{{ '%Y' | strftime }}"), String(new Date().getFullYear()))
  })
})

describe('to_datetime is datetime.strptime; subtraction gives a timedelta', () => {
  const CASES: [string, string | null][] = [
    ['2024-01-02 03:04:05', null],
    ['2024-1-2 3:4:5', null],
    ['2024-02-29 00:00:00', null],
    ['2023-02-29 00:00:00', null],
    ['2024-13-01 00:00:00', null],
    ['2024-01-02', null],
    ['2024-01-02 03:04:05 extra', null],
    ['2024-01-02', '%Y-%m-%d'],
    ['02/01/24', '%d/%m/%y'],
    ['02/01/69', '%d/%m/%y'],
    ['Tue, 02 Jan 2024 10:20:30', '%a, %d %b %Y %H:%M:%S'],
    ['january 5 2020 1:02 pm', '%B %d %Y %I:%M %p'],
    ['2020-01-01T10:20:30.123', '%Y-%m-%dT%H:%M:%S.%f'],
    ['2020   001', '%Y %j'],
    ['2020 366', '%Y %j'],
    ['12:00', '%H:%M'],
    ['x2020', 'x%Y'],
    ['2020.5', '%Y.%m'],
  ]
  it('parsing, str(), and errors', () => {
    const want = py(
      `import datetime
from ansible.plugins.filter.core import to_datetime
out = []
for s, f in json.load(sys.stdin):
    try:
        out.append(str(to_datetime(s) if f is None else to_datetime(s, f)))
    except Exception as e:
        out.append('error: ' + str(e))
print(json.dumps(out))`,
      CASES,
    )
    const got = CASES.map(([s, f]) => {
      try {
        return String(f === null ? tv('{{ s | to_datetime }}', { s }) : tv('{{ s | to_datetime(f) }}', { s, f }))
      } catch (e) {
        return 'error: ' + (e as Error).message.replace(/^.*?: (?=time data|unconverted|day is|second must)/s, '')
      }
    })
    const w = want as string[]
    // an error: Python's words are in ours (ours names the filter before them)
    assert.deepEqual(
      got.map((g, i) => (w[i].startsWith('error') ? g.startsWith('error') && g.includes(w[i].slice(7)) : g)),
      w.map((x) => (x.startsWith('error') ? true : x)),
    )
  })
  it('what playbooks do with them: days, seconds, total_seconds, comparisons, strftime, arithmetic', () => {
    const exprs = [
      '((b | to_datetime) - (a | to_datetime)).days',
      '((b | to_datetime) - (a | to_datetime)).seconds',
      '((b | to_datetime) - (a | to_datetime)).total_seconds()',
      '((a | to_datetime) - (b | to_datetime)).days',
      '((a | to_datetime) - (b | to_datetime)).seconds',
      '((a | to_datetime) - (b | to_datetime))',
      '((b | to_datetime) - (a | to_datetime))',
      '((b | to_datetime) - (b | to_datetime))',
      '(a | to_datetime) < (b | to_datetime)',
      '(a | to_datetime) == (a | to_datetime)',
      "(a | to_datetime).strftime('%d.%m.%Y %H:%M %j %A')",
      "(a | to_datetime).year ~ '/' ~ (a | to_datetime).month ~ '/' ~ (a | to_datetime).day",
      '(a | to_datetime) - ((b | to_datetime) - (a | to_datetime))',
      '(a | to_datetime) + ((b | to_datetime) - (a | to_datetime))',
      '(a | to_datetime).isoformat()',
      '(a | to_datetime).weekday()',
      '(((b | to_datetime) - (a | to_datetime)) / ((b | to_datetime) - (a | to_datetime)))',
      '[a | to_datetime]',
      '(a | to_datetime) | string',
      '(a | to_datetime) | to_json',
      "{'at': a | to_datetime} | to_json",
    ]
    for (const [a, b] of [
      ['2016-06-06 10:00:00', '2024-02-29 09:30:15'],
      ['1999-12-31 23:59:59', '2000-01-01 00:00:00'],
      ['2020-03-01 00:00:00', '2020-02-28 12:00:00'],
    ]) {
      const want = py(
        `import datetime
from jinja2 import Environment
from ansible.plugins.filter.core import to_datetime
env = Environment()
env.filters['to_datetime'] = to_datetime
from ansible.plugins.filter.core import to_json
env.filters['to_json'] = to_json
d = json.load(sys.stdin)
print(json.dumps([env.from_string('{{ ' + e + ' }}').render(a=d['a'], b=d['b']) for e in d['exprs']]))`,
        { a, b, exprs },
      )
      const got = exprs.map((e) => render(`{{ ${e} }}`, { a, b }))
      assert.deepEqual(got, want, `${a} / ${b}`)
    }
  })
})

describe('vault and unvault filters are encryption.py', () => {
  it('vault with a salt is byte for byte what Ansible writes; both decrypt each other', () => {
    const input = [
      ['hello', 'pw', 'saltsaltsalt', 'filter_default'],
      ['multi\nline\n', 'p@ss wörd', 'x', 'myid'],
      ['', 'pw', 's', 'default'],
    ]
    const want = py(
      `from ansible.plugins.filter.encryption import do_vault
print(json.dumps([do_vault(d, s, salt=salt, vaultid=vid) for d, s, salt, vid in json.load(sys.stdin)]))`,
      input,
    ) as string[]
    const got = input.map(([d, s, salt, vid]) => tv('{{ d | vault(s, salt=salt, vaultid=vid) }}', { d, s, salt, vid }))
    assert.deepEqual(got, want)
    // Ansible's unvault of k3sbook's random-salt vault, and k3sbook's of Ansible's
    const ours = String(tv("{{ 'top secret' | vault('pw2') }}"))
    const back = py(`from ansible.plugins.filter.encryption import do_unvault\nprint(json.dumps(do_unvault(json.load(sys.stdin), 'pw2')))`, ours)
    assert.equal(back, 'top secret')
    assert.equal(tv("{{ v | unvault('p@ss wörd', vaultid='myid') }}", { v: want[1] }), 'multi\nline\n')
  })
  it('what unvault returns is a secret; plain text passes; a wrong secret is an error', () => {
    const v = String(tv("{{ 'the-unvaulted-value' | vault('pw') }}"))
    assert.equal(tv("{{ v | unvault('pw') }}", { v }), 'the-unvaulted-value')
    assert.ok(isSecret('the-unvaulted-value'))
    assert.equal(tv("{{ 'not vaulted' | unvault('pw') }}"), 'not vaulted')
    assert.throws(() => render("{{ v | unvault('wrong') }}", { v }), /Unable to decrypt/)
    assert.throws(() => render("{{ 5 | vault('pw') }}", {}), /Can only vault strings, instead we got: <class 'int'>/)
  })
})

describe('csvfile lookup', () => {
  it("the reader is Python's csv.reader", () => {
    const texts = [
      'a,b,c\n1,2,3\n',
      'a,"b,c",d\r\ne,"f""g",h',
      'x\n\ny\n',
      '"quoted"tail,x\n',
      'a\tb\tc\n',
      '"multi\nline",z\n',
      ',,\n',
      'no newline',
      '"open quote,x\n',
    ]
    const delims = [',', ',', ',', ',', '\t', ',', ',', ',', ',']
    const want = py(
      'import csv, io\nprint(json.dumps([list(csv.reader(io.StringIO(t), delimiter=d)) for t, d in json.load(sys.stdin)]))',
      texts.map((t, i) => [t, delims[i]]),
    )
    assert.deepEqual(
      texts.map((t, i) => pyCsvRows(t, delims[i])),
      want,
    )
  })
  it("Ansible's lookup_csvfile target's assertions", () => {
    const d = join(DIR, 'csv')
    mkdirSync(join(d, 'files'), { recursive: true })
    writeFileSync(
      join(d, 'files/people.csv'),
      '# Last,First,Email,Extension\nSmith,Jane,jsmith@example.com,1234\n"German von Lastname",Demo,hello@example.com,123123\n"""The Rock"" Johnson",Dwayne,x@example.com,1\n',
    )
    writeFileSync(join(d, 'files/tabs.csv'), 'fruit\tbananas\t30\nfruit\tapples\t9\nelectronics\ttvs\t8\n')
    writeFileSync(join(d, 'files/crlf.csv'), 'this file,has,crlf,line,endings\r\nansible,parses,them,just,fine\r\n')
    writeFileSync(join(d, 'files/cool list of things.csv'), 'maybe,i,will,work,like,i,should\n')
    // as the target's `assert: that:` reads them: a condition's string literals are not backslash-escaped (source 'file')
    const q = (t: string) => templateValue(`{{ ${t} }}`, {}, { searchPath: [d], source: 'file' })
    assert.equal(q("lookup('csvfile', 'Smith', file='people.csv', delimiter=',', col=1)"), 'Jane')
    assert.equal(q("lookup('csvfile', 'German von Lastname file=people.csv delimiter=, col=1')"), 'Demo')
    assert.equal(q("lookup('csvfile', 'electronics file=tabs.csv delimiter=TAB col=1')"), 'tvs')
    assert.equal(q("lookup('csvfile', 'fruit file=tabs.csv delimiter=\"\\t\" col=1')"), 'bananas')
    assert.equal(q("lookup('csvfile', 'electronics', 'fruit', file='tabs.csv', delimiter='\\t', col=1)"), 'tvs,bananas')
    assert.deepEqual(q("lookup('csvfile', 'electronics', 'fruit', file='tabs.csv', delimiter='\\t', col=1, wantlist=True)"), ['tvs', 'bananas'])
    assert.equal(q("lookup('csvfile', 'this file file=crlf.csv delimiter=, col=2')"), 'crlf')
    assert.equal(q("lookup('csvfile', 'maybe file=\"cool list of things.csv\" delimiter=, col=3')"), 'work')
    assert.deepEqual(q("lookup('csvfile', 'notfound file=people.csv delimiter=, col=2')"), [])
    assert.equal(q("lookup('csvfile', 'notfound file=people.csv delimiter=, col=2, default=what?')"), 'what?')
    assert.equal(q("lookup('csvfile', '\"The Rock\" Johnson file=people.csv delimiter=, col=1')"), 'Dwayne')
    assert.throws(() => q("lookup('csvfile', 'file=people.csv, delimiter=, col=1')"), /Search key is required but was not found/)
    assert.throws(() => q("lookup('csvfile', 'foo file=people.csv delimiter=, col=1 thisarg=doesnotexist')"), /thisarg is not a valid option/)
    assert.throws(() => q("lookup('csvfile', 'foo', file='doesnotexist', delimiter=',', col=1)"), /No such file or directory/)
    assert.throws(() => q("lookup('csvfile', 'Smith file=people.csv delimiter=, col=9')"), /csvfile: list index out of range/)
  })
})
