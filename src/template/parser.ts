// Jinja2 templates parsed with nunjucks' tokenizer and statement parser, with the expression grammar
// replaced by Jinja2's own (precedence, tests with bare arguments, slices, `not in`, Python string
// escapes), so templates written for Ansible mean here what they mean there.
// Static imports (not createRequire) so that the bundle (scripts/bundle.mjs) carries them.
/* eslint-disable @typescript-eslint/no-explicit-any */
import lexer from 'nunjucks/src/lexer.js'
import parserMod from 'nunjucks/src/parser.js'
import nodes from 'nunjucks/src/nodes.js'

export interface Pos {
  line: number // 0-based, in the template text
  col: number // 0-based
}

export type Expr = Pos &
  (
    | { k: 'const'; v: unknown }
    | { k: 'name'; name: string }
    | { k: 'getattr'; obj: Expr; name: string }
    | { k: 'getitem'; obj: Expr; key: Expr }
    | { k: 'slice'; obj: Expr; start: Expr | null; stop: Expr | null; step: Expr | null }
    | { k: 'call'; fn: Expr; args: Expr[]; kwargs: [string, Expr][] }
    | { k: 'filter'; name: string; node: Expr | null; args: Expr[]; kwargs: [string, Expr][] }
    | { k: 'test'; name: string; node: Expr; args: Expr[]; kwargs: [string, Expr][] }
    | { k: 'not'; node: Expr }
    | { k: 'and' | 'or'; l: Expr; r: Expr }
    | { k: 'cmp'; first: Expr; ops: [string, Expr][] }
    | { k: 'bin'; op: string; l: Expr; r: Expr }
    | { k: 'concat'; nodes: Expr[] }
    | { k: 'neg' | 'pos'; node: Expr }
    | { k: 'cond'; test: Expr; body: Expr; else_: Expr | null }
    | { k: 'list' | 'tuple'; items: Expr[] }
    | { k: 'dict'; items: [Expr, Expr][] }
    // `*xs` among a call's arguments (kwargs: `**kw` is the keyword '**')
    | { k: 'splat'; node: Expr }
  )

export type SetTarget = { name: string; attr?: string }

/** Statements the nunjucks parser does not produce in Jinja2's shape, built by our overrides. */
export type Stmt = Pos &
  (
    | { k: 'for'; targets: string[]; iter: Expr; filter: Expr | null; body: any; else_: any; recursive: boolean }
    | { k: 'set'; targets: SetTarget[]; value: Expr | null; body: any; filter: Expr | null }
    | { k: 'macro'; name: string; params: [string, Expr | null][]; body: any }
    | { k: 'callblock'; call: Expr; params: [string, Expr | null][]; body: any }
    | { k: 'filterblock'; filter: Expr; body: any }
    | { k: 'with'; assigns: [string, Expr][]; body: any }
    | { k: 'include'; template: Expr; ignoreMissing: boolean }
    // `{% import t as name %}`, `{% from t import a as b, c %}`: without context unless `with context`
    | { k: 'import'; template: Expr; target: string; withContext: boolean }
    | { k: 'fromimport'; template: Expr; names: [string, string][]; withContext: boolean }
    | { k: 'extends'; template: Expr }
    | { k: 'block'; name: string; body: any; scoped: boolean; required: boolean }
    | { k: 'break' | 'continue' }
  )

export const nunjucksNodes = nodes

export interface LexOptions {
  trimBlocks: boolean
  lstripBlocks: boolean
  variableStart: string
  variableEnd: string
  blockStart: string
  blockEnd: string
  commentStart: string
  commentEnd: string
  /** Ansible's escape_backslashes: string literals inside `{{ }}` keep backslashes as written. */
  rawStringsInVars: boolean
}

export class TemplateSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message)
  }
}

const T = lexer

/** A tokenizer for one template: nunjucks' with Jinja2's string escapes and no `r/regex/` literals. */
function makeTokenizer(src: string, o: LexOptions): any {
  const tk = lexer.lex(src, {
    trimBlocks: o.trimBlocks,
    lstripBlocks: o.lstripBlocks,
    tags: {
      blockStart: o.blockStart,
      blockEnd: o.blockEnd,
      variableStart: o.variableStart,
      variableEnd: o.variableEnd,
      commentStart: o.commentStart,
      commentEnd: o.commentEnd,
    },
  })
  // nunjucks reads a run of text one character at a time (`t += current()`): a rope of one-character
  // strings, about 50 bytes of heap per byte of template (a 50 MB template: 2.5 GB RSS, most of the
  // time in the garbage collector). The same scan, one slice, the same line and column.
  tk._extractMatching = function (this: any, breakOnMatch: boolean, charString: string): string | null {
    if (this.index >= this.len) return null
    const str: string = this.str
    const stops = (c: string) => charString.includes(c) === breakOnMatch
    const start: number = this.index
    if (stops(str[start])) return ''
    let end = start + 1
    while (end < this.len && !stops(str[end])) end++
    let lastNl = -1
    for (let i = str.indexOf('\n', start); i >= 0 && i < end; i = str.indexOf('\n', i + 1)) {
      this.lineno++
      lastNl = i
    }
    this.colno = lastNl >= 0 ? end - lastNl - 1 : this.colno + (end - start)
    this.index = end
    return str.slice(start, end)
  }
  let inVar = false
  let depth = 0
  const origNext = tk.nextToken
  tk.nextToken = function (this: any) {
    // inside brackets `}}` closes a dict, not the print statement (Jinja2 balances brackets)
    if (this.in_code && depth > 0 && this.current() === '}') {
      const lineno = this.lineno
      const colno = this.colno
      this.forward()
      depth--
      return { type: T.TOKEN_RIGHT_CURLY, value: '}', lineno, colno }
    }
    // nunjucks reads `r/…/` as a regex literal; in Jinja2 that is the name r divided by …
    if (this.in_code && this.current() === 'r' && this.str.charAt(this.index + 1) === '/') {
      const lineno = this.lineno
      const colno = this.colno
      this.forward()
      return { type: T.TOKEN_SYMBOL, value: 'r', lineno, colno }
    }
    const wasCode = this.in_code
    const tok = origNext.call(this)
    if (!tok) return tok
    if (tok.type === T.TOKEN_VARIABLE_START) inVar = true
    else if (tok.type === T.TOKEN_VARIABLE_END || tok.type === T.TOKEN_BLOCK_START) inVar = false
    if (tok.type === T.TOKEN_LEFT_CURLY || tok.type === T.TOKEN_LEFT_BRACKET || tok.type === T.TOKEN_LEFT_PAREN) depth++
    else if (tok.type === T.TOKEN_RIGHT_CURLY || tok.type === T.TOKEN_RIGHT_BRACKET || tok.type === T.TOKEN_RIGHT_PAREN) depth = Math.max(0, depth - 1)
    else if (tok.type === T.TOKEN_VARIABLE_END || tok.type === T.TOKEN_BLOCK_END) depth = 0
    else if (!wasCode && tok.type === T.TOKEN_COMMENT && o.trimBlocks) {
      // Jinja2's trim_blocks also removes the newline after a comment
      if (this.current() === '\n') this.forward()
      else if (this.current() === '\r' && this.str.charAt(this.index + 1) === '\n') this.forwardN(2)
    }
    return tok
  }
  tk._parseString = function (this: any, delim: string) {
    this.forward()
    let raw = ''
    while (!this.isFinished() && this.current() !== delim) {
      if (this.current() === '\\') {
        raw += '\\'
        this.forward()
        if (this.isFinished()) break
      }
      raw += this.current()
      this.forward()
    }
    if (this.isFinished()) throw new TemplateSyntaxError('unexpected end of string', this.lineno, this.colno)
    this.forward()
    return o.rawStringsInVars && inVar ? raw : pyUnescape(raw)
  }
  return tk
}

/** Python's unicode-escape decoding, as Jinja2 applies it to string literals. */
export function pyUnescape(s: string): string {
  if (!s.includes('\\')) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c !== '\\' || i + 1 >= s.length) {
      out += c
      continue
    }
    const n = s[++i]
    switch (n) {
      case '\n':
        break
      case '\\':
        out += '\\'
        break
      case "'":
        out += "'"
        break
      case '"':
        out += '"'
        break
      case 'a':
        out += '\x07'
        break
      case 'b':
        out += '\b'
        break
      case 'f':
        out += '\f'
        break
      case 'n':
        out += '\n'
        break
      case 'r':
        out += '\r'
        break
      case 't':
        out += '\t'
        break
      case 'v':
        out += '\v'
        break
      case 'x':
      case 'u':
      case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8
        const hex = s.slice(i + 1, i + 1 + len)
        if (hex.length === len && /^[0-9a-fA-F]+$/.test(hex)) {
          out += String.fromCodePoint(parseInt(hex, 16))
          i += len
        } else throw new TemplateSyntaxError(`truncated \\${n} escape in string literal`, 0, 0)
        break
      }
      default:
        if (n >= '0' && n <= '7') {
          let j = i
          while (j < s.length && j < i + 3 && s[j] >= '0' && s[j] <= '7') j++
          out += String.fromCharCode(parseInt(s.slice(i, j), 8))
          i = j - 1
        } else out += '\\' + n
    }
  }
  return out
}

const BaseParser = parserMod.Parser

const COMPARE_OPS = new Set(['==', '!=', '<', '>', '<=', '>='])

type ExprBody = Expr extends infer E ? (E extends unknown ? Omit<E, 'line' | 'col'> : never) : never

function mk(tok: { lineno: number; colno: number }, e: ExprBody): Expr {
  return { ...e, line: tok.lineno, col: tok.colno } as Expr
}

/** nunjucks' statement parser with Jinja2's expression grammar (see jinja2/parser.py). */
class JinjaParser extends BaseParser {
  [key: string]: any

  fail(msg: string, lineno?: number, colno?: number): never {
    if (lineno === undefined || colno === undefined) {
      const tok = this.peeked ?? { lineno: this.tokens.lineno, colno: this.tokens.colno }
      lineno = tok.lineno
      colno = tok.colno
    }
    throw new TemplateSyntaxError(msg, lineno ?? 0, colno ?? 0)
  }

  describe(tok: any): string {
    if (!tok) return 'end of template'
    if (tok.type === T.TOKEN_STRING) return 'string'
    if (tok.type === T.TOKEN_VARIABLE_END || tok.type === T.TOKEN_BLOCK_END) return `'${tok.value.trim()}'`
    return `'${tok.value}'`
  }

  failAt(tok: any, msg: string): never {
    if (!tok) this.fail(msg)
    return this.fail(msg, tok.lineno, tok.colno)
  }

  peekIs(type: string, value?: string): boolean {
    const t = this.peekToken()
    return !!t && t.type === type && (value === undefined || t.value === value)
  }

  peekSymbol(value: string): boolean {
    return this.peekIs(T.TOKEN_SYMBOL, value)
  }

  expectTok(type: string, what: string): any {
    const tok = this.nextToken()
    if (!tok || tok.type !== type) this.failAt(tok, `expected ${what}, got ${this.describe(tok)}`)
    return tok
  }

  parseExpression(withCondexpr = true): Expr {
    return withCondexpr ? this.parseCondexpr() : this.parseOr()
  }

  parseInlineIf(): Expr {
    return this.parseCondexpr()
  }

  parseCondexpr(): Expr {
    let expr1: Expr = this.parseOr()
    while (this.peekSymbol('if')) {
      const tok = this.nextToken()
      const test = this.parseOr()
      let else_: Expr | null = null
      if (this.skipSymbol('else')) else_ = this.parseCondexpr()
      expr1 = mk(tok, { k: 'cond', test, body: expr1, else_ })
    }
    return expr1
  }

  parseOr(): Expr {
    let l: Expr = this.parseAnd()
    while (this.peekSymbol('or')) {
      const tok = this.nextToken()
      l = mk(tok, { k: 'or', l, r: this.parseAnd() })
    }
    return l
  }

  parseAnd(): Expr {
    let l: Expr = this.parseNot()
    while (this.peekSymbol('and')) {
      const tok = this.nextToken()
      l = mk(tok, { k: 'and', l, r: this.parseNot() })
    }
    return l
  }

  parseNot(): Expr {
    if (this.peekSymbol('not')) {
      const tok = this.nextToken()
      return mk(tok, { k: 'not', node: this.parseNot() })
    }
    return this.parseCompare()
  }

  parseCompare(): Expr {
    const first: Expr = this.parseMath1()
    const ops: [string, Expr][] = []
    for (;;) {
      const tok = this.peekToken()
      if (!tok) break
      if (tok.type === T.TOKEN_OPERATOR && COMPARE_OPS.has(tok.value)) {
        this.nextToken()
        ops.push([tok.value, this.parseMath1()])
      } else if (tok.type === T.TOKEN_SYMBOL && tok.value === 'in') {
        this.nextToken()
        ops.push(['in', this.parseMath1()])
      } else if (tok.type === T.TOKEN_SYMBOL && tok.value === 'not') {
        // `not in` needs two tokens of look-ahead
        this.nextToken()
        if (this.peekSymbol('in')) {
          this.nextToken()
          ops.push(['notin', this.parseMath1()])
        } else {
          this.failAt(tok, `unexpected 'not'`)
        }
      } else break
    }
    if (!ops.length) return first
    return { k: 'cmp', first, ops, line: first.line, col: first.col }
  }

  binLoop(next: () => Expr, ops: string[]): Expr {
    let l = next.call(this)
    for (;;) {
      const tok = this.peekToken()
      if (tok && tok.type === T.TOKEN_OPERATOR && ops.includes(tok.value)) {
        this.nextToken()
        const r = next.call(this)
        l = mk(tok, { k: 'bin', op: tok.value, l, r })
      } else return l
    }
  }

  parseMath1(): Expr {
    return this.binLoop(this.parseConcat, ['+', '-'])
  }

  parseConcat(): Expr {
    const first: Expr = this.parseMath2()
    const all = [first]
    while (this.peekIs(T.TOKEN_TILDE)) {
      this.nextToken()
      all.push(this.parseMath2())
    }
    return all.length === 1 ? first : { k: 'concat', nodes: all, line: first.line, col: first.col }
  }

  parseMath2(): Expr {
    return this.binLoop(this.parsePow, ['*', '/', '//', '%'])
  }

  parsePow(): Expr {
    return this.binLoop(this.parseUnaryJ, ['**'])
  }

  parseUnaryJ(withFilter = true): Expr {
    const tok = this.peekToken()
    let node: Expr
    if (tok && tok.type === T.TOKEN_OPERATOR && (tok.value === '-' || tok.value === '+')) {
      this.nextToken()
      node = mk(tok, { k: tok.value === '-' ? 'neg' : 'pos', node: this.parseUnaryJ(false) })
    } else {
      node = this.parsePrimaryJ()
    }
    node = this.parsePostfixJ(node)
    if (withFilter) node = this.parseFilterExpr(node)
    return node
  }

  parsePrimaryJ(): Expr {
    const tok = this.nextToken()
    if (!tok) this.fail('unexpected end of template, expected an expression')
    switch (tok.type) {
      case T.TOKEN_SYMBOL: {
        const v = tok.value
        if (v === 'True' || v === 'true') return mk(tok, { k: 'const', v: true })
        if (v === 'False' || v === 'false') return mk(tok, { k: 'const', v: false })
        if (v === 'None' || v === 'none') return mk(tok, { k: 'const', v: null })
        if (/^\d+[eE]\d+$/.test(v)) return mk(tok, { k: 'const', v: floatConst(v) })
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) this.failAt(tok, `unexpected ${this.describe(tok)}`)
        return mk(tok, { k: 'name', name: v })
      }
      case T.TOKEN_BOOLEAN:
        return mk(tok, { k: 'const', v: tok.value === 'true' })
      case T.TOKEN_NONE:
        // nunjucks reads `null` as None; Jinja2 sees a variable name
        return tok.value === 'null' ? mk(tok, { k: 'name', name: 'null' }) : mk(tok, { k: 'const', v: null })
      case T.TOKEN_STRING: {
        let s: string = tok.value
        // adjacent string literals concatenate, as in Python
        while (this.peekIs(T.TOKEN_STRING)) s += this.nextToken().value
        return mk(tok, { k: 'const', v: s })
      }
      case T.TOKEN_INT:
        return mk(tok, { k: 'const', v: parseInt(tok.value, 10) })
      case T.TOKEN_FLOAT: {
        let text: string = tok.value
        const exp = this.peekToken()
        // nunjucks splits 1.5e3 into `1.5` and `e3`
        if (exp && exp.type === T.TOKEN_SYMBOL && /^[eE]\d+$/.test(exp.value)) text += this.nextToken().value
        return mk(tok, { k: 'const', v: floatConst(text) })
      }
      case T.TOKEN_LEFT_PAREN: {
        const items: Expr[] = []
        let isTuple = false
        while (!this.peekIs(T.TOKEN_RIGHT_PAREN)) {
          if (items.length) {
            this.expectTok(T.TOKEN_COMMA, "',' or ')'")
            isTuple = true
            if (this.peekIs(T.TOKEN_RIGHT_PAREN)) break
          }
          items.push(this.parseExpression())
        }
        this.nextToken()
        if (items.length === 1 && !isTuple) return items[0]
        return mk(tok, { k: 'tuple', items })
      }
      case T.TOKEN_LEFT_BRACKET: {
        const items: Expr[] = []
        while (!this.peekIs(T.TOKEN_RIGHT_BRACKET)) {
          if (items.length) {
            this.expectTok(T.TOKEN_COMMA, "',' or ']'")
            if (this.peekIs(T.TOKEN_RIGHT_BRACKET)) break
          }
          items.push(this.parseExpression())
        }
        this.nextToken()
        return mk(tok, { k: 'list', items })
      }
      case T.TOKEN_LEFT_CURLY: {
        const items: [Expr, Expr][] = []
        while (!this.peekIs(T.TOKEN_RIGHT_CURLY)) {
          if (items.length) {
            this.expectTok(T.TOKEN_COMMA, "',' or '}'")
            if (this.peekIs(T.TOKEN_RIGHT_CURLY)) break
          }
          const key = this.parseExpression()
          this.expectTok(T.TOKEN_COLON, "':'")
          items.push([key, this.parseExpression()])
        }
        this.nextToken()
        return mk(tok, { k: 'dict', items })
      }
      default:
        return this.failAt(tok, `unexpected ${this.describe(tok)}`)
    }
  }

  parsePostfixJ(node: Expr): Expr {
    for (;;) {
      const tok = this.peekToken()
      if (!tok) return node
      if (tok.type === T.TOKEN_OPERATOR && tok.value === '.') {
        this.nextToken()
        const name = this.nextToken()
        if (name && name.type === T.TOKEN_INT) node = mk(tok, { k: 'getitem', obj: node, key: mk(name, { k: 'const', v: parseInt(name.value, 10) }) })
        else if (name && name.type === T.TOKEN_FLOAT && /^\d+\.\d*$/.test(name.value)) {
          // `item.0.name`: the tokenizer read `0.` (or `0.1`) as a float; Jinja2 reads an index, then
          // an attribute (or a second index)
          const [a, b] = name.value.split('.')
          node = mk(tok, { k: 'getitem', obj: node, key: mk(name, { k: 'const', v: parseInt(a, 10) }) })
          if (b) node = mk(tok, { k: 'getitem', obj: node, key: mk(name, { k: 'const', v: parseInt(b, 10) }) })
          else this.pushBack({ type: T.TOKEN_OPERATOR, value: '.', lineno: name.lineno, colno: name.colno + a.length })
        } else if (name && (name.type === T.TOKEN_SYMBOL || name.type === T.TOKEN_BOOLEAN || name.type === T.TOKEN_NONE))
          node = mk(name, { k: 'getattr', obj: node, name: name.value })
        else this.failAt(name, `expected a name after '.', got ${this.describe(name)}`)
      } else if (tok.type === T.TOKEN_FLOAT && /^\.\d+$/.test(tok.value)) {
        break
      } else if (tok.type === T.TOKEN_LEFT_BRACKET) {
        this.nextToken()
        node = this.parseSubscript(tok, node)
      } else if (tok.type === T.TOKEN_LEFT_PAREN) {
        this.nextToken()
        const { args, kwargs } = this.parseCallArgs()
        node = mk(tok, { k: 'call', fn: node, args, kwargs })
      } else return node
    }
    return node
  }

  parseSubscript(tok: any, obj: Expr): Expr {
    const parts: (Expr | null)[] = []
    let cur: Expr | null = null
    let colons = 0
    for (;;) {
      if (this.peekIs(T.TOKEN_RIGHT_BRACKET)) {
        this.nextToken()
        break
      }
      if (this.peekIs(T.TOKEN_COLON)) {
        this.nextToken()
        parts.push(cur)
        cur = null
        colons++
        if (colons > 2) this.failAt(tok, 'invalid slice')
        continue
      }
      if (cur) this.expectTok(T.TOKEN_RIGHT_BRACKET, "']'")
      cur = this.parseExpression()
      if (this.peekIs(T.TOKEN_COMMA)) {
        // x[a, b] indexes by a tuple
        const items = [cur]
        while (this.peekIs(T.TOKEN_COMMA)) {
          this.nextToken()
          if (this.peekIs(T.TOKEN_RIGHT_BRACKET)) break
          items.push(this.parseExpression())
        }
        cur = mk(tok, { k: 'tuple', items })
      }
    }
    if (colons === 0) {
      if (!cur) this.failAt(tok, 'expected an index')
      return mk(tok, { k: 'getitem', obj, key: cur })
    }
    parts.push(cur)
    return mk(tok, { k: 'slice', obj, start: parts[0] ?? null, stop: parts[1] ?? null, step: parts[2] ?? null })
  }

  parseCallArgs(): { args: Expr[]; kwargs: [string, Expr][] } {
    const args: Expr[] = []
    const kwargs: [string, Expr][] = []
    let first = true
    for (;;) {
      if (this.peekIs(T.TOKEN_RIGHT_PAREN)) {
        this.nextToken()
        break
      }
      if (!first) {
        this.expectTok(T.TOKEN_COMMA, "',' or ')'")
        if (this.peekIs(T.TOKEN_RIGHT_PAREN)) {
          this.nextToken()
          break
        }
      }
      first = false
      const t = this.peekToken()
      if (t && t.type === T.TOKEN_OPERATOR && (t.value === '*' || t.value === '**')) {
        // Jinja2's dyn_args/dyn_kwargs: `*xs` may follow keyword arguments, as in Python
        this.nextToken()
        const node = this.parseExpression()
        if (t.value === '*') args.push(mk(t, { k: 'splat', node }))
        else kwargs.push(['**', node])
        continue
      }
      if (t && t.type === T.TOKEN_SYMBOL) {
        // keyword argument: name '=' expr
        const nameTok = this.nextToken()
        const after = this.peekToken()
        if (after && after.type === T.TOKEN_OPERATOR && after.value === '=') {
          this.nextToken()
          kwargs.push([nameTok.value, this.parseExpression()])
          continue
        }
        this.pushBack(nameTok)
      }
      if (kwargs.length) this.failAt(t, 'positional argument follows keyword argument')
      args.push(this.parseExpression())
    }
    return { args, kwargs }
  }

  /** Put a token back in front of the peeked one (nunjucks keeps only one peeked token). */
  pushBack(tok: any): void {
    const next = this.peeked
    this.peeked = tok
    if (next) {
      const orig = this.tokens.nextToken
      const tokens = this.tokens
      let used = false
      tokens.nextToken = function (this: any) {
        if (!used) {
          used = true
          tokens.nextToken = orig
          return next
        }
        return orig.call(this)
      }
    }
  }

  parseDottedName(): { name: string; tok: any } {
    const tok = this.expectTok(T.TOKEN_SYMBOL, 'a name')
    let name = tok.value
    while (this.peekIs(T.TOKEN_OPERATOR, '.')) {
      this.nextToken()
      name += '.' + this.expectTok(T.TOKEN_SYMBOL, 'a name').value
    }
    return { name, tok }
  }

  parseFilterExpr(node: Expr): Expr {
    for (;;) {
      const tok = this.peekToken()
      if (!tok) return node
      if (tok.type === T.TOKEN_PIPE) {
        this.nextToken()
        node = this.parseFilterJ(node)
      } else if (tok.type === T.TOKEN_SYMBOL && tok.value === 'is') {
        this.nextToken()
        node = this.parseTestJ(node, tok)
      } else if (tok.type === T.TOKEN_LEFT_PAREN) {
        this.nextToken()
        const { args, kwargs } = this.parseCallArgs()
        node = mk(tok, { k: 'call', fn: node, args, kwargs })
      } else return node
    }
  }

  parseFilterJ(node: Expr | null): Expr {
    const { name, tok } = this.parseDottedName()
    let args: Expr[] = []
    let kwargs: [string, Expr][] = []
    if (this.peekIs(T.TOKEN_LEFT_PAREN)) {
      this.nextToken()
      ;({ args, kwargs } = this.parseCallArgs())
    }
    return mk(tok, { k: 'filter', name, node, args, kwargs })
  }

  parseTestJ(node: Expr, isTok: any): Expr {
    const negated = this.skipSymbol('not')
    let name: string
    let tok: any
    const t = this.peekToken()
    if (t && (t.type === T.TOKEN_NONE || t.type === T.TOKEN_BOOLEAN)) {
      // `is none`, `is true`, `is false` name tests whose names nunjucks lexes as literals
      this.nextToken()
      name = t.value === 'null' ? 'null' : t.value
      tok = t
    } else if (t && t.type === T.TOKEN_OPERATOR && COMPARE_OPS.has(t.value)) {
      this.nextToken()
      name = t.value
      tok = t
    } else ({ name, tok } = this.parseDottedName())
    let args: Expr[] = []
    let kwargs: [string, Expr][] = []
    const n = this.peekToken()
    if (n && n.type === T.TOKEN_LEFT_PAREN) {
      this.nextToken()
      ;({ args, kwargs } = this.parseCallArgs())
    } else if (
      n &&
      [T.TOKEN_SYMBOL, T.TOKEN_STRING, T.TOKEN_INT, T.TOKEN_FLOAT, T.TOKEN_BOOLEAN, T.TOKEN_NONE, T.TOKEN_LEFT_BRACKET, T.TOKEN_LEFT_CURLY].includes(n.type) &&
      !(n.type === T.TOKEN_SYMBOL && ['else', 'or', 'and', 'if'].includes(n.value))
    ) {
      if (n.type === T.TOKEN_SYMBOL && n.value === 'is') this.failAt(n, 'You cannot chain multiple tests with is')
      args = [this.parsePostfixJ(this.parsePrimaryJ())]
    }
    let out: Expr = mk(tok ?? isTok, { k: 'test', name, node, args, kwargs })
    if (negated) out = mk(isTok, { k: 'not', node: out })
    return out
  }

  // ---- statements whose nunjucks form differs from Jinja2 ----

  parseStatement(): any {
    const tok = this.peekToken()
    if (!tok || tok.type !== T.TOKEN_SYMBOL) this.failAt(tok, 'tag name expected')
    if (this.breakOnBlocks && this.breakOnBlocks.includes(tok.value)) return null
    switch (tok.value) {
      case 'raw':
        return this.parseRaw()
      case 'if':
        return this.parseIf()
      case 'for':
        return this.parseForJ()
      case 'set':
        return this.parseSetJ()
      case 'macro':
        return this.parseMacroJ()
      case 'call':
        return this.parseCallJ()
      case 'filter':
        return this.parseFilterBlockJ()
      case 'with':
        return this.parseWithJ()
      case 'include':
        return this.parseIncludeJ()
      case 'import':
        return this.parseImportJ()
      case 'from':
        return this.parseFromJ()
      case 'extends':
        return this.parseExtendsJ()
      case 'block':
        return this.parseBlockJ()
      case 'elif':
      case 'else':
      case 'endif':
      case 'endfor':
      case 'endset':
      case 'endmacro':
      case 'endcall':
      case 'endfilter':
      case 'endwith':
      case 'endraw':
      case 'endblock':
        return this.failAt(
          tok,
          `unexpected '${tok.value}' tag` + (this.breakOnBlocks ? ` (expecting ${this.breakOnBlocks.map((b: string) => `'${b}'`).join(' or ')})` : ''),
        )
      default:
        return this.failAt(tok, `unknown tag '${tok.value}'` + (['do', 'break', 'continue'].includes(tok.value) ? ' (not supported by k3sbook templates)' : ''))
    }
  }

  parseUntilBlocks(...names: string[]): any {
    const prev = this.breakOnBlocks
    this.breakOnBlocks = names
    const ret = this.parse()
    this.breakOnBlocks = prev
    if (!this.peekToken()) this.fail(`unexpected end of template, expected ${names.map((n) => `'${n}'`).join(' or ')}`)
    return ret
  }

  advanceAfterBlockEnd(name?: string): any {
    if (!name) {
      const tok = this.peekToken()
      if (!tok) this.fail('unexpected end of template')
      name = this.nextToken().value
    }
    const tok = this.nextToken()
    if (tok && tok.type === T.TOKEN_BLOCK_END) {
      if (tok.value.charAt(0) === '-') this.dropLeadingWhitespace = true
    } else this.failAt(tok, `expected end of '${name}' tag, got ${this.describe(tok)}`)
    return tok
  }

  advanceAfterVariableEnd(): void {
    const tok = this.nextToken()
    if (tok && tok.type === T.TOKEN_VARIABLE_END) {
      this.dropLeadingWhitespace = tok.value.charAt(tok.value.length - this.tokens.tags.VARIABLE_END.length - 1) === '-'
    } else this.failAt(tok, `expected end of print statement, got ${this.describe(tok)}`)
  }

  parseAssignName(): string {
    const tok = this.expectTok(T.TOKEN_SYMBOL, 'a name')
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tok.value) || ['True', 'False', 'None', 'true', 'false', 'none'].includes(tok.value))
      this.failAt(tok, `can't assign to '${tok.value}'`)
    return tok.value
  }

  parseForJ(): Stmt {
    const forTok = this.nextToken()
    const targets: string[] = []
    const paren = this.peekIs(T.TOKEN_LEFT_PAREN)
    if (paren) this.nextToken()
    targets.push(this.parseAssignName())
    while (this.peekIs(T.TOKEN_COMMA)) {
      this.nextToken()
      targets.push(this.parseAssignName())
    }
    if (paren) this.expectTok(T.TOKEN_RIGHT_PAREN, "')'")
    if (!this.skipSymbol('in')) this.failAt(this.peekToken(), `expected 'in' in for loop`)
    const iter = this.parseExpression(false)
    let filter: Expr | null = null
    if (this.skipSymbol('if')) filter = this.parseExpression()
    const recursive = this.skipSymbol('recursive')
    this.advanceAfterBlockEnd('for')
    const body = this.parseUntilBlocks('endfor', 'else')
    let else_ = null
    if (this.skipSymbol('else')) {
      this.advanceAfterBlockEnd('else')
      else_ = this.parseUntilBlocks('endfor')
    }
    this.advanceAfterBlockEnd()
    return { k: 'for', targets, iter, filter, body, else_, recursive, line: forTok.lineno, col: forTok.colno }
  }

  parseSetJ(): Stmt {
    const tag = this.nextToken()
    const targets: SetTarget[] = []
    for (;;) {
      const name = this.parseAssignName()
      if (this.peekIs(T.TOKEN_OPERATOR, '.')) {
        this.nextToken()
        targets.push({ name, attr: this.expectTok(T.TOKEN_SYMBOL, 'a name').value })
      } else targets.push({ name })
      if (!this.peekIs(T.TOKEN_COMMA)) break
      this.nextToken()
    }
    if (this.peekIs(T.TOKEN_OPERATOR, '=')) {
      this.nextToken()
      const value = this.parseTupleExpr()
      this.advanceAfterBlockEnd('set')
      return { k: 'set', targets, value, body: null, filter: null, line: tag.lineno, col: tag.colno }
    }
    let filter: Expr | null = null
    if (this.peekIs(T.TOKEN_PIPE)) {
      this.nextToken()
      filter = this.parseFilterJ(null)
      while (this.peekIs(T.TOKEN_PIPE)) {
        this.nextToken()
        filter = this.parseFilterJ(filter)
      }
    }
    this.advanceAfterBlockEnd('set')
    const body = this.parseUntilBlocks('endset')
    this.advanceAfterBlockEnd()
    return { k: 'set', targets, value: null, body, filter, line: tag.lineno, col: tag.colno }
  }

  /** `a, b` without parentheses is a tuple on the right of `set`. */
  parseTupleExpr(): Expr {
    const first = this.parseExpression()
    if (!this.peekIs(T.TOKEN_COMMA)) return first
    const items = [first]
    while (this.peekIs(T.TOKEN_COMMA)) {
      this.nextToken()
      if (this.peekIs(T.TOKEN_BLOCK_END)) break
      items.push(this.parseExpression())
    }
    return { k: 'tuple', items, line: first.line, col: first.col }
  }

  parseParams(): [string, Expr | null][] {
    const params: [string, Expr | null][] = []
    this.expectTok(T.TOKEN_LEFT_PAREN, "'('")
    while (!this.peekIs(T.TOKEN_RIGHT_PAREN)) {
      if (params.length) this.expectTok(T.TOKEN_COMMA, "',' or ')'")
      const name = this.parseAssignName()
      let def: Expr | null = null
      if (this.peekIs(T.TOKEN_OPERATOR, '=')) {
        this.nextToken()
        def = this.parseExpression()
      }
      params.push([name, def])
    }
    this.nextToken()
    return params
  }

  parseMacroJ(): Stmt {
    const tag = this.nextToken()
    const name = this.parseAssignName()
    const params = this.parseParams()
    this.advanceAfterBlockEnd('macro')
    const body = this.parseUntilBlocks('endmacro')
    this.advanceAfterBlockEnd()
    return { k: 'macro', name, params, body, line: tag.lineno, col: tag.colno }
  }

  parseCallJ(): Stmt {
    const tag = this.nextToken()
    const params = this.peekIs(T.TOKEN_LEFT_PAREN) ? this.parseParams() : []
    const call = this.parseExpression()
    if (call.k !== 'call') this.failAt(tag, 'expected a macro call after call')
    this.advanceAfterBlockEnd('call')
    const body = this.parseUntilBlocks('endcall')
    this.advanceAfterBlockEnd()
    return { k: 'callblock', call, params, body, line: tag.lineno, col: tag.colno }
  }

  parseFilterBlockJ(): Stmt {
    const tag = this.nextToken()
    let filter = this.parseFilterJ(null)
    while (this.peekIs(T.TOKEN_PIPE)) {
      this.nextToken()
      filter = this.parseFilterJ(filter)
    }
    this.advanceAfterBlockEnd('filter')
    const body = this.parseUntilBlocks('endfilter')
    this.advanceAfterBlockEnd()
    return { k: 'filterblock', filter, body, line: tag.lineno, col: tag.colno }
  }

  parseWithJ(): Stmt {
    const tag = this.nextToken()
    const assigns: [string, Expr][] = []
    while (!this.peekIs(T.TOKEN_BLOCK_END)) {
      if (assigns.length) this.expectTok(T.TOKEN_COMMA, "','")
      const name = this.parseAssignName()
      const eq = this.nextToken()
      if (!eq || eq.value !== '=') this.failAt(eq, "expected '='")
      assigns.push([name, this.parseExpression()])
    }
    this.advanceAfterBlockEnd('with')
    const body = this.parseUntilBlocks('endwith')
    this.advanceAfterBlockEnd()
    return { k: 'with', assigns, body, line: tag.lineno, col: tag.colno }
  }

  parseIncludeJ(): Stmt {
    const tag = this.nextToken()
    const template = this.parseExpression()
    let ignoreMissing = false
    if (this.skipSymbol('ignore')) {
      if (!this.skipSymbol('missing')) this.failAt(this.peekToken(), "expected 'missing' after 'ignore'")
      ignoreMissing = true
    }
    for (const w of ['with', 'without']) {
      if (this.skipSymbol(w)) this.skipSymbol('context')
    }
    this.advanceAfterBlockEnd('include')
    return { k: 'include', template, ignoreMissing, line: tag.lineno, col: tag.colno }
  }

  /** `with context` / `without context` after an import; true when one was read. */
  parseImportContext(): boolean | undefined {
    const t = this.peekToken()
    if (!t || t.type !== T.TOKEN_SYMBOL || (t.value !== 'with' && t.value !== 'without')) return undefined
    this.nextToken()
    if (!this.skipSymbol('context')) this.failAt(this.peekToken(), `expected 'context' after '${t.value}'`)
    return t.value === 'with'
  }

  parseImportJ(): Stmt {
    const tag = this.nextToken()
    const template = this.parseExpression()
    if (!this.skipSymbol('as')) this.failAt(this.peekToken(), "expected 'as' after the template name in import")
    const target = this.parseAssignName()
    const withContext = this.parseImportContext() ?? false
    this.advanceAfterBlockEnd('import')
    return { k: 'import', template, target, withContext, line: tag.lineno, col: tag.colno }
  }

  parseFromJ(): Stmt {
    const tag = this.nextToken()
    const template = this.parseExpression()
    if (!this.skipSymbol('import')) this.failAt(this.peekToken(), "expected 'import' after the template name in from")
    const names: [string, string][] = []
    let withContext: boolean | undefined
    for (;;) {
      if (names.length) this.expectTok(T.TOKEN_COMMA, "','")
      const t = this.peekToken()
      if (!t || t.type !== T.TOKEN_SYMBOL) this.failAt(t, `expected a name, got ${this.describe(t)}`)
      withContext = this.parseImportContext()
      if (withContext !== undefined) break
      const nameTok = this.peekToken()
      const name = this.parseAssignName()
      if (name.startsWith('_')) this.failAt(nameTok, 'names starting with an underline can not be imported')
      names.push([name, this.skipSymbol('as') ? this.parseAssignName() : name])
      withContext = this.parseImportContext()
      if (withContext !== undefined || !this.peekIs(T.TOKEN_COMMA)) break
    }
    this.advanceAfterBlockEnd('from')
    return { k: 'fromimport', template, names, withContext: withContext ?? false, line: tag.lineno, col: tag.colno }
  }

  parseExtendsJ(): Stmt {
    const tag = this.nextToken()
    const template = this.parseExpression()
    this.advanceAfterBlockEnd('extends')
    return { k: 'extends', template, line: tag.lineno, col: tag.colno }
  }

  parseBlockJ(): Stmt {
    const tag = this.nextToken()
    const nameTok = this.peekToken()
    const name = this.parseAssignName()
    this.blockNames ??= new Set<string>()
    if (this.blockNames.has(name)) this.failAt(nameTok, `block '${name}' defined twice`)
    this.blockNames.add(name)
    const scoped = this.skipSymbol('scoped')
    const required = this.skipSymbol('required')
    this.advanceAfterBlockEnd('block')
    const body = this.parseUntilBlocks('endblock')
    this.nextToken()
    const end = this.peekToken()
    if (end && end.type === T.TOKEN_SYMBOL) {
      if (end.value !== name) this.failAt(end, `expected end of 'endblock' tag, got '${end.value}'`)
      this.nextToken()
    }
    this.advanceAfterBlockEnd('endblock')
    return { k: 'block', name, body, scoped, required, line: tag.lineno, col: tag.colno }
  }

  parseNodes(): any[] {
    const buf: any[] = []
    const tags = this.tokens.tags
    for (;;) {
      const tok = this.nextToken()
      if (!tok) break
      if (tok.type === T.TOKEN_DATA) {
        let data: string = tok.value
        if (this.dropLeadingWhitespace) {
          data = data.replace(/^\s*/, '')
          this.dropLeadingWhitespace = false
        }
        const next = this.peekToken()
        const nv: string = next?.value ?? ''
        if (
          next &&
          ((next.type === T.TOKEN_BLOCK_START && nv.endsWith('-')) ||
            (next.type === T.TOKEN_VARIABLE_START && nv.charAt(tags.VARIABLE_START.length) === '-') ||
            (next.type === T.TOKEN_COMMENT && nv.charAt(tags.COMMENT_START.length) === '-'))
        )
          data = data.trimEnd()
        if (data) buf.push(new nodes.Output(tok.lineno, tok.colno, [new nodes.TemplateData(tok.lineno, tok.colno, data)]))
      } else if (tok.type === T.TOKEN_COMMENT) {
        this.dropLeadingWhitespace = tok.value.charAt(tok.value.length - tags.COMMENT_END.length - 1) === '-'
      } else if (tok.type === T.TOKEN_VARIABLE_START) {
        if (this.peekIs(T.TOKEN_VARIABLE_END)) this.failAt(this.peekToken(), 'expected an expression, got end of print statement')
        const e = this.parseExpression()
        this.dropLeadingWhitespace = false
        this.advanceAfterVariableEnd()
        buf.push(new nodes.Output(tok.lineno, tok.colno, [e]))
      } else if (tok.type === T.TOKEN_BLOCK_START) {
        this.dropLeadingWhitespace = false
        if (this.peekIs(T.TOKEN_BLOCK_END)) this.failAt(tok, 'tag name expected')
        const n = this.parseStatement()
        if (!n) break
        buf.push(n)
      } else this.failAt(tok, `unexpected ${this.describe(tok)}`)
    }
    return buf
  }
}

function floatConst(text: string): unknown {
  const v = parseFloat(text)
  return Number.isInteger(v) ? new PyFloatConst(v) : v
}

/** Marks a float literal with an integral value (`1.0`), which Python prints as `1.0`. */
export class PyFloatConst {
  constructor(readonly v: number) {}
}

export interface ParsedTemplate {
  root: any
}

/** Parse a whole template. Throws TemplateSyntaxError with a 0-based position. */
export function parseTemplate(src: string, o: LexOptions): any {
  const p = new (JinjaParser as any)(makeTokenizer(src, o))
  try {
    return p.parseAsRoot()
  } catch (e) {
    throw toSyntaxError(e, p)
  }
}

/** Parse a bare expression (`when:`), which must be consumed entirely. */
export function parseExpressionText(src: string, o: LexOptions): Expr {
  const tk = makeTokenizer(src, o)
  tk.in_code = true
  const p = new (JinjaParser as any)(tk)
  try {
    const e = p.parseExpression()
    const rest = p.peekToken()
    if (rest) p.failAt(rest, `unexpected ${p.describe(rest)} after the expression`)
    return e
  } catch (e) {
    throw toSyntaxError(e, p)
  }
}

function toSyntaxError(e: unknown, p: any): TemplateSyntaxError {
  if (e instanceof TemplateSyntaxError) return e
  const err = e as any
  if (err && typeof err.lineno === 'number')
    return new TemplateSyntaxError(String(err.message).replace(/^\(unknown path\)\s*/, ''), err.lineno - 1, (err.colno ?? 1) - 1)
  return new TemplateSyntaxError(err?.message ?? String(e), p.tokens.lineno, p.tokens.colno)
}
