// Small pure helpers: hashes, diffs, output in Ansible's result shape, probe sections, Python's
// regular expressions and replacement templates, byte-wise text.
import { createHash } from 'node:crypto'
import type { ExecResult } from '../../connection/types.js'
import { translatePattern } from '../../template/pyregex.js'
import type { FileDiff, Plan, Step, StepResult } from '../types.js'
import { ArgError } from './args.js'

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex')
}
export function sha1(b: Buffer | string): string {
  return createHash('sha1').update(b).digest('hex')
}
export function md5(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex')
}

/** Text for a diff: binary or unknown content is summarized instead of shown. */
export function diffText(b: Buffer | undefined): string {
  if (!b) return ''
  if (b.includes(0)) return `(binary, ${b.length} bytes)\n`
  return b.toString('utf8')
}

/** Ansible's MAX_FILE_SIZE_FOR_DIFF default: a side larger than this is not diffed ("diff skipped"). */
export const MAX_DIFF_SIZE = 104448

/**
 * A file's diff, or Ansible's one-line note when a side is larger than MAX_DIFF_SIZE (`beforeSize`:
 * the host file's size, when its content was not read because of it). Nothing of a large side is
 * turned into text: a 50 MB template's diff would cost hundreds of MB.
 */
export function fileDiff(path: string, before: Buffer | undefined, after: Buffer | string, beforeSize?: number): FileDiff {
  if (Math.max(before?.length ?? 0, beforeSize ?? 0) > MAX_DIFF_SIZE)
    return { path, before: '', after: '', skipped: `diff skipped: destination file size is greater than ${MAX_DIFF_SIZE}` }
  if (Buffer.byteLength(after) > MAX_DIFF_SIZE)
    return { path, before: '', after: '', skipped: `diff skipped: source file size is greater than ${MAX_DIFF_SIZE}` }
  return { path, before: diffText(before), after: typeof after === 'string' ? after : diffText(after) }
}

/** Lines of text the way Python's splitlines() cuts them for stdout_lines (no trailing empty line). */
export function splitLines(s: string): string[] {
  if (s === '') return []
  const parts = s.split(/\r\n|\n|\r/)
  if (parts[parts.length - 1] === '') parts.pop()
  return parts
}

// ---------------------------------------------------------------- Python regular expressions

/**
 * A Python `re` pattern as a JS RegExp with the same meaning on one line of text: `$` also
 * matches before a final newline (Python's rule, so `^foo$` matches "foo\n"), `(?P<n>…)` named
 * groups, `\A`/`\Z`, and leading inline flags `(?i)`, `(?m)`, `(?s)`.
 */
export function pyRegex(pattern: string, extraFlags = ''): RegExp {
  let flags = new Set(extraFlags)
  let p = pattern
  for (let m = /^\(\?([aiLmsux]+)\)/.exec(p); m; m = /^\(\?([aiLmsux]+)\)/.exec(p)) {
    for (const f of m[1])
      if ('ims'.includes(f)) flags.add(f)
      else if (f === 'x') throw new ArgError(`regular expression ${pattern}: the verbose flag (?x) is not supported`)
    p = p.slice(m[0].length)
  }
  const out = translatePattern(p, flags.has('m'))
  flags.delete('u')
  try {
    return new RegExp(out, [...flags].join(''))
  } catch (e) {
    throw new ArgError(`bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`)
  }
}

const PY_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\' }

/** Python's match.expand(template): `\1`, `\g<1>`, `\g<name>`, and the usual escapes. */
export function pyExpand(m: RegExpExecArray, template: string): string {
  let out = ''
  const group = (g: string) => {
    const v = /^\d+$/.test(g) ? m[Number(g)] : m.groups?.[g]
    if (/^\d+$/.test(g) && Number(g) >= m.length) throw new ArgError(`invalid group reference ${g}`)
    return v ?? ''
  }
  for (let i = 0; i < template.length; i++) {
    const c = template[i]
    if (c !== '\\') {
      out += c
      continue
    }
    const rest = template.slice(i + 1)
    let mm: RegExpExecArray | null
    if ((mm = /^g<([^>]*)>/.exec(rest))) {
      out += group(mm[1])
      i += mm[0].length
    } else if ((mm = /^0[0-7]{0,2}/.exec(rest)) || (mm = /^[0-7]{3}/.exec(rest))) {
      out += String.fromCharCode(parseInt(mm[0], 8))
      i += mm[0].length
    } else if ((mm = /^[1-9]\d?/.exec(rest))) {
      out += group(mm[0])
      i += mm[0].length
    } else if (rest[0] !== undefined && PY_ESCAPES[rest[0]] !== undefined) {
      out += PY_ESCAPES[rest[0]]
      i++
    } else if (rest[0] !== undefined && /[A-Za-z]/.test(rest[0])) {
      throw new ArgError(`bad escape \\${rest[0]} in the replacement`)
    } else {
      out += '\\' + (rest[0] ?? '')
      i++
    }
  }
  return out
}

/** Bytes as a string with one char per byte, so edits work on any file as Ansible's (byte-wise) do. */
export function bin(b: Buffer | string): string {
  return typeof b === 'string' ? Buffer.from(b, 'utf8').toString('latin1') : b.toString('latin1')
}
export function unbin(s: string): Buffer {
  return Buffer.from(s, 'latin1')
}

export function out(r: ExecResult): string {
  return r.stdout.toString('utf8')
}

export function err(r: ExecResult): string {
  return r.stderr.toString('utf8')
}

/** stdout/stderr of the applied steps, joined, in Ansible's result shape. */
export function stepOutput(steps: StepResult[] | undefined): { stdout: string; stderr: string; stdout_lines: string[]; stderr_lines: string[]; rc?: number } {
  const stdout = (steps ?? []).map((s) => s.stdout.toString('utf8')).join('')
  const stderr = (steps ?? []).map((s) => s.stderr.toString('utf8')).join('')
  const last = steps?.[steps.length - 1]
  return { stdout, stderr, stdout_lines: lines(stdout), stderr_lines: lines(stderr), ...(last ? { rc: last.rc } : {}) }
}

/** Ansible's stdout_lines: Python's splitlines(). */
export const lines = splitLines

export function isChanged(plan: Plan): boolean {
  return plan.status === 'change' || plan.status === 'unknown'
}

export function step(describe: string, script: string, extra: Partial<Step> = {}): Step {
  return { describe, script, ...extra }
}

/** Parses `KEY=VALUE` lines (systemctl show, getent-like probes, our own probe sections). */
export function parseKeyValues(text: string): Record<string, string> {
  const r: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) r[line.slice(0, i)] = line.slice(i + 1)
  }
  return r
}

/** Splits a probe's output into sections marked by lines `@@NAME`. */
export function sections(text: string): Record<string, string> {
  const r: Record<string, string> = {}
  let cur: string | undefined
  const buf: string[] = []
  const flush = () => {
    if (cur !== undefined) r[cur] = buf.join('\n')
    buf.length = 0
  }
  for (const line of text.split('\n')) {
    const m = /^@@([A-Za-z0-9_:.-]+)$/.exec(line)
    if (m) {
      flush()
      cur = m[1]
    } else if (cur !== undefined) buf.push(line)
  }
  flush()
  return r
}
