// Python `re` patterns and replacement strings on JS RegExp: named groups, \A \Z, inline flags,
// and re.sub's `\1` / `\g<name>` templates, so Ansible's regex filters and tests behave the same.
import { PyError, tuple } from './pyvalues.js'

const cache = new Map<string, RegExp>()

export function pyRegex(pattern: string, flags: { ignorecase?: boolean; multiline?: boolean; dotall?: boolean } = {}, global = false): RegExp {
  let f = (global ? 'g' : '') + (flags.ignorecase ? 'i' : '') + (flags.multiline ? 'm' : '') + (flags.dotall ? 's' : '')
  const key = f + '\0' + pattern
  const hit = cache.get(key)
  if (hit) {
    hit.lastIndex = 0
    return hit
  }
  let src = pattern
  // leading inline flags: (?i) (?m) (?s) (?x is not supported)
  const inl = /^\(\?([aiLmsux]+)\)/.exec(src)
  if (inl) {
    src = src.slice(inl[0].length)
    for (const c of inl[1]) if ('ims'.includes(c) && !f.includes(c)) f += c
    if (inl[1].includes('x')) throw new PyError('verbose regular expressions (?x) are not supported')
  }
  src = translatePattern(src, f.includes('m'))
  let re: RegExp
  try {
    re = new RegExp(src, f)
  } catch (e) {
    throw new PyError(`invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`, 're.error')
  }
  if (cache.size > 500) cache.clear()
  cache.set(key, re)
  return re
}

/** A Python pattern body (inline flags already taken off) as JS RegExp source. */
export function translatePattern(p: string, multiline: boolean): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '\\') {
      const n = p[i + 1]
      if (!inClass && n === 'A') out += '(?<![\\s\\S])'
      else if (!inClass && n === 'Z') out += '(?![\\s\\S])'
      else out += c + (n ?? '')
      i++
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      out += c
      continue
    }
    if (c === '[') {
      inClass = true
      out += c
      if (p[i + 1] === '^') out += p[++i]
      if (p[i + 1] === ']') out += '\\' + p[++i]
      continue
    }
    if (c === '(' && p.startsWith('(?P<', i)) {
      out += '(?<'
      i += 3
      continue
    }
    if (c === '(' && p.startsWith('(?P=', i)) {
      const end = p.indexOf(')', i)
      out += `\\k<${p.slice(i + 4, end)}>`
      i = end
      continue
    }
    if (c === '$' && !multiline) {
      // Python's $ (without MULTILINE) also matches before a final newline
      out += '(?=\\n?(?![\\s\\S]))'
      continue
    }
    out += c
  }
  return out
}

/** Expand a Python re.sub replacement template for one match. */
export function expandTemplate(tpl: string, m: RegExpExecArray | RegExpMatchArray): string {
  let out = ''
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]
    if (c !== '\\') {
      out += c
      continue
    }
    const n = tpl[i + 1]
    if (n === undefined) throw new PyError('bad escape (end of pattern)', 're.error')
    if (n === 'g') {
      const end = tpl.indexOf('>', i)
      if (tpl[i + 2] !== '<' || end < 0) throw new PyError('missing group name', 're.error')
      const name = tpl.slice(i + 3, end)
      out += groupValue(m, /^\d+$/.test(name) ? Number(name) : name)
      i = end
      continue
    }
    if (/[0-9]/.test(n)) {
      let j = i + 1
      while (j < tpl.length && j < i + 3 && /[0-9]/.test(tpl[j])) j++
      out += groupValue(m, Number(tpl.slice(i + 1, j)))
      i = j - 1
      continue
    }
    const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '\\': '\\' }
    if (esc[n] !== undefined) out += esc[n]
    else if (/[A-Za-z]/.test(n)) throw new PyError(`bad escape \\${n}`, 're.error')
    else out += '\\' + n
    i++
  }
  return out
}

function groupValue(m: RegExpExecArray | RegExpMatchArray, g: number | string): string {
  if (typeof g === 'number') {
    if (g >= m.length) throw new PyError(`invalid group reference ${g}`, 're.error')
    return m[g] ?? ''
  }
  if (!m.groups || !(g in m.groups)) throw new PyError(`unknown group name '${g}'`, 'IndexError')
  return m.groups[g] ?? ''
}

/** re.sub */
export function pySub(re: RegExp, tpl: string, s: string, count = 0): string {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')
  let n = 0
  return s.replace(g, (...args) => {
    if (count > 0 && n >= count) return args[0]
    n++
    const hasGroups = typeof args[args.length - 1] === 'object'
    const groups = hasGroups ? args[args.length - 1] : undefined
    const caps = args.slice(0, hasGroups ? -3 : -2)
    const m = caps as unknown as RegExpMatchArray
    ;(m as { groups?: Record<string, string> }).groups = groups
    return expandTemplate(tpl, m)
  })
}

/** re.findall */
export function pyFindall(re: RegExp, s: string): unknown[] {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')
  const out: unknown[] = []
  for (const m of s.matchAll(g)) {
    if (m.length === 1) out.push(m[0])
    else if (m.length === 2) out.push(m[1] ?? '')
    else out.push(tuple(m.slice(1).map((x) => x ?? '')))
  }
  return out
}
