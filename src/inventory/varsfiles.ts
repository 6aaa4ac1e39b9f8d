// group_vars/ and host_vars/ beside an inventory source or a playbook, found the way Ansible's
// host_group_vars plugin does (NAME, NAME.yml, NAME.yaml, NAME.json, or a NAME/ folder read in
// name order). Each folder is listed once and each file parsed once, however many hosts ask.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { extname, join, sep } from 'node:path'
import { Diagnostics, ValidationError } from '../errors.js'
import type { Vars } from '../model.js'
import { displayPath, YamlFile } from '../yamlfile.js'

export type VarsKind = 'group_vars' | 'host_vars'
const EXTS = ['', '.yml', '.yaml', '.json']

export class VarsDir {
  private listings = new Map<VarsKind, Map<string, boolean> | null>()
  private found = new Map<string, string[]>()
  private realRoots = new Map<VarsKind, string>()

  constructor(
    readonly base: string,
    private readonly files: VarsFileCache,
  ) {}

  /** Entries of base/KIND (name → is a directory), or null when there is no such folder. */
  listing(kind: VarsKind, diags?: Diagnostics): Map<string, boolean> | null {
    let l = this.listings.get(kind)
    if (l !== undefined) return l
    l = null
    const dir = join(this.base, kind)
    try {
      const st = statSync(dir)
      if (st.isDirectory()) {
        l = new Map()
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const isDir = e.isDirectory() || (e.isSymbolicLink() && safeIsDir(join(dir, e.name)))
          l.set(e.name, isDir)
        }
      } else diags?.warn(`${kind} is not a folder, skipped`, { file: displayPath(dir), line: 1, col: 1 })
    } catch {
      l = null
    }
    this.listings.set(kind, l)
    return l
  }

  /** The files that hold variables for one group or host, in the order Ansible merges them. */
  filesFor(kind: VarsKind, name: string, diags?: Diagnostics): string[] {
    const key = `${kind}\0${name}`
    const cached = this.found.get(key)
    if (cached) return cached
    let out: string[] = []
    const l = this.listing(kind, diags)
    // host names like /path/to/chroot are skipped by Ansible too
    if (l && !name.startsWith('/')) {
      for (const ext of EXTS) {
        const entry = name + ext
        let isDir: boolean | undefined
        if (!name.includes('/')) isDir = l.get(entry)
        else {
          const p = join(this.base, kind, entry)
          isDir = existsSync(p) ? safeIsDir(p) : undefined
        }
        if (isDir === undefined) continue
        const full = join(this.base, kind, entry)
        out = isDir ? dirVarsFiles(full) : [full]
        out = this.insideOnly(kind, name, out, diags)
        break
      }
    }
    this.found.set(key, out)
    return out
  }

  /**
   * Vars files must stay inside base/KIND: a host or group name with ".." (`../../etc/x`) would
   * read any file of the control machine and is refused; a symbolic link that leads out of the
   * folder is followed (shared vars are often linked in) with a warning.
   */
  private insideOnly(kind: VarsKind, name: string, files: string[], diags?: Diagnostics): string[] {
    const root = join(this.base, kind)
    const where = { file: displayPath(root), line: 1, col: 1 }
    if (name.split('/').includes('..')) {
      diags?.warn(`${kind} for "${name}" skipped: the name climbs out of ${displayPath(root)} with ".."`, where)
      return []
    }
    let realRoot = this.realRoots.get(kind)
    if (realRoot === undefined) this.realRoots.set(kind, (realRoot = realOr(root)))
    for (const f of files) {
      const real = realOr(f)
      if (!real.startsWith(realRoot + sep))
        diags?.warn(`${displayPath(f)} is a symbolic link to ${real}, outside ${displayPath(root)}`, { file: displayPath(f), line: 1, col: 1 })
    }
    return files
  }

  /** Merged variables for one entity from this folder (later files win). */
  varsFor(kind: VarsKind, name: string, diags?: Diagnostics): Vars | undefined {
    const files = this.filesFor(kind, name, diags)
    if (files.length === 0) return undefined
    if (files.length === 1) return this.files.load(files[0], diags)
    let out: Vars | undefined
    for (const f of files) {
      const v = this.files.load(f, diags)
      if (v) out = { ...(out ?? {}), ...v }
    }
    return out
  }
}

function realOr(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

function safeIsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

function dirVarsFiles(dir: string): string[] {
  const out: string[] = []
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch {
    return out
  }
  for (const n of names) {
    if (n.startsWith('.') || n.endsWith('~')) continue
    const ext = extname(n)
    const full = join(dir, n)
    const isDir = safeIsDir(full)
    if (isDir && !ext) out.push(...dirVarsFiles(full))
    else if (!isDir && EXTS.includes(ext)) out.push(full)
  }
  return out
}

/** Parsed vars files by path; a broken file is reported once and then counts as empty. */
export class VarsFileCache {
  private cache = new Map<string, Vars | undefined>()
  readonly dirs = new Map<string, VarsDir>()

  dir(base: string): VarsDir {
    let d = this.dirs.get(base)
    if (!d) {
      d = new VarsDir(base, this)
      this.dirs.set(base, d)
    }
    return d
  }

  load(file: string, diags?: Diagnostics): Vars | undefined {
    if (this.cache.has(file)) return this.cache.get(file)
    const local = diags ?? new Diagnostics()
    const v = readVarsFile(file, local)
    this.cache.set(file, v)
    if (!diags && local.hasErrors) {
      const e = local.errors[0]
      throw new ValidationError(e.message, { pos: e.pos, hint: e.hint })
    }
    return v
  }
}

function readVarsFile(file: string, diags: Diagnostics): Vars | undefined {
  const display = displayPath(file)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    diags.error(`cannot read vars file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: display, line: 1, col: 1 })
    return undefined
  }
  // A vault-encrypted file is decrypted by YamlFile (with the run's vault password) or reported there.
  const yf = new YamlFile(file, text)
  if (!yf.check(diags)) return undefined
  const v = yf.value
  if (v === null || v === undefined) return undefined
  if (typeof v !== 'object' || Array.isArray(v)) {
    diags.error(`a vars file must be a mapping of variable names, found a ${Array.isArray(v) ? 'list' : typeof v}`, yf.pos([]), 'e.g. "k3s_version: v1.30.2+k3s1"')
    return undefined
  }
  if (Object.keys(v).length === 0) return undefined
  return v as Vars
}
