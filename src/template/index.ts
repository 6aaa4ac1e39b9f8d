// Jinja2 templating as Ansible does it: render files and YAML string values, keep native types for
// `"{{ expr }}"` values, evaluate `when:` conditions, and fail on undefined names with the
// template position. Compiled templates are cached by text; strings without markers return at once.
import { dirname } from 'node:path'
import { TemplateError, type SourcePos } from '../errors.js'
import type { Vars } from '../model.js'
import { UnsafeString } from '../yamlfile.js'
import './filters.js'
import './plugins.js'
import './tests.js'
import { literalEval } from './literal.js'
import { parseExpressionText, parseTemplate, TemplateSyntaxError, type Expr, type LexOptions } from './parser.js'
import { assertDefined, isDict, NO_OBJ, PyError, PyFloat, PyFunc, pyStr, setKey, truthy, Undefined, UndefinedError, type Dict } from './pyvalues.js'
import {
  collectBlocks,
  compileBody,
  compileExpr,
  concat,
  Env,
  Frame,
  NativeText,
  NATIVE_TEXTS,
  OMIT,
  PlacedError,
  readTemplateText,
  RenderError,
  runTemplate,
  TplCtx,
  withRenderBudget,
  type BlockDef,
  type Locate,
  type LookupOptions,
  type RenderHooks,
  type TemplateUnit,
} from './runtime.js'

import { analyzeExpr, analyzeRoot, type NameUse, type TemplateAnalysis } from './names.js'
import { markSecret, markSecretRendered, taintOnly } from '../secrets.js'
import { joinHeld, markMade, noteRead, unwrapUnsafe, wrapHostData, wrapUnsafe } from './taint.js'

export type { NameUse, TemplateAnalysis }

export interface TemplateOptions extends LookupOptions {
  /** File the template text came from (a template file, or the YAML file holding the string). */
  file?: string
  /** 1-based position of the YAML value holding the template; template positions are offset from it. */
  line?: number
  col?: number
  /**
   * 'yaml': a string value from a playbook (Ansible's escape_backslashes: string literals inside
   * `{{ }}` keep their backslashes). 'file': a template file. Default: 'yaml' when `line` is given.
   */
  source?: 'file' | 'yaml'
  /** For templateNames: parse the text as a bare expression (a `when:` condition). */
  expression?: boolean
}

export { OMIT }

/** Drop dict entries whose value is the omit placeholder, recursively, as Ansible's remove_omit does. */
export function stripOmitted<T>(args: T): T {
  if (!isDict(args)) return args
  const out: Dict = {}
  for (const [k, v] of Object.entries(args)) {
    if (v === OMIT) continue
    setKey(out, k, Array.isArray(v) ? v.map((x) => stripOmitted(x)) : isDict(v) ? stripOmitted(v) : v)
  }
  return out as T
}

/** Does this string hold template markers at all (Ansible's is_possibly_template)? */
export function isTemplated(s: string): boolean {
  return s.includes('{{') || s.includes('{%') || s.includes('{#')
}

// ---------- compile cache ----------

interface Compiled {
  run: ReturnType<typeof compileBody>
  root: unknown
  /** Its `{% block %}`s; structural: it imports, extends or has blocks (errors are placed per file then). */
  blocks: Map<string, BlockDef>
  structural: boolean
  /** Lines the `#jinja2:` header took off the top. */
  lineOffset: number
}

const CACHE_MAX = 4000
const cache = new Map<string, Compiled | TemplateError>()

function cacheGet(key: string): Compiled | TemplateError | undefined {
  const hit = cache.get(key)
  if (hit !== undefined) {
    // refresh recency: Map keeps insertion order, so the oldest entry is first
    cache.delete(key)
    cache.set(key, hit)
  }
  return hit
}

function cachePut(key: string, v: Compiled | TemplateError): void {
  cache.set(key, v)
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string)
}

/** Ansible's Jinja2 environment: its delimiters, trim_blocks on, lstrip_blocks off. */
export const BASE_LEX: LexOptions = {
  trimBlocks: true,
  lstripBlocks: false,
  variableStart: '{{',
  variableEnd: '}}',
  blockStart: '{%',
  blockEnd: '%}',
  commentStart: '{#',
  commentEnd: '#}',
  rawStringsInVars: false,
}

const OVERRIDE_KEYS: Record<string, keyof LexOptions> = {
  trim_blocks: 'trimBlocks',
  lstrip_blocks: 'lstripBlocks',
  variable_start_string: 'variableStart',
  variable_end_string: 'variableEnd',
  block_start_string: 'blockStart',
  block_end_string: 'blockEnd',
  comment_start_string: 'commentStart',
  comment_end_string: 'commentEnd',
}

function isYaml(opts: TemplateOptions | undefined): boolean {
  return opts?.source ? opts.source === 'yaml' : opts?.line !== undefined
}

function posOf(opts: TemplateOptions | undefined, line: number, col: number, lineOffset = 0): SourcePos {
  const l = line + lineOffset
  const file = opts?.file ?? '<template>'
  if (opts?.line === undefined) return { file, line: l + 1, col: col + 1 }
  return { file, line: opts.line + l, col: l === 0 ? (opts.col ?? 1) + col : col + 1 }
}

/** Parse `#jinja2: key: value, …` (values are Python literals). */
function parseOverrides(line: string, opts: TemplateOptions | undefined): Partial<LexOptions> {
  const out: Partial<LexOptions> = {}
  for (const pair of line.split(',')) {
    if (!pair.includes(':'))
      throw new TemplateError(`failed to parse jinja2 override '${pair.trim()}'`, { pos: posOf(opts, 0, 0), hint: 'use "#jinja2: key: value, key: value"' })
    const i = pair.indexOf(':')
    const key = pair.slice(0, i).trim()
    let val: unknown
    try {
      val = literalEval(pair.slice(i + 1).trim())
    } catch {
      throw new TemplateError(`bad value in jinja2 override '${pair.trim()}'`, { pos: posOf(opts, 0, 0) })
    }
    const k = OVERRIDE_KEYS[key]
    if (k === undefined) continue
    ;(out as Record<string, unknown>)[k] = k === 'trimBlocks' || k === 'lstripBlocks' ? truthy(val) : String(val)
  }
  return out
}

function compileTemplate(text: string, opts: TemplateOptions | undefined): Compiled {
  const yaml = isYaml(opts)
  const key = (yaml ? 'y' : 'f') + text
  const hit = cacheGet(key)
  if (hit instanceof TemplateError) throw relocate(hit, opts)
  if (hit) return hit
  let lex: LexOptions = { ...BASE_LEX, rawStringsInVars: yaml }
  let src = text
  let lineOffset = 0
  try {
    if (src.startsWith('#jinja2:')) {
      const eol = src.indexOf('\n')
      lex = { ...lex, ...parseOverrides(src.slice(8, eol < 0 ? src.length : eol), undefined) }
      src = eol < 0 ? '' : src.slice(eol + 1)
      lineOffset = 1
    }
    // Jinja2 drops one trailing newline (keep_trailing_newline=False); Ansible adds it back afterwards
    if (src.endsWith('\n')) src = src.slice(0, src.endsWith('\r\n') ? -2 : -1)
    const root = parseTemplate(src, lex)
    const compiled: Compiled = { run: compileBody(root), root, lineOffset, ...collectBlocks(root) }
    cachePut(key, compiled)
    return compiled
  } catch (e) {
    const err = toTemplateError(e, undefined, lineOffset)
    cachePut(key, err)
    throw relocate(err, opts)
  }
}

/** Errors are cached position-free (`<template>`), then placed in the caller's file. */
function relocate(err: TemplateError, opts: TemplateOptions | undefined): TemplateError {
  const p = err.pos
  if (!p || !opts?.file) return err
  return new TemplateError(err.message, { pos: posOf(opts, p.line - 1, p.col - 1), hint: err.hint, cause: err.cause })
}

function toTemplateError(e: unknown, opts: TemplateOptions | undefined, lineOffset = 0): TemplateError {
  if (e instanceof TemplateError) return e
  if (e instanceof PlacedError) return e.placed as TemplateError
  if (e instanceof TemplateSyntaxError) return new TemplateError(`template syntax error: ${e.message}`, { pos: posOf(opts, e.line, e.col, lineOffset) })
  if (e instanceof UndefinedError)
    return new TemplateError(e.message, { pos: posOf(opts, e.undef.line, e.undef.col, lineOffset), hint: undefinedHint(e.undef) })
  if (e instanceof RenderError) return new TemplateError(e.message, { pos: posOf(opts, e.line, e.col, lineOffset), cause: e.pyType ? e : undefined })
  if (e instanceof PyError) return new TemplateError(e.message, { pos: posOf(opts, 0, 0, lineOffset) })
  if (e instanceof RangeError && /call stack/.test(e.message)) return new TemplateError('template recursion too deep', { pos: posOf(opts, 0, 0, lineOffset) })
  throw e
}

function undefinedHint(u: Undefined): string | undefined {
  if (u.obj === NO_OBJ && !u.hint) return `define '${u.name}', or guard it with "is defined" or "| default(…)"`
  return undefined
}

// ---------- rendering ----------

const NON_TEMPLATED_VARS = new Set([
  'hostvars',
  'groups',
  'group_names',
  'vars',
  'ansible_facts',
  'play_hosts',
  'ansible_play_hosts',
  'ansible_play_batch',
  'ansible_play_hosts_all',
])

/** Does a value (deeply) hold a string that needs templating? Cached per object. */
const hasTplCache = new WeakMap<object, boolean>()
function hasTemplate(v: unknown, depth = 0): boolean {
  if (typeof v === 'string') return isTemplated(v)
  if (v === null || typeof v !== 'object' || v instanceof UnsafeString || depth > 64) return false
  const c = hasTplCache.get(v)
  if (c !== undefined) return c
  let r = false
  if (Array.isArray(v)) r = v.some((x) => hasTemplate(x, depth + 1))
  else if (isDict(v)) r = Object.values(v).some((x) => hasTemplate(x, depth + 1))
  hasTplCache.set(v, r)
  return r
}

function makeHooks(opts: TemplateOptions | undefined): RenderHooks {
  const varOpts: TemplateOptions = { source: 'yaml', searchPath: opts?.searchPath }
  return {
    templateVar(name, raw, env) {
      if (NON_TEMPLATED_VARS.has(name) || !hasTemplate(raw)) return raw
      if (env.resolving.has(name)) throw new PyError(`recursive loop detected in template string: {{ ${name} }}`)
      env.resolving.add(name)
      try {
        return templateValueIn(raw, env, varOpts)
      } catch (e) {
        // Ansible hands back an Undefined that fails only when used, so `default` still works
        if (e instanceof TemplateError && e.cause instanceof UndefinedError)
          return new Undefined(name, NO_OBJ, 0, 0, `${typeof raw === 'string' ? raw : pyStr(raw)}: ${e.message}`)
        if (e instanceof TemplateError) throw new PyError(`${e.message} (in the value of variable '${name}')`)
        throw e
      } finally {
        env.resolving.delete(name)
      }
    },
    loadTemplate(path) {
      const fileOpts: TemplateOptions = { source: 'file', file: path }
      try {
        const compiled = compileTemplate(readTemplateText(path), fileOpts)
        return { ...unitOf(compiled, fileOpts), locate: locator(fileOpts, compiled.lineOffset) }
      } catch (e) {
        if (e instanceof TemplateError) throw new PlacedError(e)
        throw e
      }
    },
    renderFile(path, env, convertData, included, delimiters) {
      const text = readTemplateText(path)
      const fileOpts: TemplateOptions = { source: 'file', file: path, searchPath: env.lookupOpts.searchPath }
      const pairs = Object.entries(delimiters ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      // lookup('template', variable_start_string=…): the same as a `#jinja2:` first line, which a file's own one extends
      const head = pairs.length === 0 ? '' : text.startsWith('#jinja2:') ? `#jinja2: ${pairs.join(', ')}, ` : `#jinja2: ${pairs.join(', ')}\n`
      const compiled = compileTemplate(head === '' ? text : head + (text.startsWith('#jinja2:') ? text.slice(8).trimStart() : text), fileOpts)
      // lookup('template') searches the template's own folder first, as Ansible's lookup does (a
      // sandboxed render, without a search path, stays without one)
      const sp = env.lookupOpts.searchPath
      const fileEnv =
        included || !sp?.length
          ? env
          : new Env(
              env.vars,
              env.hooks,
              { ...env.lookupOpts, searchPath: [dirname(path), ...sp] },
              { resolved: env.resolved, resolving: env.resolving, taint: env.taint },
            )
      const pieces = runPieces(compiled, fileEnv, fileOpts)
      return convertData ? evalConcat(pieces, text, !included) : ansibleConcat(pieces, text, !included)
    },
  }
}

/** Places errors raised while running a template in its file (an UndefinedError stays the cause). */
function locator(opts: TemplateOptions | undefined, lineOffset: number): Locate {
  return (e) => {
    const err = toTemplateError(e, opts, lineOffset)
    return e instanceof UndefinedError ? new TemplateError(err.message, { pos: err.pos, hint: err.hint, cause: e }) : err
  }
}

function unitOf(compiled: Compiled, opts: TemplateOptions | undefined): TemplateUnit {
  return { run: compiled.run, blocks: compiled.blocks, locate: compiled.structural ? locator(opts, compiled.lineOffset) : undefined }
}

function runPieces(compiled: Compiled, env: Env, opts: TemplateOptions | undefined): unknown[] {
  const out: unknown[] = []
  try {
    const unit = unitOf(compiled, opts)
    withRenderBudget(() => runTemplate(unit, new Frame(env, null, new TplCtx(), unit.locate), out))
  } catch (e) {
    const err = toTemplateError(e, opts, compiled.lineOffset)
    if (e instanceof UndefinedError) throw new TemplateError(err.message, { pos: err.pos, hint: err.hint, cause: e })
    throw err
  }
  return out
}

function countTrailingNewlines(s: string): number {
  let n = 0
  for (let i = s.length - 1; i >= 0 && s[i] === '\n'; i--) n++
  return n
}

function keepNewlines(res: string, data: string): string {
  const want = countTrailingNewlines(data)
  const have = countTrailingNewlines(res)
  return want > have ? res + '\n'.repeat(want - have) : res
}

/** ansible_concat: every piece as text. */
function ansibleConcat(pieces: unknown[], data: string, preserveNewlines: boolean): string {
  const s = concat(pieces)
  return preserveNewlines ? keepNewlines(s, data) : s
}

/** ansible_eval_concat: one piece keeps its value; text that looks like a list, dict or bool is read back as one. */
function evalConcat(pieces: unknown[], data: string, preserveNewlines: boolean): unknown {
  if (pieces.length === 0) return ''
  let out: string
  if (pieces.length === 1) {
    const v = pieces[0]
    if (v instanceof UnsafeString) return v
    if (v instanceof NativeText) {
      if (v.s.startsWith('{') || v.s.startsWith('[') || v.s === 'True' || v.s === 'False') NATIVE_TEXTS.add(v.s)
      return v.s
    }
    // a variable holding such text, as the template's only piece (see NATIVE_TEXTS)
    if (typeof v === 'string' && NATIVE_TEXTS.has(v)) return v
    if (Array.isArray(v) || isDict(v)) {
      // literal_eval(repr(v)) is a deep copy when everything in it is a literal
      const copy = literalCopy(v)
      if (copy !== NOT_LITERAL) return copy
    }
    out = pyStr(v)
  } else out = concat(pieces)
  if (out.startsWith('{') || out.startsWith('[') || out === 'True' || out === 'False') {
    try {
      return literalEval(out, true)
    } catch {
      /* not a literal: stays text */
    }
  }
  return preserveNewlines ? keepNewlines(out, data) : out
}

const NOT_LITERAL = Symbol('not literal')
function literalCopy(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat) return v
  if (v instanceof UnsafeString) return v.value
  if (Array.isArray(v)) {
    const out: unknown[] = []
    for (const x of v) {
      const c = literalCopy(x)
      if (c === NOT_LITERAL) return NOT_LITERAL
      out.push(c)
    }
    return out
  }
  if (isDict(v)) {
    const out: Dict = {}
    for (const [k, x] of Object.entries(v)) {
      const c = literalCopy(x)
      if (c === NOT_LITERAL) return NOT_LITERAL
      if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true })
      else out[k] = c
    }
    return out
  }
  return NOT_LITERAL
}

/** Plain JS data at the API boundary: integral floats become numbers. */
export function toPlain(v: unknown): unknown {
  if (v instanceof PyFloat) return v.v
  if (v instanceof Undefined) assertDefined(v)
  if (v instanceof PyFunc) return pyStr(v)
  if (Array.isArray(v)) return v.some(needsPlain) ? v.map(toPlain) : v
  if (isDict(v)) {
    if (!Object.values(v).some(needsPlain)) return v
    const out: Dict = {}
    for (const [k, x] of Object.entries(v)) setKey(out, k, toPlain(x))
    return out
  }
  return v
}
function needsPlain(v: unknown): boolean {
  return v instanceof PyFloat || v instanceof PyFunc || Array.isArray(v) || isDict(v)
}

function newEnv(vars: Vars, opts: TemplateOptions | undefined): Env {
  return new Env(vars as Dict, makeHooks(opts), { searchPath: opts?.searchPath, loopSubdir: opts?.loopSubdir, hostTerms: opts?.hostTerms })
}

/**
 * Render a template to text: a template file (Ansible's template module) or a string value.
 * Trailing newlines are kept as in the source, as Ansible's template module keeps them.
 */
export function render(text: string, vars: Vars, opts?: TemplateOptions): string {
  if (!isTemplated(text) && !text.startsWith('#jinja2:')) return text
  const compiled = compileTemplate(text, opts)
  const env = newEnv(vars, opts)
  const out = ansibleConcat(runPieces(compiled, env, opts), text, true)
  // What a template computed from a secret is secret (its literal lines stay readable in diffs).
  // (a secret read outside any `{{ }}` — `{% for %}`, `{% set %}` — masks every computed line)
  // A list or mapping holding a secret, read whole outside any `{{ }}` (`{% for u in users %}`): the
  // lines that are its strings as they were stay readable (a user's name), every other computed line
  // is masked (the template may have made it from the secret).
  if (env.taint.secret) markSecretRendered(out, text)
  else if (env.taint.held && !env.taint.held.has(out)) markSecretRendered(out, text, env.taint.held)
  else if (env.taint.pieceSecret) taintOnly(out)
  return out
}

const SINGLE_VAR = /^\{\{\s*(?:(\w+)\s*)?\}\}$/

function templateString(s: string, env: Env, opts: TemplateOptions | undefined): unknown {
  if (!isTemplated(s)) return s
  const m = SINGLE_VAR.exec(s)
  if (m?.[1] !== undefined && Object.prototype.hasOwnProperty.call(env.vars, m[1])) {
    // Ansible passes a lone `{{ var }}` holding a number or bool through untouched
    const v = env.vars[m[1]]
    if (typeof v === 'number' || typeof v === 'boolean') return v
    if (v === null || v === undefined) return null
    // and an unsafe string as the very same value (noting what it taints)
    if (v instanceof UnsafeString) {
      noteRead(env.taint, m[1], v)
      return v
    }
  }
  const compiled = compileTemplate(s, opts)
  return evalConcat(runPieces(compiled, env, opts), s, true)
}

function templateValueIn(value: unknown, env: Env, opts: TemplateOptions | undefined): unknown {
  if (typeof value === 'string') {
    // Taint is decided per string: one argument that reads a secret does not make its siblings secret.
    const t = env.taint
    const before = { unsafe: t.unsafe, secret: t.secret, pieceSecret: t.pieceSecret, host: t.host, held: t.held }
    t.unsafe = t.secret = t.pieceSecret = t.host = false
    t.held = undefined
    let r = templateString(value, env, opts)
    // the pieces that read a secret are masked on their own; the whole value taints what reads it
    if (t.secret) markSecret(r)
    else {
      // a list or mapping holding a secret read whole: what is new in the value is secret
      if (t.held) markMade(t.held, r)
      if (t.pieceSecret && typeof r === 'string') taintOnly(r)
      else if (t.pieceSecret) markSecret(r)
    }
    if (t.unsafe) r = t.host ? wrapHostData(r) : wrapUnsafe(r)
    t.unsafe ||= before.unsafe
    t.host ||= before.host
    t.secret ||= before.secret
    t.pieceSecret ||= before.pieceSecret
    joinHeld(t, before.held)
    return r
  }
  if (value instanceof UnsafeString) return value
  if (Array.isArray(value)) return value.map((v) => templateValueIn(v, env, opts))
  if (isDict(value)) {
    const out: Dict = {}
    for (const [k, v] of Object.entries(value)) {
      const r = templateValueIn(v, env, opts)
      if (k === '__proto__') Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true })
      else out[k] = r
    }
    return out
  }
  return value
}

/**
 * Template a value from YAML, recursively through lists and dicts. A string that is one `{{ expr }}`
 * keeps the value's type where Ansible keeps it (lists, dicts, bools; a lone variable holding a
 * number); other strings render to text. `!unsafe` values come back untouched, and a string
 * computed from host data comes back as an UnsafeString (taint.ts), so it is never rendered again
 * wherever it is stored (variables, loop items, set_fact).
 */
export function templateValue(value: unknown, vars: Vars, opts?: TemplateOptions): unknown {
  if (typeof value === 'string') {
    if (!isTemplated(value)) return value
  } else if (value === null || typeof value !== 'object' || value instanceof UnsafeString) return value
  return toPlain(templateValueIn(value, newEnv(vars, { source: 'yaml', ...opts }), { source: 'yaml', ...opts }))
}

/** templateValue for a module's arguments: plain strings (modules never see UnsafeString). */
export function templateArgs(value: unknown, vars: Vars, opts?: TemplateOptions): unknown {
  return unwrapUnsafe(templateValue(value, vars, opts))
}

// ---------- expressions and conditions ----------

interface CompiledExpr {
  ev: ReturnType<typeof compileExpr>
  ast: Expr
}
const exprCache = new Map<string, CompiledExpr | TemplateError>()

function compileExpression(text: string, opts: TemplateOptions | undefined): CompiledExpr {
  const hit = exprCache.get(text)
  if (hit instanceof TemplateError) throw relocate(hit, opts)
  if (hit) return hit
  try {
    const ast = parseExpressionText(text, { ...BASE_LEX, rawStringsInVars: false })
    const c = { ev: compileExpr(ast), ast }
    if (exprCache.size > CACHE_MAX) exprCache.delete(exprCache.keys().next().value as string)
    exprCache.set(text, c)
    return c
  } catch (e) {
    const err = toTemplateError(e, undefined)
    exprCache.set(text, err)
    throw relocate(err, opts)
  }
}

function evaluateIn(expr: unknown, env: Env, opts: TemplateOptions | undefined): unknown {
  if (typeof expr === 'boolean' || expr === null || expr === undefined || typeof expr === 'number') return expr
  if (expr instanceof UnsafeString) throw new TemplateError('Conditional is marked as unsafe, and cannot be evaluated.', { pos: posOf(opts, 0, 0) })
  let text: unknown = expr
  if (typeof text === 'string' && isTemplated(text)) {
    // Ansible renders `{{ }}` inside a condition first (with a warning), then evaluates the result
    text = templateString(text, env, opts)
    if (typeof text !== 'string' || text === '') return text
  }
  if (typeof text !== 'string') return text
  // a YAML folded or block condition ends in a newline: Jinja2 ignores whitespace around an expression
  const { ev } = compileExpression(text.trim(), opts)
  try {
    return withRenderBudget(() => ev(new Frame(env, null)))
  } catch (e) {
    throw toTemplateError(e, opts)
  }
}

/** Evaluate a bare Jinja2 expression (`when:`, `changed_when:`, `until:` …) to its value. */
export function evaluate(expr: string, vars: Vars, opts?: TemplateOptions): unknown {
  const o: TemplateOptions = { source: 'yaml', ...opts }
  const env = newEnv(vars, o)
  const v = evaluateIn(expr, env, o)
  assertDefinedAt(v, o)
  const out = unwrapUnsafe(toPlain(v))
  if (env.taint.secret) markSecret(out)
  else if (env.taint.held) markMade(env.taint.held, out)
  return out
}

function assertDefinedAt(v: unknown, opts: TemplateOptions): void {
  try {
    assertDefined(v)
  } catch (e) {
    throw toTemplateError(e, opts)
  }
}

/** A condition as Ansible decides it: YAML booleans as they are, strings evaluated, Python truthiness. */
export function evalCondition(cond: string | boolean, vars: Vars, opts?: TemplateOptions): boolean {
  if (typeof cond === 'boolean') return cond
  const o: TemplateOptions = { source: 'yaml', ...opts }
  const v = evaluateIn(cond, newEnv(vars, o), o)
  try {
    return truthy(v)
  } catch (e) {
    throw toTemplateError(e, o)
  }
}

/** Check a template's syntax without rendering it (validate). Throws TemplateError with the position. */
export function checkSyntax(text: string, opts?: TemplateOptions): void {
  if (opts?.expression) compileExpression(text.trim(), opts)
  else if (isTemplated(text)) compileTemplate(text, opts)
}

/**
 * Static analysis: the top-level names a template (or, with `{ expression: true }`, a bare
 * expression such as a `when:` condition) reads and does not define itself. Names read only
 * under `is defined` or `| default` are in `guarded`, not `required`. Positions are file
 * positions when opts.file is given. Throws TemplateError on syntax errors and unknown filters/tests.
 */
export function analyzeTemplate(
  text: string,
  opts?: TemplateOptions,
): { required: Map<string, SourcePos>; guarded: Set<string>; filters?: Set<string>; lookups?: Set<string> } {
  let a: TemplateAnalysis
  let lineOffset = 0
  if (opts?.expression) {
    let t = text
    // a condition written with {{ }} is rendered first; analyse what is inside
    const m = /^\s*\{\{(.*)\}\}\s*$/s.exec(t)
    if (m && !m[1].includes('}}')) t = m[1]
    else if (isTemplated(t)) return analyzeTemplate(text, { ...opts, expression: false })
    a = analyzeExpr(compileExpression(t.trim(), opts).ast)
  } else {
    if (!isTemplated(text)) return { required: new Map(), guarded: new Set() }
    const c = compileTemplate(text, opts)
    a = analyzeRoot(c.root)
    lineOffset = c.lineOffset
  }
  const required = new Map<string, SourcePos>()
  for (const [name, use] of a.required) required.set(name, posOf(opts, use.line, use.col, lineOffset))
  return { required, guarded: a.guarded, filters: a.filters, lookups: a.lookups }
}

/** The names a template needs defined (see analyzeTemplate); guarded names are left out. */
export function templateNames(text: string, opts?: TemplateOptions): Set<string> {
  return new Set(analyzeTemplate(text, opts).required.keys())
}

export { TemplateError }
