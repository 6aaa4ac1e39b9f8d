// Shared pieces of the reporters: unified diffs, the recap table, redaction of secrets.
import { createTwoFilesPatch } from 'diff'
import { formatPos } from '../errors.js'
import type { HostCounts, HostResultEvent, RunEvent } from '../executor/events.js'
import type { FileDiff } from '../modules/types.js'
import { MIN_REDACT_LENGTH, redactionForms, SECRET_NAME } from '../secrets.js'
import { trimEndOf } from '../text.js'

export interface Reporter {
  handle(e: RunEvent): void
  /** Wait until everything is drawn (listr2 finishes its frame). */
  close(): Promise<void>
}

export function unifiedDiff(d: FileDiff): string {
  if (d.skipped) return `--- before: ${d.path}\n+++ after: ${d.path}\n${d.skipped}\n`
  const before = d.before.endsWith('\n') || d.before === '' ? d.before : d.before + '\n\\ No newline at end of file\n'
  const after = d.after.endsWith('\n') || d.after === '' ? d.after : d.after + '\n\\ No newline at end of file\n'
  const patch = createTwoFilesPatch(`before: ${d.path}`, `after: ${d.path}`, before, after, undefined, undefined, { context: 3 })
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n')
  // one trailing newline: trimEndOf, as /\n+$/ is quadratic on a long run of newlines
  return patch.endsWith('\n') ? trimEndOf(patch, '\n') + '\n' : patch
}

/** The recap table; a check run adds how many outcomes were unknown (each also counted as changed). */
export function recapLines(recap: Record<string, HostCounts>, check = false): string[] {
  const hosts = Object.keys(recap).sort()
  const w = Math.max(0, ...hosts.map((h) => h.length))
  return hosts.map((h) => {
    const c = recap[h]
    return `${h.padEnd(w)} : ok=${c.ok}  changed=${c.changed}  unreachable=${c.unreachable}  failed=${c.failed}  skipped=${c.skipped}  rescued=${c.rescued}  ignored=${c.ignored}${check ? `  unknown=${c.unknown ?? 0}` : ''}`
  })
}

/** A debug line: the message, or `name: value` for `debug: var=name` (as Ansible prints it). */
export function debugText(e: Extract<RunEvent, { type: 'debug' }>): string {
  const show = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'))
  return e.var !== undefined ? `${e.var}: ${show(e.value)}` : show(e.msg)
}

/**
 * Text for a terminal or a log file: control characters a host could send — ESC sequences that move
 * the cursor, rewrite or erase lines, set the window title or the clipboard; a carriage return that
 * overwrites a line; C1 controls; bidirectional overrides that reorder what is shown — are written
 * as visible escapes (`^[`, `^M`, `<U+202E>`), as `cat -v` does, so a host cannot hide a failure or
 * fake a line. Newlines and tabs stay. One pass of a character class: linear.
 */
export function visible(s: string): string {
  return CONTROL.test(s) ? s.replace(CONTROLS, shown) : s
}
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
const CONTROLS = new RegExp(CONTROL.source, 'g')
function shown(c: string): string {
  const n = c.charCodeAt(0)
  if (n < 0x20) return '^' + String.fromCharCode(n + 0x40)
  if (n === 0x7f) return '^?'
  return `<U+${n.toString(16).toUpperCase().padStart(4, '0')}>`
}

export function pos(p: { file: string; line: number; col: number } | undefined): string {
  return p ? formatPos(p) : ''
}

/**
 * Replaces every secret with "********" in all text a reporter prints. What is secret is decided
 * upstream, by taint (src/secrets.ts): vault values, variables named like secrets, no_log results,
 * and everything the template engine computed from one of these. Multi-line secrets are masked
 * line by line (a diff prefixes each line, a stderr tail cuts the last newline), and values shorter
 * than MIN_REDACT_LENGTH are left alone so common words are not blanked.
 */
export class Redactor {
  private own = new Set<string>()
  private seen = -1
  private ownChanged = true
  private list: string[] = []
  add(value: unknown): void {
    if (typeof value !== 'string') return
    const before = this.own.size
    for (const f of [value, value.trim(), ...(value.includes('\n') ? value.split(/\r?\n/).flatMap((l) => [l, l.trim()]) : [])])
      if (f.length >= MIN_REDACT_LENGTH) this.own.add(f)
    if (this.own.size !== before) this.ownChanged = true
  }
  private secrets(): string[] {
    const g = redactionForms()
    if (g.version !== this.seen || this.ownChanged) {
      this.seen = g.version
      this.ownChanged = false
      this.list = [...new Set([...g.list(), ...this.own])].sort((a, b) => b.length - a.length)
    }
    return this.list
  }
  get size(): number {
    return this.secrets().length
  }
  text(s: string): string {
    let out = s
    for (const v of this.secrets()) if (out.includes(v)) out = out.split(v).join('********')
    return out
  }
  /** Deep copy of any event-like value with secrets masked in every string. */
  value<T>(v: T): T {
    if (this.secrets().length === 0) return v
    if (typeof v === 'string') return this.text(v) as T
    if (Array.isArray(v)) return v.map((x) => this.value(x)) as T
    if (v && typeof v === 'object' && !(v instanceof Buffer)) {
      const out: Record<string, unknown> = {}
      for (const [k, x] of Object.entries(v)) out[k] = this.value(x)
      return out as T
    }
    return v
  }
}

/** What a failure shows, in the terminal and in plain lines: message, command and rc, the tails of stdout and stderr. */
export function failureLines(e: HostResultEvent, indent: string): string[] {
  const out: string[] = []
  const block = (label: string, text: string) =>
    `${indent}${label}: ${text
      .replace(/\n$/, '')
      .split('\n')
      .join(`\n${indent}${' '.repeat(label.length + 2)}`)}`
  if (e.msg) out.push(`${indent}${e.msg.split('\n').join(`\n${indent}`)}`)
  if (e.command) out.push(`${indent}command: ${e.command}${e.rc !== undefined ? ` (exit ${e.rc})` : ''}`)
  else if (e.rc !== undefined) out.push(`${indent}rc: ${e.rc}`)
  if (e.stdout) out.push(block('stdout (last lines)', e.stdout))
  if (e.stderr) out.push(block('stderr', e.stderr))
  return out
}

export { SECRET_NAME }
