// to_yaml / to_nice_yaml / to_json output as Ansible writes it: PyYAML's SafeDumper emitter
// (scalar style choice, indentless sequences, 80-column folding, sorted keys) and Python's
// json.dumps, so config files rendered here are byte-identical to Ansible's.
import { UnsafeString, VaultString } from '../yamlfile.js'
import { PyError, PyFloat, PyFunc, PyObject, Undefined, fail, isDict, pyFloatRepr } from './pyvalues.js'

// ---------- JSON ----------

export interface JsonOptions {
  indent?: number | string | null
  sortKeys?: boolean
  separators?: [string, string]
  ensureAscii?: boolean
}

function jsonStr(s: string, ascii: boolean): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const ch = s[i]
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (c < 0x20 || (ascii && c > 0x7e)) out += '\\u' + c.toString(16).padStart(4, '0')
    else out += ch
  }
  return out + '"'
}

export function pyJsonDumps(v: unknown, o: JsonOptions = {}): string {
  const indent = o.indent === null || o.indent === undefined ? null : typeof o.indent === 'number' ? ' '.repeat(o.indent) : o.indent
  const [itemSep, keySep] = o.separators ?? (indent !== null ? [',', ': '] : [', ', ': '])
  const ascii = o.ensureAscii ?? true
  const enc = (x: unknown, level: number): string => {
    if (x === null || x === undefined) return 'null'
    if (x === true) return 'true'
    if (x === false) return 'false'
    if (typeof x === 'number') {
      if (Number.isInteger(x)) return String(x)
      if (Number.isNaN(x)) return 'NaN'
      if (x === Infinity) return 'Infinity'
      if (x === -Infinity) return '-Infinity'
      return pyFloatRepr(x)
    }
    if (x instanceof PyFloat) return pyFloatRepr(x.v)
    if (typeof x === 'string') return jsonStr(x, ascii)
    if (x instanceof UnsafeString) return jsonStr(x.value, ascii)
    if (x instanceof VaultString) return jsonStr(x.ciphertext, ascii)
    if (x instanceof Undefined) fail(x)
    const nl = indent !== null ? '\n' + indent.repeat(level + 1) : ''
    const end = indent !== null ? '\n' + indent.repeat(level) : ''
    if (Array.isArray(x)) {
      if (!x.length) return '[]'
      return '[' + nl + x.map((i) => enc(i, level + 1)).join(itemSep + nl) + end + ']'
    }
    if (isDict(x)) {
      let keys = Object.keys(x)
      if (!keys.length) return '{}'
      if (o.sortKeys) keys = [...keys].sort()
      return '{' + nl + keys.map((k) => jsonStr(k, ascii) + keySep + enc(x[k], level + 1)).join(itemSep + nl) + end + '}'
    }
    if (x instanceof PyFunc) throw new PyError(`Object of type function is not JSON serializable`, 'TypeError')
    if (x instanceof PyObject) {
      const j = x.jsonValue()
      if (j !== undefined) return enc(j, level)
      throw new PyError(`Object of type ${x.pyType} is not JSON serializable`, 'TypeError')
    }
    throw new PyError(`Object of type ${typeof x} is not JSON serializable`, 'TypeError')
  }
  return enc(v, 0)
}

// ---------- YAML (PyYAML emitter) ----------

export interface YamlOptions {
  indent?: number
  /** null: flow style for collections holding only scalars (yaml.dump's default); false: block everywhere. */
  defaultFlowStyle?: boolean | null
  width?: number
  sortKeys?: boolean
  explicitStart?: boolean
}

const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  /^(?:<<)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  /^(?:=)$/,
]

interface Analysis {
  empty: boolean
  multiline: boolean
  allowFlowPlain: boolean
  allowBlockPlain: boolean
  allowSingleQuoted: boolean
}

const BREAKS = '\n\x85\u2028\u2029'
const WSZ = '\0 \t\r\n\x85\u2028\u2029'

function analyze(s: string): Analysis {
  if (!s) return { empty: true, multiline: false, allowFlowPlain: false, allowBlockPlain: true, allowSingleQuoted: true }
  let blockInd = false
  let flowInd = false
  let lineBreaks = false
  let special = false
  let leadingSpace = false
  let leadingBreak = false
  let trailingSpace = false
  let trailingBreak = false
  let breakSpace = false
  let spaceBreak = false
  if (s.startsWith('---') || s.startsWith('...')) blockInd = flowInd = true
  let precededByWs = true
  let followedByWs = s.length === 1 || WSZ.includes(s[1])
  let prevSpace = false
  let prevBreak = false
  const chars = [...s]
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) flowInd = blockInd = true
      if ('?:'.includes(ch)) {
        flowInd = true
        if (followedByWs) blockInd = true
      }
      if (ch === '-' && followedByWs) flowInd = blockInd = true
    } else {
      if (',?[]{}'.includes(ch)) flowInd = true
      if (ch === ':') {
        flowInd = true
        if (followedByWs) blockInd = true
      }
      if (ch === '#' && precededByWs) flowInd = blockInd = true
    }
    if (BREAKS.includes(ch)) lineBreaks = true
    if (!printable(ch)) special = true
    if (ch === ' ') {
      if (i === 0) leadingSpace = true
      if (i === chars.length - 1) trailingSpace = true
      if (prevBreak) breakSpace = true
      prevSpace = true
      prevBreak = false
    } else if (BREAKS.includes(ch)) {
      if (i === 0) leadingBreak = true
      if (i === chars.length - 1) trailingBreak = true
      if (prevSpace) spaceBreak = true
      prevSpace = false
      prevBreak = true
    } else {
      prevSpace = prevBreak = false
    }
    precededByWs = WSZ.includes(ch)
    followedByWs = i + 2 >= chars.length || WSZ.includes(chars[i + 2])
  }
  let flowPlain = true
  let blockPlain = true
  let single = true
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) flowPlain = blockPlain = false
  if (breakSpace) flowPlain = blockPlain = single = false
  if (spaceBreak || special) flowPlain = blockPlain = single = false
  if (lineBreaks) flowPlain = blockPlain = false
  if (flowInd) flowPlain = false
  if (blockInd) blockPlain = false
  return { empty: false, multiline: lineBreaks, allowFlowPlain: flowPlain, allowBlockPlain: blockPlain, allowSingleQuoted: single }
}

const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\x09': 't',
  '\x0A': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\x0D': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
}

type Scalar = { text: string; plainOk: boolean }

/** libyaml's IS_PRINTABLE (AnsibleDumper is libyaml's emitter): no tab, no NEL, nothing beyond the BMP. */
function printable(ch: string): boolean {
  const c = ch.codePointAt(0)!
  return c === 0x0a || (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
}

class Emitter {
  out = ''
  column = 0
  whitespace = true
  indention = true
  indent: number | null = null
  indents: (number | null)[] = []
  flowLevel = 0
  openEnded = false
  constructor(
    readonly bestIndent: number,
    readonly bestWidth: number,
    readonly defaultFlowStyle: boolean | null,
    readonly sortKeys: boolean,
  ) {}

  write(s: string): void {
    this.out += s
  }
  lineBreak(): void {
    this.whitespace = true
    this.indention = true
    this.column = 0
    this.write('\n')
  }
  writeIndent(): void {
    const indent = this.indent ?? 0
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak()
    if (this.column < indent) {
      this.whitespace = true
      this.write(' '.repeat(indent - this.column))
      this.column = indent
    }
  }
  indicator(ind: string, needWs: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWs ? ind : ' ' + ind
    this.whitespace = whitespace
    this.indention = this.indention && indention
    this.column += data.length
    this.openEnded = false
    this.write(data)
  }
  increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent)
    if (this.indent === null) this.indent = flow ? this.bestIndent : 0
    else if (!indentless) this.indent += this.bestIndent
  }
  writeText(d: string): void {
    this.column += d.length
    this.write(d)
  }

  writePlain(text: string, split: boolean, root: boolean): void {
    if (root) this.openEnded = true
    if (!text) return
    if (!this.whitespace) this.writeText(' ')
    this.whitespace = false
    this.indention = false
    let spaces = false
    let start = 0
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : null
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split) {
            this.writeIndent()
            this.whitespace = false
            this.indention = false
          } else this.writeText(text.slice(start, end))
          start = end
        }
      } else if (ch === null || ' \n\x85\u2028\u2029'.includes(ch)) {
        this.writeText(text.slice(start, end))
        start = end
      }
      if (ch !== null) spaces = ch === ' '
    }
  }

  writeSingle(text: string, split: boolean): void {
    this.indicator("'", true)
    let spaces = false
    let breaks = false
    let start = 0
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : null
      if (spaces) {
        if (ch === null || ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split && start !== 0 && end !== text.length) this.writeIndent()
          else this.writeText(text.slice(start, end))
          start = end
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          if (text[start] === '\n') this.lineBreak()
          for (const br of text.slice(start, end)) {
            if (br === '\n') this.lineBreak()
            else {
              this.lineBreak()
            }
          }
          this.writeIndent()
          start = end
        }
      } else if (ch === null || ' \n\x85\u2028\u2029'.includes(ch) || ch === "'") {
        if (start < end) {
          this.writeText(text.slice(start, end))
          start = end
        }
      }
      if (ch === "'") {
        this.writeText("''")
        start = end + 1
      }
      if (ch !== null) {
        spaces = ch === ' '
        breaks = BREAKS.includes(ch)
      }
    }
    this.indicator("'", false)
  }

  /** libyaml's yaml_emitter_write_double_quoted: folds at a space past the width, no trailing backslash. */
  writeDouble(text: string, split: boolean): void {
    this.indicator('"', true)
    const chars = Array.from(text)
    let spaces = false
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]
      const c = ch.codePointAt(0)!
      if (!printable(ch) || ch === '\ufeff' || BREAKS.includes(ch) || ch === '"' || ch === '\\') {
        let data: string
        if (ESCAPES[ch] !== undefined) data = '\\' + ESCAPES[ch]
        else if (c <= 0xff) data = '\\x' + c.toString(16).toUpperCase().padStart(2, '0')
        else if (c <= 0xffff) data = '\\u' + c.toString(16).toUpperCase().padStart(4, '0')
        else data = '\\U' + c.toString(16).toUpperCase().padStart(8, '0')
        this.writeText(data)
        spaces = false
      } else if (ch === ' ') {
        if (split && !spaces && this.column > this.bestWidth && i !== 0 && i !== chars.length - 1) {
          this.writeIndent()
          if (chars[i + 1] === ' ') this.writeText('\\')
        } else this.writeText(ch)
        spaces = true
      } else {
        this.writeText(ch)
        spaces = false
      }
    }
    this.indicator('"', false)
  }

  scalar(s: Scalar, ctx: { simpleKey: boolean; root: boolean }): void {
    const a = analyze(s.text)
    const split = !ctx.simpleKey
    if (s.plainOk && !(ctx.simpleKey && (a.empty || a.multiline)) && ((this.flowLevel && a.allowFlowPlain) || (!this.flowLevel && a.allowBlockPlain))) {
      this.writePlain(s.text, split, ctx.root)
    } else if (a.allowSingleQuoted && !(ctx.simpleKey && a.multiline)) {
      this.writeSingle(s.text, split)
    } else this.writeDouble(s.text, split)
  }

  node(v: unknown, ctx: { root?: boolean; mapping?: boolean; simpleKey?: boolean }): void {
    const sc = toScalar(v)
    if (sc) {
      // expect_scalar: a scalar's continuation lines are indented one level deeper
      this.increaseIndent(true)
      this.scalar(sc, { simpleKey: !!ctx.simpleKey, root: !!ctx.root })
      this.indent = this.indents.pop() ?? null
      return
    }
    if (Array.isArray(v)) {
      const flow = this.flowStyle(v)
      if (this.flowLevel || flow || v.length === 0) this.flowSeq(v)
      else this.blockSeq(v, !!ctx.mapping)
      return
    }
    const entries = this.entries(v as Record<string, unknown>)
    const flow = this.flowStyle(entries.map(([, x]) => x))
    if (this.flowLevel || flow || entries.length === 0) this.flowMap(entries)
    else this.blockMap(entries)
  }

  flowStyle(children: unknown[]): boolean {
    if (this.defaultFlowStyle !== null) return this.defaultFlowStyle
    return children.every((c) => toScalar(c) !== null)
  }

  entries(d: Record<string, unknown>): [string, unknown][] {
    const e = Object.entries(d)
    return this.sortKeys ? e.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : e
  }

  flowSeq(v: unknown[]): void {
    this.indicator('[', true, true)
    this.flowLevel++
    this.increaseIndent(true)
    v.forEach((item, i) => {
      if (i > 0) this.indicator(',', false)
      if (this.column > this.bestWidth) this.writeIndent()
      this.node(item, {})
    })
    this.indent = this.indents.pop() ?? null
    this.flowLevel--
    this.indicator(']', false)
  }

  flowMap(entries: [string, unknown][]): void {
    this.indicator('{', true, true)
    this.flowLevel++
    this.increaseIndent(true)
    entries.forEach(([k, item], i) => {
      if (i > 0) this.indicator(',', false)
      if (this.column > this.bestWidth) this.writeIndent()
      this.node(k, { mapping: true, simpleKey: true })
      this.indicator(':', false)
      this.node(item, { mapping: true })
    })
    this.indent = this.indents.pop() ?? null
    this.flowLevel--
    this.indicator('}', false)
  }

  blockSeq(v: unknown[], mappingContext: boolean): void {
    const indentless = mappingContext && !this.indention
    this.increaseIndent(false, indentless)
    for (const item of v) {
      this.writeIndent()
      this.indicator('-', true, false, true)
      this.node(item, {})
    }
    this.indent = this.indents.pop() ?? null
  }

  blockMap(entries: [string, unknown][]): void {
    this.increaseIndent(false)
    for (const [k, item] of entries) {
      this.writeIndent()
      this.node(k, { mapping: true, simpleKey: true })
      this.indicator(':', false)
      this.node(item, { mapping: true })
    }
    this.indent = this.indents.pop() ?? null
  }
}

function toScalar(v: unknown): Scalar | null {
  if (v === null || v === undefined) return { text: 'null', plainOk: true }
  if (v === true) return { text: 'true', plainOk: true }
  if (v === false) return { text: 'false', plainOk: true }
  if (typeof v === 'number' || v instanceof PyFloat) {
    const n = typeof v === 'number' ? v : v.v
    if (typeof v === 'number' && Number.isInteger(n)) return { text: String(n), plainOk: true }
    if (Number.isNaN(n)) return { text: '.nan', plainOk: true }
    if (n === Infinity) return { text: '.inf', plainOk: true }
    if (n === -Infinity) return { text: '-.inf', plainOk: true }
    let t = pyFloatRepr(n).toLowerCase()
    if (!t.includes('.') && t.includes('e')) t = t.replace('e', '.0e')
    return { text: t, plainOk: true }
  }
  let s: string | undefined
  if (typeof v === 'string') s = v
  else if (v instanceof UnsafeString) s = v.value
  else if (v instanceof VaultString) s = v.ciphertext
  if (s !== undefined) return { text: s, plainOk: !IMPLICIT.some((re) => re.test(s!)) }
  if (v instanceof Undefined) fail(v)
  if (v instanceof PyFunc) throw new PyError('cannot represent a function in YAML', 'RepresenterError')
  if (Array.isArray(v) || isDict(v)) return null
  throw new PyError(`cannot represent an object: ${String(v)}`, 'RepresenterError')
}

/** yaml.dump(v, Dumper=AnsibleDumper, allow_unicode=True, …) */
export function pyYamlDump(v: unknown, o: YamlOptions = {}): string {
  const indent = o.indent !== undefined && o.indent > 1 && o.indent < 10 ? o.indent : 2
  const width = o.width !== undefined && o.width > indent * 2 ? o.width : 80
  const e = new Emitter(indent, width, o.defaultFlowStyle === undefined ? null : o.defaultFlowStyle, o.sortKeys ?? true)
  if (o.explicitStart) {
    e.indicator('---', true)
  }
  e.node(v, { root: true })
  // AnsibleDumper is libyaml's CSafeDumper, which ends an open plain root scalar without '...'
  e.writeIndent()
  return e.out
}
