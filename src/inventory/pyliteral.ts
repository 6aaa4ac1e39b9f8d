// The two Python helpers Ansible's INI inventory leans on: shlex.split(posix, comments) for host
// lines and ast.literal_eval for values, so `port=22` is a number and `x="a b"` a string, as in Ansible.

import { pythonShlexError, shlexSplit as shlex } from '../shlex.js'

/** Python's shlex.split(line, comments=True, posix=True). Throws on an unclosed quote or trailing escape. */
export function shlexSplit(line: string): string[] {
  return shlex(line, pythonShlexError, { comments: true })
}

export type PyLiteral = { ok: true; value: unknown } | { ok: false }

/**
 * ast.literal_eval for the literals an inventory holds: numbers, strings, True/False/None, lists,
 * tuples, dicts and sets. Anything else is `{ ok: false }` and Ansible keeps the text as a string.
 */
export function pyLiteralEval(src: string): PyLiteral {
  try {
    const p = new PyParser(src.replace(/^[ \t]+/, ''))
    const v = p.expr()
    p.skipWs()
    if (p.i !== p.s.length) return { ok: false }
    return { ok: true, value: v }
  } catch {
    return { ok: false }
  }
}

/** The INI plugin's _parse_value: a literal when Python can read one, else the text itself. */
export function iniValue(v: string): unknown {
  const r = pyLiteralEval(v)
  return r.ok ? r.value : v
}

class Fail extends Error {}

class PyParser {
  i = 0
  constructor(readonly s: string) {}

  skipWs(): void {
    for (;;) {
      const c = this.s[this.i]
      if (c === ' ' || c === '\t' || c === '\f') this.i++
      else if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++
      } else return
    }
  }

  expr(): unknown {
    this.skipWs()
    const c = this.s[this.i]
    if (c === '-' || c === '+') {
      this.i++
      this.skipWs()
      const v = this.atom()
      if (typeof v !== 'number') throw new Fail()
      return c === '-' ? -v : v
    }
    return this.atom()
  }

  atom(): unknown {
    this.skipWs()
    const s = this.s
    const c = s[this.i]
    if (c === undefined) throw new Fail()
    if (c === '[') {
      this.i++
      return this.seq(']')
    }
    if (c === '(') {
      this.i++
      const save = this.i
      this.skipWs()
      if (s[this.i] === ')') {
        this.i++
        return []
      }
      this.i = save
      const first = this.expr()
      this.skipWs()
      if (s[this.i] === ')') {
        this.i++
        return first
      }
      if (s[this.i] !== ',') throw new Fail()
      this.i++
      return [first, ...this.seq(')')]
    }
    if (c === '{') {
      this.i++
      return this.dictOrSet()
    }
    const str = this.tryString()
    if (str !== undefined) {
      let v = str
      for (;;) {
        this.skipWs()
        const more = this.tryString()
        if (more === undefined) break
        v += more
      }
      return v
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(this.i))
    if (m) {
      this.i += m[0].length
      if (m[0] === 'True') return true
      if (m[0] === 'False') return false
      if (m[0] === 'None') return null
      throw new Fail()
    }
    return this.number()
  }

  seq(close: string): unknown[] {
    const out: unknown[] = []
    for (;;) {
      this.skipWs()
      if (this.s[this.i] === close) {
        this.i++
        return out
      }
      out.push(this.expr())
      this.skipWs()
      if (this.s[this.i] === ',') this.i++
      else if (this.s[this.i] !== close) throw new Fail()
    }
  }

  dictOrSet(): unknown {
    this.skipWs()
    if (this.s[this.i] === '}') {
      this.i++
      return {}
    }
    const first = this.expr()
    this.skipWs()
    if (this.s[this.i] === ':') {
      const out: Record<string, unknown> = {}
      let key = first
      for (;;) {
        this.skipWs()
        if (this.s[this.i] !== ':') throw new Fail()
        this.i++
        if (typeof key === 'object' && key !== null) throw new Fail() // unhashable
        out[pyStr(key)] = this.expr()
        this.skipWs()
        if (this.s[this.i] === ',') this.i++
        else if (this.s[this.i] !== '}') throw new Fail()
        this.skipWs()
        if (this.s[this.i] === '}') {
          this.i++
          return out
        }
        key = this.expr()
      }
    }
    // a set literal: Ansible serializes it as a list
    const items = [first]
    if (this.s[this.i] === ',') this.i++
    else if (this.s[this.i] !== '}') throw new Fail()
    items.push(...this.seq('}'))
    return [...new Set(items)]
  }

  tryString(): string | undefined {
    const m = /^([rRbBuU]|[bB][rR]|[rR][bB])?('''|"""|'|")/.exec(this.s.slice(this.i))
    if (!m) return undefined
    const raw = (m[1] ?? '').toLowerCase().includes('r')
    const q = m[2]
    this.i += m[0].length
    let out = ''
    for (;;) {
      if (this.i >= this.s.length) throw new Fail()
      if (this.s.startsWith(q, this.i)) {
        this.i += q.length
        return out
      }
      const c = this.s[this.i]
      if (q.length === 1 && c === '\n') throw new Fail()
      if (c === '\\') {
        const e = this.s[this.i + 1]
        if (e === undefined) throw new Fail()
        if (raw) {
          out += c + e
          this.i += 2
          continue
        }
        this.i += 2
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' }
        if (e in simple) out += simple[e]
        else if (e === 'x' || e === 'u' || e === 'U') {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8
          const hex = this.s.slice(this.i, this.i + n)
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Fail()
          out += String.fromCodePoint(parseInt(hex, 16))
          this.i += n
        } else if (/[0-7]/.test(e)) {
          let oct = e
          while (oct.length < 3 && /[0-7]/.test(this.s[this.i] ?? '')) oct += this.s[this.i++]
          out += String.fromCharCode(parseInt(oct, 8))
        } else out += '\\' + e
        continue
      }
      out += c
      this.i++
    }
  }

  number(): number {
    const rest = this.s.slice(this.i)
    const m =
      /^0[xX](?:_?[0-9a-fA-F])+|^0[oO](?:_?[0-7])+|^0[bB](?:_?[01])+/.exec(rest) ??
      /^(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?/.exec(rest)
    if (!m || m[0] === '') throw new Fail()
    const text = m[0].replace(/_/g, '')
    this.i += m[0].length
    if (/^[a-zA-Z0-9_.]/.test(this.s[this.i] ?? '')) throw new Fail()
    if (/^0[xXoObB]/.test(text)) return Number(text)
    if (/^\d+$/.test(text)) {
      // Python 3 refuses leading zeros ("010"), so Ansible keeps such values as strings
      if (text.length > 1 && text[0] === '0' && /[1-9]/.test(text)) throw new Fail()
      return Number(text)
    }
    return Number(text)
  }
}

function pyStr(v: unknown): string {
  // the keys json.dumps writes for Python's True/False/None keys
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (v === null) return 'null'
  return String(v)
}
