// A no_log task's result is secret as a whole: every string in it (stdout, stderr, the command,
// loop items and their labels, file contents) is marked, so a later task that prints or copies it
// is masked too. The executor's own fixed texts are left out: marking "All items completed" would
// blank it in every other task's output.
import type { Vars } from '../model.js'
import { eachString, isSecret, markSecret } from '../secrets.js'

const FIXED = new Set(['All items completed', 'One or more items failed', 'Conditional result was False', 'failed_when condition was true'])

/**
 * `known`: strings the run already holds as plain data (the host's facts, and those its play
 * gathered): printing one of them reveals nothing the task hid. willshersystems.sshd gathers facts again under no_log, and marking
 * them blanked "systemd", "Debian" and "x86_64" in every later line, condition texts included.
 */
export function markNoLogResult(result: Vars, known?: (s: string) => boolean): void {
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (!FIXED.has(v) && !known?.(v)) markSecret(v)
    } else if (depth < 64 && Array.isArray(v)) for (const x of v) walk(x, depth + 1)
    else if (depth < 64 && v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1)
  }
  walk(result, 0)
}

const plainCache = new WeakMap<Vars, Set<string>>()

/**
 * The strings of a host's facts that are not themselves secret (for markNoLogResult's `known`):
 * built when a no_log task first needs them, once per facts object.
 */
export function plainStrings(facts: Vars): Set<string> {
  let out = plainCache.get(facts)
  if (!out) {
    const set = new Set<string>()
    eachString(facts, (s) => {
      if (!isSecret(s)) set.add(s)
    })
    plainCache.set(facts, (out = set))
  }
  return out
}
