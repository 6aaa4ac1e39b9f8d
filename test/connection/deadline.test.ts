// The SSH handshake's deadline counts the server's silence, not the controller's stalls: bytes that
// arrived while the event loop was blocked keep the handshake alive (issue 18: a controller busy
// planning 150 hosts dropped 100 of them whose servers had answered).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { handshakeDeadline } from '../../src/connection/ssh.js'

async function server(onConn: (s: Socket) => void): Promise<{ srv: Server; port: number }> {
  const srv = createServer(onConn)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return { srv, port: (srv.address() as { port: number }).port }
}

function block(ms: number): void {
  const end = Date.now() + ms
  while (Date.now() < end) {
    /* a controller busy planning */
  }
}

test('a silent server times out after the deadline', async () => {
  const { srv, port } = await server(() => {})
  const sock = connect(port, '127.0.0.1')
  const t0 = Date.now()
  await new Promise<void>((resolve) => handshakeDeadline(sock, 200, () => resolve()))
  const waited = Date.now() - t0
  assert.ok(waited >= 200 && waited < 2000, `timed out after ${waited} ms`)
  sock.destroy()
  srv.close()
})

test('a server that answered while the controller was blocked past the deadline does not time out', async () => {
  const { srv, port } = await server((s) => s.write('SSH-2.0-test\r\n'))
  const sock = connect(port, '127.0.0.1')
  let timedOut = false
  const stop = handshakeDeadline(sock, 200, () => (timedOut = true))
  await new Promise((r) => setTimeout(r, 20))
  block(600) // the banner arrives meanwhile; the deadline's timer is overdue when the loop returns
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(timedOut, false, 'bytes read after the stall count as the server answering')
  stop()
  sock.destroy()
  srv.close()
})

test('cancelled, it never fires', async () => {
  const { srv, port } = await server(() => {})
  const sock = connect(port, '127.0.0.1')
  let fired = false
  handshakeDeadline(sock, 50, () => (fired = true))()
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(fired, false)
  sock.destroy()
  srv.close()
})
