// Temp inventories for unit tests: write a tree of files, load it, and format diagnostics.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { Inventory } from '../../src/model.js'
import { loadInventory } from '../../src/inventory/index.js'

const made: string[] = []
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true })
})

export function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'k3sbook-inv-'))
  made.push(dir)
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true })
    writeFileSync(join(dir, p), text)
  }
  return dir
}

/** Load sources (relative to dir) and return the inventory and diagnostics with paths relative to dir. */
export function loadIn(dir: string, sources: string[]): { inv: Inventory; diags: Diagnostics; messages: string[] } {
  const diags = new Diagnostics()
  const inv = loadInventory(
    sources.map((s) => (s.includes(',') ? s : join(dir, s))),
    diags,
  )
  const messages = diags.sorted().map((d) => formatDiagnostic(d).split(dir + '/').join('').replace(relative(process.cwd(), dir) + '/', ''))
  return { inv, diags, messages }
}
