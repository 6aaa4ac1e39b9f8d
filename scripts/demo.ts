// The README's main job: bring up (or reuse) a 4-host lab, serve the K3S test double as a K3S
// release on the lab bridge, and run playbooks/site.yml against the lab, ending in the recap.
// Arguments after `--` go to `k3sbook run` (e.g. `npm run demo -- --check`).
// Run it again: the second run changes nothing. It ends with a short summary (scripts/demo-summary.ts).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { labUp } from '../src/lab/index.js'
import { K3sbookError } from '../src/errors.js'
import { EXIT } from '../src/exit.js'
import { serveK3sDouble } from '../test/k3s-double/serve.js'
import { writeLabClusterInventory } from './lab-cluster.js'
import { demoSummary } from './demo-summary.js'

const name = process.env.K3SBOOK_LAB ?? 'k3sbook'
const hosts = Number(process.env.K3SBOOK_LAB_HOSTS ?? 4)
// systemd as each host's pid 1, as on every real target; K3SBOOK_LAB_INIT=none for init-less hosts
const init = process.env.K3SBOOK_LAB_INIT === 'none' ? 'none' : 'systemd'
// the lab's and the cluster's refusals (not root, a limit of this machine) as the CLI prints them
process.on('uncaughtException', (e) => {
  if (!(e instanceof K3sbookError)) throw e
  process.stderr.write(`error: ${e.format()}\n`)
  process.exit(EXIT.invalid)
})
const lab = await labUp({ name, hosts, init })
process.stderr.write(`lab "${lab.name}": ${lab.hosts.map((h) => `${h.name} ${h.address}`).join(', ')}\n`)

// Secrets for the lab cluster: made once per lab, kept in the lab's folder (mode 0600), passed to
// the run through the environment as a real operator would.
const secretsFile = join(lab.dir, 'secrets.json')
if (!existsSync(secretsFile)) {
  const secrets = {
    K3SBOOK_K3S_TOKEN: randomBytes(24).toString('hex'),
    K3SBOOK_DATASTORE_ENDPOINT: `postgres://k3s:${randomBytes(12).toString('hex')}@10.10.0.1:5432/k3s?sslmode=disable`,
  }
  writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 })
}
const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>

const release = await serveK3sDouble(lab.bridgeAddress)
const checkOnly = process.argv.slice(2).some((a) => a === '--check' || a === '-C' || /^-[a-zA-Z]*C/.test(a))
let clusterInv: string
try {
  clusterInv = writeLabClusterInventory(lab, { releaseUrl: release.url, checkOnly })
} catch (e) {
  await release.close()
  throw e
}
const args = ['bin/k3sbook.js', 'run', 'playbooks/site.yml', '-i', lab.inventoryPath, '-i', clusterInv, ...process.argv.slice(2)]
process.stderr.write(`k3sbook ${args.slice(1).join(' ')}\n`)
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ...secrets } })
  child.on('close', (c) => resolve(c ?? 1))
})
await release.close()
// How to reach the API from this machine: the fetched kubeconfig names the first server's address.
const kubeconfig = join(lab.dir, 'kubeconfig')
const server = existsSync(kubeconfig) ? /server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] : undefined
if (code === 0 && server)
  process.stderr.write(
    `API: ${server}, kubeconfig ${kubeconfig} (KUBECONFIG=${kubeconfig} kubectl …; K3S here is the test double: its API port answers, kubectl's requests do not)\n`,
  )
process.stderr.write(
  demoSummary({
    labName: lab.name,
    clusterInventory: clusterInv,
    sitePlaybook: join(import.meta.dirname, '../playbooks/site.yml'),
    kubeconfig: join(lab.dir, 'kubeconfig'),
    secretsFile,
    code,
    extraArgs: process.argv.slice(2),
    init: lab.init,
    endpoint: secrets.K3SBOOK_DATASTORE_ENDPOINT,
  }),
)
process.exit(code)
