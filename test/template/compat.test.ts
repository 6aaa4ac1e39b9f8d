// Template behaviours found by Ansible's own integration targets (test/compat), kept here so the
// normal suite holds them without a copy of Ansible's sources. Each expected value is what
// Debian's ansible-core 2.14 gives.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { render } from '../../src/template/index.js'

describe('template behaviours the integration targets check', () => {
  it('*args and **kwargs in calls, also after keyword arguments (loops)', () => {
    const V = { phrases: ['a', 'b'], kw: { wantlist: true } }
    assert.equal(render('{{ lookup("list", wantlist=True, *phrases) }}', V), "['a', 'b']")
    assert.equal(render('{{ q("list", *phrases) | length }}', V), '2')
    assert.equal(render('{{ lookup("list", *phrases, **kw) }}', V), "['a', 'b']")
    assert.equal(render('{{ [1, 2, 3] | join(*["-"]) }}', V), '1-2-3')
    assert.throws(() => render('{{ q("list", *nope) }}', V), /'nope' is undefined/)
  })
})
