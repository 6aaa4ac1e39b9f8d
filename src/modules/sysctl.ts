// sysctl: a kernel parameter's value in a sysctl file (and, with `sysctl_set`, in the running
// kernel). The file edit is a pure line edit compared with the file's content; the running value
// comes from `sysctl -n` in the same probe, so a run with nothing to do costs one round trip.
import { shQuote } from '../connection/quote.js'
import type { Module, Step } from './types.js'
import {
  alias,
  bool,
  choice,
  guardPlan,
  moduleSchema,
  requireOneOf,
  sections,
  str,
  toBool,
  ArgError,
  looseScalar,
  writeFileStep,
  effectKey,
  defineModule,
} from './lib/index.js'

const name = str('Dotted parameter name, e.g. `net.ipv4.ip_forward`.')
const value = looseScalar('Desired value (required with state=present).')

export const sysctlSchema = moduleSchema(
  {
    name,
    key: alias('name', name),
    value,
    val: alias('value', value),
    state: choice(['present', 'absent'], 'Whether the entry is in the sysctl file. Default: present.'),
    reload: bool('Apply the file (`sysctl -p FILE`) after changing it. Default true.'),
    sysctl_set: bool("Also check the running kernel's value with `sysctl -n` and set it with `sysctl -w` when it differs. Default false."),
    ignoreerrors: bool('Ignore unknown keys when reloading (`sysctl -e`).'),
    sysctl_file: str('File to edit. Default /etc/sysctl.conf.'),
  },
  requireOneOf('name', 'key'),
)

/** Values compare as sysctl prints them: whitespace runs (tabs in multi-value keys) collapse. */
export function normalizeSysctlValue(v: string): string {
  return v.trim().replace(/\s+/g, ' ')
}

/** `a/b/c` and `a.b.c` name the same key. */
function keyOf(k: string): string {
  return k.trim().replace(/\//g, '.')
}

/**
 * `key = value` on a sysctl.conf line (a leading `-` ignores errors), or undefined for comments and
 * other lines. By hand, not /^\s*-?([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/: that regex backtracks
 * in polynomial time on a long line of spaces (a 1 kB line took minutes).
 */
export function sysctlAssignment(line: string): { key: string; value: string } | undefined {
  let s = line.trimStart()
  if (s.startsWith('-')) s = s.slice(1)
  if (!s || '#;='.includes(s[0]) || s.trimStart() !== s) return undefined
  const eq = s.indexOf('=')
  if (eq < 0) return undefined
  return { key: s.slice(0, eq).trimEnd(), value: s.slice(eq + 1).trim() }
}

/** The value a sysctl file sets for `name` (the last assignment wins, as `sysctl -p` applies them in order). */
export function sysctlFileValue(text: string, name: string): string | undefined {
  let v: string | undefined
  for (const line of text.split('\n')) {
    const m = sysctlAssignment(line)
    if (m && keyOf(m.key) === keyOf(name)) v = m.value
  }
  return v
}

/**
 * Ansible's edit: the first line setting `name` becomes `name=value`, later duplicates go; with
 * no such line one is appended; `value` undefined removes every line for `name`.
 */
export function sysctlEdit(text: string, name: string, value: string | undefined): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n')
  const out: string[] = []
  let done = false
  for (const line of lines) {
    const m = sysctlAssignment(line)
    if (m && keyOf(m.key) === keyOf(name)) {
      if (value !== undefined && !done) out.push(`${name}=${value}`)
      done = true
      continue
    }
    out.push(line)
  }
  if (!done && value !== undefined) out.push(`${name}=${value}`)
  return out.length ? out.join('\n') + '\n' : ''
}

export const sysctlModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'sysctl',
  description: 'Sets a kernel parameter in a sysctl file and, when asked, in the running kernel.',
  schema: sysctlSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const key = String(args.name ?? args.key)
      const state = String(args.state ?? 'present')
      const raw = args.value ?? args.val
      if (state === 'present' && (raw === undefined || raw === null)) throw new ArgError('sysctl: value is required with state=present')
      const value = state === 'present' ? normalizeSysctlValue(typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw)) : undefined
      const file = String(args.sysctl_file ?? '/etc/sysctl.conf')
      const setLive = toBool(args.sysctl_set, false)
      const reload = toBool(args.reload, true)
      const info = (await ctx.reader.files([file], { content: true, follow: true })).get(file)!
      if (info.unknown) return { status: 'unknown', reason: info.unknown, steps: [] }
      const before = info.content?.toString('utf8') ?? ''
      const ignore = toBool(args.ignoreerrors, false) ? '-e ' : ''
      // the running value, as Ansible's module reads it (`sysctl -e -n`: an unknown key reads as
      // empty); undefined when sysctl fails. Read with sysctl_set or reload: a kernel that differs
      // is set (sysctl_set) or reloaded.
      let live: string | undefined
      let readLive = false
      if (value !== undefined && (setLive || reload)) {
        readLive = true
        const r = await ctx.reader.probe(`echo @@v; sysctl -e -n ${shQuote(key)} 2>/dev/null; echo @@rc; echo $?`)
        const s = sections(r.stdout.toString())
        live = s.rc?.trim() === '0' ? normalizeSysctlValue(s.v ?? '') : undefined
      }
      const fileValue = sysctlFileValue(before, key)
      const fileOk =
        value === undefined
          ? fileValue === undefined
          : fileValue !== undefined && normalizeSysctlValue(fileValue) === value && sysctlEdit(before, key, value) === before
      // Ansible's decision (ansible.posix.sysctl): the file first, then with reload a running value
      // that differs, and with sysctl_set one to set
      const liveDiffers = readLive && live !== value
      const setProc = setLive && live !== undefined && live !== value
      const changed = !fileOk || liveDiffers
      const result = { name: key, value: value ?? null, sysctl_file: file }
      if (!changed) return { status: 'ok', result: { ...result, changed: false } }
      const after = fileOk ? before : sysctlEdit(before, key, value)
      const steps: Step[] = []
      const changes = []
      if (!fileOk) {
        changes.push({
          summary: value === undefined ? `remove ${key} from ${file}` : `${key}=${value} in ${file}`,
          ...(ctx.diff ? { diff: { path: file, before, after } } : {}),
        })
        steps.push(writeFileStep(file, Buffer.from(after), {}))
      }
      if (liveDiffers) changes.push({ summary: `${key}: ${live === undefined || live === '' ? '(unset)' : live} → ${value} (running kernel)` })
      if (setProc)
        steps.push({
          describe: `sysctl -w ${key}=${value}`,
          script: `sysctl ${ignore}-w ${shQuote(`${key}=${value}`)}`,
          effects: [{ key: effectKey.sysctl(key), value }],
        })
      if (reload) steps.push({ describe: `sysctl -p ${file}`, script: `sysctl ${ignore}-p ${shQuote(file)} >/dev/null` })
      return { status: 'change', changes, steps, result: { ...result, changed: true } }
    }),
})
