#!/usr/bin/env node
// Start from the single-file bundle dist/k3sbook.cjs with V8's code cache (fastest), else from the
// compiled dist/ modules; in a checkout that was never built, fall back to tsx on src/.
// CommonJS (bin/package.json says so): Node starts a CommonJS entry faster than an ES module one.
'use strict'
const { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs')
const { createRequire } = require('node:module')
const { dirname, join } = require('node:path')
const { pathToFileURL } = require('node:url')
const vm = require('node:vm')

const root = join(__dirname, '..')
const bundle = join(root, 'dist', 'k3sbook.cjs')
const built = join(root, 'dist', 'cli', 'main.js')

/**
 * Runs the bundle through vm.Script so V8 can skip compiling what an earlier run compiled. The cache
 * is written after a run when there was none (or V8 refused it: another Node, another bundle), and
 * again when a command reached more code than the one that wrote it (a `run` after a `--version`).
 * It is keyed by the bundle's size and mtime and by Node's V8 version, written atomically, and
 * only a help: without a writable dist/ every run compiles as usual. K3SBOOK_NO_CODE_CACHE=1 skips it.
 */
function runBundle() {
  const source = readFileSync(bundle, 'latin1') // ASCII only (scripts/bundle.mjs checks): the fastest decode
  const st = statSync(bundle)
  const cacheDir = join(root, 'dist', '.code-cache')
  const cacheFile = join(cacheDir, `${st.size}-${Math.floor(st.mtimeMs)}-${process.versions.v8}.bin`)
  const useCache = !process.env.K3SBOOK_NO_CODE_CACHE
  let cachedData
  let level = -1
  if (useCache) {
    try {
      const buf = readFileSync(cacheFile)
      level = buf[0]
      cachedData = buf.subarray(1)
    } catch {
      /* no cache yet */
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
  })
  if (script.cachedDataRejected) level = -1
  // How much of the CLI this command runs: a playbook run reaches the most.
  const command = process.argv.slice(2).find((a) => !a.startsWith('-'))
  const reach = command === 'run' || command === 'check' ? 2 : command === 'validate' ? 1 : 0
  if (useCache && reach > level) {
    process.once('exit', () => {
      try {
        const data = script.createCachedData()
        mkdirSync(cacheDir, { recursive: true })
        const tmp = `${cacheFile}.${process.pid}.tmp`
        writeFileSync(tmp, Buffer.concat([Buffer.from([reach]), data]))
        renameSync(tmp, cacheFile)
      } catch {
        /* read-only install: no cache */
      }
    })
  }
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle))
}

if (existsSync(bundle) && !process.env.K3SBOOK_NO_BUNDLE) {
  runBundle()
} else if (existsSync(built)) {
  import(pathToFileURL(built).href)
} else {
  import('tsx/esm/api').then(({ register }) => {
    register()
    return import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href)
  })
}
