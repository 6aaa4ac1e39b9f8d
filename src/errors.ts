// One base class, a few leaves, and the `file:line:col: message (hint)` shape that editors and CI parse.

export interface SourcePos {
  file: string
  line: number // 1-based
  col: number // 1-based
}

export function formatPos(pos: SourcePos | undefined): string {
  return pos ? `${pos.file}:${pos.line}:${pos.col}` : ''
}

export class K3sbookError extends Error {
  readonly pos?: SourcePos
  readonly hint?: string
  constructor(message: string, opts: { pos?: SourcePos; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.pos = opts.pos
    this.hint = opts.hint
  }
  /** `file:line:col: message (hint)` */
  format(): string {
    const where = this.pos ? `${formatPos(this.pos)}: ` : ''
    return `${where}${this.message}${this.hint ? ` (${this.hint})` : ''}`
  }
}

/** Something wrong in inventories, playbooks, roles, vars files or templates: found before any host is contacted. */
export class ValidationError extends K3sbookError {}

/**
 * A template could not be rendered: syntax, an undefined variable, a failing filter. Thrown and
 * caught by the thousand while tasks are planned ahead (a template that reads what an earlier task
 * sets, a `default`), so it carries no stack trace: capturing one was ~5% of a 50-host run's CPU,
 * and the message and position are what it reports.
 */
export class TemplateError extends K3sbookError {
  constructor(message: string, opts: { pos?: SourcePos; hint?: string; cause?: unknown } = {}) {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(message, opts)
    } finally {
      Error.stackTraceLimit = limit
    }
  }
}

/** A host could not be reached or its connection broke: the host leaves the play as UNREACHABLE. */
export class ConnectionError extends K3sbookError {
  constructor(
    readonly host: string,
    message: string,
    opts: { pos?: SourcePos; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts)
  }
}

/** A remote command failed: carries host, the command, exit code and the tail of stderr. */
export class RemoteError extends K3sbookError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly rc: number | null,
    readonly stderr: string,
    opts: { pos?: SourcePos; hint?: string; message?: string } = {},
  ) {
    super(opts.message ?? `command failed with exit code ${rc}: ${tail(stderr, 5) || '(no stderr)'}`, opts)
  }
}

/**
 * A module argument that is wrong in a way only seen once the task's values are known (a bad mode,
 * a regular expression that does not compile, two arguments that exclude each other): the task
 * fails with this message instead of the run crashing. Plans turn it into a `fail` plan.
 */
export class ArgError extends K3sbookError {}

/** The lab could not be made or removed (not root, no unshare, address range in use, ...). */
export class LabError extends K3sbookError {}

export function tail(text: string, lines: number, maxChars = 16384): string {
  // trimEnd, not /\s+$/: that regex is quadratic on a long run of white space that does not end
  // the text (100 KB of spaces from a host took 22 s, with the event loop and signals blocked).
  const t = text.trimEnd()
  let start = 0
  let cut = t.length
  for (let n = 0; n < lines; n++) {
    const nl = cut > 0 ? t.lastIndexOf('\n', cut - 1) : -1
    if (nl < 0) {
      start = 0
      break
    }
    cut = nl
    start = nl + 1
  }
  // A few long lines (a host printing megabytes without a newline) are cut to their end too.
  if (t.length - start > maxChars) return `[… ${t.length - start - maxChars} characters cut]` + t.slice(t.length - maxChars)
  return t.slice(start)
}

export interface Diagnostic {
  severity: 'error' | 'warning'
  message: string
  pos?: SourcePos
  hint?: string
}

/**
 * Collects every problem found while loading, so `validate` can report all of them at once
 * rather than stopping at the first.
 */
export class Diagnostics {
  readonly items: Diagnostic[] = []
  error(message: string, pos?: SourcePos, hint?: string): void {
    this.items.push({ severity: 'error', message, pos, hint })
  }
  warn(message: string, pos?: SourcePos, hint?: string): void {
    this.items.push({ severity: 'warning', message, pos, hint })
  }
  add(err: unknown): void {
    if (err instanceof K3sbookError) this.items.push({ severity: 'error', message: err.message, pos: err.pos, hint: err.hint })
    else this.items.push({ severity: 'error', message: err instanceof Error ? err.message : String(err) })
  }
  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error')
  }
  get warnings(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'warning')
  }
  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error')
  }
  /** Sorted by file, line, col so output is stable; duplicates dropped. */
  sorted(): Diagnostic[] {
    const seen = new Set<string>()
    const out: Diagnostic[] = []
    for (const d of [...this.items].sort(compareDiag)) {
      const k = formatDiagnostic(d)
      if (!seen.has(k)) {
        seen.add(k)
        out.push(d)
      }
    }
    return out
  }
}

function compareDiag(a: Diagnostic, b: Diagnostic): number {
  const fa = a.pos?.file ?? ''
  const fb = b.pos?.file ?? ''
  if (fa !== fb) return fa < fb ? -1 : 1
  return (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0)
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.pos ? `${formatPos(d.pos)}: ` : ''
  const sev = d.severity === 'warning' ? 'warning: ' : ''
  return `${where}${sev}${d.message}${d.hint ? ` (${d.hint})` : ''}`
}

/** "did you mean …" for unknown keys, modules, roles. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD) {
      bestD = d
      best = c
    }
  }
  if (best === undefined) return undefined
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3))
  return bestD <= limit ? `did you mean "${best}"?` : undefined
}

export function editDistance(a: string, b: string): number {
  // optimal string alignment: insert, delete, substitute, and swapping two neighbours count one edit each
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1)
      rows[i][j] = d
    }
  }
  return rows[a.length][b.length]
}
