// An attribute or item taken from a value that also holds a secret is not a secret by that alone:
// `item.login_user` of `{name, password, login_user}` is not masked (geerlingguy.postgresql's users
// task had "postgres" masked everywhere, file paths included), while whatever reads the secret part,
// the whole value, or a value under a secret name stays secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { templateValue } from '../../src/template/index.js'
import { isSecret, markSecret } from '../../src/secrets.js'

const secret = 'select-test-secret-value'
markSecret(secret)
const vars = {
  item: { name: 'example_user', password: secret, login_user: 'postgres-user-x' },
  users: [{ name: 'u1-selected', password: secret }],
  api_tokens: { github: 'gh-token-by-name-only' },
  postgresql_user: 'postgres-default-x',
}
const secretOf = (t: string) => isSecret(templateValue(t, vars))

test('a part taken from a value holding a secret is not secret', () => {
  assert.equal(secretOf('{{ item.login_user }}'), false)
  assert.equal(secretOf("{{ item['name'] }}"), false)
  assert.equal(secretOf('{{ item.port | default(postgresql_user) }}'), false)
  assert.equal(secretOf('{{ users[0].name }}'), false)
  assert.equal(secretOf("{{ users[0]['name'] ~ '-suffix' }}"), false)
})

test('the secret part, the whole value, or a value under a secret name stays secret', () => {
  assert.equal(secretOf('{{ item.password }}'), true)
  assert.equal(secretOf('{{ item.password | b64encode }}'), true)
  assert.equal(secretOf('{{ users[0].password }}'), true)
  assert.equal(secretOf('{{ item | to_json }}'), true)
  assert.equal(secretOf('{{ users | map(attribute="password") | join(",") }}'), true)
  assert.equal(secretOf("{{ item.values() | list | join(',') }}"), true)
  // a value read under a secret name is secret, whichever part is taken
  assert.equal(secretOf('{{ api_tokens.github }}'), true)
  assert.equal(secretOf("{{ api_tokens['github'] | upper }}"), true)
})
