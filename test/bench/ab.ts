// A/B of two k3sbook builds on the same lab hosts, runs alternating (A B B A A B …), so that a
// machine whose load changes during the measurement slows both alike. Prints, per host count and
// mode, the median wall time and the median controller CPU time (user + system of the k3sbook
// process, from /usr/bin/time: less sensitive to other load than wall time) of each build, and B/A.
//
//   node --import tsx test/bench/ab.ts --a /path/to/old/checkout --b . [--hosts 5,20] [--rounds 8]
//
// A checkout is a directory with bin/k3sbook.js and a built dist/. The playbook is the bench's
// preparation playbook (prep.k3sbook.yml), first run once with B to converge the hosts; then
// no-change re-runs and check runs are alternated. Not a test: a measurement, run by hand.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { labDown, labUp } from '../../src/lab/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const PLAYBOOK = join(here, 'prep.k3sbook.yml')

interface Opts {
  a: string
  b: string
  hosts: number[]
  rounds: number
}

function parse(argv: string[]): Opts {
  const o: Partial<Opts> = { hosts: [5, 20], rounds: 8 }
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i] ?? ''
    if (argv[i] === '--a') o.a = resolve(v())
    else if (argv[i] === '--b') o.b = resolve(v())
    else if (argv[i] === '--hosts') o.hosts = v().split(',').map(Number)
    else if (argv[i] === '--rounds') o.rounds = Number(v())
    else throw new Error(`unknown option ${argv[i]} (--a DIR --b DIR [--hosts 5,20] [--rounds 8])`)
  }
  for (const k of ['a', 'b'] as const)
    if (!o[k] || !existsSync(join(o[k]!, 'bin/k3sbook.js'))) throw new Error(`--${k} needs a checkout with bin/k3sbook.js and dist/`)
  return o as Opts
}

interface One {
  wallMs: number
  cpuS: number
  changed: number
  code: number
}

function runOnce(checkout: string, inventory: string, check: boolean): Promise<One> {
  const timeOut = join(tmpdir(), `k3sbook-ab-${process.pid}`)
  const argv = [
    '/usr/bin/time',
    '-f',
    '%U %S',
    '-o',
    timeOut,
    process.execPath,
    join(checkout, 'bin/k3sbook.js'),
    'run',
    '-i',
    inventory,
    PLAYBOOK,
    '-o',
    'json',
    ...(check ? ['--check'] : []),
  ]
  return new Promise((res, rej) => {
    const t0 = performance.now()
    const child = spawn(argv[0], argv.slice(1), { cwd: here, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.on('error', rej)
    child.on('close', (code) => {
      const wallMs = performance.now() - t0
      const [u, s] = readFileSync(timeOut, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
      rmSync(timeOut, { force: true })
      const end = Buffer.concat(out)
        .toString()
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.includes('"run:end"'))
      const recap = end ? (JSON.parse(end) as { recap: Record<string, { changed: number }> }).recap : {}
      res({ wallMs, cpuS: u + s, changed: Object.values(recap).reduce((a, r) => a + r.changed, 0), code: code ?? 1 })
    })
  })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const o = parse(process.argv.slice(2))
const rows: string[] = []
const loads: number[] = []
for (const n of o.hosts) {
  const name = `kab${process.pid % 10000}`
  const lab = await labUp({ name, hosts: n, owner: process.pid })
  try {
    const first = await runOnce(o.b, lab.inventoryPath, false)
    if (first.code !== 0) throw new Error(`first run failed (exit ${first.code})`)
    for (const check of [false, true]) {
      const got: Record<'a' | 'b', One[]> = { a: [], b: [] }
      for (let r = 0; r < o.rounds; r++) {
        // ABBA order: neither build always runs right after the other
        for (const k of r % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
          const one = await runOnce(o[k], lab.inventoryPath, check)
          if (one.code !== 0 || one.changed !== 0) throw new Error(`${k}: exit ${one.code}, changed ${one.changed} on a converged lab`)
          got[k].push(one)
          loads.push(loadavg()[0])
        }
      }
      const m = (k: 'a' | 'b', f: (x: One) => number) => median(got[k].map(f))
      const wall = [m('a', (x) => x.wallMs / 1000), m('b', (x) => x.wallMs / 1000)]
      const cpu = [m('a', (x) => x.cpuS), m('b', (x) => x.cpuS)]
      rows.push(
        `| ${n} | ${check ? 'check' : 'no-change re-run'} | ${wall[0].toFixed(2)} s | ${wall[1].toFixed(2)} s | ${(wall[1] / wall[0]).toFixed(2)} | ${cpu[0].toFixed(2)} s | ${cpu[1].toFixed(2)} s | ${(cpu[1] / cpu[0]).toFixed(2)} |`,
      )
      process.stderr.write(`[ab] ${rows.at(-1)}\n`)
    }
  } finally {
    await labDown(name)
  }
}
process.stdout.write(
  [
    `A = ${o.a}, B = ${o.b}; ${o.rounds} runs of each, alternating; medians; load average during the runs ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`,
    '',
    '| hosts | run | wall A | wall B | B/A | CPU A | CPU B | B/A |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
)
