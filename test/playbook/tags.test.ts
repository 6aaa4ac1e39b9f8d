// Tag selection compared with Ansible's Taggable.evaluate_tags, case by case.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tagsMatch } from '../../src/playbook/tags.js'

const cases: [string[], string[], string[], boolean][] = [
  // tags, --tags, --skip-tags, runs
  [[], [], [], true],
  [['a'], [], [], true],
  [['never'], [], [], false],
  [['never', 'debug'], ['debug'], [], true],
  [['never', 'debug'], ['all'], [], false],
  [['always'], ['x'], [], true],
  [['always'], [], ['always'], false],
  [['always'], [], ['all'], true],
  [['always'], [], ['all', 'always'], false],
  [['a'], ['b'], [], false],
  [['a', 'b'], ['b'], [], true],
  [['a'], ['tagged'], [], true],
  [[], ['tagged'], [], false],
  [[], ['untagged'], [], true],
  [['a'], ['untagged'], [], false],
  [['a'], [], ['a'], false],
  [['a'], [], ['tagged'], false],
  [[], [], ['untagged'], false],
  [[], [], ['tagged'], true],
  [['a'], ['a'], ['a'], false],
]

for (const [tags, only, skip, want] of cases) {
  test(`tags ${JSON.stringify(tags)} --tags ${only.join(',') || '-'} --skip-tags ${skip.join(',') || '-'} → ${want}`, () => {
    assert.equal(tagsMatch(tags, only, skip), want)
  })
}
