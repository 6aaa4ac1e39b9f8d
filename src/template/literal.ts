// Python's ast.literal_eval for the text a template renders to: Ansible reads output that looks like a
// list, dict or bool back into that type, so `"[{{ a }}, {{ b }}]"` becomes a list.
import { pyUnescape } from './parser.js'
import { mkFloat, setKey, tuple, type Dict } from './pyvalues.js'

class LiteralError extends Error {}

/** Parse a Python literal. With json names, `true`/`false`/`null` are accepted too (Ansible's Json2Python). */
export function literalEval(src: string, jsonNames = false): unknown {
  let i = 0
  const s = src
  const ws = () => {
    while (i < s.length && ' \t\n\r\f\v'.includes(s[i])) i++
  }
  const bad = (): never => {
    throw new LiteralError(`malformed literal at ${i}`)
  }
  const value = (): unknown => {
    ws()
    const c = s[i]
    if (c === undefined) bad()
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')'
      i++
      const items: unknown[] = []
      let comma = false
      ws()
      while (s[i] !== close) {
        if (items.length && !comma) bad()
        items.push(value())
        ws()
        comma = false
        if (s[i] === ',') {
          i++
          comma = true
          ws()
        } else if (s[i] !== close) bad()
      }
      i++
      // `(x)` is just x; `(x,)` a tuple
      if (c === '(' && items.length === 1 && !comma) return items[0]
      return c === '(' ? tuple(items) : items
    }
    if (c === '{') {
      i++
      const out: Dict = {}
      const set: unknown[] = []
      let isSet = false
      ws()
      let first = true
      while (s[i] !== '}') {
        if (!first) {
          if (s[i] !== ',') bad()
          i++
          ws()
          if (s[i] === '}') break
        }
        first = false
        const k = value()
        ws()
        if (s[i] === ':' && !isSet) {
          i++
          const v = value()
          if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean' && k !== null) bad()
          setKey(out, k === null ? 'None' : typeof k === 'boolean' ? (k ? 'True' : 'False') : String(k), v)
        } else {
          isSet = true
          set.push(k)
        }
        ws()
      }
      i++
      return isSet ? set : out
    }
    if (c === "'" || c === '"' || ((c === 'u' || c === 'r' || c === 'U' || c === 'R') && (s[i + 1] === "'" || s[i + 1] === '"'))) {
      let raw = false
      if (c !== "'" && c !== '"') {
        raw = c === 'r' || c === 'R'
        i++
      }
      let out = ''
      // adjacent string literals concatenate
      while (s[i] === "'" || s[i] === '"') {
        const q = s[i]
        const triple = s.slice(i, i + 3) === q.repeat(3)
        const end = triple ? q.repeat(3) : q
        i += end.length
        let body = ''
        while (i < s.length && s.slice(i, i + end.length) !== end) {
          if (s[i] === '\\') {
            body += s[i] + (s[i + 1] ?? '')
            i += 2
            continue
          }
          if (!triple && s[i] === '\n') bad()
          body += s[i++]
        }
        if (i >= s.length) bad()
        i += end.length
        out += raw ? body : pyUnescape(body)
        ws()
      }
      return out
    }
    const m = /^[-+]?\s*(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|\d[\d_]*\.|inf|nan)/.exec(s.slice(i))
    if (m && /\d/.test(m[0])) {
      i += m[0].length
      const t = m[0].replace(/[\s_]/g, '')
      const neg = t.startsWith('-')
      const body = t.replace(/^[-+]/, '')
      let n: number
      let float = false
      if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16)
      else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8)
      else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2)
      else {
        float = /[.eE]/.test(body)
        if (!float && /^0\d/.test(body)) bad()
        n = Number(body)
      }
      if (neg) n = -n
      return float ? mkFloat(n) : n
    }
    const w = /^[A-Za-z_]\w*/.exec(s.slice(i))
    if (w) {
      i += w[0].length
      switch (w[0]) {
        case 'True':
          return true
        case 'False':
          return false
        case 'None':
          return null
      }
      if (jsonNames) {
        if (w[0] === 'true') return true
        if (w[0] === 'false') return false
        if (w[0] === 'null') return null
      }
    }
    return bad()
  }
  const v = value()
  ws()
  if (i !== s.length) bad()
  return v
}
