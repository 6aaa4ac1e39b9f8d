// Shared pieces of the reporters: unified diffs, the recap table, redaction of secrets.
import { createTwoFilesPatch } from 'diff'
import { formatPos } from '../errors.js'
import type { HostCounts, RunEvent } from '../executor/events.js'
import type { FileDiff } from '../modules/types.js'

export interface Reporter {
  handle(e: RunEvent): void
  /** Wait until everything is drawn (listr2 finishes its frame). */
  close(): Promise<void>
}

export function unifiedDiff(d: FileDiff): string {
  const before = d.before.endsWith('\n') || d.before === '' ? d.before : d.before + '\n\\ No newline at end of file\n'
  const after = d.after.endsWith('\n') || d.after === '' ? d.after : d.after + '\n\\ No newline at end of file\n'
  return createTwoFilesPatch(`before: ${d.path}`, `after: ${d.path}`, before, after, undefined, undefined, { context: 3 })
    .split('\n')
    .filter((l) => !l.startsWith('====='))
    .join('\n')
    .replace(/\n+$/, '\n')
}

export function recapLines(recap: Record<string, HostCounts>): string[] {
  const hosts = Object.keys(recap).sort()
  const w = Math.max(0, ...hosts.map((h) => h.length))
  return hosts.map((h) => {
    const c = recap[h]
    return `${h.padEnd(w)} : ok=${c.ok}  changed=${c.changed}  unreachable=${c.unreachable}  failed=${c.failed}  skipped=${c.skipped}  rescued=${c.rescued}  ignored=${c.ignored}`
  })
}

export function pos(p: { file: string; line: number; col: number } | undefined): string {
  return p ? formatPos(p) : ''
}

/**
 * Replaces every secret value with "********" in all text a reporter prints. Secrets are the values
 * of variables marked secret (by name or from an encrypted vars file); short values are ignored to
 * avoid masking common words.
 */
export class Redactor {
  private secrets: string[] = []
  add(value: unknown): void {
    if (typeof value === 'string' && value.length >= 4 && !this.secrets.includes(value)) {
      this.secrets.push(value)
      this.secrets.sort((a, b) => b.length - a.length)
    }
  }
  get size(): number {
    return this.secrets.length
  }
  text(s: string): string {
    let out = s
    for (const v of this.secrets) if (out.includes(v)) out = out.split(v).join('********')
    return out
  }
  /** Deep copy of any event-like value with secrets masked in every string. */
  value<T>(v: T): T {
    if (this.secrets.length === 0) return v
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

/** Variable names that mark a value as secret (besides values loaded from encrypted vars files). */
export const SECRET_NAME = /(pass(word|wd)?|secret|token|private_key|datastore_endpoint|api_key|vault)/i
