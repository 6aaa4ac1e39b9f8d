// isSecret keeps its answer per list or mapping (a template reads `groups` or `ansible_play_hosts`
// once per loop item and host: issue 18), and asks again once a new secret value is known.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isSecret, markSecret } from '../../src/secrets.js'

test('a list found free of secrets is looked at again after a new secret is marked', () => {
  markSecret('first-secret-value')
  const hosts = ['h1', 'h2', 'later-secret-value']
  assert.equal(isSecret(hosts), false)
  assert.equal(isSecret(hosts), false)
  markSecret('later-secret-value')
  assert.equal(isSecret(hosts), true)
  assert.equal(isSecret({ nested: [hosts] }), true)
  assert.equal(isSecret(['h1']), false)
})
