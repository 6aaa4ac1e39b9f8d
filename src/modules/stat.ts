// `stat`: reports facts about a path in Ansible's registered shape (`stat.exists`, `stat.mode`,
// `stat.isdir`, `stat.checksum`, ...). Read-only: one probe answers everything; in check mode what
// earlier tasks would have written is reported instead of the host's current state.
import { createHash } from 'node:crypto'
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { FileInfo, Module, Plan, PlanContext } from './types.js'
import { argFail, bool, choice, moduleSchema, oneOf, optBool, optStr, pick, str, defineModule } from './lib/index.js'

export interface StatArgs {
  path?: string
  dest?: string
  name?: string
  follow?: unknown
  get_checksum?: unknown
  checksum_algorithm?: string
  checksum?: string
  checksum_algo?: string
  get_mime?: unknown
  mime?: unknown
  mime_type?: unknown
  'mime-type'?: unknown
  get_attributes?: unknown
  attr?: unknown
  attributes?: unknown
  get_md5?: unknown
}

const ALGOS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const

export const stat = defineModule<StatArgs>({
  readAhead: true,
  probeIsLast: true,
  name: 'stat',
  description: 'Get facts about a path (exists, type, mode, owner, size, checksum, ...) to use in `when:` conditions. Changes nothing.',
  schema: moduleSchema({
    path: str('The path to look at. Aliases: dest, name.'),
    dest: str('Alias of path.'),
    name: str('Alias of path.'),
    follow: bool('Follow a symlink and report on what it points to (default false).'),
    get_checksum: bool('Report the checksum of a regular file as `stat.checksum` (default true).'),
    checksum_algorithm: choice(ALGOS, "Checksum algorithm (default 'sha1', as in Ansible). Aliases: checksum, checksum_algo."),
    checksum: choice(ALGOS, 'Alias of checksum_algorithm.'),
    checksum_algo: choice(ALGOS, 'Alias of checksum_algorithm.'),
    get_mime: bool('Report `stat.mimetype` and `stat.charset` (from file(1), when installed; default true). Aliases: mime, mime_type, mime-type.'),
    mime: bool('Alias of get_mime.'),
    mime_type: bool('Alias of get_mime.'),
    'mime-type': bool('Alias of get_mime.'),
    get_attributes: bool('Report `stat.attributes` from lsattr(1), when available (default true). Aliases: attr, attributes.'),
    attr: bool('Alias of get_attributes.'),
    attributes: bool('Alias of get_attributes.'),
    get_md5: bool('Accepted for compatibility; use checksum_algorithm=md5.'),
  }),
  plan: planStat,
  result: (plan) => {
    const base = (plan.result ?? {}) as Vars
    if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: plan.msg }
    return { changed: false, failed: false, ...base }
  },
})

/** The probe: one line of `stat` fields, then tagged lines for access, links, checksum, mime, attributes. */
export function statScript(path: string, o: { follow: boolean; checksum?: string; sha256?: boolean; mime: boolean; attributes: boolean }): string {
  const q = shQuote(path)
  const L = o.follow ? '-L ' : ''
  return (
    [
      'LC_ALL=C; export LC_ALL',
      `p=${q}`,
      'if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi',
      `stat ${L}-c 'S %f|%u|%g|%s|%i|%d|%h|%X|%Y|%Z|%U|%G|%b|%B|%t|%T' -- "$p" || exit 1`,
      `[ -r "$p" ] && echo R; [ -w "$p" ] && echo W; [ -x "$p" ] && echo X`,
      `if [ -L "$p" ]; then printf 'T %s\\n' "$(readlink -- "$p")"; printf 'A %s\\n' "$(readlink -f -- "$p")"; fi`,
      // No $(…) or cut: each costs a fork; "<hex>  -" is split here. A failing tool leaves an empty tag.
      o.checksum
        ? `if [ -f "$p" ] && [ -r "$p" ]; then printf 'C '; ${o.checksum}sum < "$p" || echo;${o.sha256 && o.checksum !== 'sha256' ? ` printf 'H '; sha256sum < "$p" || echo;` : ''} fi`
        : ':',
      o.mime ? `if command -v file >/dev/null 2>&1; then printf 'M '; file ${o.follow ? '-L ' : ''}-b --mime -- "$p" 2>/dev/null || echo; fi` : ':',
      o.attributes ? `if command -v lsattr >/dev/null 2>&1; then printf 'B '; lsattr -vd -- "$p" 2>/dev/null || echo; fi` : ':',
      'exit 0',
    ].join('\n') + '\n'
  )
}

/** Ansible's `stat` dictionary from the probe's output. */
export function parseStat(path: string, out: string): Vars {
  const lines = out.split('\n')
  if (lines[0] === 'absent') return { exists: false }
  const tag = (t: string) => lines.find((l) => l.startsWith(t + ' '))?.slice(t.length + 1)
  // Tools that may fail (checksum, file, lsattr) leave their tag empty.
  const tool = (t: string) => {
    const v = tag(t)
    return v === undefined || v.trim() === '' ? undefined : v
  }
  const digest = (t: string) => tool(t)?.trim().split(/\s+/)[0]
  const has = (t: string) => lines.includes(t)
  const [rawMode, uid, gid, size, inode, dev, nlink, atime, mtime, ctime, pw, gr, blocks, bsize, major, minor] = (tag('S') ?? '').split('|')
  const m = parseInt(rawMode, 16)
  const fmt = m & 0o170000
  const perm = m & 0o7777
  const st: Vars = {
    exists: true,
    path,
    mode: perm.toString(8).padStart(4, '0'),
    isdir: fmt === 0o040000,
    ischr: fmt === 0o020000,
    isblk: fmt === 0o060000,
    isreg: fmt === 0o100000,
    isfifo: fmt === 0o010000,
    islnk: fmt === 0o120000,
    issock: fmt === 0o140000,
    uid: Number(uid),
    gid: Number(gid),
    size: Number(size),
    inode: Number(inode),
    dev: Number(dev),
    nlink: Number(nlink),
    atime: Number(atime),
    mtime: Number(mtime),
    ctime: Number(ctime),
    wusr: !!(perm & 0o200),
    rusr: !!(perm & 0o400),
    xusr: !!(perm & 0o100),
    wgrp: !!(perm & 0o020),
    rgrp: !!(perm & 0o040),
    xgrp: !!(perm & 0o010),
    woth: !!(perm & 0o002),
    roth: !!(perm & 0o004),
    xoth: !!(perm & 0o001),
    isuid: !!(perm & 0o4000),
    isgid: !!(perm & 0o2000),
    blocks: Number(blocks),
    block_size: Number(bsize),
    device_type: fmt === 0o020000 || fmt === 0o060000 ? parseInt(major, 16) * 256 + parseInt(minor, 16) : 0,
    readable: has('R'),
    writeable: has('W'),
    executable: has('X'),
    pw_name: pw,
    gr_name: gr,
  }
  const lt = tag('T')
  if (lt !== undefined) {
    st.lnk_target = lt
    st.lnk_source = tag('A') ?? lt
  }
  const c = digest('C')
  if (c !== undefined) st.checksum = c
  const mime = tool('M')
  if (mime !== undefined) {
    const mm = /^([^;]+)(?:;\s*charset=(\S+))?/.exec(mime)
    st.mimetype = mm?.[1] ?? 'unknown'
    st.charset = mm?.[2] ?? 'unknown'
  }
  const lsattr = tool('B')
  if (lsattr !== undefined) {
    // `lsattr -vd`: "VERSION FLAGS PATH"
    const [version, attrs] = lsattr.trim().split(/\s+/)
    st.version = version
    st.attr_flags = (attrs ?? '').replace(/-/g, '')
    st.attributes = [...(st.attr_flags as string)].map((f) => ATTR_NAMES[f] ?? f)
  }
  return st
}

const ATTR_NAMES: Record<string, string> = {
  a: 'append',
  A: 'noatime',
  c: 'compressed',
  C: 'nocow',
  d: 'nodump',
  D: 'dirsync',
  e: 'extents',
  E: 'encrypted',
  F: 'casefold',
  i: 'immutable',
  I: 'indexed',
  j: 'journalled',
  N: 'inline',
  P: 'projinherit',
  s: 'secure',
  S: 'synchronous',
  t: 'notail',
  T: 'topdir',
  u: 'undelete',
  V: 'verity',
}

async function planStat(args: StatArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const path = optStr(pick(args, 'path', 'dest', 'name'))
    if (path === undefined) return { status: 'fail', msg: 'missing required arguments: path' }
    const follow = optBool(args.follow, false, 'follow')
    const algo = oneOf(pick(args, 'checksum_algorithm', 'checksum', 'checksum_algo'), ALGOS, 'checksum_algorithm', 'sha1')
    const getChecksum = optBool(args.get_checksum, true, 'get_checksum')
    const mime = optBool(pick(args, 'get_mime', 'mime', 'mime_type', 'mime-type'), true, 'get_mime')
    const attributes = optBool(pick(args, 'get_attributes', 'attr', 'attributes'), true, 'get_attributes')
    // The probe and the (overlay-aware) reader run side by side: one round trip of latency.
    // With nothing pending from earlier planned steps the probe alone answers (one round trip).
    const pending = typeof ctx.reader.hasPending === 'function' ? ctx.reader.hasPending() : true
    const [probe, seen] = await Promise.all([
      // sha256 (besides the checksum asked for) only to compare with what a planned step would write.
      ctx.reader.probe(statScript(path, { follow, checksum: getChecksum ? algo : undefined, sha256: pending, mime, attributes })),
      pending ? ctx.reader.files([path], { follow, sha256: getChecksum }) : undefined,
    ])
    if (probe.rc !== 0) return { status: 'fail', msg: `stat ${path}: ${probe.stderr.toString().trim()}` }
    const out = probe.stdout.toString('utf8')
    const st = parseStat(path, out)
    if (!seen) return { status: 'ok', result: { stat: st } }
    const info = seen.get(path)!
    if (info.unknown) return { status: 'unknown', reason: `${path}: ${info.unknown}`, steps: [], result: { stat: st } }
    const hostSha = (algo === 'sha256' ? /^C (.*)$/m : /^H (.*)$/m).exec(out)?.[1].trim().split(/\s+/)[0]
    // In check mode an earlier planned step may have changed the path: report what it would be.
    const overlaid =
      info.exists !== st.exists || (info.exists && (info.mode !== st.mode || info.sha256 !== hostSha || (info.type === 'directory') !== st.isdir))
    return { status: 'ok', result: { stat: overlaid ? fromInfo(info, st, algo, getChecksum) : st } }
  } catch (e) {
    return argFail(e)
  }
}

/** A stat dictionary from an overlaid FileInfo (what an earlier planned step would leave). */
function fromInfo(info: FileInfo, host: Vars, algo: string, getChecksum: boolean): Vars {
  if (!info.exists) return { exists: false }
  const perm = parseInt(info.mode ?? '0644', 8)
  const st: Vars = {
    ...(host.exists ? host : {}),
    exists: true,
    path: info.path,
    mode: info.mode,
    isdir: info.type === 'directory',
    isreg: info.type === 'file',
    islnk: info.type === 'link',
    ischr: false,
    isblk: false,
    isfifo: false,
    issock: false,
    pw_name: info.owner,
    gr_name: info.group,
    wusr: !!(perm & 0o200),
    rusr: !!(perm & 0o400),
    xusr: !!(perm & 0o100),
    wgrp: !!(perm & 0o020),
    rgrp: !!(perm & 0o040),
    xgrp: !!(perm & 0o010),
    woth: !!(perm & 0o002),
    roth: !!(perm & 0o004),
    xoth: !!(perm & 0o001),
  }
  if (info.size !== undefined) st.size = info.size
  if (info.linkTarget !== undefined) st.lnk_target = st.lnk_source = info.linkTarget
  delete st.checksum
  if (getChecksum && info.type === 'file' && info.content) st.checksum = createHash(algo).update(info.content).digest('hex')
  return st
}
