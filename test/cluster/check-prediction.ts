// How much of the real run check mode predicts (issue 16), measured on a fresh 4-host lab with the
// demo's inventory: site.yml with --check, the hosts fingerprinted before and after it, then the
// real run; changes compared per host × task × loop item. The suite checks it in the first run of
// test/cluster/site.test.ts (init-less hosts) and test/cluster/systemd.test.ts (systemd hosts),
// which start from such a fresh lab anyway (checkAndRun(), assertPredicted()). As a measurement,
// run by hand: `node --import tsx test/cluster/check-prediction.ts` (K3SBOOK_LAB_INIT=none for
// init-less hosts; systemd by default, as in `npm run demo`). Exits 0 only when check predicts
// ≥95% with no false alarms, no failures, and the hosts unchanged by the check.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { HostResultEvent } from '../../src/executor/events.js'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { serveK3sDouble } from '../k3s-double/serve.js'
import { writeLabClusterInventory } from '../../scripts/lab-cluster.js'
import { fingerprint, fingerprintDiff, run, type Run } from '../executor/helpers.js'

const ROOT = join(import.meta.dirname, '../..')
const SITE = join(ROOT, 'playbooks/site.yml')

export interface Prediction {
  predicted: string[]
  unknown: { key: string; why: string }[]
  missed: string[]
  falseAlarms: string[]
  failures: string[]
  actual: number
}

/** One key per host × task (× item): what changed (or would). */
export function changeKeys(r: Run): Map<string, { status: string; msg?: string }> {
  const out = new Map<string, { status: string; msg?: string }>()
  const seen = new Map<string, number>()
  for (const e of r.results) {
    const base = `${e.host} | ${e.play} | ${e.handler ? 'handler: ' : ''}${e.task}${e.pos ? ` @${e.pos.file?.split('/').slice(-3).join('/')}:${e.pos.line}` : ''}`
    // the same task may run twice (a role included twice, a handler flushed twice)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    const key = n > 1 ? `${base} #${n}` : base
    const items: NonNullable<HostResultEvent['items']> = e.items ?? [{ label: '', status: e.status, msg: e.msg }]
    items.forEach((it, i) => out.set(e.items ? `${key} [${it.label || i}]` : key, { status: it.status, msg: it.msg ?? (e.items ? undefined : e.msg) }))
  }
  return out
}

export function compare(check: Run, real: Run): Prediction {
  const c = changeKeys(check)
  const r = changeKeys(real)
  const p: Prediction = { predicted: [], unknown: [], missed: [], falseAlarms: [], failures: [], actual: 0 }
  for (const [k, v] of c) if (v.status === 'failed') p.failures.push(`${k}: ${v.msg ?? ''}`)
  for (const [k, v] of r) {
    if (v.status !== 'changed') continue
    p.actual++
    const cv = c.get(k)
    if (cv?.status === 'changed') p.predicted.push(k)
    else if (cv?.status === 'unknown') p.unknown.push({ key: k, why: cv.msg ?? '' })
    else p.missed.push(`${k} (check: ${cv?.status ?? 'not run'}${cv?.msg ? `: ${cv.msg}` : ''})`)
  }
  for (const [k, v] of c) if (v.status === 'changed' && r.get(k)?.status !== 'changed') p.falseAlarms.push(`${k} (run: ${r.get(k)?.status ?? 'not run'})`)
  return p
}

export interface Measured extends Prediction {
  unchanged: boolean
  /** What check mode changed on a host (paths with metadata, content hashes), when it did. */
  changedByCheck: string[]
  realExit: number
  checkExit: number
}

/**
 * On a fresh lab: the hosts fingerprinted, site.yml with --check --diff, fingerprinted again, then
 * the real run; the comparison, and both runs for a caller's own assertions.
 */
export async function checkAndRun(
  lab: LabInfo,
  inventories: string[],
  log: (s: string) => void = () => undefined,
): Promise<{ m: Measured; check: Run; real: Run }> {
  const prints = () => Promise.all(lab.hosts.map((h) => fingerprint(lab, h.index)))
  const before = await prints()
  log('check run…')
  const check = await run(SITE, inventories, { check: true, diff: true })
  const after = await prints()
  log('real run…')
  const real = await run(SITE, inventories, {})
  const unchanged = before.every((b, i) => b === after[i])
  const changedByCheck = lab.hosts.flatMap((h, i) => (before[i] === after[i] ? [] : [`${h.name}:\n${fingerprintDiff(before[i], after[i])}`]))
  const m = { ...compare(check, real), unchanged, changedByCheck, realExit: real.summary.exitCode, checkExit: check.summary.exitCode }
  return { m, check, real }
}

/** Check predicted the real run: ≥95% of its changes, no false alarm, no failure, hosts unchanged. */
export function assertPredicted(m: Measured): void {
  const text = report(m)
  assert.equal(m.realExit, 0, text)
  assert.equal(m.unchanged, true, `check mode changed a host\n${text}`)
  assert.deepEqual(m.failures, [], text)
  assert.deepEqual(m.falseAlarms, [], text)
  assert.deepEqual(m.missed, [], text)
  assert.ok(m.actual > 50, `the run changed too little to measure: ${m.actual}`)
  assert.ok(m.predicted.length >= 0.95 * m.actual, text)
}

export async function measure(init: 'systemd' | 'none', log: (s: string) => void = () => undefined): Promise<Measured> {
  const lab = await startLab({ hosts: 4, tag: 'predict', init })
  const release = await serveK3sDouble(lab.bridgeAddress)
  const saved = { ...process.env }
  try {
    const inventories = [lab.inventoryPath, writeLabClusterInventory(lab, { releaseUrl: release.url })]
    process.env.K3SBOOK_K3S_TOKEN = `tok-${randomBytes(16).toString('hex')}`
    process.env.K3SBOOK_DATASTORE_ENDPOINT = `postgres://k3s:${randomBytes(12).toString('hex')}@10.10.0.1:5432/k3s?sslmode=disable`
    return (await checkAndRun(lab, inventories, log)).m
  } finally {
    process.env = saved
    await release.close()
    await lab.stop()
  }
}

export function report(m: Measured): string {
  const pct = m.actual ? ((m.predicted.length / m.actual) * 100).toFixed(1) : '100'
  const lines = [
    `real run exit ${m.realExit}, check exit ${m.checkExit}, hosts unchanged by check: ${m.unchanged}`,
    ...m.changedByCheck.map((c) => `  changed by check on ${c}`),
    `predicted ${m.predicted.length}/${m.actual} = ${pct}%; unknown ${m.unknown.length}; missed ${m.missed.length}; false alarms ${m.falseAlarms.length}; check failures ${m.failures.length}`,
    ...m.failures.map((f) => `  FAILED IN CHECK: ${f}`),
    ...m.unknown.map((u) => `  unknown: ${u.key}: ${u.why}`),
    ...m.missed.map((x) => `  missed: ${x}`),
    ...m.falseAlarms.map((x) => `  false alarm: ${x}`),
  ]
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await measure(process.env.K3SBOOK_LAB_INIT === 'none' ? 'none' : 'systemd', (s) => process.stderr.write(s + '\n'))
  process.stdout.write(report(m) + '\n')
  const ok = m.unchanged && m.failures.length === 0 && m.falseAlarms.length === 0 && m.realExit === 0 && m.predicted.length >= 0.95 * m.actual
  process.exit(ok ? 0 : 1)
}
