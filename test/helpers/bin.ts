// The built CLI as a user runs it (bin/k3sbook.js: dist/ when built, else src/ through tsx), from
// the repository's root, with a fresh HOME and no Ansible settings from this machine leaking in.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'bin/k3sbook.js')

/** The newest modification time of the files under dir. */
function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}

/** Whether dist/k3sbook.cjs (the bundle bin/k3sbook.js runs) is newer than every source (`npm test` builds first). */
export function bundleIsFresh(): boolean {
  const bundle = join(ROOT, 'dist', 'k3sbook.cjs')
  return existsSync(bundle) && statSync(bundle).mtimeMs > newest(join(ROOT, 'src'))
}

export function k3(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'k3sbook-home-')), NO_COLOR: '1' }
  for (const k of Object.keys(env)) if (k.startsWith('ANSIBLE_')) delete env[k]
  return collect(spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }))
}

/** A child's exit code and its whole stdout and stderr, once it has closed them. */
export function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (b) => (stdout += b))
    child.stderr?.on('data', (b) => (stderr += b))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
