// Files a managed host wrote on the control machine (fetch's copies), and which files host data
// may name there (ownFileName). What a host wrote is host data when it is read back — a `lookup('file')` of one is a HostString, include_vars and vars_files
// load their values as host data, and neither `lookup('template')` nor the template module renders
// one as a template. The marks are kept for the run and in `.k3sbook/host-files` beside the retry
// files (one absolute path a line), so a file fetched by an earlier run stays host data in the next.
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs'
import { basename, dirname, join, normalize, resolve } from 'node:path'

const marked = new Set<string>()
let registry: string | undefined

/** Where the marks are kept (`<cwd>/.k3sbook/host-files`): the ones there are loaded. */
export function useHostFileRegistry(file: string): void {
  registry = resolve(file)
  if (!existsSync(registry)) return
  for (const line of readFileSync(registry, 'utf8').split('\n')) if (line) marked.add(line)
}

/**
 * The path with every symlink in its folders resolved, as far as they exist: fetch marks a file
 * before it writes it (its folders may not exist yet), and a later read may name it through another
 * path (a symlinked project folder, or its target).
 */
function canonical(path: string): string {
  const p = resolve(path)
  const dir = dirname(p)
  if (dir === p) return p
  try {
    return join(realpathSync(dir), basename(p))
  } catch {
    return join(canonical(dir), basename(p))
  }
}

/** A file a host wrote here (fetch's destination), by its absolute path. */
export function markHostFile(path: string): void {
  const p = canonical(path)
  if (marked.has(p)) return
  marked.add(p)
  if (!registry) return
  try {
    // private, as every file k3sbook writes here: the paths name hosts and their files
    mkdirSync(dirname(registry), { recursive: true, mode: 0o700 })
    appendFileSync(registry, p + '\n', { mode: 0o600 })
  } catch {
    // the mark still holds for this run; a read-only project folder only loses it for the next
  }
}

/** Was this file written by a host (by its path as given, or the file a symlink leads to)? */
export function isHostFile(path: string): boolean {
  if (marked.size === 0) return false
  const p = canonical(path)
  if (marked.has(p)) return true
  try {
    return marked.has(realpathSync(p))
  } catch {
    return false
  }
}

/**
 * A file name host data may give on the control machine: one of the playbook's or its roles' own —
 * relative without "..", or absolute inside one of `roots`, the task's search folders
 * (`{{ role_path }}/vars/{{ ansible_os_family }}.yml`, as real roles write it).
 */
export function ownFileName(name: string, roots: readonly string[] = []): boolean {
  if (name === '') return false
  if (!name.startsWith('/')) return !name.split('/').includes('..')
  const p = normalize(name)
  return roots.some((r) => {
    const root = resolve(r)
    return p === root || p.startsWith(root.endsWith('/') ? root : root + '/')
  })
}
