// Static analysis for `validate`: which top-level variables a template reads that it does not
// define itself (set/for/macro/with locals excluded), and which of those it only reads under a
// guard (`x is defined`, `x | default(…)`), where an undefined value is not an error.
import type { Expr, Stmt } from './parser.js'
import { FRAME_GLOBALS, GLOBALS, UNDEFINED_OK_FILTERS, UNDEFINED_OK_TESTS, resolvePluginName } from './runtime.js'

export interface NameUse {
  /** 0-based position in the template text (after any `#jinja2:` header line). */
  line: number
  col: number
}

export interface TemplateAnalysis {
  /** Names read without a guard: undefined means a render error. First use of each. */
  required: Map<string, NameUse>
  /** Names read only under `is defined` / `| default` guards. */
  guarded: Set<string>
  /** Filters applied, and lookups called by a constant name (`lookup('pipe', …)`). */
  filters?: Set<string>
  lookups?: Set<string>
}

type Scope = Set<string>

class Walker {
  readonly required = new Map<string, NameUse>()
  readonly guarded = new Set<string>()
  readonly filters = new Set<string>()
  readonly lookups = new Set<string>()

  use(name: string, pos: NameUse, scope: Scope, guards: Set<string>, soft: boolean): void {
    if (scope.has(name)) return
    if (soft || guards.has(name)) {
      if (!this.required.has(name)) this.guarded.add(name)
      return
    }
    if (GLOBALS.has(name) || FRAME_GLOBALS.has(name)) return
    this.guarded.delete(name)
    if (!this.required.has(name)) this.required.set(name, pos)
  }

  /** Walk an expression. `soft`: an undefined root here is not an error (guarded by the caller). */
  expr(e: Expr | null, scope: Scope, guards: Set<string>, soft = false): void {
    if (!e) return
    switch (e.k) {
      case 'const':
        return
      case 'name':
        this.use(e.name, e, scope, guards, soft)
        return
      case 'getattr':
        // attribute access on an undefined name keeps it undefined (Ansible chains the Undefined)
        this.expr(e.obj, scope, guards, soft)
        return
      case 'getitem':
        this.expr(e.obj, scope, guards, soft)
        this.expr(e.key, scope, guards)
        return
      case 'slice':
        this.expr(e.obj, scope, guards)
        this.expr(e.start, scope, guards)
        this.expr(e.stop, scope, guards)
        this.expr(e.step, scope, guards)
        return
      case 'call':
        if (
          e.fn?.k === 'name' &&
          ['lookup', 'query', 'q'].includes(e.fn.name) &&
          !scope.has(e.fn.name) &&
          e.args[0]?.k === 'const' &&
          typeof e.args[0].v === 'string'
        )
          this.lookups.add(e.args[0].v as string)
        this.expr(e.fn, scope, guards)
        e.args.forEach((a) => this.expr(a, scope, guards))
        e.kwargs.forEach(([, a]) => this.expr(a, scope, guards))
        return
      case 'filter':
        this.filters.add(e.name)
        this.expr(e.node, scope, guards, soft || UNDEFINED_OK_FILTERS.has(resolvePluginName(e.name)))
        e.args.forEach((a) => this.expr(a, scope, guards))
        e.kwargs.forEach(([, a]) => this.expr(a, scope, guards))
        return
      case 'test':
        this.expr(e.node, scope, guards, soft || UNDEFINED_OK_TESTS.has(resolvePluginName(e.name)))
        e.args.forEach((a) => this.expr(a, scope, guards))
        e.kwargs.forEach(([, a]) => this.expr(a, scope, guards))
        return
      case 'not':
      case 'neg':
      case 'pos':
      case 'splat':
        this.expr(e.node, scope, guards)
        return
      case 'and':
      case 'or': {
        // `x is defined and x.y`: the right side runs only when the guard on the left allowed it
        this.expr(e.l, scope, guards)
        this.expr(e.r, scope, withGuards(guards, e.l))
        return
      }
      case 'cmp':
        this.expr(e.first, scope, guards)
        e.ops.forEach(([, x]) => this.expr(x, scope, guards))
        return
      case 'bin':
        this.expr(e.l, scope, guards)
        this.expr(e.r, scope, guards)
        return
      case 'concat':
        e.nodes.forEach((n) => this.expr(n, scope, guards))
        return
      case 'cond': {
        this.expr(e.test, scope, guards)
        const g = withGuards(guards, e.test)
        this.expr(e.body, scope, g)
        this.expr(e.else_, scope, g)
        return
      }
      case 'list':
      case 'tuple':
        e.items.forEach((i) => this.expr(i, scope, guards))
        return
      case 'dict':
        e.items.forEach(([k, v]) => {
          this.expr(k, scope, guards)
          this.expr(v, scope, guards)
        })
        return
    }
  }

  body(list: any, scope: Scope, guards: Set<string>): void {
    for (const n of list?.children ?? []) this.stmt(n, scope, guards)
  }

  stmt(n: any, scope: Scope, guards: Set<string>): void {
    if (n.k) {
      const s = n as Stmt
      switch (s.k) {
        case 'for': {
          this.expr(s.iter, scope, guards)
          const inner = new Set([...scope, ...s.targets, 'loop'])
          this.expr(s.filter, inner, guards)
          const g = s.filter ? withGuards(guards, s.filter) : guards
          this.body(s.body, inner, g)
          // a for loop's `set` does not leak out, so the else branch sees the outer scope
          this.body(s.else_, new Set(scope), guards)
          return
        }
        case 'set':
          if (s.value) this.expr(s.value, scope, guards)
          else {
            this.body(s.body, scope, guards)
            this.expr(s.filter, scope, guards)
          }
          for (const t of s.targets) {
            if (t.attr !== undefined) this.use(t.name, s, scope, guards, false)
            else scope.add(t.name)
          }
          return
        case 'macro': {
          scope.add(s.name)
          const inner = new Set([...scope, ...s.params.map(([p]) => p), 'varargs', 'kwargs', 'caller'])
          s.params.forEach(([, d]) => this.expr(d, inner, guards))
          this.body(s.body, inner, guards)
          return
        }
        case 'callblock': {
          this.expr(s.call, scope, guards)
          const inner = new Set([...scope, ...s.params.map(([p]) => p)])
          this.body(s.body, inner, guards)
          return
        }
        case 'filterblock':
          this.expr(s.filter, scope, guards)
          this.body(s.body, scope, guards)
          return
        case 'with': {
          const inner = new Set(scope)
          for (const [k, e] of s.assigns) {
            this.expr(e, scope, guards)
            inner.add(k)
          }
          this.body(s.body, inner, guards)
          return
        }
        case 'include':
        case 'extends':
          this.expr(s.template, scope, guards)
          return
        case 'import':
          this.expr(s.template, scope, guards)
          scope.add(s.target)
          return
        case 'fromimport':
          this.expr(s.template, scope, guards)
          for (const [, alias] of s.names) scope.add(alias)
          return
        case 'block':
          this.body(s.body, new Set([...scope, 'super', 'self']), guards)
          return
        default:
          return
      }
    }
    switch (n.typename) {
      case 'Output':
        for (const c of n.children) if (c.typename !== 'TemplateData') this.expr(c, scope, guards)
        return
      case 'If': {
        this.expr(n.cond, scope, guards)
        const g = withGuards(guards, n.cond)
        this.body(n.body, scope, g)
        if (n.else_) {
          if (n.else_.typename === 'If') this.stmt(n.else_, scope, g)
          else this.body(n.else_, scope, g)
        }
        return
      }
      default:
        this.body(n, scope, guards)
    }
  }
}

/** Names a condition tests with `is defined` / `is undefined` / `is none`: their use under it is guarded. */
function guardNames(e: Expr | null, out: Set<string>): void {
  if (!e) return
  switch (e.k) {
    case 'test': {
      const root = rootName(e.node)
      if (root && UNDEFINED_OK_TESTS.has(resolvePluginName(e.name))) out.add(root)
      return
    }
    case 'filter': {
      const root = rootName(e.node)
      if (root && UNDEFINED_OK_FILTERS.has(resolvePluginName(e.name))) out.add(root)
      guardNames(e.node, out)
      return
    }
    case 'not':
      guardNames(e.node, out)
      return
    case 'and':
    case 'or':
      guardNames(e.l, out)
      guardNames(e.r, out)
      return
    case 'cmp':
      guardNames(e.first, out)
      e.ops.forEach(([, x]) => guardNames(x, out))
      return
    default:
      return
  }
}

function rootName(e: Expr | null): string | null {
  while (e && (e.k === 'getattr' || e.k === 'getitem')) e = e.obj
  return e && e.k === 'name' ? e.name : null
}

function withGuards(guards: Set<string>, cond: Expr): Set<string> {
  const g = new Set<string>()
  guardNames(cond, g)
  if (!g.size) return guards
  return new Set([...guards, ...g])
}

export function analyzeRoot(root: any): TemplateAnalysis {
  const w = new Walker()
  // `self` is the template's blocks (Jinja2's TemplateReference), never a variable
  w.body(root, new Set(['self']), new Set())
  return { required: w.required, guarded: w.guarded, filters: w.filters, lookups: w.lookups }
}

export function analyzeExpr(e: Expr): TemplateAnalysis {
  const w = new Walker()
  w.expr(e, new Set(), new Set())
  return { required: w.required, guarded: w.guarded, filters: w.filters, lookups: w.lookups }
}
