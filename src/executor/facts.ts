// `gather_facts`: the facts roles commonly read, collected in one round trip with plain POSIX sh
// (the probe and its parse live with the modules, which gather them too: src/modules/lib/facts.ts).
import type { Connection, ExecResult } from '../connection/types.js'
import type { Vars } from '../model.js'
import { FACTS_SCRIPT, parseFacts } from '../modules/lib/facts.js'

export { FACTS_SCRIPT }

/**
 * Facts as Ansible exposes them: `ansible_facts.X` and the `ansible_X` variables. `ridden`: the
 * facts probe's answer when it went out with a read-ahead; otherwise it is run now.
 */
export async function gatherFacts(conn: Connection, ridden?: ExecResult): Promise<{ ansible_facts: Vars; vars: Vars }> {
  const r = ridden ?? (await conn.exec(FACTS_SCRIPT))
  const facts = parseFacts(r.stdout.toString())
  const vars: Vars = {}
  for (const [k, v] of Object.entries(facts)) vars[`ansible_${k}`] = v
  return { ansible_facts: facts, vars }
}
