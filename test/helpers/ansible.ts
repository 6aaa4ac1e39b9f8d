// ansible-playbook as the oracle: one run with its json callback (pipelining on, no retry files),
// read back as task statuses per host, as the differential tests compare them with k3sbook's.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileP = promisify(execFile)

/**
 * The environment Ansible runs in as an oracle: no colour, no retry files, pipelining on, and
 * ansible-oracle.cfg (a main process that polls its workers every 50 ms, not every 1 ms: the same
 * results for less CPU). Callers add their own (the stdout callback).
 */
export function ansibleEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ANSIBLE_CONFIG: join(import.meta.dirname, 'ansible-oracle.cfg'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_PIPELINING: '1',
    ...extra,
  }
}

export type Status = 'ok' | 'changed' | 'failed' | 'skipped'

/** Per host, task name → status, from one ansible-playbook run (a failed run still has its JSON). */
export async function ansibleStatuses(inventory: string, playbook: string, args: string[] = []): Promise<Map<string, Map<string, Status>>> {
  const { stdout } = await execFileP('ansible-playbook', ['-i', inventory, ...args, playbook], {
    env: ansibleEnv({ ANSIBLE_STDOUT_CALLBACK: 'json' }),
    maxBuffer: 64 * 1024 * 1024,
  }).catch((e: { stdout: string }) => e)
  const out = JSON.parse(stdout.slice(stdout.indexOf('{')))
  const byHost = new Map<string, Map<string, Status>>()
  for (const play of out.plays)
    for (const t of play.tasks)
      for (const [host, res] of Object.entries<Record<string, unknown>>(t.hosts)) {
        const m = byHost.get(host) ?? new Map<string, Status>()
        m.set(t.task.name, res.failed ? 'failed' : res.skipped ? 'skipped' : res.changed ? 'changed' : 'ok')
        byHost.set(host, m)
      }
  return byHost
}
