// The cluster of inventory/cluster.yml, mapped onto lab hosts: which lab host is a server, an
// agent, a public tinc node, an ingress node, a ZFS node, plus the few settings a lab needs
// (K3S from the test double's release server, zfs-fuse with file vdevs, no kernel modules loaded
// into the machine's shared kernel). Used by `npm run demo` and the cluster tests.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { LabError } from '../src/errors.js'
import type { LabInfo } from '../src/lab/index.js'
import { buildBusyboxImage } from '../test/k3s-double/image.js'

/** The pause image the lab's Docker nodes load from an archive built on the controller. */
export const LAB_PAUSE_IMAGE = 'k3sbook.lab/pause:busybox'
const labImageArchive = (lab: LabInfo) => join(lab.dir, 'images', 'pause-busybox.tar')

export interface LabClusterOptions {
  /** Base URL of the K3S release server (the test double served on the lab bridge). */
  releaseUrl: string
  /** Extra group vars for `all`. */
  vars?: Record<string, unknown>
  /** K3S on Docker on hosts 2 (a server) and 4 (an agent); default: on systemd labs only. */
  docker?: boolean
  /** Only check runs follow (they build no mesh): skip checkNeighbourTable. */
  checkOnly?: boolean
}

/** Lab hosts (0-based) whose K3S runs on Docker. */
export function labDockerHosts(lab: LabInfo, opts: Pick<LabClusterOptions, 'docker'>): number[] {
  return (opts.docker ?? lab.init === 'systemd') ? [1, 3] : []
}

/**
 * Roles by position: host 1 server + public + ingress + datastore, host 2 server, host 3 agent + public +
 * ZFS, host 4 agent (more hosts become agents). With Docker (systemd labs), hosts 2 and 4 run
 * K3S on Docker (storage driver vfs on the overlay root, no iptables rules in the shared kernel)
 * with the pause image loaded from an archive built on the controller (no registry is reachable).
 */
export function labClusterInventory(lab: LabInfo, opts: LabClusterOptions): string {
  const names = lab.hosts.map((h) => h.name)
  if (names.length < 4) throw new Error('the lab cluster needs at least 4 hosts')
  const tinc = (i: number) => ({ tinc_address: `10.10.0.${i + 1}` })
  const hosts = (idx: number[]) => Object.fromEntries(idx.map((i) => [names[i], null]))
  const agents = names.slice(2).map((_, j) => j + 2)
  const docker = new Set(labDockerHosts(lab, opts))
  const dockerVars = {
    k3s_container_runtime: 'docker',
    k3s_pause_image: LAB_PAUSE_IMAGE,
    docker_daemon_config: { 'storage-driver': 'vfs', iptables: false },
    docker_image_archives: [{ archive: labImageArchive(lab), name: LAB_PAUSE_IMAGE }],
  }
  const inv = {
    all: {
      hosts: Object.fromEntries(names.map((n, i) => [n, { ...tinc(i), ...(docker.has(i) ? dockerVars : {}) }])),
      vars: {
        // Secrets from the environment, as inventory/group_vars/all.yml does for a real cluster.
        k3s_token: "{{ lookup('env', 'K3SBOOK_K3S_TOKEN') }}",
        k3s_datastore_endpoint: "{{ lookup('env', 'K3SBOOK_DATASTORE_ENDPOINT') }}",
        k3s_release_url: opts.releaseUrl,
        k3s_container_runtime: 'containerd',
        k3s_tls_san: ['k3s.lab.example'],
        k3s_node_labels: ['k3sbook/lab=true'],
        k3s_start_timeout: 60,
        k3s_kubeconfig_local: join(lab.dir, 'kubeconfig'),
        // Lab hosts share the machine's kernel: load no modules into it, set only per-netns sysctls.
        common_kernel_modules: ['overlay'],
        common_sysctl: { 'net.ipv4.ip_forward': 1 },
        common_packages: ['curl', 'ca-certificates', 'iproute2', 'iptables'],
        tinc_key_size: 2048,
        // The machine's kernel has no iSCSI support: iscsid cannot stay up in a lab host.
        longhorn_start_iscsid: false,
        ...opts.vars,
      },
      children: {
        k3s_server: { hosts: hosts([0, 1]) },
        k3s_agent: { hosts: hosts(agents) },
        tinc_public: { hosts: hosts([0, 2]) },
        ingress: { hosts: hosts([0]) },
        // PostgreSQL for the servers' datastore, on the first server's tinc address (10.10.0.1)
        datastore: { hosts: hosts([0]) },
        zfs_storage: {
          hosts: hosts([2]),
          vars: {
            // zfs-fuse: user-space ZFS on file-backed vdevs (no zvols, no lz4).
            zfs_package: 'zfs-fuse',
            zfs_service: 'zfs-fuse',
            zfs_fuse_direct_start: true,
            zfs_file_vdevs: [{ path: '/var/lib/k3sbook-zfs/disk0.img', size: '256M' }],
            zfs_pools: [{ name: 'tank', vdevs: ['/var/lib/k3sbook-zfs/disk0.img'], filesystem_properties: { compression: 'gzip', atime: 'off' } }],
            zfs_datasets: [{ name: 'tank/longhorn', properties: { mountpoint: '/var/lib/longhorn', compression: 'gzip' } }],
          },
        },
      },
    },
  }
  return `# Written for lab "${lab.name}" by scripts/lab-cluster.ts: the cluster's groups on lab hosts.\n` + stringify(inv, { nullStr: '' })
}

/**
 * Refuses a cluster whose tinc mesh cannot be complete on this machine. tinc runs in switch mode, so
 * every node holds an ARP entry for every other node it reaches over tinc, and another on its lab
 * link for every peer tinc's own packets go to directly (seen on a 30-host lab: entries for peers on
 * both tinc0 and eth0); with each host's entry for the bridge and the bridge's for each host, 2·n²
 * in all once the verify play has every node ping every other. The kernel keeps
 * the entries of every network namespace in one table, capped by net.ipv4.neigh.default.gc_thresh3
 * (1024 by default: 22 nodes). Past it, pings and tinc's packets fail with "No buffer space
 * available": at 50 hosts the verify play retried for many minutes (bench of 2026-12-06); at 30
 * hosts, counted as one entry per pair (870), the table held 1,027 entries and 29 hosts failed.
 */
export function checkNeighbourTable(nodes: number, gcThresh3: number): void {
  const need = 2 * nodes * nodes
  if (need <= gcThresh3) return
  const suggest = Math.ceil((need * 1.5) / 1024) * 1024
  throw new LabError(
    `a tinc mesh of ${nodes} nodes needs about ${need} ARP entries (two per pair of nodes: over tinc and on the lab link), more than the ` +
      `${gcThresh3} that net.ipv4.neigh.default.gc_thresh3 allows all network namespaces together: the mesh could not be complete`,
    {
      hint:
        `raise it machine-wide with \`sysctl -w net.ipv4.neigh.default.gc_thresh3=${suggest} ` +
        `net.ipv4.neigh.default.gc_thresh2=${suggest / 2}\`, or use fewer hosts`,
    },
  )
}

export function writeLabClusterInventory(lab: LabInfo, opts: LabClusterOptions): string {
  let gcThresh3 = Infinity
  try {
    gcThresh3 = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8'))
  } catch {
    // no such limit to check
  }
  if (!opts.checkOnly) checkNeighbourTable(lab.hosts.length, gcThresh3)
  if (labDockerHosts(lab, opts).length) buildBusyboxImage(labImageArchive(lab), LAB_PAUSE_IMAGE)
  const path = join(lab.dir, 'cluster.yml')
  writeFileSync(path, labClusterInventory(lab, opts))
  return path
}
