// Running playbooks in-process against lab hosts, and looking at hosts from outside.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Diagnostics, formatDiagnostic } from '../../src/errors.js'
import type { HostResultEvent, RunEvent } from '../../src/executor/events.js'
import { runPlaybook, type RunOptions, type RunSummary } from '../../src/executor/run.js'
import { makeConnectionFactory } from '../../src/connection/index.js'
import { loadProject } from '../../src/playbook/project.js'
import { labExec, type LabInfo } from '../../src/lab/index.js'

export interface Run {
  summary: RunSummary
  events: RunEvent[]
  results: HostResultEvent[]
}

export async function run(playbook: string, inventories: string[], opts: Partial<RunOptions> & { extraVars?: string[] } = {}): Promise<Run> {
  const diags = new Diagnostics()
  const project = loadProject({ playbook, inventories, extraVars: opts.extraVars ?? [] }, diags)
  assert.ok(project && !diags.hasErrors, diags.items.map(formatDiagnostic).join('\n'))
  const events: RunEvent[] = []
  const { extraVars: _e, ...rest } = opts
  // 60 s of server silence before a host is unreachable, not the 10 s default: these tests are not
  // about connection timeouts (those set their own), and at load 60 a lab host's sshd, forking on
  // two busy cores, was silent for longer than 10 s (a check run lost its host)
  const summary = await runPlaybook(project as never, { connect: makeConnectionFactory({ connectTimeoutMs: 60_000 }), ...rest }, (e) => events.push(e))
  return { summary, events, results: events.filter((e): e is HostResultEvent => e.type === 'host:result') }
}

/** "task name" → status, for one host (handlers prefixed with "handler: "). */
export function statuses(r: Run, host: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const e of r.results) if (e.host === host) m.set((e.handler ? 'handler: ' : '') + e.task, e.status)
  return m
}

export function changedTasks(r: Run, host: string): string[] {
  return r.results.filter((e) => e.host === host && (e.status === 'changed' || e.status === 'unknown')).map((e) => (e.handler ? 'handler: ' : '') + e.task)
}

// /root itself is watched one level deep: the machine's /root holds toolchains (hundreds of thousands of files).
const WATCHED = '/etc /opt /srv /home /usr/local/bin /usr/local/sbin /var/lib /var/spool'

/**
 * A fingerprint of a host's file system where playbooks write: every path with type, mode, owner,
 * size, mtime and link target, plus the content hash of every file written in the last 12 hours
 * (the machine's own files under the overlay are older; hashing all of /opt would read gigabytes). Taken without SSH (nsenter),
 * so taking it changes nothing.
 */
export async function fingerprint(lab: LabInfo, host: number, opts: { exclude?: string[] } = {}): Promise<string> {
  const skip = ['/var/lib/dpkg', '/var/lib/apt', '/var/lib/ucf', ...(opts.exclude ?? [])].map((p) => `-path ${p}`).join(' -o ')
  // One walk of the watched trees: the listing goes to stdout, the recently written files' names to
  // a list (NUL-separated, in the host's /tmp, which is not watched) that sha256sum reads after.
  const script = [
    'l=$(mktemp) || exit 1',
    `{ find /root -maxdepth 1 -printf '%p %y %m %u %g %s %T@ %l\\n'; find ${WATCHED} -xdev \\( ${skip} \\) -prune -o -printf '%p %y %m %u %g %s %T@ %l\\n' -type f -newermt @${CONTENT_CUTOFF} -fprint0 "$l"; } 2>/dev/null | sort`,
    `echo ${SEP}`,
    'xargs -0 -r sha256sum < "$l" 2>/dev/null | sort',
    'rm -f "$l"',
  ].join('\n')
  const r = await labExec(lab, host, ['/bin/sh', '-c', script])
  assert.equal(r.code, 0, r.stderr)
  const [listing, contents = ''] = r.stdout.split(`${SEP}\n`)
  const sum = (s: string) => createHash('sha256').update(s).digest('hex')
  const fp = `${sum(listing)}  -\n${sum(contents)}  -\n`
  FINGERPRINTS.set(fp, r.stdout)
  return fp
}

const SEP = '--k3sbook-fingerprint--'
// Contents are hashed for the files changed in the 12 hours before this process started: a fixed
// time, not `-mmin -720`, which let a file changed ~12 h earlier (a package install at boot) drop
// out of the hashed set between two fingerprints of one test.
const CONTENT_CUTOFF = Math.floor(Date.now() / 1000) - 12 * 3600
/** What each fingerprint was taken from, so a mismatch can say which paths differ. */
const FINGERPRINTS = new Map<string, string>()

/** The lines (paths with metadata, or content hashes) that differ between two fingerprints, for a failure message. */
export function fingerprintDiff(a: string, b: string): string {
  const la = new Set((FINGERPRINTS.get(a) ?? '').split('\n'))
  const lb = new Set((FINGERPRINTS.get(b) ?? '').split('\n'))
  const out = [...[...la].filter((l) => !lb.has(l)).map((l) => `- ${l}`), ...[...lb].filter((l) => !la.has(l)).map((l) => `+ ${l}`)]
  return out.slice(0, 40).join('\n')
}

export async function sh(lab: LabInfo, host: number, script: string): Promise<string> {
  const r = await labExec(lab, host, ['/bin/sh', '-c', script])
  assert.equal(r.code, 0, `${script}: ${r.stderr}`)
  return r.stdout
}
