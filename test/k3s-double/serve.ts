// Serves the K3S test double as a K3S release over HTTP on the lab bridge, laid out like GitHub's
// release downloads (<base>/<version>/k3s, k3s-arm64, sha256sum-<arch>.txt), so the roles run the
// real download + checksum path against it.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export const K3S_DOUBLE_PATH = fileURLToPath(new URL('./k3s', import.meta.url))
export const K3S_DOUBLE_VERSION = 'v1.30.4+k3s1'

export interface ReleaseServer {
  /** Base URL for `k3s_release_url`. */
  url: string
  /** Requests served, by path (to assert "each byte fetched once"). */
  hits: Map<string, number>
  sha256: string
  close(): Promise<void>
}

export async function serveK3sDouble(host: string, opts: { port?: number; version?: string } = {}): Promise<ReleaseServer> {
  const version = opts.version ?? K3S_DOUBLE_VERSION
  const body = readFileSync(K3S_DOUBLE_PATH)
  const sha = createHash('sha256').update(body).digest('hex')
  const files = new Map<string, Buffer>([
    [`/${version}/k3s`, body],
    [`/${version}/k3s-arm64`, body],
    [`/${version}/sha256sum-amd64.txt`, Buffer.from(`${sha}  k3s\n${sha}  k3s-airgap-images-amd64.tar\n`)],
    [`/${version}/sha256sum-arm64.txt`, Buffer.from(`${sha}  k3s-arm64\n`)],
  ])
  const hits = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0])
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const f = files.get(path)
    if (!f) {
      res.writeHead(404).end('not found\n')
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.length }).end(f)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://${host}:${port}`,
    hits,
    sha256: sha,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
