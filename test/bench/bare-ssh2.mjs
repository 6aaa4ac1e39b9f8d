// The floor k3sbook is measured against: a bare ssh2 client that connects to every host at once
// and sends, per host, the probes k3sbook sent on a no-change re-run as ONE script on one exec
// channel. Plain JS (no tsx) so its process start-up is as small as Node's own.
// Usage: node bare-ssh2.mjs SPEC.json → prints {"connectMs":…, "probeMs":…, "totalMs":…}
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const t0 = performance.now()
const require = createRequire(import.meta.url)
const { Client } = require('ssh2')

/** @type {{ hosts: { host: string; port: number; user: string; key: string; scripts: string[] }[] }} */
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))

function connect(h) {
  return new Promise((resolve, reject) => {
    const c = new Client()
    c.once('ready', () => {
      c.setNoDelay(true)
      resolve(c)
    })
    c.once('error', reject)
    c.connect({ host: h.host, port: h.port, username: h.user, privateKey: readFileSync(h.key), readyTimeout: 30000 })
  })
}

function run(c, script) {
  return new Promise((resolve, reject) => {
    c.exec('/bin/sh', (err, ch) => {
      if (err) return reject(err)
      let bytes = 0
      ch.on('data', (b) => (bytes += b.length))
      ch.stderr.on('data', (b) => (bytes += b.length))
      ch.on('close', () => resolve(bytes))
      ch.end(script)
    })
  })
}

const tc = performance.now()
const clients = await Promise.all(spec.hosts.map(connect))
const t1 = performance.now()
// Each probe in its own subshell with stdin closed, as k3sbook runs them.
await Promise.all(clients.map((c, i) => run(c, spec.hosts[i].scripts.map((s) => `( ${s}\n) </dev/null\n`).join(''))))
const t2 = performance.now()
for (const c of clients) c.end()
process.stdout.write(JSON.stringify({ connectMs: t1 - tc, probeMs: t2 - t1, totalMs: t2 - t0 }) + '\n')
process.exit(0)
