// A no_log task's result is secret as a whole: every string in it (stdout, stderr, the command,
// loop items and their labels, file contents) is marked, so a later task that prints or copies it
// is masked too. The executor's own fixed texts are left out: marking "All items completed" would
// blank it in every other task's output.
import type { Vars } from '../model.js'
import { markSecret } from '../secrets.js'

const FIXED = new Set(['All items completed', 'One or more items failed', 'Conditional result was False', 'failed_when condition was true'])

export function markNoLogResult(result: Vars): void {
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (!FIXED.has(v)) markSecret(v)
    } else if (depth < 64 && Array.isArray(v)) for (const x of v) walk(x, depth + 1)
    else if (depth < 64 && v && typeof v === 'object') for (const x of Object.values(v)) walk(x, depth + 1)
  }
  walk(result, 0)
}
