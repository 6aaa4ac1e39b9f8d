// Shared pieces of the provisioning modules: schema builders that accept what Ansible accepts
// (yes/no booleans, numbers as strings, comma lists, aliases), argument coercion, and small
// POSIX sh snippets (atomic file write, owner/mode) that every module quotes the same way.
import { createHash } from 'node:crypto'
import type { SchemaObject } from 'ajv'
import { shQuote } from '../connection/quote.js'
import type { ExecResult } from '../connection/types.js'
import type { FileInfo, Plan, Step, StepResult } from './types.js'
import type { Vars } from '../model.js'

// ---------------------------------------------------------------- schema builders

/** A value still holding a Jinja expression: validated again once rendered. */
const TEMPLATED: SchemaObject = { type: 'string', pattern: '\\{\\{|\\{%' }
const BOOL_WORDS = ['yes', 'no', 'true', 'false', 'True', 'False', 'YES', 'NO', 'on', 'off', 'y', 'n', '1', '0']

export function str(description: string): SchemaObject {
  return { type: 'string', description }
}

/** Strings, but numbers and booleans are accepted too (YAML turns `value: 1` into a number). */
export function scalar(description: string): SchemaObject {
  return { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }], description }
}

export function bool(description: string): SchemaObject {
  return { anyOf: [{ type: 'boolean' }, { type: 'string', enum: BOOL_WORDS }, TEMPLATED], description }
}

export function int(description: string): SchemaObject {
  return { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\s*-?[0-9]+\\s*$' }, TEMPLATED], description }
}

export function num(description: string): SchemaObject {
  return { anyOf: [{ type: 'number' }, { type: 'string', pattern: '^\\s*-?[0-9.]+\\s*$' }, TEMPLATED], description }
}

export function choice(values: readonly string[], description: string): SchemaObject {
  return { anyOf: [{ type: 'string', enum: [...values] }, TEMPLATED], description }
}

/** A list of strings; Ansible also takes one string with commas. */
export function strList(description: string): SchemaObject {
  return { anyOf: [{ type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'number' }] } }, { type: 'string' }], description }
}

export function intList(description: string): SchemaObject {
  return {
    anyOf: [
      { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^\\s*[0-9]+\\s*$' }, TEMPLATED] } },
      { type: 'integer' },
      { type: 'string' },
    ],
    description,
  }
}

export function dict(description: string): SchemaObject {
  return { type: 'object', description }
}

/** File mode as Ansible takes it: '0644', 'u=rw,g=r,o=r', or a number. */
export function modeSchema(description = 'Permissions of the file, as octal ("0644") or symbolic ("u=rw,g=r"). Quote octal modes.'): SchemaObject {
  return { anyOf: [{ type: 'string' }, { type: 'integer' }], description }
}

/** A property that only renames another (Ansible's aliases). */
export function alias(of: string, base: SchemaObject): SchemaObject {
  return { ...base, description: `Alias of \`${of}\`.` }
}

export function objectSchema(properties: Record<string, SchemaObject>, extra: SchemaObject = {}): SchemaObject {
  return { type: 'object', properties, additionalProperties: false, ...extra }
}

/** `required` for an argument that may be written under any of its alias names. */
export function requireOneOf(...names: string[]): SchemaObject {
  // Each branch names the property again so ajv's strictRequired sees it defined.
  return { anyOf: names.map((n) => ({ type: 'object', properties: { [n]: true }, required: [n] })) }
}

// ---------------------------------------------------------------- argument coercion

export function pick<T = unknown>(args: Vars, ...names: string[]): T | undefined {
  for (const n of names) if (args[n] !== undefined && args[n] !== null) return args[n] as T
  return undefined
}

export function toBool(v: unknown, dflt: boolean): boolean
export function toBool(v: unknown, dflt?: boolean): boolean | undefined
export function toBool(v: unknown, dflt?: boolean): boolean | undefined {
  if (v === undefined || v === null || v === '') return dflt
  if (typeof v === 'boolean') return v
  if (typeof v === 'number') return v !== 0
  const s = String(v).trim().toLowerCase()
  if (['yes', 'true', 'on', 'y', '1'].includes(s)) return true
  if (['no', 'false', 'off', 'n', '0'].includes(s)) return false
  throw new ArgError(`"${v}" is not a boolean (use true or false)`)
}

export function toInt(v: unknown, dflt: number): number
export function toInt(v: unknown, dflt?: number): number | undefined
export function toInt(v: unknown, dflt?: number): number | undefined {
  if (v === undefined || v === null || v === '') return dflt
  const n = typeof v === 'number' ? v : Number(String(v).trim())
  if (!Number.isFinite(n)) throw new ArgError(`"${v}" is not a number`)
  return Math.trunc(n)
}

export function toList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return []
  if (Array.isArray(v)) return v.flatMap((x) => (x === undefined || x === null ? [] : [String(x)]))
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/**
 * Normalizes a mode to four octal digits, or returns a symbolic mode unchanged. The playbook
 * reader follows YAML 1.1 as Ansible does, so `mode: 0644` arrives as the number 420; a number is
 * therefore the mode's value, as in Ansible.
 */
export function normalizeMode(mode: unknown): string | undefined {
  if (mode === undefined || mode === null || mode === '') return undefined
  if (typeof mode === 'number') return mode.toString(8).padStart(4, '0')
  const s = String(mode).trim()
  if (/^0?o?[0-7]{1,4}$/.test(s)) return s.replace(/^0?o/, '').padStart(4, '0')
  return s
}

/** A bad argument found only at plan time: becomes a `fail` plan with this message. */
export class ArgError extends Error {}

/** Runs a plan body, turning argument errors into a failing plan instead of a crash. */
export async function guardPlan(body: () => Promise<Plan>): Promise<Plan> {
  try {
    return await body()
  } catch (e) {
    if (e instanceof ArgError) return { status: 'fail', msg: e.message }
    throw e
  }
}

// ---------------------------------------------------------------- shell snippets

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Sets owner/group/mode on `pathExpr` (a shell word, already quoted). chmod accepts both octal and
 * symbolic modes, so neither needs translating.
 */
export function attrCommands(pathExpr: string, attrs: { mode?: string; owner?: string; group?: string }): string[] {
  const out: string[] = []
  if (attrs.owner && attrs.group) out.push(`chown ${shQuote(`${attrs.owner}:${attrs.group}`)} ${pathExpr}`)
  else if (attrs.owner) out.push(`chown ${shQuote(attrs.owner)} ${pathExpr}`)
  else if (attrs.group) out.push(`chgrp ${shQuote(attrs.group)} ${pathExpr}`)
  if (attrs.mode) out.push(`chmod ${shQuote(attrs.mode)} ${pathExpr}`)
  return out
}

/** Which attributes differ from what the host has (mode compared only when octal). */
export function attrChanges(info: FileInfo | undefined, attrs: { mode?: string; owner?: string; group?: string }): string[] {
  const out: string[] = []
  if (!info?.exists) return out
  if (attrs.mode && /^[0-7]{4}$/.test(attrs.mode) && info.mode !== attrs.mode) out.push(`mode ${info.mode} → ${attrs.mode}`)
  if (attrs.mode && !/^[0-7]{4}$/.test(attrs.mode)) out.push(`mode ${attrs.mode}`)
  if (attrs.owner && info.owner !== attrs.owner && String(info.uid) !== attrs.owner) out.push(`owner ${info.owner} → ${attrs.owner}`)
  if (attrs.group && info.group !== attrs.group && String(info.gid) !== attrs.group) out.push(`group ${info.group} → ${attrs.group}`)
  return out
}

/**
 * Writes stdin to `path` atomically: a temp file beside it, attributes set, then rename, so a
 * reader never sees half a file. Keeps the old file's mode when none is asked for.
 */
export function atomicWriteScript(path: string, attrs: { mode?: string; owner?: string; group?: string } = {}, opts: { mkdir?: boolean } = {}): string {
  const p = shQuote(path)
  return [
    'set -e',
    `dst=${p}`,
    opts.mkdir ? `mkdir -p -- "$(dirname -- "$dst")"` : ':',
    `tmp=$(mktemp "$(dirname -- "$dst")/.k3sbook.XXXXXX")`,
    `trap 'rm -f -- "$tmp"' EXIT`,
    'cat > "$tmp"',
    `if [ -e "$dst" ]; then chmod "$(stat -c %a -- "$dst")" "$tmp"; chown "$(stat -c %u:%g -- "$dst")" "$tmp" 2>/dev/null || :; else chmod 0644 "$tmp"; fi`,
    ...attrCommands('"$tmp"', attrs),
    'mv -f -- "$tmp" "$dst"',
    'trap - EXIT',
  ].join('\n')
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

export function lines(text: string): string[] {
  if (text === '') return []
  return text.replace(/\n$/, '').split('\n')
}

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
