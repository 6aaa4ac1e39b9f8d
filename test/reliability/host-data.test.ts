// Host data is data: whatever a host sends back (a command's stdout, a shell's stderr, slurp's
// content, uri's body and parsed JSON, gathered facts) is unsafe, as Ansible's AnsibleUnsafe: a later
// task that uses it writes it byte for byte, and template text in it is never rendered on the
// controller, through filters, set_fact, hostvars, task vars and loops. A hostile host cannot reach
// the controller's files, environment or the play's variables.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { cli, tree } from './helpers.js'

const FILE_MARK = `ctlfile-${randomBytes(8).toString('hex')}`
const ENV_MARK = `ctlenv-${randomBytes(8).toString('hex')}`
const VAR_MARK = `playvar-${randomBytes(8).toString('hex')}`

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
for i in 1 2 3 4 5 6 7 8 9 10; do curl -fs http://127.0.0.1:8765/raw.txt >/dev/null && break; sleep 0.3; done`,
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
`
    const project = tree({ 'site.yml': play, 'templates/use.j2': '{{ out.stdout }}\n' })
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
    }
    lines.forEach((l, i) => (want[`loop-${i}`] = l))
    for (const [f, w] of Object.entries(want)) assert.equal(await got(f), w, `/srv/out/${f}`)
    const all = await sh(lab, 1, 'cat /srv/out/*')
    for (const mark of [FILE_MARK, ENV_MARK, VAR_MARK]) assert.ok(!all.includes(mark), `a file on the host holds ${mark}`)
  })
})

function q(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`
}
