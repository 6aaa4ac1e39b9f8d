// Control-machine files for copy/template, shared by every host and task of a run: a file is read
// once (and again only when its size, mtime or inode change), and a template is rendered once per
// distinct input — the same text with the same values of every name it reads — not once per host.
import { readFileSync, statSync } from 'node:fs'
import { analyzeTemplate } from '../template/index.js'
import type { Vars } from '../model.js'
import { jinjaSpans } from '../text.js'

/** Files above this size are read each time instead of being kept in memory. */
const MAX_CACHED_FILE = 1024 * 1024
/** Rendered text kept for reuse, in characters, at most. */
const MAX_RENDER_CACHE = 16 * 1024 * 1024

/**
 * What makes a render depend on more than the values of the names it reads: other template files
 * (include, import, extends), lookups and other calls that read the machine, the clock or random
 * numbers (strftime, fileglob, realpath, vault's random salt, password_hash without one), and the
 * dictionaries that give access to every variable by a computed name.
 */
const NOT_PURE = /\b(lookup|query|q|now|random|shuffle|password_hash|strftime|fileglob|realpath|vault|hostvars|vars|varnames|environment|self|caller|super)\b/
const TAG_NOT_PURE = /^\{%[-+]?\s*(include|import|extends|from)\b/

export class ControllerCache {
  private readonly files = new Map<string, { sig: string; content: Buffer }>()
  /** Per template text: the names it reads, or null when its output depends on more than those. */
  private readonly inputs = new Map<string, string[] | null>()
  private readonly renders = new Map<string, string>()
  private renderedChars = 0

  /** A regular file's content, or undefined when it is missing or not a file (as readFile failing). */
  read(path: string): Buffer | undefined {
    let st
    try {
      st = statSync(path, { throwIfNoEntry: false })
    } catch {
      return undefined
    }
    if (!st?.isFile()) return undefined
    const sig = `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`
    const hit = this.files.get(path)
    if (hit && hit.sig === sig) return hit.content
    let content: Buffer
    try {
      content = readFileSync(path)
    } catch {
      return undefined
    }
    if (content.length <= MAX_CACHED_FILE) this.files.set(path, { sig, content })
    return content
  }

  /** render() once per distinct (text, file, values of the names the text reads). */
  render(text: string, vars: Vars, file: string | undefined, render: () => string): string {
    const names = this.namesOf(text)
    if (!names) return render()
    let key: string
    try {
      key = JSON.stringify([file ?? null, text, names.map((n) => vars[n])], typed)
    } catch {
      return render() // a value that does not serialize (a cycle): render it
    }
    const hit = this.renders.get(key)
    if (hit !== undefined) return hit
    const out = render()
    if (this.renderedChars + out.length + key.length <= MAX_RENDER_CACHE) {
      this.renders.set(key, out)
      this.renderedChars += out.length + key.length
    }
    return out
  }

  private namesOf(text: string): string[] | null {
    let names = this.inputs.get(text)
    if (names !== undefined) return names
    names = null
    const jinja = jinjaSpans(text).map((j) => j.text)
    if (!text.startsWith('#jinja2:') && !jinja.some((j) => NOT_PURE.test(j) || TAG_NOT_PURE.test(j))) {
      try {
        const a = analyzeTemplate(text)
        names = [...new Set([...a.required.keys(), ...a.guarded])].sort()
      } catch {
        names = null // a syntax error: let render() report it every time
      }
    }
    this.inputs.set(text, names)
    return names
  }
}

/** JSON that keeps apart what renders differently: undefined vs null, a class instance vs a mapping. */
function typed(_k: string, v: unknown): unknown {
  if (v === undefined) return { $undefined: true }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) return { $class: (v as object).constructor?.name ?? '?', ...(v as object), $str: String(v) }
  }
  return v
}
