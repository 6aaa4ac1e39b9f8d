// random, shuffle and password_hash against Ansible 2.14's own filter functions, run by Debian's
// python3 (ansible.plugins.filter.core: rand, randomize_list, get_encrypted_password, which on this
// controller hashes through Python's crypt module, i.e. libxcrypt, as passlib is not installed).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { render, templateValue } from '../../src/template/index.js'
import { TemplateError } from '../../src/errors.js'

/** Each case through the oracle: [value, args, kwargs] → the result or {error}. */
function oracle(fn: string, cases: [unknown, unknown[], Record<string, unknown>][]): unknown[] {
  const script = `
import json, sys, warnings
warnings.simplefilter('ignore')
from ansible.plugins.filter.core import rand, randomize_list, get_encrypted_password
out = []
for v, a, k in json.load(sys.stdin):
    try:
        out.append({'ok': json.dumps(${fn})})
    except Exception as e:
        out.append({'error': str(e)})
print(json.dumps(out))
`
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return JSON.parse(r.stdout)
}

/** The filter through k3sbook's engine, with the arguments as template variables (both sides as json.dumps text). */
function ours(filter: string, [v, a, k]: [unknown, unknown[], Record<string, unknown>]): unknown {
  const kw = Object.keys(k).map((n) => `, ${n}=k.${n}`)
  const args = a.map((_, i) => `a[${i}]`).join(', ')
  const all = [args, ...kw].filter(Boolean).join('').replace(/^, /, '')
  try {
    return { ok: templateValue(`{{ v | ${filter}(${all}) | to_json }}`, { v, a, k }) }
  } catch (e) {
    return { error: (e as Error).message }
  }
}

const SEEDS: unknown[] = ['web1', 'db-02.example.com', 'k3s-server-0', '', 'x', 'héllo wörld', 0, 1, 42, -7, 2 ** 31, 2 ** 33 + 5, 123456789012, true]

describe('random(seed=...) is Python random.Random(seed)', () => {
  const cases: [unknown, unknown[], Record<string, unknown>][] = []
  for (const seed of SEEDS) {
    cases.push([100, [], { seed }])
    cases.push([60, [], { start: 1, step: 3, seed }])
    cases.push([-5, [], { start: 20, step: -2, seed }])
    cases.push([2 ** 40, [], { seed }])
    cases.push([['a', 'b', 'c', 'd', 'e'], [], { seed }])
    cases.push(['abcdefghij', [], { seed }])
    cases.push([Array.from({ length: 300 }, (_, i) => i), [], { seed }])
  }
  cases.push([[], [], { seed: 'x' }], [5, [], { start: 5, seed: 'x' }], [5, [], { step: 0, start: 1, seed: 'x' }], [['a'], [], { start: 1, seed: 'x' }])
  const want = oracle('rand(None, v, *a, **k)', cases)
  for (const [i, c] of cases.entries()) {
    it(JSON.stringify(c).slice(0, 90), () => {
      const got = ours('random', c) as { ok?: unknown; error?: string }
      const w = want[i] as { ok?: unknown; error?: string }
      if (w.error !== undefined) assert.match(got.error ?? '', new RegExp(w.error.replace(/[()[\]\\.*+?]/g, '\\$&')))
      else assert.deepEqual(got, w)
    })
  }
  it('an unseeded random stays in range', () => {
    for (let i = 0; i < 50; i++) {
      assert.ok([5, 7, 9].includes(Number(templateValue('{{ 10 | random(start=5, step=2) }}', {}))))
      assert.ok(['a', 'b'].includes(String(templateValue("{{ ['a', 'b'] | random }}", {}))))
    }
  })
})

describe('shuffle(seed=...) is Python random.Random(seed).shuffle', () => {
  const cases: [unknown, unknown[], Record<string, unknown>][] = []
  for (const seed of SEEDS) {
    cases.push([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [], { seed }])
    cases.push([Array.from({ length: 100 }, (_, i) => `h${i}`), [seed], {}])
    cases.push(['abcdef', [], { seed }])
  }
  const want = oracle('randomize_list(v, *a, **k)', cases)
  for (const [i, c] of cases.entries())
    it(JSON.stringify(c).slice(0, 90), () => {
      const got = ours('shuffle', c) as { ok: string }
      // a falsy seed ('' or 0) shuffles unseeded in Ansible too: only the items can be compared
      if (!(c[2].seed ?? c[1][0])) assert.deepEqual(JSON.parse(got.ok).sort(), JSON.parse((want[i] as { ok: string }).ok).sort())
      else assert.deepEqual(got, want[i])
    })
  it('without a seed the items stay the same', () => {
    assert.deepEqual((templateValue('{{ [3, 1, 2] | shuffle }}', {}) as number[]).map(Number).sort(), [1, 2, 3])
  })
  it('seed=inventory_hostname gives a stable value per host', () => {
    const a = templateValue('{{ 1000 | random(seed=inventory_hostname) }}', { inventory_hostname: 'node1' })
    assert.equal(templateValue('{{ 1000 | random(seed=inventory_hostname) }}', { inventory_hostname: 'node1' }), a)
  })
})

describe('password_hash is Ansible over crypt(3)', () => {
  const cases: [unknown, unknown[], Record<string, unknown>][] = []
  for (const pw of ['secret', '', 'pässwörd ✓', 'a'.repeat(100), 'with space $and$ dollars']) {
    cases.push([pw, ['sha512', 'saltsalt'], {}])
    cases.push([pw, ['sha256', 'abcdefgh12345678'], {}])
    cases.push([pw, ['md5', 'abc./XYZ'], {}])
    cases.push([pw, ['sha512'], { salt: 'x', rounds: 10000 }])
  }
  cases.push(
    ['p', [], { salt: 'salt' }],
    ['p', ['sha512_crypt', 'salt'], {}],
    ['p', ['md5_crypt', 's'], {}],
    ['p', ['sha512', 'salt'], { rounds: 656000 }],
    ['p', ['sha256', 'salt'], { rounds: 535000 }],
    ['p', ['sha512', 'salt'], { rounds: 5000 }],
    ['p', ['sha512', 'salt'], { rounds: 1000 }],
    ['p', ['sha512', 'salt'], { rounds: 999 }],
    ['p', ['sha512', 'salt'], { rounds: 1000000000 }],
    ['p', ['md5', 'abc'], { rounds: 5000 }],
    ['p', ['sha512', 'salt'], { ident: '6' }],
    ['p', ['sha512', 'bad salt!'], {}],
    ['p', ['sha512', 'a'.repeat(17)], {}],
    ['p', ['md5', 'a'.repeat(9)], {}],
    ['p', ['sha1', 'salt'], {}],
    ['p', ['sha512', 'salt', 20], {}],
  )
  const want = oracle('get_encrypted_password(v, *a, **k)', cases)
  for (const [i, c] of cases.entries()) {
    it(JSON.stringify(c).slice(0, 90), () => {
      const got = ours('password_hash', c) as { ok?: unknown; error?: string }
      const w = want[i] as { ok?: unknown; error?: string }
      if (w.error !== undefined) assert.match(got.error ?? '', new RegExp(w.error.replace(/[()[\]\\.*+?$]/g, '\\$&')))
      else assert.deepEqual(got, w)
    })
  }
  it('without a salt: a random one of the algorithm size (not idempotent, as in Ansible)', () => {
    const h = String(templateValue("{{ 'x' | password_hash('sha512') }}", {}))
    assert.match(h, /^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/)
    assert.match(String(templateValue("{{ 'x' | password_hash('md5') }}", {})), /^\$1\$[./0-9A-Za-z]{8}\$/)
    assert.notEqual(templateValue("{{ 'x' | password_hash('sha512') }}", {}), h)
  })
  it('bcrypt (blowfish) is refused with the reason', () => {
    assert.throws(
      () => render("{{ 'x' | password_hash('blowfish') }}", {}),
      (e: Error) => e instanceof TemplateError && /bcrypt\) is not supported by k3sbook/.test(e.message),
    )
  })
})
