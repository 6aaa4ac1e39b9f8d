// Ansible host patterns (InventoryManager.get_hosts): `a:b`/`a,b` unions, `&` intersections and
// `!` exclusions applied in that order, fnmatch globs, `~regex`, `[i]`/`[i:j]` subscripts, the
// implicit localhost, and --limit. Results keep Ansible's host order.
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { ValidationError } from '../errors.js'
import type { Inventory } from '../model.js'
import { parseAddress } from './address.js'
import { groupHosts, inventoryState, LOCALHOST_NAMES } from './vars.js'
import { bracketRuns, starPieces } from '../text.js'

export interface PatternOptions {
  /** Called with "Could not match supplied host pattern, ignoring: X" and similar notes. */
  warn?: (msg: string) => void
  /** Folder that `@file` paths are relative to (default: the current directory). */
  baseDir?: string
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/s

/**
 * Ansible's split_host_pattern: commas split; without commas a string that is one address
 * (`host:22`, an IPv6 address, `web[1:3]`) stays whole, else ":" splits outside brackets.
 */
export function splitHostPattern(pattern: string | string[]): string[] {
  if (Array.isArray(pattern)) return pattern.flatMap((p) => splitHostPattern(p))
  pattern = String(pattern)
  let parts: string[]
  if (pattern.includes(',')) parts = pattern.split(',')
  else if (parseAddress(pattern, true)) parts = [pattern]
  else {
    if (!pattern.trim().startsWith('~') && !pattern.trim().slice(1).startsWith('~')) checkBrackets(pattern, pattern)
    parts = bracketRuns(pattern)
  }
  return parts.map((p) => p.trim()).filter((p) => p)
}

/** Ansible drops a stray "[" or "]" silently; a pattern with one cannot mean what was written. */
function checkBrackets(piece: string, whole: string): void {
  let open = -1
  for (let i = 0; i < piece.length; i++) {
    const c = piece[i]
    if (c === '[') {
      if (open >= 0) continue
      open = i
    } else if (c === ']') {
      if (open < 0) throw new ValidationError(`host pattern "${whole}": "]" without "["`, { hint: 'subscripts look like group[0], group[-1], group[0:2] or group[1:]' })
      open = -1
    }
  }
  if (open >= 0) throw new ValidationError(`host pattern "${whole}": unterminated "["`, { hint: 'subscripts look like group[0], group[-1], group[0:2] or group[1:]' })
}

/** The hosts a play's `hosts:` selects (also accepts `@file` entries, one pattern per line). */
export function resolvePattern(inv: Inventory, pattern: string | string[], opts: PatternOptions = {}): string[] {
  const patterns = expandFiles(splitHostPattern(pattern), opts)
  return evaluatePatterns(inv, patterns, opts)
}

/** --limit: the hosts of `hosts` that the limit pattern also selects, in `hosts`' order. */
export function limitHosts(inv: Inventory, hosts: string[], limit: string | undefined, opts: PatternOptions = {}): string[] {
  if (limit === undefined || limit === null) return hosts
  const subset = expandFiles(splitHostPattern(limit), opts)
  const keep = new Set(evaluatePatterns(inv, subset, opts))
  return hosts.filter((h) => keep.has(h))
}

function expandFiles(patterns: string[], opts: PatternOptions): string[] {
  const out: string[] = []
  for (const p of patterns) {
    if (p[0] !== '@') {
      out.push(p)
      continue
    }
    const file = resolve(opts.baseDir ?? process.cwd(), p.slice(1))
    let text: string
    try {
      if (statSync(file).isDirectory())
        throw new ValidationError(`limit file ${p.slice(1)} is a folder, not a file`, { hint: '"@" must name a file with one host per line' })
      text = readFileSync(file, 'utf8')
    } catch (e) {
      if (e instanceof ValidationError) throw e
      throw new ValidationError(`cannot read host list file ${p.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        hint: '"@file" names a file with one host or pattern per line, such as a .retry file',
      })
    }
    // lines are whole patterns, not split again (as Ansible's subset() does)
    out.push(...text.split('\n').map((l) => l.trim()))
  }
  return out
}

function orderPatterns(patterns: string[]): string[] {
  const regular: string[] = []
  const inter: string[] = []
  const excl: string[] = []
  for (const p of patterns) {
    if (!p) continue
    if (p[0] === '!') excl.push(p)
    else if (p[0] === '&') inter.push(p)
    else regular.push(p)
  }
  // only & and ! given: Ansible starts from all
  if (regular.length === 0) regular.push('all')
  return [...regular, ...inter, ...excl]
}

function evaluatePatterns(inv: Inventory, patterns: string[], opts: PatternOptions): string[] {
  const cache = new Map<string, string[]>()
  let hosts: string[] = []
  for (const p of orderPatterns(patterns)) {
    if (inv.hosts.has(p)) {
      hosts.push(p)
      continue
    }
    const that = matchOnePattern(inv, p, cache, opts)
    if (p[0] === '!') {
      const s = new Set(that)
      hosts = hosts.filter((h) => !s.has(h))
    } else if (p[0] === '&') {
      const s = new Set(that)
      hosts = hosts.filter((h) => s.has(h))
    } else {
      const existing = new Set(hosts)
      for (const h of that) if (!existing.has(h)) hosts.push(h)
    }
  }
  return [...new Set(hosts)]
}

function matchOnePattern(inv: Inventory, pattern: string, cache: Map<string, string[]>, opts: PatternOptions): string[] {
  if (pattern[0] === '&' || pattern[0] === '!') pattern = pattern.slice(1)
  if (!pattern) throw new ValidationError('host pattern has "&" or "!" with nothing after it', { hint: 'write "web:&prod" or "all:!db"' })
  const hit = cache.get(pattern)
  if (hit) return hit
  const { expr, sub } = splitSubscript(pattern)
  let hosts = enumerateMatches(inv, expr, opts)
  if (hosts.length && sub) {
    const [start, end] = sub
    if (end) {
      const e = end === -1 ? hosts.length - 1 : end
      hosts = pySlice(hosts, start, e + 1)
    } else {
      const i = start < 0 ? hosts.length + start : start
      if (i < 0 || i >= hosts.length)
        throw new ValidationError(`No hosts matched the subscripted pattern '${pattern}'`, {
          hint: `"${expr}" has ${hosts.length} host${hosts.length === 1 ? '' : 's'}; indexes start at 0`,
        })
      hosts = [hosts[i]]
    }
  }
  cache.set(pattern, hosts)
  return hosts
}

function pySlice<T>(xs: T[], start: number, end: number): T[] {
  const n = xs.length
  const norm = (i: number) => (i < 0 ? Math.max(0, n + i) : Math.min(i, n))
  return xs.slice(norm(start), norm(end))
}

function splitSubscript(pattern: string): { expr: string; sub?: [number, number | undefined] } {
  if (pattern[0] === '~') return { expr: pattern }
  const m = SUBSCRIPT.exec(pattern)
  if (!m) {
    checkBrackets(pattern, pattern)
    return { expr: pattern }
  }
  const [, expr, idx, start, , endText] = m
  if (idx !== undefined) return { expr, sub: [parseInt(idx, 10), undefined] }
  // "[1:]" means to the end; Ansible also reads "[x:0]" as just [x]
  const end = endText ? parseInt(endText, 10) : -1
  return { expr, sub: [parseInt(start, 10), end] }
}

function enumerateMatches(inv: Inventory, pattern: string, opts: PatternOptions): string[] {
  const results: string[] = []
  const match = compileMatcher(pattern)
  const groups = [...inv.groups.keys()].filter(match)
  for (const g of groups) results.push(...groupHosts(inv, g))
  if (groups.length === 0 || pattern[0] === '~' || /[.?*[]/.test(pattern)) {
    for (const h of inv.hosts.keys()) if (match(h)) results.push(h)
  }
  if (results.length === 0 && LOCALHOST_NAMES.includes(pattern)) {
    const s = inventoryState(inv)
    s.implicitLocalhost ??= pattern
    opts.warn?.(`${pattern} is not in the inventory: using the implicit localhost (connection: local)`)
    results.push(s.implicitLocalhost)
  }
  if (results.length === 0 && groups.length === 0 && pattern !== 'all')
    opts.warn?.(`Could not match supplied host pattern, ignoring: ${pattern}`)
  return results
}

const matcherCache = new Map<string, (name: string) => boolean>()

/** `~regex` (Python re.match: anchored at the start only) or an fnmatch glob (whole name). */
export function compileMatcher(pattern: string): (name: string) => boolean {
  const hit = matcherCache.get(pattern)
  if (hit) return hit
  let fn: (name: string) => boolean
  if (pattern[0] === '~') {
    const re = pythonRegex(pattern.slice(1), pattern)
    fn = (name) => {
      re.lastIndex = 0
      return re.test(name)
    }
  } else if (!/[*?[]/.test(pattern)) fn = (name) => name === pattern
  else {
    const re = new RegExp(`^(?:${fnmatchTranslate(pattern)})$`, 's')
    fn = (name) => re.test(name)
  }
  if (matcherCache.size > 1000) matcherCache.clear()
  matcherCache.set(pattern, fn)
  return fn
}

function escapeChar(c: string): string {
  return /[A-Za-z0-9_]/.test(c) || c.charCodeAt(0) > 127 ? c : '\\' + c
}

/** Python 3.11's fnmatch.translate, written out as a JavaScript regex body. */
export function fnmatchTranslate(pat: string): string {
  // the fixed pieces between the stars (each of their parts matches one character)
  const pieces: string[] = []
  let res = ''
  let i = 0
  const n = pat.length
  while (i < n) {
    const c = pat[i++]
    if (c === '*') {
      pieces.push(res)
      res = ''
    } else if (c === '?') res += '.'
    else if (c === '[') {
      let j = i
      if (j < n && pat[j] === '!') j++
      if (j < n && pat[j] === ']') j++
      while (j < n && pat[j] !== ']') j++
      if (j >= n) {
        res += '\\['
        continue
      }
      const neg = pat[i] === '!'
      const content = pat.slice(neg ? i + 1 : i, j)
      i = j + 1
      if (!content) {
        res += neg ? '.' : '(?!)'
        continue
      }
      // ranges split at "-" (a leading "-" is literal); empty ranges such as z-a are dropped
      const chunks: string[] = []
      let start = 0
      let k = 1
      for (;;) {
        k = content.indexOf('-', k)
        if (k < 0) break
        chunks.push(content.slice(start, k))
        start = k + 1
        k = k + 3
      }
      const last = content.slice(start)
      if (last) chunks.push(last)
      else if (chunks.length) chunks[chunks.length - 1] += '-'
      else chunks.push('-')
      for (let m = chunks.length - 1; m > 0; m--) {
        if (chunks[m - 1][chunks[m - 1].length - 1] > chunks[m][0]) {
          chunks[m - 1] = chunks[m - 1].slice(0, -1) + chunks[m].slice(1)
          chunks.splice(m, 1)
        }
      }
      const body = chunks.map((ch) => [...ch].map(escapeChar).join('')).join('-')
      if (!body) res += neg ? '.' : '(?!)'
      else res += `[${neg ? '^' : ''}${body}]`
    } else res += escapeChar(c)
  }
  pieces.push(res)
  return starPieces(pieces)
}

/** A Python `re` pattern as a sticky JavaScript RegExp (so it matches at the start, like re.match). */
export function pythonRegex(src: string, whole: string): RegExp {
  let flags = 'y'
  const lead = /^\(\?([aiLmsux]+)\)/.exec(src)
  if (lead) {
    src = src.slice(lead[0].length)
    for (const f of lead[1]) {
      if ('ims'.includes(f) && !flags.includes(f)) flags += f
      if (f === 'x') throw new ValidationError(`host pattern "${whole}": verbose regexes (?x) are not supported`)
    }
  }
  let out = ''
  for (let i = 0; i < src.length; i++) {
    const c = src[i]
    if (c === '\\') {
      const d = src[i + 1]
      if (d === 'Z') out += '(?![\\s\\S])'
      else if (d === 'A') out += '(?<![\\s\\S])'
      else out += c + (d ?? '')
      i++
    } else if (src.startsWith('(?P<', i)) {
      out += '(?<'
      i += 3
    } else if (src.startsWith('(?P=', i)) {
      const close = src.indexOf(')', i)
      out += `\\k<${src.slice(i + 4, close)}>`
      i = close
    } else out += c
  }
  try {
    return new RegExp(out, flags)
  } catch (e) {
    throw new ValidationError(`host pattern "${whole}" is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`, {
      hint: 'a pattern starting with "~" is a Python regular expression matched against host and group names',
    })
  }
}
