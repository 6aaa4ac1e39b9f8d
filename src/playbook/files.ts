// Reading YAML files for the playbook loader: each file parsed once (its problems reported once),
// and the places Ansible looks for role folders, task files and template/file sources.
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { Diagnostics } from '../errors.js'
import { loadYaml, type YamlFile } from '../yamlfile.js'

export interface Loaded {
  yf: YamlFile
  value: unknown
}

/** Parses each file once per load, so a file reached twice reports its syntax errors once. */
export class FileCache {
  private files = new Map<string, Loaded | null>()
  constructor(readonly diags: Diagnostics) {}
  load(file: string): Loaded | undefined {
    const abs = resolve(file)
    if (!this.files.has(abs)) this.files.set(abs, loadYaml(abs, this.diags) ?? null)
    return this.files.get(abs) ?? undefined
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

/** First existing file among candidates. */
export function firstFile(candidates: string[]): string | undefined {
  return candidates.find(isFile)
}

/** `main.yml`, `main.yaml` or `main` in a role subfolder; a `main/` folder (vars, defaults) gives its files in name order. */
export function roleMainFiles(roleDir: string, sub: string, base = 'main'): string[] {
  const dir = join(roleDir, sub)
  const one = firstFile([`${base}.yml`, `${base}.yaml`, base, `${base}.json`].map((n) => join(dir, n)))
  if (one) return [one]
  const folder = join(dir, base)
  if ((sub === 'vars' || sub === 'defaults') && isDir(folder))
    return readdirSync(folder)
      .filter((n) => /\.(ya?ml|json)$/.test(n))
      .sort()
      .map((n) => join(folder, n))
  return []
}

/** Folders searched for a role, in order (for messages too). */
export function roleSearchDirs(playDir: string, rolesPath: string[]): string[] {
  const dirs = [join(playDir, 'roles'), join(dirname(playDir), 'roles'), ...rolesPath.map((p) => resolve(p)), playDir]
  return [...new Set(dirs.map((d) => resolve(d)))]
}

export function findRole(name: string, playDir: string, rolesPath: string[]): string | undefined {
  if (name.includes('/') || isAbsolute(name)) {
    const p = resolve(playDir, name)
    return isDir(p) ? p : undefined
  }
  for (const d of roleSearchDirs(playDir, rolesPath)) {
    const p = join(d, name)
    if (isDir(p) && (isDir(join(p, 'tasks')) || isDir(join(p, 'meta')) || isDir(join(p, 'handlers')) || isDir(join(p, 'defaults')) || isDir(join(p, 'vars'))))
      return p
  }
  return undefined
}

/**
 * Where a found role really is, when that is outside every role folder (and the playbook's
 * folder): reached through ".." or a symbolic link. undefined when it stays inside, or when the
 * role was named by an absolute path (an explicit choice).
 */
export function roleEscape(name: string, dir: string, playDir: string, rolesPath: string[]): string | undefined {
  if (isAbsolute(name)) return undefined
  const real = realOrSelf(dir)
  const roots = roleSearchDirs(playDir, rolesPath).map(realOrSelf)
  return roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)) ? undefined : real
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return resolve(p)
  }
}

/** Role names present in the search folders, for "did you mean". */
export function knownRoles(playDir: string, rolesPath: string[]): string[] {
  const out = new Set<string>()
  for (const d of roleSearchDirs(playDir, rolesPath).slice(0, -1)) {
    try {
      for (const n of readdirSync(d)) if (isDir(join(d, n))) out.add(n)
    } catch {
      // folder absent: nothing to suggest from it
    }
  }
  return [...out]
}

/** Paths relative to the working folder for messages. */
export function shown(p: string): string {
  return relative(process.cwd(), p) || '.'
}

export function shownList(dirs: string[]): string {
  return dirs.map(shown).join(', ')
}

export { existsSync }
