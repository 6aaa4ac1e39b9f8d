// filesystem: a file system on a block device (or an image file), as community.general.filesystem
// makes one. `blkid` tells what is on the device in one probe; mkfs runs only when there is no file
// system, and a device holding another one is never reformatted unless `force` says so.
import { shJoin, shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { HostReader, Module, Plan } from './types.js'
import { ArgError, alias, bool, choice, guardPlan, moduleSchema, requireOneOf, sections, str, toBool, effectKey, defineModule } from './lib/index.js'

/** mkfs command and the flag that makes it write over what blkid did not recognize (Ansible's table). */
const MKFS: Record<string, { cmd: string; force: string[]; same: string }> = {
  ext2: { cmd: 'mkfs.ext2', force: ['-F'], same: 'ext2' },
  ext3: { cmd: 'mkfs.ext3', force: ['-F'], same: 'ext3' },
  ext4: { cmd: 'mkfs.ext4', force: ['-F'], same: 'ext4' },
  ext4dev: { cmd: 'mkfs.ext4', force: ['-F'], same: 'ext4' },
  xfs: { cmd: 'mkfs.xfs', force: ['-f'], same: 'xfs' },
  btrfs: { cmd: 'mkfs.btrfs', force: ['-f'], same: 'btrfs' },
  vfat: { cmd: 'mkfs.vfat', force: [], same: 'vfat' },
  f2fs: { cmd: 'mkfs.f2fs', force: ['-f'], same: 'f2fs' },
  reiserfs: { cmd: 'mkfs.reiserfs', force: ['-q'], same: 'reiserfs' },
  ocfs2: { cmd: 'mkfs.ocfs2', force: ['-Fx'], same: 'ocfs2' },
  bcachefs: { cmd: 'mkfs.bcachefs', force: ['--force'], same: 'bcachefs' },
  swap: { cmd: 'mkswap', force: ['-f'], same: 'swap' },
  lvm: { cmd: 'pvcreate', force: ['-f'], same: 'LVM2_member' },
}

const dev = str('Block device or regular file to put the file system on, e.g. `/dev/zvol/tank/longhorn`, `/dev/sdb1`.')
const fstype = choice(Object.keys(MKFS), 'File system type to create (required with state=present).')

export const filesystemSchema = moduleSchema(
  {
    dev,
    device: alias('dev', dev),
    fstype,
    type: alias('fstype', fstype),
    force: bool(
      'Allow replacing a file system of another type (default false: such a device makes the task fail). A device that already holds the asked type is left alone even with force, so a second run changes nothing.',
    ),
    opts: str('Options passed to mkfs, split on whitespace, e.g. `-L data -m 1`.'),
    state: choice(
      ['present', 'absent'],
      '`present` (default): the file system exists. `absent`: its signatures are wiped (`wipefs --all`) when blkid finds one.',
    ),
  },
  requireOneOf('dev', 'device'),
)

/** What blkid's TYPE means for the asked type: the same file system, none, or another one. */
export function classifyFs(found: string, fstype: string): 'same' | 'none' | 'other' {
  const f = found.trim()
  if (f === '') return 'none'
  const want = MKFS[fstype]?.same
  // blkid names some types differently from mkfs (LVM2_member) or alike (ext4dev is ext4).
  return f === want || MKFS[f]?.same === want ? 'same' : 'other'
}

/** The mkfs command line (Ansible: mkfs, its force flags, the user's opts, the device). */
export function mkfsScript(fstype: string, device: string, opts?: string): string {
  const m = MKFS[fstype]
  if (!m) throw new ArgError(`filesystem: unsupported fstype ${fstype}`)
  return shJoin([m.cmd, ...m.force, ...(opts ? opts.split(/\s+/).filter((o) => o !== '') : []), device])
}

export function filesystemProbeScript(device: string): string {
  return [
    'LC_ALL=C; export LC_ALL',
    `d=${shQuote(device)}`,
    `if [ ! -e "$d" ]; then echo @@missing; exit 0; fi`,
    `if ! command -v blkid >/dev/null 2>&1; then echo @@noblkid; exit 0; fi`,
    // -c /dev/null: read the device itself, not blkid's cache, which may be stale.
    `printf '@@type\\n'; blkid -c /dev/null -o value -s TYPE "$d" 2>&1; printf '@@rc\\n%s\\n' "$?"`,
  ].join('\n')
}

async function planFilesystem(args: Vars, reader: HostReader): Promise<Plan> {
  const device = String(args.dev ?? args.device ?? '')
  if (device === '') throw new ArgError('filesystem: dev is required')
  const state = String(args.state ?? 'present')
  const type = args.fstype ?? args.type
  const fstype = type === undefined || type === null ? undefined : String(type)
  if (state === 'present' && !fstype) throw new ArgError('filesystem: fstype is required with state=present')
  if (fstype && !MKFS[fstype]) throw new ArgError(`filesystem: fstype must be one of ${Object.keys(MKFS).join(', ')}, got ${fstype}`)
  const force = toBool(args.force, false)
  const opts = args.opts === undefined || args.opts === null ? undefined : String(args.opts)

  const r = await reader.probe(filesystemProbeScript(device))
  const s = sections(r.stdout.toString('utf8'))
  const mkfs = (why?: string): Plan => {
    const summary = `${MKFS[fstype!].cmd} ${device}`
    return {
      status: 'change',
      changes: [{ summary: `create ${fstype} on ${device}${why ? ` (${why})` : ''}` }],
      steps: [{ describe: summary, script: mkfsScript(fstype!, device, opts), effects: [{ key: effectKey.fs(device), value: fstype }] }],
      result: { changed: true },
    }
  }
  if (s.missing !== undefined) {
    // An earlier task (e.g. a zfs volume) may create the device in this run.
    if (state === 'present' && reader.pending(effectKey.dev(device)) === 'present') return mkfs('the device is created by an earlier task')
    if (state === 'absent') return { status: 'ok', note: `Device ${device} not found.`, result: { changed: false } }
    return { status: 'fail', msg: `filesystem: device ${device} not found` }
  }
  if (s.noblkid !== undefined) return { status: 'fail', msg: `filesystem: blkid is not installed on ${reader.host} (util-linux)` }
  const rc = s.rc?.trim()
  // blkid exits 2 when it finds nothing it knows.
  if (rc !== '0' && rc !== '2') return { status: 'fail', msg: `filesystem: blkid ${device} failed (exit ${rc}): ${(s.type ?? '').trim()}` }
  const found = rc === '0' ? (s.type ?? '').trim().split('\n')[0] : ''
  const pendingFs = reader.pending(effectKey.fs(device)) as string | undefined

  // In check mode an earlier task's mkfs or wipefs decides what this one would find.
  const current = pendingFs === 'absent' ? '' : pendingFs ? (MKFS[pendingFs]?.same ?? pendingFs) : found
  if (state === 'absent') {
    if (!current) return { status: 'ok', result: { changed: false } }
    return {
      status: 'change',
      changes: [{ summary: `wipe ${current} signatures from ${device}` }],
      steps: [{ describe: `wipefs --all ${device}`, script: shJoin(['wipefs', '--all', device]), effects: [{ key: effectKey.fs(device), value: 'absent' }] }],
      result: { changed: true },
    }
  }
  const kind = classifyFs(current, fstype!)
  if (kind === 'same') return { status: 'ok', result: { changed: false } }
  if (kind === 'other' && !force) return { status: 'fail', msg: `filesystem: '${device}' is already used as ${current}, use force=true to overwrite` }
  return mkfs(kind === 'other' ? `replacing ${current}` : undefined)
}

export const filesystemModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'filesystem',
  description: 'Makes a file system on a device when it has none (mkfs); never reformats one of another type unless forced.',
  schema: filesystemSchema,
  plan: (args, ctx) => guardPlan(() => planFilesystem(args, ctx.reader)),
})
