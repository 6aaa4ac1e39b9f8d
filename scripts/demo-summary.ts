// The few lines `npm run demo` ends with: what was built (nodes, roles, mesh, datastore), where the
// kubeconfig is, that K3S is the test double, and how to re-run, check and tear down. Read from the
// files the run used (the lab's cluster inventory, playbooks/site.yml, the fetched kubeconfig), so
// the summary says what this run was given, not what a script assumes.
import { existsSync, readFileSync } from 'node:fs'
import { parse } from 'yaml'

export interface DemoSummaryInput {
  labName: string
  /** the lab's cluster inventory (scripts/lab-cluster.ts) */
  clusterInventory: string
  sitePlaybook: string
  kubeconfig: string
  secretsFile: string
  /** exit code of the run */
  code: number
  /** `k3sbook run` arguments given after `--` */
  extraArgs: string[]
  init: string
  /** the datastore endpoint the run was given (only its host, port, database and user are shown) */
  endpoint: string
}

type Group = { hosts?: Record<string, unknown>; children?: Record<string, Group>; vars?: Record<string, unknown> }

export function demoSummary(i: DemoSummaryInput): string {
  const inv = parse(readFileSync(i.clusterInventory, 'utf8')) as { all: Group & { hosts: Record<string, { tinc_address?: string }> } }
  const groups = inv.all.children ?? {}
  const members = (g: string) => Object.keys(groups[g]?.hosts ?? {})
  const addr = (h: string) => inv.all.hosts[h]?.tinc_address ?? '?'
  const list = (hs: string[]) => (hs.length ? hs.map((h) => `${h} (${addr(h)})`).join(', ') : 'none')
  const plays = parse(readFileSync(i.sitePlaybook, 'utf8')) as { roles?: (string | { role: string })[] }[]
  const roles = [...new Set(plays.flatMap((p) => (p.roles ?? []).map((r) => (typeof r === 'string' ? r : r.role))))]
  const vars = inv.all.vars ?? {}
  let datastore = 'none (embedded)'
  try {
    const u = new URL(i.endpoint)
    datastore = `PostgreSQL on ${list(members('datastore'))}, ${u.hostname}:${u.port || 5432}, database ${u.pathname.slice(1)}, user ${u.username}`
  } catch {
    /* no endpoint */
  }
  const server = existsSync(i.kubeconfig) ? /server:\s*(\S+)/.exec(readFileSync(i.kubeconfig, 'utf8'))?.[1] : undefined
  const check = i.extraArgs.includes('--check') || i.extraArgs.includes('-C')
  const lines = [
    '',
    `== ${i.code === 0 ? (check ? 'checked' : 'built') : `run failed (exit ${i.code})`}: the K3S cluster on lab "${i.labName}" (${i.init === 'none' ? 'init-less hosts' : 'systemd hosts'})`,
    `  servers:    ${list(members('k3s_server'))}`,
    `  agents:     ${list(members('k3s_agent'))}`,
    `  mesh:       tinc network "${String(vars.tinc_netname ?? 'k3s')}" on tinc0 (10.10.0.0/16), public nodes ${members('tinc_public').join(', ') || 'none'}`,
    `  datastore:  ${datastore}`,
    `  runtime:    ${String(vars.k3s_container_runtime ?? 'docker')}; ZFS on ${members('zfs_storage').join(', ') || 'none'}`,
    `  roles:      ${roles.join(', ')}`,
    `  kubeconfig: ${existsSync(i.kubeconfig) ? i.kubeconfig : `${i.kubeconfig} (not written)`}${server ? `, API ${server} (a tinc address: reachable from the lab's hosts)` : ''}`,
    '  K3S is the test double (test/k3s-double/k3s, a Python stand-in served as a K3S release), not real K3S:',
    '  the roles download, verify, configure and run it as they would the real binary.',
    `  secrets:    ${i.secretsFile} (mode 0600; passed as K3SBOOK_K3S_TOKEN, K3SBOOK_DATASTORE_ENDPOINT)`,
    '',
    '  re-run (changes nothing):  npm run demo',
    '  check (changes nothing):   npm run demo -- --check --diff',
    `  look at a host:            node bin/k3sbook.js lab ssh -n ${i.labName} 1`,
    `  tear down:                 node bin/k3sbook.js lab down -n ${i.labName}`,
    '',
  ]
  return lines.join('\n')
}
