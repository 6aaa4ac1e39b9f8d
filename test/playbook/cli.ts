// Runs the k3sbook CLI as a child process the way a user would, from a given folder, with
// network connections forbidden (see forbid-net.mjs).
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FORBID = join(ROOT, 'test', 'playbook', 'forbid-net.mjs')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * bin/k3sbook.js prefers dist/ when it exists, which may be stale while sources change; the
 * tests run the sources through tsx so they test what is in the tree.
 */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', FORBID, '--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
      cwd,
      env: { ...process.env, K3SBOOK_FORBID_CONNECT: '1', ANSIBLE_CONFIG: '', ANSIBLE_INVENTORY: '', ANSIBLE_ROLES_PATH: '', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}
