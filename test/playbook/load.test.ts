// The loaded model: role order and dependencies, inherited tags, handlers, imports and includes,
// legacy task forms, defaults (playbooks/, k3sbook.yml, ansible.cfg), extra vars.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { Block, Include, Play, Task, TaskItem } from '../../src/model.js'
import { loadPlaybook } from '../../src/playbook/load.js'
import { defaultInventory, loadProject, loadTasksAtRuntime, parseExtraVars, resolvePlaybook } from '../../src/playbook/project.js'
import { selectByTags } from '../../src/playbook/tags.js'
import { moduleDoc } from '../../src/playbook/doc.js'
import { getModule } from '../../src/modules/registry.js'
import { ROOT } from './cli.js'

const GOOD = join(ROOT, 'test', 'fixtures', 'good', 'cluster')

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-pb-'))
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true })
    writeFileSync(join(dir, f), text)
  }
  return dir
}

function load(dir: string, file = 'site.yml') {
  const diags = new Diagnostics()
  const pb = loadPlaybook(join(dir, file), diags)
  return { pb, diags, text: diags.sorted().map(formatDiagnostic).join('\n') }
}

const tasksOf = (items: TaskItem[]) => items.filter((t): t is Task => t.kind === 'task')

describe('the good fixture project', () => {
  const diags = new Diagnostics()
  const cwd = process.cwd()
  process.chdir(GOOD)
  process.env.ANSIBLE_CONFIG = join(GOOD, 'ansible.cfg')
  const p = loadProject({ playbook: 'playbooks/site.yml', inventories: defaultInventory(GOOD) ?? [], extraVars: [] }, diags)
  delete process.env.ANSIBLE_CONFIG
  process.chdir(cwd)
  const [prepare, server, agents] = p!.playbook.plays as Play[]

  it('loads without a problem', () => {
    assert.equal(diags.sorted().map(formatDiagnostic).join('\n'), '')
    assert.equal(p!.playbook.plays.length, 3)
    assert.deepEqual(p!.inventory.hostOrder.sort(), ['node1', 'node2', 'node3', 'srv1'])
  })

  it('runs role dependencies first, each task carrying its role and inherited tags', () => {
    const names = tasksOf(prepare.roleTasks).map((t) => `${t.role?.name}:${t.name}`)
    assert.equal(names[0], 'common:Install base packages')
    assert.equal(names.at(-1), 'tinc:Share host files')
    const common = tasksOf(prepare.roleTasks)[0]
    assert.equal(common.role?.parent?.name, 'tinc')
    assert.deepEqual(common.tags.sort(), ['packages', 'prepare', 'tinc'])
    assert.equal(common.role?.defaults.common_timezone, 'UTC')
    assert.deepEqual(
      prepare.roles.map((r) => r.name),
      ['common', 'tinc'],
    )
    assert.equal(prepare.become, true) // `become: yes` is YAML 1.1 true
    assert.equal(prepare.gatherFacts, false)
  })

  it('inlines import_tasks with positions in the imported file', () => {
    const t = tasksOf(prepare.roleTasks).find((x) => x.name === 'Let bridged traffic through iptables')!
    const pos = t.src.yf.pos(t.src.path)
    // display paths are relative to the folder validate ran in
    assert.equal(`${pos.file}:${pos.line}:${pos.col}`, 'roles/common/tasks/sysctl.yml:1:3')
    assert.ok(t.tags.includes('sysctl'))
    assert.equal(t.loop?.kind, 'loop')
    assert.equal(t.loop?.label, '{{ item.key }}')
    assert.equal(t.register, 'sysctl_lines')
  })

  it('keeps blocks with rescue and always, and free-form args with args:', () => {
    const block = prepare.roleTasks.find((t): t is Block => t.kind === 'block')!
    assert.deepEqual([block.block.length, block.rescue.length, block.always.length], [1, 1, 1])
    assert.equal((block.always[0] as Task).changedWhen, false)
    const keygen = tasksOf(prepare.roleTasks).find((t) => t.name === 'Generate the host key once')!
    assert.deepEqual(keygen.args, { _raw_params: 'tincd -n {{ tinc_netname }} -K4096', creates: '/etc/tinc/{{ tinc_netname }}/rsa_key.priv' })
  })

  it('collects play and role handlers with listen topics', () => {
    assert.deepEqual(
      prepare.handlers.map((h) => h.name),
      ['reload modules', 'apply sysctl', 'restart tinc'],
    )
    const restart = server.handlers.find((h) => h.name === 'restart k3s')!
    assert.deepEqual(restart.listen, ['k3s config changed'])
  })

  it('preloads include_tasks whose file name is not templated', () => {
    const inc = server.roleTasks.find((t): t is Include => t.kind === 'include')!
    assert.equal(inc.what, 'tasks')
    assert.deepEqual(
      inc.preloaded?.map((t) => t.name),
      ['k3s unit', 'k3s runs'],
    )
    const again = loadTasksAtRuntime(join(GOOD, 'roles/k3s_server/tasks/service.yml'), inc)
    assert.deepEqual(
      again.map((t) => t.name),
      ['k3s unit', 'k3s runs'],
    )
    assert.equal(again[0].role?.name, 'k3s_server')
  })

  it('passes role parameters from dependencies', () => {
    const tinc = agents.roles.find((r) => r.name === 'tinc')!
    assert.deepEqual(tinc.params, { tinc_port: 655 })
    assert.equal(tinc.parent?.name, 'k3s_agent')
  })

  it('selects by tags through blocks', () => {
    const sel = selectByTags(prepare.roleTasks, ['sysctl'], [])
    assert.deepEqual(
      sel.map((t) => t.name),
      ['Let bridged traffic through iptables'],
    )
    const never = selectByTags(server.roleTasks, ['wait'], [])
    assert.deepEqual(
      never.map((t) => t.name),
      ['Wait for the API'],
    )
    assert.ok(!selectByTags(server.roleTasks).some((t) => t.name === 'Wait for the API'))
  })
})

describe('roles', () => {
  it('are found in the roles/ folder beside the playbook folder (playbooks/site.yml → roles/)', () => {
    const dir = project({ 'playbooks/site.yml': '- hosts: all\n  roles: [web]\n', 'roles/web/tasks/main.yml': '- debug: msg=web\n' })
    const { pb, text } = load(dir, 'playbooks/site.yml')
    assert.equal(text, '')
    assert.equal(pb!.plays[0].roles[0].path, join(dir, 'roles', 'web'))
  })

  it('run once per play with the same parameters, unless allow_duplicates', () => {
    const dir = project({
      'site.yml': '- hosts: all\n  roles: [a, b, a, {role: a, x: 1}, d, d]\n',
      'roles/a/tasks/main.yml': '- debug: msg=a\n',
      'roles/b/meta/main.yml': 'dependencies: [a]\n',
      'roles/b/tasks/main.yml': '- debug: msg=b\n',
      'roles/d/meta/main.yml': 'allow_duplicates: true\n',
      'roles/d/tasks/main.yml': '- debug: msg=d\n',
    })
    const { pb, text } = load(dir)
    assert.equal(text, '')
    assert.deepEqual(
      tasksOf(pb!.plays[0].roleTasks).map((t) => t.args.msg),
      ['a', 'b', 'a', 'd', 'd'],
    )
  })

  it('support tasks_from and import_role/include_role', () => {
    const dir = project({
      'site.yml': '- hosts: all\n  tasks:\n    - import_role: name=r tasks_from=other\n    - include_role:\n        name: r\n',
      'roles/r/tasks/main.yml': '- debug: msg=main\n',
      'roles/r/tasks/other.yml': '- debug: msg=other\n',
      'roles/r/handlers/main.yml': '- name: h\n  debug: msg=h\n',
    })
    const { pb, text } = load(dir)
    assert.equal(text, '')
    const [imported, inc] = pb!.plays[0].tasks
    assert.equal((imported as Task).args.msg, 'other')
    assert.equal((inc as Include).what, 'role')
    assert.equal(((inc as Include).preloaded![0] as Task).args.msg, 'main')
    assert.deepEqual(
      pb!.plays[0].handlers.map((h) => h.name),
      ['h', 'h'],
    )
  })
})

describe('task forms', () => {
  it('accepts action:, local_action:, ansible.builtin. names and k=v strings', () => {
    const dir = project({
      'site.yml': `- hosts: all
  tasks:
    - action: copy src=a dest=/tmp/a
    - local_action: command echo hi chdir=/tmp
    - ansible.builtin.file: path=/tmp/x state=directory
    - local_action:
        module: debug
        msg: hi
`,
      a: 'x',
    })
    const { pb, text } = load(dir)
    assert.equal(text, '')
    const ts = tasksOf(pb!.plays[0].tasks)
    assert.deepEqual(
      ts.map((t) => t.module),
      ['copy', 'command', 'file', 'debug'],
    )
    assert.deepEqual(ts[0].args, { src: 'a', dest: '/tmp/a' })
    assert.equal(ts[1].delegateTo, 'localhost')
    assert.deepEqual(ts[1].args, { _raw_params: 'echo hi', chdir: '/tmp' })
    assert.equal(ts[2].moduleKey, 'ansible.builtin.file')
    assert.deepEqual(ts[3].args, { msg: 'hi' })
  })

  it('reports every problem in one pass', () => {
    const dir = project({ 'site.yml': '- hosts: all\n  tasks:\n    - copie: {}\n    - file: {pth: /x}\n    - debug: msg=x\n      whenn: 1\n' })
    const { text } = load(dir)
    assert.equal(text.split('\n').length, 3, text)
  })
})

describe('project defaults', () => {
  it('finds a bare playbook name under playbooks/', () => {
    const dir = project({ 'playbooks/site.yml': '- hosts: all\n  tasks: []\n' })
    assert.equal(resolvePlaybook('site.yml', dir), join(dir, 'playbooks', 'site.yml'))
    assert.equal(resolvePlaybook('site', dir), join(dir, 'playbooks', 'site.yml'))
    assert.equal(resolvePlaybook('nothere.yml', dir), undefined)
  })

  it('takes the inventory from k3sbook.yml, else ansible.cfg', () => {
    const a = project({ 'k3sbook.yml': 'inventory: inv/hosts.yml\n', 'ansible.cfg': '[defaults]\ninventory = other.yml\n' })
    assert.deepEqual(defaultInventory(a), [join(a, 'inv/hosts.yml')])
    const b = project({ 'ansible.cfg': '[defaults]\ninventory = inventory/a.yml,inventory/b.yml ; comment\n' })
    assert.deepEqual(defaultInventory(b), [join(b, 'inventory/a.yml'), join(b, 'inventory/b.yml')])
    assert.equal(defaultInventory(project({})), undefined)
  })

  it('parses -e as k=v, JSON and @file, later ones winning', () => {
    const dir = project({ 'x.yml': 'a: from_file\nb: [1, 2]\n' })
    const diags = new Diagnostics()
    const v = parseExtraVars(['a=1 c="two words"', '@x.yml', '{"d": {"e": true}}'], diags, dir)
    assert.equal(diags.items.length, 0)
    assert.deepEqual(v, { a: 'from_file', b: [1, 2], c: 'two words', d: { e: true } })
  })
})

describe('doc', () => {
  it('prints a module description and its arguments from its schema', () => {
    const text = moduleDoc(getModule('copy')!)
    assert.match(text, /^copy\n/)
    assert.match(text, /^ {2}dest {2}\(/m)
    assert.match(text, /^ {2}src {2}\(str/m)
  })
})
