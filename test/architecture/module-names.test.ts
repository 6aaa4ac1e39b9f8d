// What the executor, the checker and the CLI know about a module they learn from the module's
// capabilities (Module in src/modules/types.ts), never from its name: outside src/modules no string
// literal names a module. A word that is also a module's name but means something else where it
// is written (an event type, a file type, a role folder) is listed below with its files and meaning.
// Reads the files, needs nothing else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getModule, moduleNames } from '../../src/modules/registry.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Words that are module names, where they mean something else: word → files (under src/) → meaning. */
const OTHER_MEANINGS: Record<string, { files: string[]; meaning: string }[]> = {
  debug: [
    {
      files: ['executor/events.ts', 'executor/result.ts', 'output/common.ts', 'output/plain.ts', 'output/tty.ts', 'cli/adhoc.ts'],
      meaning: 'the debug event type',
    },
    { files: ['playbook/load.ts', 'playbook/schema.ts'], meaning: 'the play strategy "debug"' },
  ],
  file: [
    { files: ['executor/prefetch.ts', 'executor/reader.ts', 'executor/task.ts', 'executor/check.ts'], meaning: 'a file type or a path effect state' },
    {
      files: ['executor/task-context.ts', 'playbook/check.ts', 'template/index.ts', 'template/plugins.ts', 'template/filters.ts'],
      meaning: 'a template source or a lookup option',
    },
    { files: ['playbook/load.ts'], meaning: "include_vars/include_tasks' file key" },
  ],
  template: [{ files: ['executor/task-context.ts'], meaning: 'a word of an error message (template or file not found)' }],
  fail: [{ files: ['executor/task.ts'], meaning: "a plan's status" }],
  meta: [
    { files: ['playbook/files.ts', 'playbook/load.ts', 'playbook/ansiblemods.ts', 'playbook/required.ts'], meaning: "a role's or collection's meta/ folder" },
  ],
  replace: [{ files: ['template/filters.ts'], meaning: "Jinja2's replace filter and Python's str.replace" }],
  raw: [
    { files: ['template/parser.ts'], meaning: "Jinja2's raw block" },
    { files: ['template/configlookup.ts'], meaning: "an Ansible setting's type (raw: its value as written)" },
  ],
  group: [{ files: ['inventory/load.ts'], meaning: 'a word of an inventory message' }],
  user: [{ files: ['connection/ssh.ts', 'connection/sshconfig.ts'], meaning: 'the ssh_config User keyword' }],
  hostname: [{ files: ['connection/sshconfig.ts'], meaning: 'the ssh_config HostName keyword' }],
  systemd: [{ files: ['cli/lab.ts', 'lab/host.ts', 'lab/index.ts', 'lab/state.ts'], meaning: "a lab host's init system" }],
  zfs: [{ files: ['lab/host.ts'], meaning: 'a file system type' }],
  mount: [
    { files: ['lab/index.ts'], meaning: 'a lab host mount command' },
    { files: ['template/plugins.ts'], meaning: "Ansible's file test `mount` (os.path.ismount on the controller)" },
  ],
  known_hosts: [
    { files: ['connection/index.ts', 'connection/knownhosts.ts', 'lab/index.ts'], meaning: "SSH's known_hosts file (the controller's and a lab's)" },
  ],
  shell: [
    { files: ['template/configlookup.ts'], meaning: "Ansible's shell plugin type (lookup('config', plugin_type='shell'))" },
    { files: ['executor/controller-guard.ts'], meaning: "a command argument's kind (Module.commandArgs: a shell runs it)" },
  ],
  gather_facts: [{ files: ['executor/play.ts'], meaning: 'the play keyword gather_facts (its source position)' }],
}

function literalNames(text: string, names: Set<string>): { word: string; line: number }[] {
  const out: { word: string; line: number }[] = []
  text.split('\n').forEach((l, i) => {
    if (/^\s*(\/\/|\*|\/\*)/.test(l)) return
    const code = l.replace(/\s\/\/\s.*$/, '')
    for (const m of code.matchAll(/(['"`])([A-Za-z_][A-Za-z0-9_.]*)\1/g)) {
      const w = m[2].replace(/^(ansible\.builtin|ansible\.legacy)\./, '')
      if (names.has(w)) out.push({ word: w, line: i + 1 })
    }
  })
  return out
}

test('no module name is written outside src/modules', () => {
  const names = new Set(moduleNames())
  const found: string[] = []
  for (const f of walk(join(ROOT, 'src'))) {
    const rel = relative(join(ROOT, 'src'), f)
    if (rel.startsWith('modules/')) continue
    for (const { word, line } of literalNames(readFileSync(f, 'utf8'), names)) {
      if (OTHER_MEANINGS[word]?.some((o) => o.files.includes(rel))) continue
      found.push(`src/${rel}:${line}: '${word}'`)
    }
  }
  assert.deepEqual(found, [], 'ask the module (a capability in src/modules/types.ts) instead of naming it')
})

test('the words listed as meaning something else still appear where listed (the list stays true)', () => {
  for (const [word, uses] of Object.entries(OTHER_MEANINGS))
    for (const { files } of uses)
      for (const rel of files)
        assert.ok(
          literalNames(readFileSync(join(ROOT, 'src', rel), 'utf8'), new Set([word])).length > 0,
          `src/${rel} no longer has '${word}': drop it from OTHER_MEANINGS`,
        )
})

test('modules that define variables named only at run time say so (namesAtRun)', () => {
  // Ansible's modules whose variables are named by what they find on the host or in a file.
  const atRun = (n: string) => ['include_vars', 'setup', 'gather_facts', 'add_host', 'group_by'].includes(n) || n.endsWith('_facts')
  for (const n of moduleNames().filter(atRun)) assert.equal(getModule(n)?.namesAtRun, true, `${n} must declare namesAtRun`)
})

test('the capabilities that replaced name checks are declared where they belong', () => {
  assert.deepEqual(getModule('assert')?.conditionArgs, ['that'])
  assert.equal(getModule('command')?.requiresArgs, true)
  assert.equal(getModule('ansible.builtin.shell')?.requiresArgs, true)
  assert.equal(getModule('set_fact')?.requiresArgs, undefined)
})
