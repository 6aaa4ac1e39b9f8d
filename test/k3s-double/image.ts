// A small container image built on the controller, for the lab's Docker nodes: no registry is
// reachable from the lab, so the docker role copies this archive to the node and `docker load`s
// it, as an air-gapped K3S node loads its images. The image is Debian's static busybox
// (busybox-static) as its only layer; its entrypoint stays up like a pod's pause container. The
// archive is in `docker save` format (manifest.json, the image config named by its sha256, one
// layer.tar) and byte-for-byte the same on every build, so a re-run copies nothing.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The static busybox binary Debian's busybox-static installs. */
export const BUSYBOX = '/bin/busybox'

export interface BuiltImage {
  /** The archive to `docker load`. */
  archive: string
  /** Its name:tag. */
  ref: string
  /** The image ID docker gives it (sha256 of its config). */
  id: string
}

const tarArgs = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=ustar']
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Build `ref` (e.g. k3sbook.lab/pause:busybox) as a docker-save archive at `archive`. */
export function buildBusyboxImage(archive: string, ref: string): BuiltImage {
  const work = mkdtempSync(join(tmpdir(), 'k3sbook-image-'))
  try {
    const root = join(work, 'rootfs')
    mkdirSync(join(root, 'bin'), { recursive: true })
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'))
    for (const app of ['sh', 'sleep', 'echo', 'cat', 'hostname']) symlinkSync('busybox', join(root, 'bin', app))
    const layer = join(work, 'layer.tar')
    execFileSync('tar', [...tarArgs, '-C', root, '-cf', layer, 'bin'])
    const diffId = sha256(readFileSync(layer))
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Entrypoint: ['/bin/sh', '-c', 'echo "k3sbook pause container on $(hostname)"; exec sleep 2147483647'],
        Labels: { 'k3sbook.image': 'busybox pause (lab)' },
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'k3sbook test/k3s-double/image.ts (busybox-static)' }],
    })
    const id = sha256(config)
    const out = join(work, 'image')
    mkdirSync(join(out, diffId), { recursive: true })
    copyFileSync(layer, join(out, diffId, 'layer.tar'))
    writeFileSync(join(out, `${id}.json`), config)
    writeFileSync(join(out, 'manifest.json'), JSON.stringify([{ Config: `${id}.json`, RepoTags: [ref], Layers: [`${diffId}/layer.tar`] }]))
    mkdirSync(dirname(archive), { recursive: true })
    execFileSync('tar', [...tarArgs, '-C', out, '-cf', archive, 'manifest.json', `${id}.json`, diffId])
    return { archive, ref, id: `sha256:${id}` }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
