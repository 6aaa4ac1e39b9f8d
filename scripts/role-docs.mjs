#!/usr/bin/env node
// Writes roles/<role>/README.md from roles/<role>/defaults/main.yml: every variable with the
// comment above it and its default, so the table can't drift from the defaults.
// Usage: node scripts/role-docs.mjs [--check]   (--check: exit 1 when a README is out of date)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocument } from 'yaml'

const SUMMARY = {
  common: "Base of every node: hostname, /etc/hosts entries for every node's tinc address, kernel modules and sysctls for routing, swap off, base packages.",
  tinc: "One tinc network in switch mode (layer 2, as flannel host-gw needs): keys generated on each node when missing, every node's host file on every node, ConnectTo the public nodes, the node's mesh address on the tinc interface.",
  zfs: 'ZFS on the storage nodes: pools created when missing (imported when they exist on disk), datasets with properties, and an ext4 zvol for Longhorn. Never destroys a pool or dataset.',
  docker:
    "Docker from the distribution's packages, for K3S's `docker: true` runtime: /etc/docker/daemon.json from a variable (restart on change), the service running and enabled, and images loaded from archives copied from the control machine (`docker load`; no registry needed).",
  'k3s-install':
    "The k3s binary (downloaded on the node or on the control machine, checked against the release's sha256 file) and the service definition (systemd unit, or a SysV init script on hosts without systemd). Used by k3s-server and k3s-agent.",
  'k3s-server':
    "K3S servers on the external datastore with a shared token (HA): config.yaml from variables, secrets in a 0600 environment file, restart only on change, waits for the API and the node token (when they do not come, the failure shows K3S's own error lines from its journal or log: a datastore down, a wrong password), hands the token to the agents, fetches the kubeconfig.",
  'k3s-agent': 'K3S agents joining the first server over its tinc address with the token handed over in the same run.',
  metallb: 'MetalLB as a K3S HelmChart, then its IPAddressPool and L2Advertisement once the webhook answers.',
  traefik: 'Traefik v2 (chart below 28.x) as a K3S HelmChart, scheduled on the ingress nodes and exposed through MetalLB.',
  'longhorn-node': "Longhorn's node prerequisites on every node: open-iscsi with iscsid running, the NFS client.",
  longhorn: 'Longhorn as a K3S HelmChart with its data path on the zfs-backed mount.',
  postgres:
    "PostgreSQL (Debian's package) as the K3S servers' external datastore: listening on the datastore node's tinc address, pg_hba.conf entries (scram-sha-256) for the servers' tinc addresses only, the K3S user, its password and database made from k3s_datastore_endpoint, the secret the servers use. Under systemd a drop-in starts it after the tinc network (Wants=, After=) and makes it wait until its tinc address is up, so at boot it never comes up on localhost only.",
  verify: 'End-of-run checks with diagnostics: every node pings every other over tinc; every node is registered with the cluster.',
}

const REQUIRED = {
  tinc: ["`tinc_address` (per host): the node's address on the mesh, from 10.10.0.0/18."],
  common: ['`tinc_address` (per host) for the /etc/hosts entries.'],
  'k3s-server': ['`tinc_address` (per host): the node-ip.', '`k3s_token` and `k3s_datastore_endpoint`: secrets, from the environment or a vault file.'],
  'k3s-agent': ['`tinc_address` (per host): the node-ip.'],
  postgres: [
    "`tinc_address` (per host): the datastore node's mesh address, PostgreSQL listens on it.",
    "`k3s_datastore_endpoint`: the secret `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (HOST the datastore node's tinc address), from the environment or a vault file.",
  ],
}

const check = process.argv.includes('--check')
let stale = 0
for (const role of readdirSync('roles').sort()) {
  const defaults = join('roles', role, 'defaults', 'main.yml')
  const rows = []
  if (existsSync(defaults)) {
    const doc = parseDocument(readFileSync(defaults, 'utf8'))
    for (const pair of doc.contents?.items ?? []) {
      const name = String(pair.key.value ?? pair.key)
      const comment = (pair.key.commentBefore ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(' ')
      const value = JSON.stringify(pair.value?.toJSON?.() ?? pair.value ?? null)
      rows.push(`| \`${name}\` | \`${value.replace(/\|/g, '\\|')}\` | ${comment.replace(/\|/g, '\\|')} |`)
    }
  }
  const text = [
    `# Role \`${role}\``,
    '',
    SUMMARY[role] ?? '',
    '',
    ...(REQUIRED[role] ? ['## Required', '', ...REQUIRED[role].map((r) => `- ${r}`), ''] : []),
    '## Variables',
    '',
    rows.length ? '| variable | default | meaning |\n|---|---|---|\n' + rows.join('\n') : 'None.',
    '',
    '_Generated from `defaults/main.yml` by `node scripts/role-docs.mjs`; edit the comments there._',
    '',
  ].join('\n')
  const path = join('roles', role, 'README.md')
  const old = existsSync(path) ? readFileSync(path, 'utf8') : ''
  if (old !== text) {
    stale++
    if (!check) writeFileSync(path, text)
  }
}
if (check && stale) {
  console.error(`${stale} role README(s) out of date: run node scripts/role-docs.mjs`)
  process.exit(1)
}
