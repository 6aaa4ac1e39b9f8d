// The source tree's import graph: no import cycle anywhere in src/ (type-only imports included,
// since a cycle of types is a cycle of meaning), and no import that runs up the layers
// (cli → output → executor/playbook → modules → connection/template/inventory → model; see
// docs/ARCHITECTURE.md). Reads the files, needs nothing else.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Relative imports of a file (static, re-exports, dynamic), resolved to source files. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = []
  const re = /(?:^|[\s;])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2]
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
  }
  return out
}

function graph(): Map<string, string[]> {
  const files = walk(SRC)
  const known = new Set(files)
  const g = new Map<string, string[]>()
  for (const f of files)
    g.set(
      f,
      importsOf(f, readFileSync(f, 'utf8')).filter((d) => known.has(d)),
    )
  return g
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(g: Map<string, string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = []
      let w: string
      do {
        w = stack.pop()!
        on.delete(w)
        comp.push(w)
      } while (w !== v)
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp)
    }
  }
  for (const v of g.keys()) if (!idx.has(v)) visit(v)
  return out
}

test('the cycle finder finds a cycle (so an empty answer below means something)', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ])
  assert.deepEqual(
    cycles(g).map((c) => c.sort()),
    [['a', 'b', 'c']],
  )
  assert.deepEqual(importsOf('/x/y.ts', "import type { A } from './a.js'\nexport { b } from '../b.js'\nconst c = await import('./c.js')"), [
    '/x/a.ts',
    '/b.ts',
    '/x/c.ts',
  ])
})

test('src/ has no import cycle', () => {
  const found = cycles(graph()).map((c) =>
    c
      .map((f) => relative(SRC, f))
      .sort()
      .join(' ↔ '),
  )
  assert.deepEqual(found, [])
})

// Lower number = lower layer. A file may import its own layer or lower ones, never higher.
const LAYERS: Record<string, number> = {
  model: 0,
  errors: 0,
  paths: 0,
  trace: 0,
  exit: 0,
  shlex: 0,
  kv: 0,
  text: 0,
  bool: 0,
  config: 0,
  secrets: 0,
  hostfiles: 0,
  yamlfile: 0,
  vault: 0,
  connection: 1,
  template: 1,
  inventory: 1,
  modules: 2,
  executor: 3,
  playbook: 3,
  output: 4,
  lab: 4,
  cli: 5,
}

function layerOf(file: string): [string, number] {
  const top = relative(SRC, file).split('/')[0].replace(/\.ts$/, '')
  const n = LAYERS[top]
  assert.ok(n !== undefined, `${relative(SRC, file)}: which layer is ${top}/ in? (add it to LAYERS here and to docs/ARCHITECTURE.md)`)
  return [top, n]
}

test('no import runs up the layers', () => {
  const bad: string[] = []
  for (const [f, deps] of graph()) {
    const [from, a] = layerOf(f)
    for (const d of deps) {
      const [to, b] = layerOf(d)
      if (b > a) bad.push(`${relative(SRC, f)} (${from}) imports ${relative(SRC, d)} (${to})`)
    }
  }
  assert.deepEqual(bad, [])
})
