// Reading `hostvars` in a task's variables builds only the hosts a template asks about: the view is
// never walked to see whether it needs templating (issue 18: with 150 hosts, every task's first read
// of hostvars rendered every variable of every host).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hostvarsProxy, lazyVars } from '../../src/executor/vars.js'
import { templateValue } from '../../src/template/index.js'

test('hostvars[one host] builds that host only, and its values are still templated', () => {
  const built: string[] = []
  const hosts = Array.from({ length: 150 }, (_, i) => `h${i + 1}`)
  const hostvars = hostvarsProxy(hosts, (h) => {
    built.push(h)
    return lazyVars({ addr: '{{ base }}.' + h.slice(1), base: '10.0.0' })
  })
  const vars = lazyVars({ hostvars, inventory_hostname: 'h7' })
  assert.equal(templateValue('{{ hostvars[inventory_hostname].addr }}', vars), '10.0.0.7')
  assert.deepEqual(built, ['h7'])
})
