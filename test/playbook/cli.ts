// Runs the k3sbook CLI as a child process the way a user would, from a given folder, with
// network connections forbidden (see forbid-net.mjs).
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'
import { bundleIsFresh, collect } from '../helpers/bin.js'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FORBID = join(ROOT, 'test', 'playbook', 'forbid-net.mjs')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

let built: string | undefined

/**
 * bin/k3sbook.js prefers dist/, which may be stale while sources change, and tsx costs seconds per
 * process; so the sources are transpiled (no type check, by esbuild) once per test file into a temp folder
 * laid out like the package (dist/ + package.json + node_modules link), and run from there.
 */
function cliEntry(): string {
  if (built) return built
  const top = mkdtempSync(join(tmpdir(), 'k3sbook-cli-'))
  const src = join(ROOT, 'src')
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n)
      return statSync(p).isDirectory() ? walk(p) : n.endsWith('.ts') && !n.endsWith('.d.ts') && !n.startsWith('.') ? [p] : []
    })
  for (const file of walk(src)) {
    const out = join(top, 'dist', relative(src, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(out), { recursive: true })
    // esbuild strips the types as TypeScript's transpileModule did (ES2022, ES modules, class fields
    // defined as tsconfig's ES2022 target has them), in ~0.3 CPU-s for all of src/ instead of 6.6
    const js = transformSync(readFileSync(file, 'utf8'), {
      loader: 'ts',
      format: 'esm',
      target: 'es2022',
      sourcefile: file,
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    }).code
    writeFileSync(out, js)
  }
  copyFileSync(join(ROOT, 'package.json'), join(top, 'package.json'))
  symlinkSync(join(ROOT, 'node_modules'), join(top, 'node_modules'))
  process.on('exit', () => rmSync(top, { recursive: true, force: true }))
  built = join(top, 'dist', 'cli', 'main.js')
  return built
}

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runEntry(cliEntry(), args, cwd, env)
}

let bundleFresh: boolean | undefined

/**
 * runCli through the built CLI (bin/k3sbook.js: the bundle with V8's code cache, as a user runs it)
 * when dist/k3sbook.cjs is newer than every source (`npm test` builds first), else as runCli. For
 * tests that are not about the transpiled sources: a run costs ~0.4 CPU-s instead of ~1.2, and the
 * sources are not transpiled at all (several CPU-s per test file).
 */
export function runBuilt(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  bundleFresh ??= bundleIsFresh()
  return bundleFresh ? runEntry(join(ROOT, 'bin', 'k3sbook.js'), args, cwd, env) : runCli(args, cwd, env)
}

/** `entry` (a CLI entry point: the transpiled sources, or bin/k3sbook.js) run with connections forbidden. */
export function runEntry(entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return collect(
    spawn(process.execPath, ['--import', FORBID, entry, ...args], {
      cwd,
      env: { ...process.env, K3SBOOK_FORBID_CONNECT: '1', ANSIBLE_CONFIG: '', ANSIBLE_INVENTORY: '', ANSIBLE_ROLES_PATH: '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
}
