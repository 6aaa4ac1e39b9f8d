#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js and everything it imports, packages included) into
// ONE CommonJS file, dist/k3sbook.cjs. Loading one file instead of ~200 ESM modules roughly halves
// start-up, and as CommonJS it can be loaded through vm.Script with V8's code cache (bin/k3sbook.js),
// which Node 20 offers for nothing else. Native addons (ssh2's optional crypto binding and
// cpu-features) stay outside and are required from node_modules at run time, as ssh2 does itself.
import { build } from 'esbuild'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outfile = join(root, 'dist', 'k3sbook.cjs')

/**
 * `require('./x.node')` inside a package: kept as a require of the package's subpath
 * (`ssh2/lib/…/sshcrypto.node`), which Node resolves from the bundle's folder up through every
 * node_modules — so it is found where npm put the package: the checkout's node_modules, the
 * installed package's own, or a project's hoisted one (a path relative to the bundle found only
 * the first two).
 */
const nativeAddons = {
  name: 'native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => {
      const abs = resolve(args.resolveDir, args.path)
      const at = abs.lastIndexOf('/node_modules/')
      if (at < 0) return { path: './' + relative(dirname(outfile), abs), external: true }
      return { path: abs.slice(at + '/node_modules/'.length), external: true }
    })
  },
}

// The entry: the prebuilt schema validators (scripts/build-validators.mjs) as lazy requires the
// bundle carries (src/playbook/schema.ts looks there first), then the CLI.
const manifest = join(root, 'dist', 'playbook', 'validators', 'manifest.json')
const keys = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : []
const entry = [
  'const v = {}',
  ...keys.map((k) => `v[${JSON.stringify(k)}] = () => require(${JSON.stringify(`./playbook/validators/${k}.cjs`)})`),
  'globalThis.__k3sbookValidators = v',
  "require('./cli/main.js')",
].join('\n')

await build({
  stdin: { contents: entry, resolveDir: join(root, 'dist'), sourcefile: 'k3sbook-entry.js', loader: 'js' },
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import.meta.url is where a module finds its package (src/paths.ts) and creates a require.
  define: { 'import.meta.url': '__k3sbook_bundle_url' },
  banner: { js: "'use strict';\nconst __k3sbook_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [nativeAddons],
  logLevel: 'warning',
  legalComments: 'none',
  // No comments or indentation (a third of the size): less to read and hash at every start.
  // Names are kept, so stack traces still name functions. ASCII only: read as latin1 (faster).
  minifyWhitespace: true,
  charset: 'ascii',
  sourcemap: 'external',
})
// bin/k3sbook.js runs the bundle as a vm.Script, where a real import() would need Node's
// experimental loader hook: every import must have become a require (node: builtins are imported
// statically in src/ for that reason).
const text = readFileSync(outfile, 'utf8')
if (/[^\x00-\x7f]/.test(text)) {
  process.stderr.write('bundle: dist/k3sbook.cjs is not ASCII (bin/k3sbook.js reads it as latin1)\n')
  process.exit(1)
}
const left = [...text.matchAll(/[^\w$.]import\(["'`]([^"'`]*)/g)].map((m) => m[1])
if (left.length) {
  process.stderr.write(`bundle: dynamic import() left in dist/k3sbook.cjs: ${left.join(', ')}; import these statically\n`)
  process.exit(1)
}
// Code caches of earlier bundles can never be used again (bin/k3sbook.js keys them by size and mtime).
rmSync(join(root, 'dist', '.code-cache'), { recursive: true, force: true })
process.stdout.write(`bundled the CLI into ${relative(root, outfile)}\n`)
