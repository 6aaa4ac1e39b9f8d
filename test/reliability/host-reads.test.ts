// Reads from a host into the controller's memory are bounded: `slurp` of a 300 MB file and `uri`
// of a 300 MB HTTP body fail with a message naming the size, the limit (64 MiB,
// K3SBOOK_MAX_HOST_READ) and how to raise it, on a lab host through the real CLI, with the
// controller's peak RSS measured by GNU time; neither body leaves the host, and a body of unknown
// length is counted as it streams. Before: each read the whole file into memory
// (several times over, as base64 and strings). `fetch` streams to disk instead: a 300 MB file
// arrives whole with the same peak RSS as a 30 MB one, is not sent again when it matches, and an
// interrupted fetch leaves the old destination as it was.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startLab, type LabInfo } from '../helpers/lab.js'
import { sh } from '../executor/helpers.js'
import { spawnCli, timed, tree, until } from './helpers.js'

const PLAY = `- hosts: all
  gather_facts: false
  tasks:
    - name: Slurp big
      slurp: { src: /opt/reads/big.bin }
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

// The second run sets the limit as the message says: the slurp again, and a body of unknown length
// (chunked, 3 MB): curl cannot refuse it from its headers, so it streams and the controller keeps
// only a head and a tail of it (the limit plus 1 MiB) while counting its size.
const SECOND = `${PLAY.slice(0, PLAY.indexOf('    - name: Uri big'))}    - name: Uri chunked
      uri: { url: "http://127.0.0.1:8097/chunked", return_content: true }
      ignore_errors: true
`

// python3's file server, and /chunked: 3 MB of "x" in 64 KiB chunks, no Content-Length
const SERVER = `import http.server
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path != '/chunked':
            return super().do_GET()
        self.protocol_version = 'HTTP/1.1'
        self.send_response(200)
        self.send_header('Transfer-Encoding', 'chunked')
        self.send_header('Connection', 'close')
        self.end_headers()
        chunk = b'x' * 65536
        for _ in range(46):
            self.wfile.write(b'%x\\r\\n%s\\r\\n' % (len(chunk), chunk))
        self.wfile.write(b'0\\r\\n\\r\\n')
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', 8097), H).serve_forever()
`

const LIMIT_NOTE = /more than the 64 MiB k3sbook reads from a host into memory; raise the limit with K3SBOOK_MAX_HOST_READ/

// one lab host for both tests: each cleans up what it made
let lab: LabInfo & { stop(): Promise<void> }
before(async () => {
  lab = await startLab({ hosts: 1, tag: 'reads' })
})
after(() => lab?.stop())

test('slurp and uri of 300 MB fail with the limit and how to raise it; small reads work; RSS stays bounded', { timeout: 600_000 }, async () => {
  const h = lab.hosts[0].index
  await sh(lab, h, 'mkdir -p /opt/reads && head -c 300000000 /dev/zero > /opt/reads/big.bin && echo "small file" > /opt/reads/small.txt')
  await sh(lab, h, `cat > /opt/reads-server.py <<'EOF'\n${SERVER}EOF`)
  await sh(lab, h, 'cd /opt/reads && { nohup python3 /opt/reads-server.py >/dev/null 2>&1 & echo $! > /opt/reads.pid; }')
  try {
    for (let i = 0; i < 50; i++) {
      if ((await sh(lab, h, 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8097/small.txt || true')) === '200') break
      await new Promise((r) => setTimeout(r, 200))
    }
    const dir = tree({ 'reads.yml': PLAY, 'second.yml': SECOND })
    const sent = async () => Number(await sh(lab, h, 'cat /sys/class/net/eth0/statistics/tx_bytes'))
    const sentBefore = await sent()
    const r = await timed(['run', 'reads.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
    // what the host sent over its network (to the controller): neither 300 MB crossed it — slurp
    // does not read the file, curl stops at the headers of a body announced as too large
    const sentMb = ((await sent()) - sentBefore) / 1e6
    assert.ok(sentMb < 20, `the host sent ${sentMb.toFixed(1)} MB`)
    console.log(`slurp and uri of 300 MB: peak RSS ${r.maxRssMb.toFixed(0)} MB`)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const out = r.stdout
    assert.match(out, new RegExp(`slurp: /opt/reads/big.bin is 300000000 bytes \\(286\\.1 MiB\\), ${LIMIT_NOTE.source}`))
    assert.match(out, new RegExp(`uri: the response body of http://127.0.0.1:8097/big.bin is 300000000 bytes \\(286\\.1 MiB\\), ${LIMIT_NOTE.source}`))
    assert.equal(existsSync(join(dir, 'fetched/big.bin')), false)
    assert.equal(existsSync(join(dir, 'fetched/small.txt')), true)
    // 300 MB read whole would be more than this bound already as bytes plus its base64
    assert.ok(r.maxRssMb < 600, `peak RSS ${r.maxRssMb} MB`)

    // the limit is set as the message says; a body of unknown length is counted as it streams
    const set = await timed(['run', 'second.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir, { K3SBOOK_MAX_HOST_READ: '1K' })
    assert.match(set.stdout, /slurp: \/opt\/reads\/big.bin is 300000000 bytes \(286\.1 MiB\), more than the 1 KiB k3sbook reads/)
    assert.match(set.stdout, /uri: the response body of http:\/\/127\.0\.0\.1:8097\/chunked is 3014656 bytes \(2\.9 MiB\), more than the 1 KiB k3sbook reads/)
  } finally {
    await sh(lab, h, 'kill $(cat /opt/reads.pid) 2>/dev/null; rm -rf /opt/reads /opt/reads.pid /opt/reads-server.py; true')
  }
})

const fetchPlay = (src: string) => `- hosts: all
  gather_facts: false
  tasks:
    - name: Fetch it
      fetch: { src: ${src}, dest: fetched/, flat: true }
      register: got
    - name: Show checksum
      debug: { var: got.checksum }
`

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const b of createReadStream(path)) h.update(b as Buffer)
  return h.digest('hex')
}

test(
  'fetch streams to disk: 300 MB arrive whole with the RSS of 30 MB, a match is not sent again, an interrupted fetch leaves the old file',
  { timeout: 600_000 },
  async (t) => {
    const h = lab.hosts[0]
    await sh(
      lab,
      h.index,
      'mkdir -p /opt/fetch && head -c 300000000 /dev/urandom > /opt/fetch/big.bin && head -c 30000000 /opt/fetch/big.bin > /opt/fetch/mid.bin',
    )
    const hostSums = async (f: string) => {
      const [s256, s1] = (await sh(lab, h.index, `sha256sum < ${f} | cut -d" " -f1; sha1sum < ${f} | cut -d" " -f1`)).split('\n')
      return { s256, s1 }
    }
    const dir = tree({ 'mid.yml': fetchPlay('/opt/fetch/mid.bin'), 'big.yml': fetchPlay('/opt/fetch/big.bin') })
    t.after(() => rmSync(dir, { recursive: true, force: true })) // 600 MB of fetched files
    const dest = join(dir, 'fetched/big.bin')
    const temps = () => readdirSync(join(dir, 'fetched')).filter((n) => n.startsWith('.big.bin.k3sbook.'))
    try {
      const mid = await timed(['run', 'mid.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
      assert.equal(mid.code, 0, mid.stdout + mid.stderr)
      assert.equal(await sha256File(join(dir, 'fetched/mid.bin')), (await hostSums('/opt/fetch/mid.bin')).s256)

      const big = await timed(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
      console.log(`fetch: peak RSS ${mid.maxRssMb.toFixed(0)} MB for 30 MB, ${big.maxRssMb.toFixed(0)} MB for 300 MB`)
      assert.equal(big.code, 0, big.stdout + big.stderr)
      const sums = await hostSums('/opt/fetch/big.bin')
      assert.equal(await sha256File(dest), sums.s256)
      assert.ok(big.stdout.includes(`got.checksum: ${sums.s1}`), big.stdout) // Ansible's checksum: the sha1
      assert.match(big.stdout, new RegExp(`${h.name}\\s+: ok=2\\s+changed=1`))
      assert.deepEqual(temps(), [])
      // ten times the bytes, not more memory: the file is never held whole (it was, and capped at 64 MiB)
      assert.ok(big.maxRssMb < mid.maxRssMb + 40, `peak RSS ${big.maxRssMb} MB for 300 MB vs ${mid.maxRssMb} MB for 30 MB`)
      assert.ok(big.maxRssMb < 300, `peak RSS ${big.maxRssMb} MB`)

      // a matching copy is not sent again: checksums are compared first, the file is not replaced
      const before = statSync(dest)
      const again = await timed(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
      assert.equal(again.code, 0, again.stdout + again.stderr)
      assert.match(again.stdout, new RegExp(`${h.name}\\s+: ok=2\\s+changed=0`))
      assert.ok(again.stdout.includes(`got.checksum: ${sums.s1}`), again.stdout)
      assert.equal(statSync(dest).ino, before.ino)
      assert.equal(statSync(dest).mtimeMs, before.mtimeMs)

      // the host's file changes; fetches of it are stopped mid-transfer: the old destination stays whole
      await sh(lab, h.index, 'echo changed >> /opt/fetch/big.bin')
      const underWay = () => until(() => temps().some((n) => statSync(join(dir, 'fetched', n)).size > 5_000_000), 60_000, 'the fetch to be under way')
      const term = spawnCli(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir, env: { K3SBOOK_INTERRUPT_GRACE: '0' } })
      await underWay()
      term.child.kill('SIGTERM')
      const termed = await term.done
      assert.equal(termed.code, 130, termed.stdout + termed.stderr)
      assert.equal(await sha256File(dest), sums.s256, 'SIGTERM: the old destination is whole')
      assert.deepEqual(temps(), [], 'SIGTERM: the temp file is removed')

      const killed = spawnCli(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain'], { cwd: dir })
      await underWay()
      killed.child.kill('SIGKILL')
      await killed.done
      assert.equal(await sha256File(dest), sums.s256, 'kill -9: the old destination is whole')

      // and a rerun converges on the new content
      const rerun = await timed(['run', 'big.yml', '-i', lab.inventoryPath, '-o', 'plain'], dir)
      assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr)
      assert.equal(await sha256File(dest), (await hostSums('/opt/fetch/big.bin')).s256)
    } finally {
      await sh(lab, h.index, 'rm -rf /opt/fetch; true')
    }
  },
)
