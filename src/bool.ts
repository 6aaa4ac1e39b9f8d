// Ansible's one boolean conversion (ansible.module_utils.parsing.convert_bool.boolean), used for
// module arguments, playbook keywords (no_log, become, ...), inventory variables and the
// `truthy(convert_bool=true)` test alike. Exact word sets, so they are written out here rather than
// taken from a library: the strings are compared after .lower().strip(), the numbers as numbers.
// (The Jinja `bool` filter is a different, looser function in Ansible: see template/filters.ts.)

/** BOOLEANS_TRUE without its non-string members (1, 1.0, True). */
export const BOOLEANS_TRUE: readonly string[] = ['y', 'yes', 'on', '1', 'true', 't']
/** BOOLEANS_FALSE without its non-string members (0, 0.0, False). */
export const BOOLEANS_FALSE: readonly string[] = ['n', 'no', 'off', '0', 'false', 'f']

/**
 * boolean(value, strict=True): true or false for a value Ansible takes as a boolean, undefined for
 * anything else (Ansible raises there; each caller says what it means in its own error).
 */
export function asBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined
  if (typeof v !== 'string') return undefined
  const s = v.toLowerCase().trim()
  if (BOOLEANS_TRUE.includes(s)) return true
  if (BOOLEANS_FALSE.includes(s)) return false
  return undefined
}

/** A JSON Schema pattern for the boolean words, any letter case, surrounding whitespace allowed (as strip() does). */
export const BOOL_PATTERN = `^\\s*(?:${[...BOOLEANS_TRUE, ...BOOLEANS_FALSE]
  .sort((a, b) => b.length - a.length)
  .map((w) => [...w].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join(''))
  .join('|')})\\s*$`
