// `node --import tsx --expose-gc test/bench/load.ts [--hosts 50[,100]]`: the load figures for
// docs/RELIABILITY.md. For each size, a fresh lab of N hosts, the load playbook run twice in one
// process (first run changes 5 tasks per host, the second none), and a markdown row: times,
// peak open descriptors and peak RSS. The CI variant is test/reliability/load.test.ts (20 hosts).
import { cpus, loadavg, totalmem } from 'node:os'
import { labDown, labUp } from '../../src/lab/index.js'
import { loadRun } from '../reliability/loadrun.js'

function sizes(argv: string[]): number[] {
  const i = argv.indexOf('--hosts')
  return i >= 0 ? argv[i + 1].split(',').map(Number) : [50]
}

const rows: string[] = []
for (const n of sizes(process.argv.slice(2))) {
  const name = `load${n}-${process.pid.toString(36)}`
  const t0 = Date.now()
  const lab = await labUp({ name, hosts: n, owner: process.pid })
  const upMs = Date.now() - t0
  try {
    const f = await loadRun(lab)
    const converged = lab.hosts.every((h) => f.first.recap[h.name]?.changed === 5 && f.second.recap[h.name]?.changed === 0)
    const bad = lab.hosts.filter((h) => (f.first.recap[h.name]?.failed ?? 1) + (f.first.recap[h.name]?.unreachable ?? 1) > 0).length
    rows.push(
      `| ${n} | ${(upMs / 1000).toFixed(1)} s | ${(f.firstRunMs / 1000).toFixed(1)} s | ${(f.secondRunMs / 1000).toFixed(1)} s | ${converged ? 'yes' : `no (${bad} failed/unreachable)`} | ${f.fdBaseline} → ${f.fdPeak} (after: ${f.fdAfter}) | ${f.rssBaselineMb} → ${f.rssPeakMb} MB |`,
    )
    process.stderr.write(rows[rows.length - 1] + '\n')
  } finally {
    await labDown(name)
  }
}
console.log(
  `machine: ${cpus().length} CPUs, ${Math.round(totalmem() / 2 ** 30)} GB, load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
)
console.log('| hosts | lab up | first run (6 tasks) | no-change rerun | all converge | open fds (peak) | RSS (peak) |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const r of rows) console.log(r)
