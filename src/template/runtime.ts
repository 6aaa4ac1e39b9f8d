// Evaluates parsed templates: each AST node is compiled once into a closure (cached with the
// template), then run against a frame chain over the task's variables. Values keep Python
// semantics (pyvalues.ts); undefined names travel as Undefined and fail only when used.
import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { UnsafeString } from '../yamlfile.js'
import { hostMayNotChoose, markMade, noteHostRead, noteRead, type Taint } from './taint.js'
import { isHostFile } from '../hostfiles.js'
import { markSecret, NAME_VIEWS } from '../secrets.js'
import type { Expr, Stmt } from './parser.js'
import { PyFloatConst } from './parser.js'
import {
  NO_OBJ,
  PyError,
  PyFloat,
  PyFunc,
  Undefined,
  UndefinedError,
  assertDefined,
  compare,
  fail,
  getAttr,
  getItem,
  hasKey,
  isDict,
  isStr,
  iterate,
  keyOf,
  num,
  pyArith,
  pySlice,
  pyStr,
  pyLen,
  setKey,
  sv,
  truthy,
  tuple,
  type Dict,
} from './pyvalues.js'

export interface RenderHooks {
  /** Render a var's raw value (lazy templating of variables that contain templates). */
  templateVar(name: string, value: unknown, env: Env): unknown
  /** Render another template file (lookup('template'), include). */
  /** `included`: a Jinja2 {% include %}, whose trailing newline Jinja2 drops and nothing adds back. */
  /** `delimiters`: variable_start_string, comment_end_string, … (lookup('template')'s options). */
  renderFile(path: string, env: Env, convertData: boolean, included?: boolean, delimiters?: Record<string, string>): unknown
  /** A template file compiled for `{% import %}`/`{% extends %}` (a syntax error comes as a PlacedError in that file). */
  loadTemplate(path: string): TemplateUnit
}

/** Turns an error raised while running one template into a TemplateError placed in that template's file. */
export type Locate = (e: unknown) => Error

/** A `{% block %}`'s body, compiled once with its template. */
export interface BlockDef {
  name: string
  run: Run
  scoped: boolean
  required: boolean
}

/** One compiled template as import and extends use it: its body, its blocks, where its errors point. */
export interface TemplateUnit {
  run: Run
  blocks: Map<string, BlockDef>
  locate?: Locate
}

/**
 * What one render of a template (with the templates it extends) shares, Jinja2's Context: the
 * block stacks (most derived first), the parent an `{% extends %}` named, the top frame.
 */
export class TplCtx {
  readonly blocks = new Map<string, { def: BlockDef; locate?: Locate }[]>()
  parent: TemplateUnit | null = null
  /** Set by `{% extends %}`: the rest of this template's top-level output is dropped. */
  extended = false
  extendsAt = 0
  topOut: Out = []
  top!: Frame
  /** Top-level names that a module does not export (imports). */
  readonly notExported = new Set<string>()
}

/** An error already placed in a template file (an imported or extended one): passes every withPos unchanged. */
export class PlacedError extends Error {
  constructor(readonly placed: Error) {
    super(placed.message)
  }
}

/** Run fn; an error it raises is placed in the template `locate` stands for. */
export function guard<T>(locate: Locate | undefined, fn: () => T): T {
  if (!locate) return fn()
  try {
    return fn()
  } catch (e) {
    if (e instanceof PlacedError) throw e
    if (e instanceof UndefinedError || e instanceof RenderError || e instanceof PyError) throw new PlacedError(locate(e))
    throw e
  }
}

/** Options a caller may give that reach lookups and includes. */
export interface LookupOptions {
  /** Folders searched by lookup('file'/'template') and include: `<dir>/files|templates/<name>`, then `<dir>/<name>`. */
  searchPath?: string[]
  /**
   * A task's `with_first_found`: the subfolder its names are looked for in, from the task's action,
   * as Ansible's task executor sets the lookup's `_subdir` ('templates' for an action whose name
   * holds "template", 'vars' for one holding "var" — include_vars —, else 'files').
   */
  loopSubdir?: 'files' | 'templates' | 'vars'
  /** A `with_*` loop's terms came from a managed host (see lookupCall's hostTerms check). */
  hostTerms?: boolean
}

export class Env {
  /** Top-level variables already templated during this render (Ansible templates a var when it is read). */
  readonly resolved: Map<string, unknown>
  readonly resolving: Set<string>
  /** What this render read: host data (unsafe) or a secret (see taint.ts). */
  readonly taint: Taint
  constructor(
    readonly vars: Dict,
    readonly hooks: RenderHooks,
    readonly lookupOpts: LookupOptions,
    shared?: { resolved: Map<string, unknown>; resolving: Set<string>; taint?: Taint },
  ) {
    this.resolved = shared?.resolved ?? new Map()
    this.resolving = shared?.resolving ?? new Set()
    this.taint = shared?.taint ?? { unsafe: false, secret: false }
  }
}

export class Frame {
  readonly locals = new Map<string, unknown>()
  /** The render's template context (blocks, extends); inherited from the parent frame. */
  readonly tpl: TplCtx | null
  /** Where errors raised under this frame point, when it runs an imported or extended template. */
  locate: Locate | undefined
  constructor(
    readonly env: Env,
    readonly parent: Frame | null,
    tpl?: TplCtx,
    locate?: Locate,
  ) {
    this.tpl = tpl ?? parent?.tpl ?? null
    this.locate = locate ?? parent?.locate
  }
  /** Locals whose value was computed from host data (a `set`, a loop, a macro's parameters). */
  private hostNames: Set<string> | undefined
  lookup(name: string): unknown {
    for (let f: Frame | null = this; f; f = f.parent) {
      if (f.locals.size && f.locals.has(name)) {
        // a local keeps the taint of what it was made from: reading it is reading host data
        if (f.hostNames?.has(name)) noteHostRead(this.env.taint)
        return f.locals.get(name)
      }
    }
    return NOT_FOUND
  }
  set(name: string, v: unknown, host = false): void {
    this.locals.set(name, v)
    if (host) (this.hostNames ??= new Set()).add(name)
    else this.hostNames?.delete(name)
  }
  /** A namespace local had host data assigned to one of its attributes. */
  markHost(name: string): void {
    for (let f: Frame | null = this; f; f = f.parent)
      if (f.locals.has(name)) {
        ;(f.hostNames ??= new Set()).add(name)
        return
      }
  }
}
export const NOT_FOUND = Symbol('not found')

/** A position-carrying error raised while rendering (not an Undefined). */
export class RenderError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
    /** Ansible's exception type, for modules that report it (the template module: "TemplateSyntaxError: …"). */
    readonly pyType?: string,
  ) {
    super(message)
  }
}

/** A plugin name Ansible's loader cannot even parse (not dotted identifiers): its "Could not load" message. */
function badPluginName(name: string, line: number, col: number): RenderError | undefined {
  if (/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(name)) return undefined
  const fq = name.includes('.') ? name : 'ansible.builtin.' + name
  return new RenderError(`Could not load "${name}": 'invalid plugin name: ${fq}'`, line, col, 'TemplateSyntaxError')
}

/**
 * Rendering is synchronous: while a template runs, nothing else does, signals included. So one
 * render (with the variables it templates on the way) gets a time budget, checked every 1024
 * loop turns, macro, filter and function calls; past it, it stops with an error at the template
 * position it had reached. Ansible has no such limit; no sane template comes near it.
 */
export const RENDER_BUDGET = { ms: 2000 }
let renderDepth = 0
let renderDeadline = 0
let renderTicks = 0

/** Runs one render (the outermost call sets the deadline; nested renders share it). */
export function withRenderBudget<T>(fn: () => T): T {
  if (renderDepth++ === 0) {
    renderDeadline = Date.now() + RENDER_BUDGET.ms
    renderTicks = 0
  }
  try {
    return fn()
  } finally {
    renderDepth--
  }
}

/** One unit of work at line:col; throws once the render's time budget is spent. */
export function tick(line: number, col: number): void {
  if ((++renderTicks & 1023) !== 0 || renderDepth === 0) return
  if (Date.now() > renderDeadline)
    throw new RenderError(
      `template stopped: rendering took longer than ${RENDER_BUDGET.ms / 1000} s (a loop or recursion too large?); nothing was written`,
      line,
      col,
    )
}

export type FilterFn = (value: unknown, args: unknown[], kwargs: Record<string, unknown>, ctx: CallCtx) => unknown
export type TestFn = (value: unknown, args: unknown[], kwargs: Record<string, unknown>, ctx: CallCtx) => boolean

export interface CallCtx {
  frame: Frame
  line: number
  col: number
  /**
   * The value or arguments of this call read host data (a registered result, facts): a filter or
   * test that reads the control machine (plugins.ts: fileglob, realpath, `is directory` …) then
   * refuses a path outside the playbook's folders. Filters called through map/select inherit it.
   */
  hostArgs: boolean
  callFilter(name: string, value: unknown, args: unknown[], kwargs?: Record<string, unknown>): unknown
  callTest(name: string, value: unknown, args: unknown[], kwargs?: Record<string, unknown>): boolean
  /** Call a template callable (macro, builtin) with Python calling conventions. */
  call(fn: unknown, args: unknown[], kwargs?: Record<string, unknown>): unknown
}

export const FILTERS = new Map<string, FilterFn>()
export const TESTS = new Map<string, TestFn>()
/** Filters that receive Undefined input without failing (they decide themselves). */
export const UNDEFINED_OK_FILTERS = new Set(['default', 'd', 'mandatory'])
/** Tests that look at an Undefined without failing. */
export const UNDEFINED_OK_TESTS = new Set([
  'defined',
  'undefined',
  'none',
  'string',
  'number',
  'integer',
  'float',
  'boolean',
  'mapping',
  'callable',
  'sameas',
  'true',
  'false',
])

const FQCN_PREFIXES = ['ansible.builtin.', 'ansible.utils.', 'ansible.netcommon.', 'community.general.']

export function resolvePluginName(name: string): string {
  for (const p of FQCN_PREFIXES) if (name.startsWith(p)) return name.slice(p.length)
  return name
}

export class UnknownPluginError extends Error {}

type Ev = (f: Frame) => unknown
export type Out = unknown[]
export type Run = (f: Frame, out: Out) => void

const nodesOf = (n: any): any[] => (n ? (n.children ?? []) : [])

export function finalize(v: unknown): unknown {
  assertDefined(v)
  return v === null || v === undefined ? '' : v
}

/** Output of a filter Ansible lists in STRING_TYPE_FILTERS (NativeJinjaText). */
export class NativeText {
  constructor(readonly s: string) {}
}

/**
 * The texts templates made with a string-type filter as their only piece (a variable or set_fact
 * value like `"{{ ports | to_json }}"`). In Ansible such a value is a NativeJinjaText, a str that keeps
 * that type through variables and set_fact, so a later template whose only piece it is returns it as
 * text, where a plain str is read back as a list or dict: willshersystems.sshd compares
 * `__sshd_ports_from_config != "[22]"`. A JS string cannot carry that type, so the texts are kept here
 * and a template's only piece equal to one stays text (our own rule, not Ansible's code: the same
 * text from elsewhere — a YAML string "[22]" — is then also kept as text within this run).
 */
export const NATIVE_TEXTS = new Set<string>()
const STRING_TYPE_FILTERS = new Set(['string', 'to_json', 'to_nice_json', 'to_yaml', 'to_nice_yaml', 'ppretty', 'json'])

/** Jinja2's concat of a body into a string (macros, set blocks, filter blocks). */
export function concat(out: Out): string {
  let s = ''
  for (const x of out) s += x instanceof NativeText ? x.s : pyStr(x)
  return s
}

// ---------- statements ----------

export function compileBody(list: any): Run {
  const runs = nodesOf(list).map(compileStmt)
  if (runs.length === 1) return runs[0]
  return (f, out) => {
    for (const r of runs) r(f, out)
  }
}

function compileStmt(node: any): Run {
  if (node.k) return compileOwnStmt(node as Stmt)
  switch (node.typename) {
    case 'Output': {
      const parts = node.children.map((c: any) => {
        if (c.typename === 'TemplateData') {
          const s = c.value as string
          return (_f: Frame, out: Out) => out.push(s)
        }
        const ev = compileExpr(c as Expr)
        const e = c as Expr
        // Ansible returns these filters' text as it is, never read back as a list or dict
        const native = e.k === 'filter' && STRING_TYPE_FILTERS.has(resolvePluginName(e.name))
        return (f: Frame, out: Out) => {
          if (f.tpl !== null && f.tpl.extended && out === f.tpl.topOut) return
          // a piece that reads a secret is marked on its own, so a diff masks that text and not
          // the literal text around it (`K3S_TOKEN=********`)
          const t = f.env.taint
          const before = t.secret
          const heldBefore = t.held
          t.secret = false
          t.held = undefined
          const v = finalize(ev(f))
          if (t.secret) {
            markSecret(concat([v]))
            t.pieceSecret = true
          } else if (t.held && markMade(t.held, v) && typeof v === 'string') t.pieceSecret = true
          t.secret = before
          // the piece's text was judged on its own (held is about what a render makes, not reads)
          t.held = heldBefore
          out.push(native && typeof v === 'string' ? new NativeText(v) : v)
        }
      })
      return parts.length === 1 ? parts[0] : (f: Frame, out: Out) => parts.forEach((p: Run) => p(f, out))
    }
    case 'If': {
      const cond = compileExpr(node.cond)
      const body = compileBody(node.body)
      const else_: Run | null = node.else_ ? (node.else_.typename === 'If' ? compileStmt(node.else_) : compileBody(node.else_)) : null
      return (f, out) => {
        if (truthy(cond(f))) body(f, out)
        else if (else_) else_(f, out)
      }
    }
    case 'NodeList':
    case 'Root':
      return compileBody(node)
    default:
      throw new RenderError(`unsupported template construct ${node.typename}`, node.lineno, node.colno)
  }
}

/** How many host-data reads this render has made so far: compared before and after an expression. */
function hostReads(f: Frame): number {
  return f.env.taint.hostReads ?? 0
}

function unpack(targets: string[], value: unknown, f: Frame, host = false): void {
  if (targets.length === 1) {
    f.set(targets[0], value, host)
    return
  }
  const items = iterate(value)
  if (items.length !== targets.length)
    throw new PyError(
      items.length > targets.length
        ? `too many values to unpack (expected ${targets.length})`
        : `not enough values to unpack (expected ${targets.length}, got ${items.length})`,
      'ValueError',
    )
  targets.forEach((t, i) => f.set(t, items[i], host))
}

const NAMESPACE = Symbol('namespace')

export function makeNamespace(init: Dict): Dict {
  const ns: Dict = {}
  for (const [k, v] of Object.entries(init)) setKey(ns, k, v)
  Object.defineProperty(ns, NAMESPACE, { value: true, enumerable: false })
  return ns
}

function compileOwnStmt(s: Stmt): Run {
  const at = <T>(fn: () => T): T => withPos(s.line, s.col, fn)
  switch (s.k) {
    case 'for': {
      const iter = compileExpr(s.iter)
      const filter = s.filter ? compileExpr(s.filter) : null
      const body = compileBody(s.body)
      const else_ = s.else_ ? compileBody(s.else_) : null
      const targets = s.targets
      if (s.recursive)
        return () =>
          at(() => {
            throw new PyError('recursive loops are not supported')
          })
      return (f, out) => {
        const before = hostReads(f)
        let items = at(() => iterate(iter(f)))
        const host = hostReads(f) > before
        if (filter) {
          items = items.filter((it) => {
            const sub = new Frame(f.env, f)
            unpack(targets, it, sub, host)
            return truthy(filter(sub))
          })
        }
        const n = items.length
        if (n === 0) {
          if (else_) else_(f, out)
          return
        }
        let last: unknown = NOT_FOUND
        for (let i = 0; i < n; i++) {
          tick(s.line, s.col)
          const sub = new Frame(f.env, f)
          at(() => unpack(targets, items[i], sub, host))
          const loop: Dict = {
            index: i + 1,
            index0: i,
            revindex: n - i,
            revindex0: n - i - 1,
            first: i === 0,
            last: i === n - 1,
            length: n,
            depth: 1,
            depth0: 0,
            cycle: new PyFunc('cycle', (args) => {
              if (!args.length) throw new PyError('no items for cycling given', 'TypeError')
              return args[i % args.length]
            }),
            changed: new PyFunc('changed', (args) => {
              const changed = last === NOT_FOUND || !compare('==', last, args)
              last = args
              return changed
            }),
          }
          if (i > 0) loop.previtem = items[i - 1]
          if (i < n - 1) loop.nextitem = items[i + 1]
          sub.set('loop', loop)
          body(sub, out)
        }
      }
    }
    case 'set': {
      const targets = s.targets
      if (s.value) {
        const val = compileExpr(s.value)
        return (f) => {
          const before = hostReads(f)
          const v = val(f)
          const host = hostReads(f) > before
          at(() => assign(targets, v, f, host))
        }
      }
      const body = compileBody(s.body)
      const filter = s.filter
      return (f) => {
        const before = hostReads(f)
        const buf: Out = []
        body(f, buf)
        let v: unknown = concat(buf)
        if (filter) v = applyFilterChain(filter, v, f, hostReads(f) > before)
        const host = hostReads(f) > before
        at(() => assign(targets, v, f, host))
      }
    }
    case 'macro': {
      const fnFor = makeMacro(s.name, s.params, s.body)
      return (f) => f.set(s.name, fnFor(f))
    }
    case 'callblock': {
      const call = s.call as Extract<Expr, { k: 'call' }>
      const callerFor = makeMacro('caller', s.params, s.body)
      const fn = compileExpr(call.fn)
      const args = compileArgs(call.args)
      const kwargs = compileKwargs(call.kwargs)
      return (f, out) => {
        const target = fn(f)
        const before = hostReads(f)
        const av = args(f)
        const kw = kwargs(f)
        f.env.taint.argsHost = hostReads(f) > before
        kw.caller = callerFor(f)
        out.push(at(() => callValue(target, av, kw)))
      }
    }
    case 'filterblock': {
      const body = compileBody(s.body)
      const filter = s.filter
      return (f, out) => {
        const before = hostReads(f)
        const buf: Out = []
        body(f, buf)
        out.push(finalize(applyFilterChain(filter, concat(buf), f, hostReads(f) > before)))
      }
    }
    case 'with': {
      const assigns = s.assigns.map(([k, e]) => [k, compileExpr(e)] as const)
      const body = compileBody(s.body)
      return (f, out) => {
        const sub = new Frame(f.env, f)
        for (const [k, e] of assigns) {
          const before = hostReads(f)
          const v = e(f)
          sub.set(k, v, hostReads(f) > before)
        }
        body(sub, out)
      }
    }
    case 'include': {
      const tpl = compileExpr(s.template)
      return (f, out) => {
        const name = tpl(f)
        const path = at(() => findIncludeFile(f.env, isStr(name) ? sv(name) : pyStr(name), s.ignoreMissing))
        if (path === null) return
        out.push(at(() => f.env.hooks.renderFile(path, f.env, false, true)))
      }
    }
    case 'import':
    case 'fromimport': {
      const tpl = compileExpr(s.template)
      return (f) => {
        const name = tpl(f)
        const path = at(() => findIncludeFile(f.env, isStr(name) ? sv(name) : pyStr(name)))!
        const unit = at(() => f.env.hooks.loadTemplate(path))
        const mod = makeModule(unit, f, s.withContext)
        const top = f.tpl !== null && f === f.tpl.top
        if (s.k === 'import') {
          f.set(s.target, mod)
          if (top) f.tpl!.notExported.add(s.target)
          return
        }
        for (const [n, alias] of s.names) {
          f.set(
            alias,
            hasKey(mod, n)
              ? mod[n]
              : new Undefined(
                  n,
                  NO_OBJ,
                  s.line,
                  s.col,
                  `the template '${pyStr(name)}' (imported on line ${s.line + 1}) does not export the requested name '${n}'`,
                ),
          )
          if (top) f.tpl!.notExported.add(alias)
        }
      }
    }
    case 'extends': {
      const tpl = compileExpr(s.template)
      return (f, out) => {
        const ctx = f.tpl
        if (!ctx) throw new RenderError('extends outside a template', s.line, s.col)
        if (ctx.parent) throw new RenderError('extended multiple times', s.line, s.col)
        const name = tpl(f)
        const path = at(() => findIncludeFile(f.env, isStr(name) ? sv(name) : pyStr(name)))!
        ctx.parent = at(() => f.env.hooks.loadTemplate(path))
        ctx.extended = true
        ctx.extendsAt = out === ctx.topOut ? out.length : ctx.topOut.length
      }
    }
    case 'block':
      return (f, out) => {
        const ctx = f.tpl
        if (!ctx) throw new RenderError('block outside a template', s.line, s.col)
        if (ctx.extended && out === ctx.topOut) return
        renderBlock(ctx, s.name, 0, f, out, s.line, s.col)
      }
    default:
      throw new RenderError(`unsupported statement ${(s as Stmt).k}`, s.line, s.col)
  }
}

/** Jinja2's render of a template: its blocks first in the stacks, then its body, then each template it extends. */
export function runTemplate(unit: TemplateUnit, top: Frame, out: Out): void {
  const ctx = top.tpl!
  ctx.top = top
  ctx.topOut = out
  const add = (u: TemplateUnit) => {
    for (const [n, def] of u.blocks) {
      const stack = ctx.blocks.get(n) ?? []
      stack.push({ def, locate: u.locate })
      ctx.blocks.set(n, stack)
    }
  }
  add(unit)
  guard(unit.locate, () => unit.run(top, out))
  while (ctx.parent) {
    const p = ctx.parent
    ctx.parent = null
    ctx.extended = false
    out.length = ctx.extendsAt
    add(p)
    top.locate = p.locate
    guard(p.locate, () => p.run(top, out))
  }
}

/** Block `name` at depth i of its stack: in the context (top frame), or in the caller's frame when scoped. */
function renderBlock(ctx: TplCtx, name: string, i: number, f: Frame, out: Out, line: number, col: number): void {
  const stack = ctx.blocks.get(name)
  const entry = stack?.[i]
  if (!stack || !entry) throw new RenderError(`no block named '${name}'`, line, col)
  const { def, locate } = entry
  const base = def.scoped ? f : ctx.top
  const sub = new Frame(base.env, base, undefined, locate)
  sub.set(
    'super',
    new PyFunc('super', () => {
      if (i + 1 >= stack.length) return new Undefined('super', NO_OBJ, line, col, `there is no parent block called '${name}'.`)
      const buf: Out = []
      renderBlock(ctx, name, i + 1, f, buf, line, col)
      return concat(buf)
    }),
  )
  guard(locate, () => {
    if (def.required) throw new RenderError(`Required block '${name}' not found.`, line, col)
    def.run(sub, out)
  })
}

/** `self`: each block of the render by name, callable (Jinja2's TemplateReference). */
function selfRef(ctx: TplCtx): Dict {
  const ref: Dict = {}
  for (const name of ctx.blocks.keys())
    setKey(
      ref,
      name,
      new PyFunc(name, () => {
        const buf: Out = []
        renderBlock(ctx, name, 0, ctx.top, buf, 0, 0)
        return concat(buf)
      }),
    )
  return ref
}

/** `{% import %}`: the template run for its top-level names; without context it sees no variables, only globals. */
function makeModule(unit: TemplateUnit, f: Frame, withContext: boolean): Dict {
  const env = withContext ? f.env : new Env({}, f.env.hooks, f.env.lookupOpts, { resolved: new Map(), resolving: new Set(), taint: f.env.taint })
  const ctx = new TplCtx()
  const top = new Frame(env, withContext ? f : null, ctx, unit.locate)
  runTemplate(unit, top, [])
  const mod: Dict = {}
  for (const [k, v] of top.locals) if (!k.startsWith('_') && !ctx.notExported.has(k)) setKey(mod, k, v)
  return mod
}

/** Every `{% block %}` of a template (nested ones too), compiled; and whether it imports, extends or has blocks. */
export function collectBlocks(root: unknown): { blocks: Map<string, BlockDef>; structural: boolean } {
  const blocks = new Map<string, BlockDef>()
  let structural = false
  const walk = (n: any): void => {
    if (!n || typeof n !== 'object') return
    if (Array.isArray(n)) return n.forEach(walk)
    if (n.k === 'block') {
      structural = true
      blocks.set(n.name, { name: n.name, run: compileBody(n.body), scoped: n.scoped, required: n.required })
    } else if (n.k === 'import' || n.k === 'fromimport' || n.k === 'extends') structural = true
    for (const key of ['children', 'body', 'else_']) if (n[key]) walk(n[key])
  }
  walk(root)
  return { blocks, structural }
}

function assign(targets: { name: string; attr?: string }[], v: unknown, f: Frame, host: boolean): void {
  if (targets.length === 1 && targets[0].attr !== undefined) {
    const t = targets[0]
    const ns = f.lookup(t.name)
    if (!isDict(ns) || !(ns as any)[NAMESPACE]) throw new PyError('cannot assign attribute on non-namespace object', 'TypeError')
    setKey(ns, t.attr!, v)
    if (host) f.markHost(t.name)
    return
  }
  unpack(
    targets.map((t) => t.name),
    v,
    f,
    host,
  )
}

function makeMacro(name: string, params: [string, Expr | null][], bodyNode: any): (defFrame: Frame) => PyFunc {
  const body = compileBody(bodyNode)
  const defaults = params.map(([, d]) => (d ? compileExpr(d) : null))
  return (defFrame) => {
    const locate = defFrame.locate
    return new PyFunc(name, (args, kwargs) =>
      guard(locate, () => {
        // the call's arguments read host data: so do the parameters made from them
        const host = defFrame.env.taint.argsHost === true
        const sub = new Frame(defFrame.env, defFrame, undefined, locate)
        const extra: unknown[] = []
        params.forEach(([p], i) => {
          if (i < args.length) sub.set(p, args[i], host)
          else if (Object.prototype.hasOwnProperty.call(kwargs, p)) sub.set(p, kwargs[p], host)
          else if (defaults[i]) sub.set(p, defaults[i]!(sub))
          else sub.set(p, new Undefined(p, NO_OBJ, 0, 0, `parameter '${p}' was not provided`))
        })
        for (let i = params.length; i < args.length; i++) extra.push(args[i])
        sub.set('varargs', extra, host)
        const kw: Dict = {}
        for (const [k, v] of Object.entries(kwargs)) if (!params.some(([p]) => p === k) && k !== 'caller') setKey(kw, k, v)
        sub.set('kwargs', kw, host)
        if (Object.prototype.hasOwnProperty.call(kwargs, 'caller')) sub.set('caller', kwargs.caller)
        const buf: Out = []
        body(sub, buf)
        return concat(buf)
      }),
    )
  }
}

function applyFilterChain(filter: Expr, input: unknown, f: Frame, hostInput: boolean): unknown {
  // the innermost filter of a `{% filter a|b %}` chain has node === null: that's where the body goes
  const chain: Extract<Expr, { k: 'filter' }>[] = []
  let cur: Expr | null = filter
  while (cur && cur.k === 'filter') {
    chain.unshift(cur)
    cur = cur.node
  }
  let v = input
  for (const fl of chain) {
    const fn = getFilter(fl.name, fl.line, fl.col)
    const before = hostReads(f)
    const args = compileArgs(fl.args)(f)
    const kw = compileKwargs(fl.kwargs)(f)
    const host = hostInput || hostReads(f) > before
    v = withPos(fl.line, fl.col, () => fn(v, args, kw, makeCallCtx(f, fl.line, fl.col, host)))
  }
  return v
}

// ---------- expressions ----------
/** A call's positional arguments, `*xs` spread (Jinja2's dyn_args). */
function compileArgs(args: Expr[]): (f: Frame) => unknown[] {
  const parts = args.map((a) => ({ splat: a.k === 'splat', ev: compileExpr(a.k === 'splat' ? a.node : a), a }))
  if (!parts.some((p) => p.splat)) return (f) => parts.map((p) => p.ev(f))
  return (f) => {
    const out: unknown[] = []
    for (const p of parts) {
      const v = p.ev(f)
      if (!p.splat) out.push(v)
      else if (v instanceof Undefined) fail(v)
      else withPos(p.a.line, p.a.col, () => out.push(...spreadable(v)))
    }
    return out
  }
}

function spreadable(v: unknown): unknown[] {
  if (Array.isArray(v)) return v
  if (typeof v === 'string') return [...v]
  if (v && typeof v === 'object') return Object.keys(v)
  throw new Error(`argument after * must be an iterable, not ${v === null ? 'NoneType' : typeof v}`)
}

/** A call's keyword arguments, `**kw` merged (Jinja2's dyn_kwargs). */
function compileKwargs(kwargs: [string, Expr][]): (f: Frame) => Record<string, unknown> {
  const parts = kwargs.map(([k, x]) => [k, compileExpr(x)] as const)
  return (f) => {
    const kw: Record<string, unknown> = Object.create(null)
    for (const [k, x] of parts) {
      const v = x(f)
      if (k !== '**') kw[k] = v
      else if (v instanceof Undefined) fail(v)
      else if (v && typeof v === 'object' && !Array.isArray(v)) Object.assign(kw, v)
      else throw new Error('argument after ** must be a mapping')
    }
    return kw
  }
}

/** Run fn; errors that carry no position yet get this one. */
export function withPos<T>(line: number, col: number, fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof UndefinedError || e instanceof RenderError || e instanceof PlacedError) throw e
    if (e instanceof PyError || e instanceof Error) throw new RenderError((e as Error).message, line, col)
    throw e
  }
}

export function getFilter(name: string, line: number, col: number): FilterFn {
  const fn = FILTERS.get(resolvePluginName(name))
  if (!fn) throw badPluginName(name, line, col) ?? new RenderError(`no filter named '${name}'`, line, col, 'TemplateSyntaxError')
  return fn
}

export function getTest(name: string, line: number, col: number): TestFn {
  const fn = TESTS.get(resolvePluginName(name))
  if (!fn) throw badPluginName(name, line, col) ?? new RenderError(`no test named '${name}'`, line, col, 'TemplateSyntaxError')
  return fn
}

export function callValue(fn: unknown, args: unknown[], kwargs: Record<string, unknown>): unknown {
  if (fn instanceof Undefined) fail(fn)
  if (!(fn instanceof PyFunc))
    throw new PyError(
      `'${fn === null ? 'NoneType' : typeof fn === 'string' ? 'str' : Array.isArray(fn) ? 'list' : 'dict'}' object is not callable`,
      'TypeError',
    )
  return fn.fn(args, kwargs)
}

function makeCallCtx(frame: Frame, line: number, col: number, hostArgs = false): CallCtx {
  return {
    frame,
    line,
    col,
    hostArgs,
    callFilter(name, value, args, kwargs = {}) {
      const fn = getFilter(name, line, col)
      if (value instanceof Undefined && !UNDEFINED_OK_FILTERS.has(resolvePluginName(name))) fail(value)
      return fn(value, args, kwargs, this)
    },
    callTest(name, value, args, kwargs = {}) {
      const fn = getTest(name, line, col)
      if (value instanceof Undefined && !UNDEFINED_OK_TESTS.has(resolvePluginName(name))) fail(value)
      return fn(value, args, kwargs, this)
    },
    call: (fn, args, kwargs = {}) => callValue(fn, args, kwargs),
  }
}

/** A filter or test call: the value, then positional and keyword arguments, errors at the call's position. */
function compilePluginCall(
  fn: (v: unknown, args: unknown[], kwargs: Record<string, unknown>, ctx: ReturnType<typeof makeCallCtx>) => unknown,
  node: (f: Frame) => unknown,
  e: { line: number; col: number; args: Expr[]; kwargs: [string, Expr][] },
  undefOk: boolean,
): (f: Frame) => unknown {
  const args = compileArgs(e.args)
  const kwargs = compileKwargs(e.kwargs)
  return (f) => {
    tick(e.line, e.col)
    const before = hostReads(f)
    const v = node(f)
    if (v instanceof Undefined && !undefOk) fail(v)
    const av = args(f)
    const kw = kwargs(f)
    return withPos(e.line, e.col, () => fn(v, av, kw, makeCallCtx(f, e.line, e.col, hostReads(f) > before)))
  }
}

/**
 * An attribute or item taken from a value (`item.login_user`, `users[0]['name']`): the value it is
 * taken from is read only to select (see noteRead's `select`), so a secret elsewhere in it does not
 * make the render secret; the part taken is noted as read. `select`: this part is itself only
 * selected from (the inner links of `a.b.c`).
 */
function compileSelect(e: Extract<Expr, { k: 'getattr' | 'getitem' }>, select: boolean): Ev {
  const obj = selectFrom(e.obj)
  const pos = { line: e.line, col: e.col }
  if (e.k === 'getattr') {
    const name = e.name
    return (f) => {
      const o = obj(f)
      const v = getAttr(o, name, pos)
      // a method (`item.values()`, `d.items()`) hands on the whole value: it is read, not selected from
      if (v instanceof PyFunc || typeof v === 'function') noteRead(f.env.taint, undefined, o)
      return noteRead(f.env.taint, name, v, select)
    }
  }
  const key = compileExpr(e.key)
  return (f) => {
    const o = obj(f)
    const t = f.env.taint
    const before = t.hostReads ?? 0
    const k = key(f)
    if (k instanceof Undefined) fail(k)
    const v = withPos(pos.line, pos.col, () => getItem(o, k, pos))
    if ((t.hostReads ?? 0) > before && typeof k === 'string') refuseHostChosen(o, k, v, pos)
    return noteRead(t, typeof k === 'string' ? k : undefined, v, select)
  }
}

/**
 * A host chose the key (it was made from host data) into a view keyed by variable names (`vars`,
 * `hostvars[h]`, see NAME_VIEWS): it may read a plain variable, never a secret — as lookup('vars').
 */
function refuseHostChosen(o: unknown, key: string, v: unknown, pos: { line: number; col: number }): void {
  if (o === null || typeof o !== 'object' || !NAME_VIEWS.has(o) || !hostMayNotChoose(key, v)) return
  throw new RenderError(
    `a variable name is made from host data (a result registered on a managed host, its facts, or a file fetched from it), and it names a secret ("${key}"): k3sbook never lets host data choose what the control machine reveals`,
    pos.line,
    pos.col,
    'AnsibleError',
  )
}

/** The value an attribute or item is taken from: a variable or a link of a chain, read only to select. */
function selectFrom(e: Expr): Ev {
  if (e.k === 'name' && e.name !== 'self') {
    const { name, line, col } = e
    return (f) => lookupName(f, name, line, col, true)
  }
  if (e.k === 'getattr' || e.k === 'getitem') return compileSelect(e, true)
  return compileExpr(e)
}

export function compileExpr(e: Expr): Ev {
  switch (e.k) {
    case 'const': {
      const v = e.v instanceof PyFloatConst ? new PyFloat(e.v.v) : e.v
      return () => v
    }
    case 'name': {
      const name = e.name
      const { line, col } = e
      if (name === 'self')
        return (f) => {
          if (f.tpl === null || f.lookup(name) !== NOT_FOUND) return lookupName(f, name, line, col)
          return selfRef(f.tpl)
        }
      return (f) => lookupName(f, name, line, col)
    }
    case 'getattr':
    case 'getitem':
      return compileSelect(e, false)
    case 'slice': {
      const obj = compileExpr(e.obj)
      const [a, b, c] = [e.start, e.stop, e.step].map((x) => (x ? compileExpr(x) : () => null))
      return (f) => withPos(e.line, e.col, () => pySlice(obj(f), a(f), b(f), c(f)))
    }
    case 'call': {
      const fn = compileExpr(e.fn)
      const args = compileArgs(e.args)
      const kwargs = compileKwargs(e.kwargs)
      return (f) => {
        tick(e.line, e.col)
        const target = fn(f)
        // whether the arguments read host data, for a lookup to see (the engine computes on plain
        // strings, so a term's own taint is gone by the time the lookup gets it)
        const t = f.env.taint
        const before = t.hostReads ?? 0
        const av = args(f)
        const kw = kwargs(f)
        t.argsHost = (t.hostReads ?? 0) > before
        const out = withPos(e.line, e.col, () => callValue(target, av, kw))
        // `vars.get(r.stdout)`: the same key a host chose as `vars[r.stdout]`
        if (t.argsHost && target instanceof PyFunc && target.name === 'get' && typeof av[0] === 'string') refuseHostChosen(target.self, av[0], out, e)
        return out
      }
    }
    case 'filter': {
      const node = e.node ? compileExpr(e.node) : () => null
      return compilePluginCall(getFilter(e.name, e.line, e.col), node, e, UNDEFINED_OK_FILTERS.has(resolvePluginName(e.name)))
    }
    case 'test':
      return compilePluginCall(getTest(e.name, e.line, e.col), compileExpr(e.node), e, UNDEFINED_OK_TESTS.has(resolvePluginName(e.name)))
    case 'not': {
      const n = compileExpr(e.node)
      return (f) => !truthy(n(f))
    }
    case 'and': {
      const l = compileExpr(e.l)
      const r = compileExpr(e.r)
      return (f) => {
        const a = l(f)
        return truthy(a) ? r(f) : a
      }
    }
    case 'or': {
      const l = compileExpr(e.l)
      const r = compileExpr(e.r)
      return (f) => {
        const a = l(f)
        return truthy(a) ? a : r(f)
      }
    }
    case 'cmp': {
      const first = compileExpr(e.first)
      const ops = e.ops.map(([op, x]) => [op, compileExpr(x), x] as const)
      return (f) => {
        let a = first(f)
        for (const [op, x, node] of ops) {
          const b = x(f)
          if (!withPos(node.line, node.col, () => compare(op, a, b))) return false
          a = b
        }
        return true
      }
    }
    case 'bin': {
      const l = compileExpr(e.l)
      const r = compileExpr(e.r)
      const op = e.op
      return (f) => {
        const a = l(f)
        const b = r(f)
        return withPos(e.line, e.col, () => pyArith(op, a, b))
      }
    }
    case 'concat': {
      const parts = e.nodes.map(compileExpr)
      return (f) => parts.map((p) => pyStr(p(f))).join('')
    }
    case 'neg':
    case 'pos': {
      const n = compileExpr(e.node)
      const neg = e.k === 'neg'
      return (f) =>
        withPos(e.line, e.col, () => {
          const v = n(f)
          if (v instanceof PyFloat) return new PyFloat(neg ? -v.v : v.v)
          const x = num(v)
          return neg ? -x : x
        })
    }
    case 'cond': {
      const test = compileExpr(e.test)
      const body = compileExpr(e.body)
      const else_ = e.else_ ? compileExpr(e.else_) : null
      return (f) =>
        truthy(test(f))
          ? body(f)
          : else_
            ? else_(f)
            : new Undefined('', NO_OBJ, e.line, e.col, 'the inline if-expression on line evaluated to false and no else section was defined.')
    }
    case 'list': {
      const items = e.items.map(compileExpr)
      return (f) => items.map((i) => i(f))
    }
    case 'tuple': {
      const items = e.items.map(compileExpr)
      return (f) => tuple(items.map((i) => i(f)))
    }
    case 'dict': {
      const items = e.items.map(([k, v]) => [compileExpr(k), compileExpr(v)] as const)
      return (f) => {
        const o: Dict = {}
        for (const [k, v] of items) setKey(o, keyOf(k(f)), v(f))
        return o
      }
    }
    case 'splat':
      throw new Error('a *argument outside a call')
  }
}

/**
 * Readers of lazy variable views (executor/vars.ts), which template each value once, when first
 * read, and keep it: a reader returns that value — or an Undefined where the value's template read
 * an undefined variable, as Ansible's AnsibleJ2Vars does, so it fails only when used and `default`
 * still works. Templating the view's value again would render twice: `"{{ '{{' }} x {{ '}}' }}"` is
 * the text "{{ x }}" in Ansible (a Prometheus rule, a Go template), not x's value.
 */
export const VIEW_READERS = new WeakMap<object, (key: string) => unknown>()
/** A reader's answer for a key it does not template itself (a plain layer over a view): readVar templates it. */
export const NOT_READ = Symbol('not read')

/** A task variable's value, templated once (see VIEW_READERS). */
export function readVar(env: Env, name: string): unknown {
  const read = VIEW_READERS.get(env.vars)
  const v = read ? read(name) : NOT_READ
  return v !== NOT_READ ? v : env.hooks.templateVar(name, env.vars[name], env)
}

/** Frame locals, then the task's variables (templated when read, as Ansible does), then globals. */
export function lookupName(f: Frame, name: string, line: number, col: number, select = false): unknown {
  const local = f.lookup(name)
  if (local !== NOT_FOUND) return local
  const env = f.env
  if (hasKey(env.vars, name)) {
    // the cache keeps the value as stored (host data still wrapped): every read notes its taint
    if (env.resolved.has(name)) return noteRead(env.taint, name, env.resolved.get(name), select)
    const v = readVar(env, name)
    env.resolved.set(name, v)
    return noteRead(env.taint, name, v, select)
  }
  const g = GLOBALS.get(name)
  if (g !== undefined) return g
  const fg = FRAME_GLOBALS.get(name)
  if (fg) return fg(f)
  return new Undefined(name, NO_OBJ, line, col)
}

export const GLOBALS = new Map<string, unknown>()
/** Globals that need the calling frame (lookup and query read the task's variables). */
export const FRAME_GLOBALS = new Map<string, (f: Frame) => unknown>()

/** Ansible's omit placeholder: an argument whose value is exactly this is dropped (see stripOmitted). */
export const OMIT = '__omit_place_holder__k3sbook__'

/** A file for lookup('file'/'template') or include: absolute, or searched in the caller's folders. */
export function findFile(env: Env, name: string, kind: 'files' | 'templates' | 'vars', ignoreMissing = false): string | null {
  const dirs = env.lookupOpts.searchPath ?? []
  const tried: string[] = []
  if (isAbsolute(name)) {
    if (existsSync(name)) return name
    tried.push(name)
  } else {
    for (const d of dirs) {
      for (const p of [join(d, kind, name), join(d, name)]) {
        tried.push(p)
        if (existsSync(p)) return resolve(p)
      }
    }
  }
  if (ignoreMissing) return null
  throw new PyError(`could not find '${name}' in ${kind} search path${tried.length ? ` (tried ${tried.join(', ')})` : ' (no search path given)'}`)
}

/**
 * A template named by `{% include %}`, found as Jinja2's FileSystemLoader finds it: the name is
 * always relative to the search path (a leading "/" does not make it absolute) and a ".." segment
 * is refused, so an include cannot read the control machine's files outside the template folders.
 */
export function findIncludeFile(env: Env, name: string, ignoreMissing = false): string | null {
  const pieces = name.split('/').filter((p) => p !== '' && p !== '.')
  if (pieces.some((p) => p === '..')) {
    if (ignoreMissing) return null
    throw new PyError(`template "${name}" climbs out of the template search path with ".." and is refused`)
  }
  return findFile(env, pieces.join('/'), 'templates', ignoreMissing)
}

/** A file's text read as a template: never one a managed host wrote here (fetch's copies, hostfiles.ts). */
export function readTemplateText(path: string): string {
  refuseHostTemplate(path)
  return readFileSync(path, 'utf8')
}

/** Host data is never rendered as a template: a file a host wrote here is refused as one. */
export function refuseHostTemplate(path: string): void {
  if (isHostFile(path))
    throw new PyError(
      `${path} was fetched from a managed host: k3sbook never renders host data as a template (read its text with a lookup, or copy it as it is)`,
      'AnsibleError',
    )
}

/** A file's text for a lookup: what a host wrote here (hostfiles.ts) is host data for the render that reads it. */
export function readLookupText(env: Env, path: string): string {
  noteHostFile(env, path)
  return readFileSync(path, 'utf8')
}

/** A lookup reads this file: what a host wrote here (hostfiles.ts) is host data for the render. */
export function noteHostFile(env: Env, path: string): void {
  if (isHostFile(path)) noteHostRead(env.taint)
}

export function unsafeOrStr(v: unknown): string {
  if (v instanceof UnsafeString) return v.value
  if (typeof v === 'string') return v
  return pyStr(v)
}

export { pyLen }
