// A no_log task's result is secret as a whole: every string in it (stdout, stderr, the command,
// loop items and their labels, file contents) is marked, so a later task that prints or copies it
// is masked too. The executor's own fixed texts are left out: marking "All items completed" would
// blank it in every other task's output.
import type { Vars } from '../model.js'
import { isSecret, markSecret } from '../secrets.js'
import { UnsafeString } from '../yamlfile.js'

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

/** The strings of a host's facts that are not themselves secret (for markNoLogResult's `known`). */
export function plainStrings(facts: Vars): Set<string> {
  const out = new Set<string>()
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (!isSecret(v)) out.add(v)
    } else if (v instanceof UnsafeString) {
      if (!isSecret(v.value)) out.add(v.value)
    } else if (depth < 64 && Array.isArray(v)) for (const x of v) walk(x, depth + 1)
    else if (depth < 64 && v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1)
  }
  walk(facts, 0)
  return out
}
