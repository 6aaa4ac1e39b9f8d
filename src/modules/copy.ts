// `copy`: puts bytes at a path on the host — from `content`, from a file or directory on the
// controller (`src`, found in the role's files/ like Ansible), or from another path on the host
// (`remote_src`). Each file is compared by sha256 first and written atomically only when it differs.
import { lstat, readdir, readFile, stat as fsStat } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Change, FileInfo, Module, Plan, PlanContext, Step, StepResult } from './types.js'
import {
  argFail,
  ArgError,
  attrChanges,
  attrLines,
  attrStep,
  backupFromSteps,
  bool,
  fileDiff,
  MAX_DIFF_SIZE,
  groupSchema,
  md5,
  modeSchema,
  moduleSchema,
  normalizeMode,
  optBool,
  optStr,
  ownerSchema,
  sha1,
  sha256,
  statFromSteps,
  statLine,
  str,
  writeFileStep,
  defineModule,
} from './lib/index.js'

export interface CopyArgs {
  src?: string
  content?: unknown
  dest?: string
  backup?: unknown
  force?: unknown
  validate?: string
  directory_mode?: unknown
  remote_src?: unknown
  local_follow?: unknown
  checksum?: string
  follow?: unknown
  mode?: unknown
  owner?: unknown
  group?: unknown
  decrypt?: unknown
  unsafe_writes?: unknown
}

export const copy = defineModule<CopyArgs>({
  readAhead: true,
  name: 'copy',
  commandArgs: { validate: 'shell' },
  controllerFiles: (args): Record<string, 'read' | 'write'> => (args.remote_src === undefined || args.remote_src === false ? { src: 'read' } : {}),
  writesWholeFile: 'dest',
  description:
    'Copy a file or directory from the controller (or a file already on the host) to the host, or write `content` to a file. Writes only what differs, atomically.',
  sourceArgs: { src: 'files' },
  schema: moduleSchema({
    src: str(
      "File or directory to copy, looked up in the role's files/ then beside the playbook. A directory ending in '/' copies its contents; without it, the directory itself. With remote_src, a path on the host.",
    ),
    content: { description: 'Write this text to dest instead of copying src (a list or mapping is written as JSON).' },
    dest: str("Where to write on the host (required). Ending in '/' or an existing directory: the file keeps its name inside it."),
    backup: bool('Keep a timestamped copy of the file being replaced (reported as `backup_file`).'),
    force: bool('Replace dest when its content differs (default true). false: only write when dest does not exist.'),
    validate: str('Command that checks the new file before it replaces dest; %s is the file (e.g. `visudo -cf %s`).'),
    directory_mode: modeSchema(' For directories created while copying a directory.'),
    remote_src: bool('src is a file on the host, not on the controller.'),
    local_follow: bool('Follow symlinks inside a copied controller directory (default true).'),
    checksum: str('Expected SHA-1 of the source: the copy fails if it differs.'),
    follow: bool('When dest is a symlink, write to the file it points to instead of replacing the link.'),
    mode: { ...modeSchema(" 'preserve' gives dest the source file's mode."), type: ['string', 'integer'] },
    owner: ownerSchema(),
    group: groupSchema(),
    decrypt: bool('Accepted for compatibility (vault-encrypted sources are not supported).'),
    unsafe_writes: bool('Accepted for compatibility; writes are always atomic.'),
  }),
  plan: planCopy,
  result: writeResult,
})

/** Python's json.dumps defaults (", " and ": "), which is how Ansible writes non-string content. */
export function pyJson(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v)
  if (Array.isArray(v)) return '[' + v.map(pyJson).join(', ') + ']'
  return (
    '{' +
    Object.entries(v as Vars)
      .map(([k, x]) => `${pyJson(k)}: ${pyJson(x)}`)
      .join(', ') +
    '}'
  )
}

/** One file to put on the host. */
export interface FileWrite {
  dest: string
  content?: Buffer
  /** remote_src: copy from this host path. */
  fromPath?: string
  fromSha?: string
  /** Mode of the source (for mode=preserve). */
  srcMode?: string
}

interface WriteArgs {
  mode?: unknown
  owner?: unknown
  group?: unknown
  backup?: unknown
  force?: unknown
  validate?: string
  follow?: unknown
  directory_mode?: unknown
}

/**
 * Plans writing files (and the directories they need): one probe for every path, then one atomic
 * write step per file whose sha256 differs, and attribute steps where only mode/owner differ.
 */
export async function planWrites(writes: FileWrite[], dirs: string[], args: WriteArgs, ctx: PlanContext, resultBase: Vars): Promise<Plan> {
  const force = optBool(args.force, true, 'force')
  const backup = optBool(args.backup, false, 'backup')
  const follow = optBool(args.follow, false, 'follow')
  // Parents of the files are asked in the same round trip: a missing one fails as in Ansible.
  const parents = [...new Set(writes.map((w) => posix.dirname(w.dest)))].filter((p) => !dirs.includes(p))
  const paths = [...new Set([...dirs, ...parents, ...writes.map((w) => w.dest)])]
  const infos = await ctx.reader.files(paths, { sha256: true, content: ctx.diff ? MAX_DIFF_SIZE : false, follow })
  const steps: Step[] = []
  const changes: Change[] = []
  const one = writes.length === 1 && dirs.length === 0
  for (const d of dirs) {
    const i = infos.get(d)!
    if (i.unknown) return { status: 'unknown', reason: `${d}: ${i.unknown}`, steps: [] }
    if (i.exists && i.type !== 'directory') return { status: 'fail', msg: `${d} exists and is not a directory` }
    if (!i.exists) {
      const dm = args.directory_mode !== undefined && args.directory_mode !== null ? normalizeMode(args.directory_mode, '0755', true) : undefined
      steps.push({
        describe: `mkdir ${d}`,
        script:
          ['set -e', `mkdir -p -- ${shQuote(d)}`, ...attrLines(shQuote(d), { mode: dm, owner: optStr(args.owner), group: optStr(args.group) })].join('\n') +
          '\n',
        effects: [{ path: d, state: 'directory', mode: dm }],
      })
      changes.push({ summary: `create directory ${d}` })
    }
  }
  for (const p of parents) {
    const i = infos.get(p)!
    if (i.unknown) return { status: 'unknown', reason: `${p}: ${i.unknown}`, steps: [] }
    if (!i.exists || i.type !== 'directory') return { status: 'fail', msg: `Destination directory ${p} does not exist` }
  }
  let lastInfo: FileInfo | undefined
  for (const w of writes) {
    const i = infos.get(w.dest)!
    lastInfo = i
    if (i.unknown) return { status: 'unknown', reason: `${w.dest}: ${i.unknown}`, steps: [] }
    if (i.exists && i.type === 'directory') return { status: 'fail', msg: `dest ${w.dest} is a directory`, result: { dest: w.dest } }
    const mode = args.mode === 'preserve' ? w.srcMode : args.mode
    const want = { mode, owner: args.owner, group: args.group }
    const newSha = w.content ? sha256(w.content) : w.fromSha
    if (i.exists && !force) continue
    if (i.exists && i.type === 'file' && i.sha256 === newSha) {
      const a = attrChanges(i, want)
      if (a.changes.length) {
        steps.push(attrStep(w.dest, i, a))
        changes.push(...a.changes.map((c) => ({ summary: `${w.dest}: ${c.summary}` })))
      }
      continue
    }
    const a = attrChanges(i.exists ? i : undefined, want)
    // A link at dest is replaced by the file unless follow says to write through it (Ansible's default).
    const step = writeFileStep(w.dest, w.content, {
      mode: a.mode,
      owner: a.owner,
      group: a.group,
      backup,
      validate: optStr(args.validate),
      fromPath: w.fromPath,
      followLink: follow,
      effectMode: a.effectMode ?? (i.exists ? i.mode : undefined),
      sha: newSha,
      describe: `write ${w.dest}`,
    })
    if (one && ctx.resultRead !== false) step.script += statLine(shQuote(w.dest)) + '\n'
    steps.push(step)
    changes.push({
      summary: i.exists ? `content of ${w.dest}` : `create ${w.dest}`,
      diff: ctx.diff && w.content ? fileDiff(w.dest, i.content, w.content, i.exists ? i.size : undefined) : undefined,
    })
  }
  const result: Vars = { ...resultBase }
  if (steps.length === 0) {
    if (one && lastInfo?.exists)
      Object.assign(result, {
        mode: lastInfo.mode,
        owner: lastInfo.owner,
        group: lastInfo.group,
        uid: lastInfo.uid,
        gid: lastInfo.gid,
        size: lastInfo.size,
        state: 'file',
        path: lastInfo.path,
      })
    return { status: 'ok', result }
  }
  return { status: 'change', changes, steps, result }
}

export function writeResult(plan: Plan, steps: StepResult[] | undefined): Vars {
  const base = (plan.result ?? {}) as Vars
  if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: plan.msg }
  if (plan.status === 'ok') return { changed: false, failed: false, ...base }
  if (plan.status === 'skip') return { changed: false, skipped: true, msg: plan.reason }
  const r: Vars = { ...base, ...(statFromSteps(steps) ?? {}), changed: true, failed: false }
  const b = backupFromSteps(steps)
  if (b) r.backup_file = b
  return r
}

/** `dest` names a directory (trailing slash, or an existing directory): the file keeps its own name inside. */
async function resolveDest(dest: string, name: string, ctx: PlanContext, follow: boolean): Promise<string> {
  if (dest.endsWith('/')) return posix.join(dest, name)
  const i = (await ctx.reader.files([dest], { follow: true })).get(dest)!
  if (i.exists && i.type === 'directory') return posix.join(dest, name)
  void follow
  return dest
}

async function planCopy(args: CopyArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const dest = optStr(args.dest)
    if (dest === undefined || dest === '') return { status: 'fail', msg: 'dest is required' }
    const follow = optBool(args.follow, false, 'follow')
    if (args.content !== undefined && args.content !== null) {
      if (args.src !== undefined) return { status: 'fail', msg: 'src and content are mutually exclusive' }
      if (dest.endsWith('/')) return { status: 'fail', msg: 'can not use content with a dir as dest' }
      const content = Buffer.from(typeof args.content === 'string' ? args.content : pyJson(args.content), 'utf8')
      return planWrites([{ dest, content }], [], args, ctx, { dest, checksum: sha1(content), md5sum: md5(content) })
    }
    const src = optStr(args.src)
    if (src === undefined) return { status: 'fail', msg: 'src (or content) is required' }

    if (optBool(args.remote_src, false, 'remote_src')) {
      const si = (await ctx.reader.files([src], { sha256: true, follow: true })).get(src)!
      if (si.unknown) return { status: 'unknown', reason: `${src}: ${si.unknown}`, steps: [] }
      if (!si.exists) return { status: 'fail', msg: `Source ${src} not found` }
      if (si.type === 'directory') return { status: 'fail', msg: `remote_src with a directory (${src}) is not supported; use a command such as cp -a` }
      const target = await resolveDest(dest, posix.basename(src), ctx, follow)
      return planWrites([{ dest: target, fromPath: src, fromSha: si.sha256, srcMode: si.mode }], [], args, ctx, { dest: target, src })
    }

    const found = await findLocal(src, ctx)
    if (found.isDir) {
      // 'dir/' copies what is inside; 'dir' copies the directory itself (Ansible's rsync-like rule).
      const base = src.endsWith('/') ? dest : posix.join(dest, posix.basename(src.replace(/(?<!\/)\/+$/, '')))
      const entries = await walk(found.path, optBool(args.local_follow, true, 'local_follow'))
      const dirs = [base.replace(/(?<!\/)\/+$/, '') || '/', ...entries.filter((e) => e.dir).map((e) => posix.join(base, e.rel))]
      const writes: FileWrite[] = []
      for (const e of entries.filter((x) => !x.dir)) {
        const content = await readFile(join(found.path, e.rel))
        writes.push({ dest: posix.join(base, e.rel), content, srcMode: e.mode })
      }
      return planWrites(writes, dirs, args, ctx, { dest, src })
    }
    const content = found.content!
    if (args.checksum !== undefined && sha1(content) !== String(args.checksum))
      return { status: 'fail', msg: `Copied file does not match the expected checksum. Checksum ${sha1(content)} != ${args.checksum}` }
    const target = await resolveDest(dest, posix.basename(src), ctx, follow)
    return planWrites([{ dest: target, content, srcMode: found.mode }], [], args, ctx, {
      dest: target,
      src: found.path,
      checksum: sha1(content),
      md5sum: md5(content),
    })
  } catch (e) {
    return argFail(e)
  }
}

/** Find `src` on the controller; a directory is looked up beside the files the executor resolves. */
async function findLocal(src: string, ctx: PlanContext): Promise<{ path: string; isDir: boolean; content?: Buffer; mode?: string }> {
  try {
    const f = await ctx.controller.find(src.replace(/(?<!\/)\/+$/, ''), 'files')
    const st = await fsStat(f.path)
    return { path: f.path, isDir: false, content: f.content, mode: (st.mode & 0o7777).toString(8).padStart(4, '0') }
  } catch (e) {
    // find() reads files; a directory makes it fail, so look the directory up in the same places.
    const name = src.replace(/(?<!\/)\/+$/, '')
    const t = ctx.task
    const bases = [] as string[]
    for (let r = t?.role; r; r = r.parent) bases.push(join(r.path, 'files'), r.path)
    if (t) bases.push(join(t.baseDir, 'files'), t.baseDir)
    const candidates = name.startsWith('/') ? [name] : bases.map((b) => join(b, name))
    for (const c of candidates) {
      try {
        if ((await fsStat(c)).isDirectory()) return { path: c, isDir: true }
      } catch {
        /* next */
      }
    }
    throw e instanceof Error ? new ArgError(e.message) : e
  }
}

interface Entry {
  rel: string
  dir: boolean
  mode: string
}

async function walk(root: string, followLinks: boolean, rel = ''): Promise<Entry[]> {
  const out: Entry[] = []
  const names = (await readdir(join(root, rel))).sort()
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n
    const st = followLinks ? await fsStat(join(root, r)) : await lstat(join(root, r))
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0')
    if (st.isDirectory()) {
      out.push({ rel: r, dir: true, mode })
      out.push(...(await walk(root, followLinks, r)))
    } else if (st.isFile()) out.push({ rel: r, dir: false, mode })
  }
  return out
}
