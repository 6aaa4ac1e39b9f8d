// Host data is data: whatever a host sends back (a command's stdout, a shell's stderr, slurp's
// content, uri's body and parsed JSON, gathered facts, getent's facts, facts from Ansible's own
// module code) is unsafe, as Ansible's AnsibleUnsafe: a later task that uses it writes it byte for
// byte, and template text in it is never rendered on the controller, through filters, set_fact,
// hostvars, task vars and loops. A hostile host cannot reach the controller's files, environment or
// the play's variables.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { cli, tree } from './helpers.js'

const FILE_MARK = `ctlfile-${randomBytes(8).toString('hex')}`
const ENV_MARK = `ctlenv-${randomBytes(8).toString('hex')}`
const VAR_MARK = `playvar-${randomBytes(8).toString('hex')}`
// a user's GECOS field: one line, no colon
const GECOS = "{{ lookup('env', 'INJECT_ENV_MARK') }} {{ play_var }}"

describe('host data is never rendered as a template', () => {
  let lab: LabInfo & { stop(): Promise<void> }
  let dir: string
  let ctlFile: string
  let payload: string
  before(async () => {
    lab = await startLab({ hosts: 1, tag: 'hostdata' })
    dir = tree({ 'ctl-secret.txt': FILE_MARK + '\n' })
    ctlFile = `${dir}/ctl-secret.txt`
    payload = [
      `file: {{ lookup('file', '${ctlFile}') }}`,
      "env: {{ lookup('env', 'INJECT_ENV_MARK') }} {{ lookup('env','HOME') }}",
      'var: {{ play_var }} {{ play_var | upper }}',
      '{% for x in [1, 2] %}loop {{ play_var }}{% endfor %}',
      '{# a comment #} {{ 7 * 6 }} \'"$(id)`id`\\',
    ].join('\n')
  })
  after(() => lab?.stop())

  test('stdout, stderr, slurp, uri and facts arrive byte for byte in files later tasks write', async () => {
    // The hostile host: a payload file, an HTTP server answering with it (raw and inside JSON), a
    // hostname, an os-release and a debian_version made of template text (its own UTS and mount
    // namespaces; a debian_version that is no version number leaves the version to os-release, as Ansible).
    const json = JSON.stringify({ text: payload, list: [payload] })
    await sh(
      lab,
      1,
      `mkdir -p /srv/inj/www /srv/out && rm -f /srv/out/*
printf '%s' ${q(payload)} > /srv/inj/payload
printf '%s' ${q(payload)} > /srv/inj/www/raw.txt
printf '%s' ${q(json)} > /srv/inj/www/data.json
printf '%s' ${q("{{ lookup('env','INJECT_ENV_MARK') }}")} > /proc/sys/kernel/hostname
printf 'ID=debian\\nVERSION_ID="{{ play_var }}"\\nVERSION_CODENAME="{%% for x in [1] %%}{{ play_var }}{%% endfor %%}"\\n' > /srv/inj/os-release
mount --bind /srv/inj/os-release /etc/os-release
printf '{{ play_var }}\\n' > /srv/inj/debian_version
mount --bind /srv/inj/debian_version /etc/debian_version
cd /srv/inj/www && nohup /usr/bin/python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &
for i in 1 2 3 4 5 6 7 8 9 10; do curl -fs http://127.0.0.1:8765/raw.txt >/dev/null && break; sleep 0.3; done
userdel k3sbook-hostile 2>/dev/null; useradd -M -c ${q(GECOS)} k3sbook-hostile`,
    )
    const play = `- hosts: all
  gather_facts: true
  vars:
    play_var: "${VAR_MARK}"
  tasks:
    - command: cat /srv/inj/payload
      register: out
      changed_when: "out.stdout != 'x'"
    - shell: cat /srv/inj/payload >&2
      register: sherr
    - slurp:
        src: /srv/inj/payload
      register: sl
    - uri:
        url: http://127.0.0.1:8765/raw.txt
        return_content: true
      register: web
    - uri:
        url: http://127.0.0.1:8765/data.json
      register: webjson
    - set_fact:
        from_cmd: "{{ out.stdout }}"
        through_filters: "{{ out.stdout | replace('zzz', 'y') | trim }}"
        lines: "{{ out.stdout_lines }}"
    - set_fact:
        chained: "{{ from_cmd }}"
    - copy: { dest: /srv/out/stdout, content: "{{ out.stdout }}" }
    - copy: { dest: /srv/out/stderr, content: "{{ sherr.stderr }}" }
    - copy: { dest: /srv/out/slurp, content: "{{ sl.content | b64decode }}" }
    - copy: { dest: /srv/out/uri-content, content: "{{ web.content }}" }
    - copy: { dest: /srv/out/uri-json, content: "{{ webjson.json.text }}" }
    - copy: { dest: /srv/out/uri-json-list, content: "{{ webjson.json.list | first }}" }
    - copy: { dest: /srv/out/set-fact, content: "{{ from_cmd }}" }
    - copy: { dest: /srv/out/filters, content: "{{ through_filters }}" }
    - copy: { dest: /srv/out/chained, content: "{{ chained }}" }
    - copy: { dest: /srv/out/joined, content: "{{ lines | join('\\n') }}" }
    - copy: { dest: /srv/out/hostvars, content: "{{ hostvars[inventory_hostname].out.stdout }}" }
    - copy: { dest: /srv/out/task-var, content: "{{ via_task_var }}" }
      vars:
        via_task_var: "{{ out.stdout }}"
    - copy: { dest: "/srv/out/loop-{{ i }}", content: "{{ item }}" }
      loop: "{{ out.stdout_lines }}"
      loop_control: { index_var: i }
    - template: { src: use.j2, dest: /srv/out/template }
    - lineinfile: { path: /srv/out/lineinfile, line: "{{ out.stdout_lines[0] }}", create: true }
    - copy: { dest: /srv/out/hostname, content: "{{ ansible_hostname }}" }
    - copy: { dest: /srv/out/facts-hostname, content: "{{ ansible_facts.hostname }}" }
    - copy: { dest: /srv/out/version, content: "{{ ansible_distribution_version }}" }
    - copy: { dest: /srv/out/release, content: "{{ ansible_facts['distribution_release'] }}" }
    - debug: { msg: "{{ out.stdout }}" }
    - getent: { database: passwd, key: k3sbook-hostile }
    - copy: { dest: /srv/out/getent, content: "{{ getent_passwd['k3sbook-hostile'][3] }}" }
    - copy: { dest: /srv/out/getent-fact, content: "{{ ansible_facts.getent_passwd['k3sbook-hostile'][3] }}" }
    - name: Ansible's own module code (the bridge) returns host text as facts
      hostfacts: { path: /srv/inj/payload }
    - copy: { dest: /srv/out/bridge-fact, content: "{{ bridge_text }}" }
`
    const hostfacts = [
      '#!/usr/bin/python',
      'from ansible.module_utils.basic import AnsibleModule',
      "m = AnsibleModule(argument_spec=dict(path=dict(type='str', required=True)))",
      "with open(m.params['path']) as f:",
      '    m.exit_json(changed=False, ansible_facts=dict(bridge_text=f.read()))',
      '',
    ].join('\n')
    const project = tree({ 'site.yml': play, 'templates/use.j2': '{{ out.stdout }}\n', 'library/hostfacts.py': hostfacts })
    const r = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'json'], { cwd: project, env: { INJECT_ENV_MARK: ENV_MARK } })
    const text = r.stdout + r.stderr
    assert.equal(r.code, 0, text)
    for (const mark of [FILE_MARK, ENV_MARK, VAR_MARK])
      assert.ok(!text.includes(mark), `the output holds ${mark}: the host's template text was rendered:\n${text}`)

    const got = async (f: string) => sh(lab, 1, `cat /srv/out/${f}`)
    const lines = payload.split('\n')
    const want: Record<string, string> = {
      stdout: payload,
      stderr: payload,
      slurp: payload,
      'uri-content': payload,
      'uri-json': payload,
      'uri-json-list': payload,
      'set-fact': payload,
      filters: payload,
      chained: payload,
      joined: payload,
      hostvars: payload,
      'task-var': payload,
      template: payload + '\n',
      lineinfile: lines[0] + '\n',
      hostname: "{{ lookup('env','INJECT_ENV_MARK') }}",
      'facts-hostname': "{{ lookup('env','INJECT_ENV_MARK') }}",
      version: '{{ play_var }}',
      release: '{% for x in [1] %}{{ play_var }}{% endfor %}',
      'bridge-fact': payload,
      getent: GECOS,
      'getent-fact': GECOS,
    }
    lines.forEach((l, i) => (want[`loop-${i}`] = l))
    for (const [f, w] of Object.entries(want)) assert.equal(await got(f), w, `/srv/out/${f}`)
    const all = await sh(lab, 1, 'cat /srv/out/*')
    for (const mark of [FILE_MARK, ENV_MARK, VAR_MARK]) assert.ok(!all.includes(mark), `a file on the host holds ${mark}`)
  })

  test('host data never runs as a command on the control machine, never names a controller file to read, and never leads a write there out of its folder', async () => {
    // The project folder is on the control machine: every command the host prints would make a file
    // there. `delegate_to: localhost` runs on the control machine (the implicit localhost, local).
    const project = tree({})
    const ctl = (name: string) => `${project}/${name}`
    const escape = `k3sbook-escape-${randomBytes(6).toString('hex')}`
    await sh(lab, 1, `mkdir -p /srv/f && printf hostile > /tmp/${escape}`)
    writeFileSync(ctl('ctl-secret.txt'), 'controller secret\n')
    // a controller file outside the playbook's folders, which host data must never name
    const elsewhere = tree({ 'ctl-secret.txt': 'controller secret elsewhere\n' })
    // the playbook's own files, which facts may choose among
    writeFileSync(ctl('Debian.yml'), 'from_os_family: debian-vars\n')
    writeFileSync(ctl('Debian.j2'), '{{ from_os_family }}\n')
    writeFileSync(ctl('Debian.sh'), 'touch "$1"\n')
    const refused = [
      [
        'copy src',
        `copy: { src: "{{ out.stdout | replace('touch ', '') | replace('${ctl('pwned')}', '${elsewhere}/ctl-secret.txt') }}", dest: /srv/f/stolen-copy }`,
      ],
      [
        'template src',
        `template: { src: "{{ out.stdout | replace('touch ', '') | replace('${ctl('pwned')}', '${elsewhere}/ctl-secret.txt') }}", dest: /srv/f/stolen-template }`,
      ],
      ['include_vars file', `include_vars: { file: "{{ out.stdout | replace('touch ', '') | replace('${ctl('pwned')}', '${elsewhere}/ctl-secret.txt') }}" }`],
      ['fetch dest climbing out', `fetch: { src: /etc/hostname, dest: "${ctl('fetched-dest')}/{{ out.rc | string | replace('0', '../..') }}/", flat: true }`],
      ['shell line', `shell: "{{ out.stdout }}"`],
      ['command program', `command: "{{ out.stdout }}"`],
      ['argv program', `command: { argv: ["{{ out.stdout_lines[0].split(' ')[0] }}", "${ctl('pwned-argv')}"] }`],
      ['raw', `raw: "{{ out.stdout }}"`],
      ['through set_fact', `shell: "{{ cmd }}"`],
      ['through hostvars', `shell: "{{ hostvars[inventory_hostname].cmd }}"`],
      ['a loop item from a result', `shell: "{{ item }}"\n      loop: "{{ out.stdout_lines }}"`],
      ['a fact', `shell: "echo {{ ansible_hostname | length }} > ${ctl('pwned-fact')}"`],
      ['a filter of a fact', `shell: "echo {{ ansible_facts.distribution | lower }} > ${ctl('pwned-fact2')}"`],
      ['validate', `copy: { content: "x", dest: "${ctl('copied')}", validate: "{{ out.stdout }} %s" }`],
      ['cron job', `cron: { name: k3sbook-hostdata, job: "{{ out.stdout }}", cron_file: k3sbook-hostdata-test, user: root }`],
      // a host choosing which variable through `vars` or another host's variables: never a secret
      ['a secret named in vars', `copy: { dest: /srv/f/leak-vars-key, content: "{{ vars[out.stdout[0:0] ~ 'db_password'] }}" }`],
      ['a secret named in vars.get()', `copy: { dest: /srv/f/leak-vars-get, content: "{{ vars.get(out.stdout[0:0] ~ 'db_password') }}" }`],
      ['a secret named in hostvars', `copy: { dest: /srv/f/leak-hostvars-key, content: "{{ hostvars[inventory_hostname][out.stdout[0:0] ~ 'api_token'] }}" }`],
    ]
    // lookups run on the control machine whatever the task's host
    const refusedLookups = [
      ['pipe', `debug: { msg: "{{ lookup('pipe', out.stdout) }}" }`],
      ['pipe of a set_fact', `debug: { msg: "{{ lookup('pipe', cmd ~ '-2') }}" }`],
      ['pipe after a {% set %}', `debug: { msg: "{% set c = out.stdout_lines | first %}{{ lookup('pipe', c ~ '-3') }}" }`],
      ['lines', `debug: { msg: "{{ query('lines', out.stdout ~ '-4') }}" }`],
      ['password', `debug: { msg: "{{ lookup('password', '${ctl('pwned-password')}' ~ (out.rc | string)) }}" }`],
    ]
    // lookups that read the control machine by name: host data may not name a file outside the
    // playbook's folders (through a variable, a {% set %}, a loop, a macro's parameter, a with_* loop)
    // nor an environment variable; each would write what it read to the host
    const leak = (n: string, value: string) => `copy: { dest: /srv/f/leak-${n}, content: "${value}" }`
    const refusedNames = [
      ['file', leak('file', "{{ lookup('file', secret_path) }}")],
      ['file by concatenation', leak('concat', `{{ lookup('file', '${elsewhere}/ctl-' ~ out.stdout[0:0] ~ 'secret.txt') }}`)],
      ['file after a {% set %}', leak('set', "{% set p = secret_path %}{{ lookup('file', p) }}")],
      ['file in a {% for %}', leak('for', "{% for p in [secret_path] %}{{ lookup('file', p) }}{% endfor %}")],
      ['file through a macro', leak('macro', "{% macro rd(p) %}{{ lookup('file', p) }}{% endmacro %}{{ rd(secret_path) }}")],
      ['file through a namespace', leak('ns', "{% set ns = namespace(p='') %}{% set ns.p = secret_path %}{{ lookup('file', ns.p) }}")],
      ['template', leak('template', "{{ lookup('template', secret_path) }}")],
      ['fileglob', leak('fileglob', "{{ lookup('fileglob', secret_path) }}")],
      ['climbing out', leak('climb', "{{ lookup('file', 'sub/../../' ~ (secret_path | basename)) }}")],
      [
        'with_file',
        `${leak('with-file', '{{ item }}')}
      with_file: "{{ secret_path }}"`,
      ],
      [
        'with_first_found',
        `${leak('first-found', '{{ item }}')}
      with_first_found: ["{{ secret_path }}"]`,
      ],
      ['env', leak('env', `{{ lookup('env', out.stdout[0:0] ~ 'K3SBOOK_CTL_ENV') }}`)],
      // a host choosing which variable: a secret never goes to it
      ['a secret variable', leak('vars', "{{ lookup('vars', out.stdout[0:0] ~ 'db_password') }}")],
    ]
    // filters and tests that read the control machine: a path made from host data may not name a
    // place outside the playbook's folders (its file names, where its links point, which paths exist
    // there would go to the host), nor make expanduser/expandvars read its home or environment
    const refusedCtl = [
      ['fileglob', leak('glob', "{{ (secret_path | dirname ~ '/*') | fileglob }}")],
      ['realpath', leak('realpath', '{{ secret_path | realpath }}')],
      ['expandvars', leak('expandvars', "{{ ('$' ~ out.stdout[0:0] ~ 'K3SBOOK_CTL_ENV') | expandvars }}")],
      ['map(realpath)', leak('map', "{{ [secret_path] | map('realpath') | list }}")],
      [
        'a test in when',
        `${leak('when', 'it exists')}
      when: secret_path is exists`,
      ],
    ]
    const play = `- hosts: all
  gather_facts: true
  vars:
    db_password: controller secret elsewhere too
  tasks:
    - command: printf 'touch ${ctl('pwned')}'
      register: out
    - set_fact:
        api_token: controller secret elsewhere in hostvars
        cmd: "{{ out.stdout }}"
        secret_path: "{{ out.stdout | replace('touch ', '') | replace('${ctl('pwned')}', '${elsewhere}/ctl-secret.txt') }}"
${refusedNames.map(([name, task]) => `    - name: "refused name: ${name}"\n      ${task}\n      ignore_errors: true`).join('\n')}
${refusedCtl.map(([name, task]) => `    - name: "refused controller read: ${name}"\n      ${task}\n      ignore_errors: true`).join('\n')}
    - name: "refused: environment on the control machine"
      command: "touch ${ctl('pwned-env')}"
      environment: { LD_PRELOAD: "{{ out.stdout_lines[0][0:0] }}" }
      delegate_to: localhost
      ignore_errors: true
    - name: "refused: an environment variable named by host data"
      command: "touch ${ctl('pwned-env-name')}"
      environment: "{{ {(out.stdout[0:4] | upper): '1'} }}"
      delegate_to: localhost
      ignore_errors: true
    - name: "runs: host data in the environment on its own host"
      command: "touch /srv/f/ok-env"
      environment: { HOSTILE: "{{ out.stdout }}" }
    - name: "runs: a plain variable named in vars by host data"
      copy: { dest: /srv/f/ok-vars, content: "{{ vars[out.stdout[0:0] ~ 'cmd'] }}" }
    - name: "runs: include_vars named by a fact, among the playbook's own files"
      include_vars: "{{ ansible_os_family }}.yml"
    - name: "runs: include_vars by a fact under an absolute path inside the playbook's folder"
      include_vars: "{{ playbook_dir }}/{{ ansible_os_family }}.yml"
    - name: "runs: a template named by a fact"
      template: { src: "{{ ansible_os_family }}.j2", dest: /srv/f/ok-template }
    - name: "runs: a file lookup named by a fact"
      copy: { dest: /srv/f/ok-lookup, content: "{{ lookup('file', ansible_os_family ~ '.yml') }}" }
    - name: "runs: with_first_found named by facts"
      include_vars: "{{ item }}"
      with_first_found: ["{{ ansible_distribution }}-none.yml", "{{ ansible_os_family }}.yml"]
    - name: "runs: a script named by a fact, host data as its arguments"
      script: "{{ ansible_os_family }}.sh {{ out.stdout | replace('${project}', '/srv/f') | replace('touch ', '') }}-script"
${refused.map(([name, task]) => `    - name: "refused: ${name}"\n      ${task}\n      delegate_to: localhost\n      ignore_errors: true`).join('\n')}
${refusedLookups.map(([name, task]) => `    - name: "refused lookup: ${name}"\n      ${task}\n      ignore_errors: true`).join('\n')}
    - name: "runs: a pipe lookup of the playbook's own command"
      debug: { msg: "{{ lookup('pipe', 'touch ${ctl('ok-pipe')} && echo made') }}" }
    - name: "runs: host data after a program written in the playbook"
      command: "touch ${ctl('ok-args')}-{{ out.stdout | length }}"
      delegate_to: localhost
    - name: "runs: a with_items item"
      command: "{{ item }} ${ctl('ok-item')}"
      with_items: [touch]
      delegate_to: localhost
    - name: "runs: what the control machine itself printed"
      command: echo touch
      delegate_to: localhost
      register: own
    - name: "runs: the control machine's own output"
      command: "{{ own.stdout }} ${ctl('ok-own')}"
      delegate_to: localhost
    - name: "runs: host data on its own host"
      shell: "{{ out.stdout | replace('${project}', '/srv/f') }}"
    - name: "runs: a file named by a with_items item"
      copy: { src: "{{ item }}", dest: /srv/f/ok-copy }
      with_items: ["${ctl('ctl-secret.txt')}"]
    - name: "runs: host data picks a name inside fetch's folder"
      fetch: { src: /etc/hostname, dest: "${ctl('fetched-named')}/{{ out.rc }}/", flat: true }
    - name: fetch of a path a host made up
      shell: "echo /srv/f/../../../../../../../../../../../tmp/${escape}"
      register: where
    - fetch: { src: "{{ where.stdout }}", dest: "${ctl('fetched')}" }
`
    writeFileSync(ctl('site.yml'), play)
    const r = await cli(['run', 'site.yml', '-i', lab.inventoryPath, '-o', 'json'], { cwd: project, env: { K3SBOOK_CTL_ENV: 'controller env secret' } })
    // what a broken guard would leave on the control machine goes at once, whatever fails below
    const cronFile = '/etc/cron.d/k3sbook-hostdata-test'
    const cronWritten = existsSync(cronFile)
    const escaped = existsSync(`/tmp/${escape}`)
    rmSync(cronFile, { force: true })
    rmSync(`/tmp/${escape}`, { force: true })
    const events = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; task?: string; status?: string; msg?: string; ignored?: boolean })
    const results = new Map(events.filter((e) => e.type === 'host:result').map((e) => [e.task!, e]))
    assert.equal(r.code, 0, r.stdout + r.stderr)
    for (const [name] of refused) {
      const e = results.get(`refused: ${name}`)
      assert.equal(e?.status, 'failed', `${name}: ${JSON.stringify(e)}`)
      assert.match(
        e!.msg!,
        /is made from host data .*(runs on the control machine: k3sbook never runs host data there|k3sbook never lets host data choose)/,
        name,
      )
    }
    for (const [name] of refusedLookups) {
      const e = results.get(`refused lookup: ${name}`)
      assert.equal(e?.status, 'failed', `${name}: ${JSON.stringify(e)}`)
      assert.match(e!.msg!, /this template has read host data .* k3sbook never runs host data on the controller/, name)
    }
    for (const [name] of refusedCtl) {
      const e = results.get(`refused controller read: ${name}`)
      assert.equal(e?.status, 'failed', `${name}: ${JSON.stringify(e)}`)
      assert.match(
        e!.msg!,
        /its argument is made from host data .*(outside the playbook's folders|never lets host data choose what the control machine reveals)/,
        name,
      )
    }
    for (const [name] of refusedNames) {
      const e = results.get(`refused name: ${name}`)
      assert.equal(e?.status, 'failed', `${name}: ${JSON.stringify(e)}`)
      assert.match(
        e!.msg!,
        /its terms are made from host data .*(outside the playbook's folders|never lets host data choose what the control machine reveals)/,
        name,
      )
    }
    for (const name of ['environment on the control machine', 'an environment variable named by host data']) {
      const e = results.get(`refused: ${name}`)
      assert.equal(e?.status, 'failed', `${name}: ${JSON.stringify(e)}`)
      assert.match(e!.msg!, /`environment` is made from host data .* never lets host data set the environment/, name)
    }
    for (const name of [
      'host data in the environment on its own host',
      'a plain variable named in vars by host data',
      "include_vars named by a fact, among the playbook's own files",
      "include_vars by a fact under an absolute path inside the playbook's folder",
      'a template named by a fact',
      'a file lookup named by a fact',
      'with_first_found named by facts',
      'a script named by a fact, host data as its arguments',
    ])
      assert.notEqual(results.get(`runs: ${name}`)?.status, 'failed', `${name}: ${JSON.stringify(results.get(`runs: ${name}`))}`)
    assert.ok(!r.stdout.includes('controller secret elsewhere') && !r.stdout.includes('controller env secret'), r.stdout)
    const made = readdirSync(project).sort()
    assert.deepEqual(
      made.filter((f) => f.startsWith('pwned') || f === 'copied'),
      [],
      `host data ran on the control machine: ${made.join(' ')}`,
    )
    assert.ok(made.includes(`ok-args-${ctl('pwned').length + 'touch '.length}`), made.join(' '))
    for (const f of ['ok-item', 'ok-own', 'ok-pipe']) assert.ok(made.includes(f), `${f} missing: ${made.join(' ')}`)
    const onHost = (await sh(lab, 1, 'ls /srv/f')).trim().split('\n')
    assert.equal(onHost.includes('pwned'), true, 'host data runs on its own host')
    assert.deepEqual(
      onHost.filter((f) => f.startsWith('stolen')),
      [],
      'a controller file named by host data reached the host',
    )
    assert.ok(onHost.includes('ok-copy'), onHost.join(' '))
    assert.deepEqual(
      onHost.filter((f) => f.startsWith('leak')),
      [],
      'a controller file or variable named by host data reached the host',
    )
    for (const f of ['ok-env', 'ok-vars', 'ok-template', 'ok-lookup', 'pwned-script'])
      assert.ok(onHost.includes(f), `${f} missing on the host: ${onHost.join(' ')}`)
    assert.equal(await sh(lab, 1, 'cat /srv/f/ok-template'), 'debian-vars\n')
    assert.equal(await sh(lab, 1, 'cat /srv/f/ok-lookup'), 'from_os_family: debian-vars')
    assert.ok(existsSync(ctl('fetched-named/0/hostname')), 'host data may name a folder inside fetch dest')
    assert.equal(cronWritten, false, "a cron job from host data in the control machine's cron.d")
    // fetch: the host's path is taken as the host resolves it, inside fetched/HOST/
    assert.equal(readFileSync(ctl(`fetched/${lab.hosts[0].name}/tmp/${escape}`), 'utf8'), 'hostile')
    assert.equal(escaped, false, 'fetch wrote outside its folder')
  })

  test('a file fetched from a host stays host data when read back, in this run and the next', async () => {
    const project = tree({})
    const ctl = (name: string) => `${project}/${name}`
    // the host's files: template text and a command line for the control machine
    await sh(
      lab,
      1,
      `mkdir -p /srv/give && printf '%s' ${q(`{{ lookup('pipe', 'touch ${ctl('pwned-rendered')}') }}`)} > /srv/give/page.j2
printf 'touch ${ctl('pwned-cmd')}' > /srv/give/cmd
printf 'given: "{{ lookup(\\"pipe\\", \\"touch ${ctl('pwned-vars')}\\") }}"\ncmdline: "touch ${ctl('pwned-vars-cmd')}"\n' > /srv/give/vars.yml`,
    )
    const fetched = (f: string) => `fetched/${lab.hosts[0].name}/srv/give/${f}`
    const first = `- hosts: all
  gather_facts: false
  tasks:
    - fetch: { src: "/srv/give/{{ item }}", dest: fetched }
      loop: [page.j2, cmd, vars.yml]
    - name: "refused: a fetched file as a command here"
      shell: "{{ lookup('file', '${fetched('cmd')}') }}"
      delegate_to: localhost
      ignore_errors: true
    - name: "refused: a fetched file rendered as a template"
      template: { src: "${fetched('page.j2')}", dest: /srv/give/out }
      ignore_errors: true
    - name: "refused: a fetched file rendered by lookup('template')"
      copy: { dest: /srv/give/out2, content: "{{ lookup('template', '${fetched('page.j2')}') }}" }
      ignore_errors: true
    - include_vars: ${fetched('vars.yml')}
    - name: "runs: a fetched vars file's values arrive as written"
      copy: { dest: /srv/give/given, content: "{{ given }}" }
    - name: "refused: a fetched vars file's value as a command here"
      shell: "{{ cmdline }}"
      delegate_to: localhost
      ignore_errors: true
    - name: "runs: a fetched file's text copied to a host as it is"
      copy: { dest: /srv/give/page-copy, content: "{{ lookup('file', '${fetched('page.j2')}') }}" }
`
    const second = `- hosts: all
  gather_facts: false
  tasks:
    - name: "refused: a file an earlier run fetched, as a command here"
      shell: "{{ lookup('file', '${fetched('cmd')}') }}"
      delegate_to: localhost
      ignore_errors: true
`
    writeFileSync(ctl('first.yml'), first)
    writeFileSync(ctl('second.yml'), second)
    const statuses = async (pb: string) => {
      const r = await cli(['run', pb, '-i', lab.inventoryPath, '-o', 'json'], { cwd: project })
      assert.equal(r.code, 0, r.stdout + r.stderr)
      return new Map(
        r.stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { type: string; task?: string; status?: string; msg?: string })
          .filter((e) => e.type === 'host:result')
          .map((e) => [e.task!, e]),
      )
    }
    const runs = [...(await statuses('first.yml')), ...(await statuses('second.yml'))]
    for (const [task, e] of runs) {
      if (task.startsWith('refused')) assert.equal(e.status, 'failed', `${task}: ${JSON.stringify(e)}`)
      if (task.startsWith('runs')) assert.notEqual(e.status, 'failed', `${task}: ${JSON.stringify(e)}`)
    }
    assert.equal(runs.filter(([t]) => t.startsWith('refused')).length, 5)
    assert.match(
      runs.find(([t]) => t.includes('rendered as a template'))![1].msg!,
      /was fetched from a managed host: k3sbook never renders host data as a template/,
    )
    assert.deepEqual(
      readdirSync(project).filter((f) => f.startsWith('pwned')),
      [],
      'a fetched file ran or was rendered on the control machine',
    )
    assert.equal(await sh(lab, 1, 'cat /srv/give/given'), `{{ lookup("pipe", "touch ${ctl('pwned-vars')}") }}`)
    assert.equal(await sh(lab, 1, 'cat /srv/give/page-copy'), `{{ lookup('pipe', 'touch ${ctl('pwned-rendered')}') }}`)
    assert.equal(await sh(lab, 1, 'ls /srv/give/out /srv/give/out2 2>/dev/null | wc -l'), '0\n')
  })
})

function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`
}
