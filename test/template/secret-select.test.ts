// An attribute or item taken from a value that also holds a secret is not a secret by that alone:
// `item.login_user` of `{name, password, login_user}` is not masked (geerlingguy.postgresql's users
// task had "postgres" masked everywhere, file paths included), while whatever reads the secret part,
// the whole value, or a value under a secret name stays secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { render, templateValue } from '../../src/template/index.js'
import { isSecret, isSecretName, markSecret, maskSecrets } from '../../src/secrets.js'

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

// A list or mapping read whole that holds a secret (`loop: "{{ users }}"` where one user has a
// password): what is handed on as it was keeps its own marks, only what is made from it is secret.
// Before, every string of it was marked, and robertdebock.users printed every user and group name
// as "********" for the rest of the run.
test('a list holding a secret, read whole: its other strings stay readable, what is made of it is secret', () => {
  const pw = `whole-pw-${Math.random().toString(36).slice(2)}`
  const v = {
    people: [
      { name: 'whole-alice', password: pw, update_password: 'on_create', groups: ['whole-wheel'] },
      { name: 'whole-bob', shell: '/bin/zsh-whole' },
    ],
  }
  const items = templateValue('{{ people }}', v) as Array<Record<string, unknown>>
  assert.equal(items[1].name, 'whole-bob')
  // the password under its secret-named key was marked when the list was read; nothing else was
  assert.equal(isSecret(pw), true)
  for (const s of ['whole-alice', 'whole-bob', 'whole-wheel', '/bin/zsh-whole', 'on_create']) assert.equal(isSecret(s), false, s)
  assert.equal(isSecret(templateValue('{{ (people | first).name }}', v)), false)
  assert.equal(isSecret(templateValue("{{ people | selectattr('name', 'eq', 'whole-bob') | list }}", v)), false)
  assert.equal(maskSecrets('user whole-alice in whole-wheel'), 'user whole-alice in whole-wheel')
  // made from it: new text, secret (it may carry the password)
  assert.equal(isSecret(templateValue('{{ people | to_json }}', v)), true)
  assert.equal(isSecret(templateValue("{{ people | map(attribute='password') | first }}", v)), true)
  const upper = templateValue("{{ people | map(attribute='name') | map('upper') | list }}", v) as string[]
  assert.equal(isSecret(upper[0]), true)
  // a template file looping over it: the lines that are its strings stay readable, made ones are masked
  const out = render('{% for p in people %}{{ p.name }}\n{{ p.name | reverse }}\n{% endfor %}', v, { source: 'file' })
  assert.equal(out, 'whole-alice\necila-elohw\nwhole-bob\nbob-elohw\n')
  assert.equal(maskSecrets(out), 'whole-alice\n********\nwhole-bob\n********\n')
})

test("update_password (the user module's always/on_create) is not a secret name", () => {
  assert.equal(isSecretName('update_password'), false)
  assert.equal(isSecretName('mysql_update_password'), false)
  assert.equal(isSecretName('password'), true)
  assert.equal(isSecretName('update_password_hash'), true)
  assert.equal(isSecret(templateValue('{{ u.update_password }}', { u: { update_password: 'always-not-secret' } })), false)
})
