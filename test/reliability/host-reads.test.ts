// Reads from a host into the controller's memory are bounded: `slurp` and `fetch` of a 300 MB
// file and `uri` of a 300 MB HTTP body fail with a message naming the size, the limit (64 MiB,
// K3SBOOK_MAX_HOST_READ) and how to raise it, on a lab host through the real CLI, with the
// controller's peak RSS measured by GNU time. Before: each read the whole file into memory
// (several times over, as base64 and strings).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { useLab } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { timed, tree } from './helpers.js'

const PLAY = `- hosts: all
  gather_facts: false
  tasks:
    - name: Slurp big
      slurp: { src: /opt/reads/big.bin }
      ignore_errors: true
    - name: Fetch big
      fetch: { src: /opt/reads/big.bin, dest: fetched/, flat: true }
      ignore_errors: true
    - name: Uri big
      uri: { url: "http://127.0.0.1:8097/big.bin", return_content: true }
      ignore_errors: true
    - name: Slurp small
      slurp: { src: /opt/reads/small.txt }
      register: small
    - name: Fetch small
      fetch: { src: /opt/reads/small.txt, dest: fetched/, flat: true }
    - name: Uri small
      uri: { url: "http://127.0.0.1:8097/small.txt", return_content: true }
      register: page
    - name: Small ones arrive whole
      assert:
        that:
          - small.content | b64decode == 'small file\\n'
          - page.content == 'small file\\n'
`

const LIMIT_NOTE = /more than the 64 MiB k3sbook reads from a host into memory; raise the limit with K3SBOOK_MAX_HOST_READ/

test('slurp, fetch and uri of 300 MB fail with the limit and how to raise it; small reads work; RSS stays bounded', { timeout: 600_000 }, async (t) => {
  const lab = await useLab(t, { hosts: 1, tag: 'reads' })
  const h = lab.hosts[0].index
  await sh(lab, h, 'mkdir -p /opt/reads && head -c 300000000 /dev/zero > /opt/reads/big.bin && echo "small file" > /opt/reads/small.txt')
  await sh(lab, h, 'cd /opt/reads && { nohup python3 -m http.server 8097 --bind 127.0.0.1 >/dev/null 2>&1 & echo $! > /opt/reads.pid; }')
  try {
    for (let i = 0; i < 50; i++) {
      if ((await sh(lab, h, 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8097/small.txt || true')) === '200') break
      await new Promise((r) => setTimeout(r, 200))
    }
    const dir = tree({ 'reads.yml': PLAY })
    const r = await timed(['run', 'reads.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
    console.log(`slurp, fetch and uri of 300 MB: peak RSS ${r.maxRssMb.toFixed(0)} MB`)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const out = r.stdout
    assert.match(out, new RegExp(`slurp: /opt/reads/big.bin is 300000000 bytes \\(286\\.1 MiB\\), ${LIMIT_NOTE.source}`))
    assert.match(out, new RegExp(`fetch: /opt/reads/big.bin is 300000000 bytes \\(286\\.1 MiB\\), ${LIMIT_NOTE.source}`))
    assert.match(out, new RegExp(`uri: the response body of http://127.0.0.1:8097/big.bin is 300000000 bytes \\(286\\.1 MiB\\), ${LIMIT_NOTE.source}`))
    assert.equal(existsSync(join(dir, 'fetched/big.bin')), false)
    assert.equal(existsSync(join(dir, 'fetched/small.txt')), true)
    // The uri body is kept as head and tail of at most 65 MiB in all, whatever the size (a few
    // copies of that while framed: 441 MB peak measured); slurp and fetch do not read the file.
    // 300 MB read whole would be more than this bound already as bytes plus its base64.
    assert.ok(r.maxRssMb < 600, `peak RSS ${r.maxRssMb} MB`)

    // the limit is set as the message says
    const set = await timed(['run', 'reads.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir, { K3SBOOK_MAX_HOST_READ: '1K' })
    assert.match(set.stdout, /slurp: \/opt\/reads\/big.bin is 300000000 bytes \(286\.1 MiB\), more than the 1 KiB k3sbook reads/)
  } finally {
    await sh(lab, h, 'kill $(cat /opt/reads.pid) 2>/dev/null; rm -rf /opt/reads /opt/reads.pid; true')
  }
})
