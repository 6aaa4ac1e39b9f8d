// Where k3sbook's own files are: found from this module's location, so the same code works from
// src/ (tsx), dist/ (tsc output) and the single-file bundle dist/k3sbook.cjs.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

let root: string | undefined
let version: string | undefined

/** The folder holding k3sbook's package.json. */
export function packageRoot(): string {
  if (root) return root
  let d = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'k3sbook') {
        version = pkg.version
        return (root = d)
      }
    } catch {
      /* no package.json here */
    }
    const up = dirname(d)
    if (up === d) throw new Error(`k3sbook: cannot find its package.json above ${fileURLToPath(import.meta.url)}`)
    d = up
  }
}

export function packageVersion(): string {
  packageRoot()
  return version ?? '0.0.0'
}

let ansibleDir: string | null | undefined
/** The installed `ansible` Python package (Debian's ansible-core: /usr/lib/python3/dist-packages). */
export function ansiblePackage(): string | undefined {
  if (ansibleDir !== undefined) return ansibleDir ?? undefined
  const roots = ['/usr/lib/python3/dist-packages']
  for (const base of ['/usr/local/lib', '/usr/lib']) {
    try {
      for (const d of readdirSync(base)) if (/^python3\.\d+$/.test(d)) roots.push(join(base, d, 'dist-packages'), join(base, d, 'site-packages'))
    } catch {
      /* no such folder */
    }
  }
  ansibleDir = roots.map((r) => join(r, 'ansible')).find((d) => existsSync(join(d, 'modules'))) ?? null
  return ansibleDir ?? undefined
}
