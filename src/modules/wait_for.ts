// wait_for: waits on the host for a TCP port to open or close, a file to appear or go, or a regex
// to show up in a file, with a timeout. Never changes anything; it fails when the time runs out.
import type { Module } from './types.js'
import { choice, int, objectSchema, str, strList } from './provision-util.js'

export const waitForSchema = objectSchema({
  host: str('Host name or address to connect to, seen from the target host. Default 127.0.0.1.'),
  port: int('TCP port to wait for.'),
  path: str('File to wait for (present, or containing `search_regex`), or to go away with state=absent.'),
  search_regex: str('Regular expression (extended, as grep -E) the file (or the port\'s first bytes) must contain.'),
  state: choice(['started', 'stopped', 'present', 'absent', 'drained'], 'Port: `started` (accepting) or `stopped` (refusing); path: `present`/`started` or `absent`. Default: started.'),
  timeout: int('Seconds to wait in total. Default 300.'),
  connect_timeout: int('Seconds for each connection attempt. Default 5.'),
  delay: int('Seconds to wait before the first check. Default 0.'),
  sleep: int('Seconds between checks. Default 1.'),
  msg: str('Message for the failure when the time runs out.'),
  exclude_hosts: strList('Accepted for compatibility (used only with state=drained).'),
  active_connection_states: strList('Accepted for compatibility (used only with state=drained).'),
})

export const waitForModule: Module<any> = {
  name: 'wait_for',
  description: 'Waits on the host for a port to open or close, a file to appear or go, or text to show up in a file.',
  schema: waitForSchema,
  async plan() {
    return { status: 'fail', msg: 'wait_for: not implemented yet' }
  },
}
