// Regenerates the Ansible oracle fixtures for lineinfile/blockinfile: runs Debian's ansible-playbook
// (-c local) on copies of each input in a temp directory only, and records the resulting file,
// changed and msg. Usage: node --import tsx test/modules/oracle.ts   (takes a few minutes)
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface OracleCase {
  input: string | null
  args: Record<string, unknown>
  output?: string | null
  changed?: boolean
  failed?: boolean
  msg?: string
}

/** A tiny seeded PRNG so the case list is the same on every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

const LINES = ['a=1', 'b=2', '#a=1', 'a = 3', '', 'c', 'b=2', 'a=1 # x', '[s]', 'k: v']

function inputs(r: () => number): string | null {
  if (r() < 0.05) return null
  const n = Math.floor(r() * 6)
  const ls = Array.from({ length: n }, () => LINES[Math.floor(r() * LINES.length)])
  const sep = r() < 0.1 ? '\r\n' : '\n'
  let t = ls.join(sep)
  if (n && r() < 0.8) t += sep
  return t
}

const pickOne = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)]

export function lineCases(): OracleCase[] {
  const r = rng(42)
  const out: OracleCase[] = []
  for (let i = 0; i < 260; i++) {
    const args: Record<string, unknown> = {}
    const state = r() < 0.2 ? 'absent' : 'present'
    if (state === 'absent') args.state = 'absent'
    const which = r()
    if (which < 0.55) args.regexp = pickOne(r, ['^a', '^a=', '^#?a\\s*=', 'b', '^(a)=(.*)$', 'x', '^c$', '^$', '= ?\\d$', '^\\[s\\]'])
    else if (which < 0.7) args.search_string = pickOne(r, ['a=', 'b', 'zz', '[s]'])
    if (state === 'present' || r() < 0.4) args.line = pickOne(r, ['a=9', 'a=1', 'c', 'new', '\\1=X', '\\2 \\1', 'b=2'])
    if (state === 'present') {
      const ins = r()
      if (ins < 0.2) args.insertafter = pickOne(r, ['EOF', 'BOF', '^b', '^#', 'nomatch', '^\\[s\\]'])
      else if (ins < 0.35) args.insertbefore = pickOne(r, ['BOF', '^b', '^c', 'nomatch', '^\\[s\\]'])
      if (r() < 0.25) args.firstmatch = true
      if (args.regexp && r() < 0.3) args.backrefs = true
    }
    const input = inputs(r)
    if (input === null) args.create = r() < 0.7
    out.push({ input, args })
  }
  return out
}

export function blockCases(): OracleCase[] {
  const r = rng(7)
  const out: OracleCase[] = []
  const M0 = '# BEGIN ANSIBLE MANAGED BLOCK'
  const M1 = '# END ANSIBLE MANAGED BLOCK'
  for (let i = 0; i < 120; i++) {
    const args: Record<string, unknown> = {}
    let input = inputs(r)
    if (input !== null && r() < 0.4) {
      // an existing block somewhere
      const ls = input.split('\n')
      const at = Math.floor(r() * ls.length)
      ls.splice(at, 0, M0, 'old', M1)
      input = ls.join('\n')
    }
    if (r() < 0.15) args.state = 'absent'
    args.block = pickOne(r, ['x=1', 'x=1\ny=2', 'x=1\ny=2\n', '', 'old'])
    const ins = r()
    if (ins < 0.25) args.insertafter = pickOne(r, ['EOF', '^b', '^a', 'nomatch', '(?m)^b=2$'])
    else if (ins < 0.45) args.insertbefore = pickOne(r, ['BOF', '^b', '^c', 'nomatch'])
    if (r() < 0.15) args.marker = '// {mark} managed'
    if (input === null) args.create = r() < 0.7
    out.push({ input, args })
  }
  return out
}

function runOracle(module: 'lineinfile' | 'blockinfile', cases: OracleCase[]): OracleCase[] {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-oracle-'))
  try {
    cases.forEach((c, i) => c.input !== null && writeFileSync(join(dir, `f${i}`), c.input))
    const items = cases.map((c, i) => ({ i, ...c.args }))
    writeFileSync(join(dir, 'cases.json'), JSON.stringify({ cases: items, dir }))
    const keys = [...new Set(items.flatMap((x) => Object.keys(x)))].filter((k) => k !== 'i')
    const argLines = keys.map((k) => `        ${k}: "{{ item.${k} if item.${k} is defined else omit }}"`).join('\n')
    writeFileSync(
      join(dir, 'play.yml'),
      `- hosts: localhost
  gather_facts: false
  vars_files: [cases.json]
  tasks:
    - ${module}:
        path: "{{ dir }}/f{{ item.i }}"
${argLines}
      loop: "{{ cases }}"
      register: out
      ignore_errors: true
    - copy:
        dest: "{{ dir }}/results.json"
        content: "{{ out.results | map('dict2items') | map('selectattr', 'key', 'in', ['changed', 'failed', 'msg']) | map('items2dict') | list | to_json }}"
`,
    )
    const r = spawnSync('ansible-playbook', ['-i', 'localhost,', '-c', 'local', join(dir, 'play.yml')], {
      encoding: 'utf8',
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'False' },
    })
    if (!existsSync(join(dir, 'results.json'))) throw new Error(`ansible failed:\n${r.stdout}\n${r.stderr}`)
    const res = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { changed?: boolean; failed?: boolean; msg?: string }[]
    return cases.map((c, i) => {
      const f = join(dir, `f${i}`)
      return { ...c, output: existsSync(f) ? readFileSync(f, 'utf8') : null, changed: !!res[i].changed, failed: !!res[i].failed, msg: res[i].msg ?? '' }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1]?.endsWith('oracle.ts')) {
  const fx = join(import.meta.dirname, 'fixtures')
  mkdirSync(fx, { recursive: true })
  writeFileSync(join(fx, 'lineinfile-oracle.json'), JSON.stringify(runOracle('lineinfile', lineCases()), null, 1))
  writeFileSync(join(fx, 'blockinfile-oracle.json'), JSON.stringify(runOracle('blockinfile', blockCases()), null, 1))
  console.log('fixtures written')
}
