// `file`: the state of one path — a directory (made with its parents), an existing file's
// attributes, a symlink or hard link, an empty file (touch) or nothing (absent) — and its mode and
// owner. Plans compare what the host has with what is asked, so re-runs are no-ops (except `touch`,
// which, as in Ansible, updates times and reports a change every time).
import { posix } from 'node:path'
import { shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Change, Effect, FileDiff, FileInfo, Module, Plan, PlanContext, Step, StepResult } from './types.js'
import { strptime, touchStamp } from './lib/strptime.js'
import {
  argFail,
  pathInfo,
  ArgError,
  attrChanges,
  attrLines,
  statFromSteps,
  statLine,
  bool,
  choice,
  groupSchema,
  modeSchema,
  moduleSchema,
  normalizeMode,
  oneOf,
  optBool,
  optStr,
  ownerSchema,
  pick,
  str,
  type AttrPlan,
  defineModule,
} from './lib/index.js'

export interface FileArgs {
  path?: string
  dest?: string
  name?: string
  state?: string
  src?: string
  mode?: unknown
  owner?: unknown
  group?: unknown
  recurse?: unknown
  force?: unknown
  follow?: unknown
  modification_time?: string
  modification_time_format?: string
  access_time?: string
  access_time_format?: string
  unsafe_writes?: unknown
}

const STATES = ['file', 'directory', 'touch', 'absent', 'link', 'hard'] as const
type State = (typeof STATES)[number]

export const file = defineModule<FileArgs>({
  readAhead: true,
  // The link a state=link task manages is most likely a link already (then its target is asked
  // about too); the directory a state=directory task manages, a directory.
  readAheadGuess(path, args, follow) {
    const own = args.path ?? args.dest ?? args.name
    if (own !== path) return undefined
    const base: FileInfo = { path, exists: true, owner: 'root', group: 'root', uid: 0, gid: 0 }
    if (!follow && args.state === 'link' && typeof args.src === 'string') return { ...base, type: 'link', mode: '0777', size: 0, linkTarget: args.src }
    if (args.state === 'directory') return { ...base, type: 'directory', mode: '0755', size: 4096 }
    return undefined
  },
  name: 'file',
  description:
    'Manage a path: directory (with parents), attributes of an existing file, symlink, hard link, empty file (touch) or absent; plus its mode and owner.',
  schema: moduleSchema({
    path: str('The path to manage. Aliases: dest, name.'),
    dest: str('Alias of path.'),
    name: str('Alias of path.'),
    state: choice(
      STATES,
      "What the path should be: 'file' (must exist; sets attributes), 'directory' (created with parents), 'touch' (created empty, or times updated), 'absent' (removed, recursively), 'link' (symlink to src), 'hard' (hard link to src). Default: the current state, or 'file'.",
    ),
    src: str("Target of the link (state=link or hard). Relative symlink targets are relative to the link's directory."),
    mode: modeSchema(' With recurse, applied to everything below (use X for execute on directories only).'),
    owner: ownerSchema(),
    group: groupSchema(),
    recurse: bool('With state=directory: apply mode/owner/group to everything below the path.'),
    force: bool('With state=link: replace an existing file or empty directory, and allow a link to a target that does not exist.'),
    follow: bool('When the path is a symlink, set attributes on what it points to (default true).'),
    modification_time: str("With touch (default 'now') and other states (default 'preserve'): 'now', 'preserve' or a time in modification_time_format."),
    modification_time_format: str("Format of modification_time (default '%Y%m%d%H%M.%S')."),
    access_time: str('Like modification_time, for the access time.'),
    access_time_format: str("Format of access_time (default '%Y%m%d%H%M.%S')."),
    unsafe_writes: bool('Accepted for compatibility; has no effect.'),
  }),
  plan: planFile,
  result: fileModuleResult,
})

/** A time in the given format (Python strptime, default '%Y%m%d%H%M.%S') as `touch -t` text. */
function timeArg(v: string | undefined, fmt: string | undefined, def: 'now' | 'preserve'): string {
  const t = v ?? def
  if (t === 'now' || t === 'preserve') return t
  const f = fmt ?? '%Y%m%d%H%M.%S'
  try {
    return touchStamp(strptime(t, f))
  } catch (e) {
    if (e instanceof Error && /not supported by k3sbook/.test(e.message)) throw new ArgError(e.message)
    throw new ArgError(`Error while obtaining timestamp for time ${t} using format ${f}: ${e instanceof Error ? e.message : String(e)}`)
  }
}

function timeLines(word: string, mtime: string, atime: string): string[] {
  const out: string[] = []
  if (mtime !== 'preserve') out.push(`touch -c -m ${mtime === 'now' ? '' : `-t ${shQuote(mtime)} `}-- ${word}`)
  if (atime !== 'preserve') out.push(`touch -c -a ${atime === 'now' ? '' : `-t ${shQuote(atime)} `}-- ${word}`)
  return out
}

function stateOf(i: FileInfo | undefined, nlink?: number): string {
  if (!i?.exists) return 'absent'
  if (i.type === 'link') return 'link'
  if (i.type === 'directory') return 'directory'
  return nlink !== undefined && nlink > 1 ? 'hard' : 'file'
}

async function planFile(args: FileArgs, ctx: PlanContext): Promise<Plan> {
  const plan = await planFileInner(args, ctx)
  const path = optStr(pick(args, 'path', 'dest', 'name'))
  return path !== undefined && plan.status === 'change' && (plan.result as Vars | undefined)?.state !== 'absent' && ctx.resultRead !== false
    ? withStat(plan, path)
    : plan
}

async function planFileInner(args: FileArgs, ctx: PlanContext): Promise<Plan> {
  try {
    const path = optStr(pick(args, 'path', 'dest', 'name'))
    if (path === undefined) return { status: 'fail', msg: 'missing required arguments: path' }
    const follow = optBool(args.follow, true, 'follow')
    const force = optBool(args.force, false, 'force')
    const recurse = optBool(args.recurse, false, 'recurse')
    const src = optStr(args.src)
    // One round trip unless the path is a link, when what it points to is asked too.
    const info = (await ctx.reader.files([path])).get(path)!
    const target = info.type === 'link' ? (await ctx.reader.files([path], { follow: true })).get(path)! : info
    for (const i of [info, target]) if (i.unknown) return { status: 'unknown', reason: `${path}: ${i.unknown}`, steps: [] }
    const prev = stateOf(info)
    let state: State
    if (args.state === undefined || args.state === null) state = prev !== 'absent' ? (prev as State) : recurse ? 'directory' : 'file'
    else state = oneOf(String(args.state), STATES, 'state', 'file')
    if (recurse && state !== 'directory') return { status: 'fail', msg: "recurse option requires state to be 'directory'", result: { path } }
    if (src !== undefined && state !== 'link' && state !== 'hard')
      return { status: 'fail', msg: "src option requires state to be 'link' or 'hard'", result: { path } }
    const mtime = timeArg(args.modification_time, args.modification_time_format, state === 'touch' ? 'now' : 'preserve')
    const atime = timeArg(args.access_time, args.access_time_format, state === 'touch' ? 'now' : 'preserve')
    const want = { mode: args.mode, owner: args.owner, group: args.group }
    const q = shQuote(path)
    const sd = (after: string) => (ctx.diff && prev !== after ? stateDiff(path, prev, after) : undefined)

    switch (state) {
      case 'absent': {
        if (!info.exists) return { status: 'ok', result: { path, state: 'absent' } }
        return change(
          [{ summary: `remove ${prev} ${path}` }],
          [{ describe: `remove ${path}`, script: `rm -rf -- ${q}\n`, effects: [{ path, state: 'absent' }] }],
          { path, state: 'absent' },
          sd('absent'),
        )
      }

      case 'file': {
        // With follow, a link stands for what it points to.
        const eff = follow && info.type === 'link' ? target : info
        const st = stateOf(eff)
        if (st !== 'file') return { status: 'fail', msg: `file (${path}) is ${st}, cannot continue`, result: { path, state: st } }
        return attrsOnly(path, eff, want, mtime, atime, follow)
      }

      case 'directory': {
        const eff = follow && info.type === 'link' ? target : info
        const st = stateOf(eff)
        if (st === 'absent') {
          if (info.type === 'link') return { status: 'fail', msg: `${path} already exists as a link`, result: { path } }
          const p = await planMkdirs(path, want, ctx)
          return p.status === 'change' ? change(p.changes, p.steps, p.result ?? {}, sd('directory')) : p
        }
        if (st !== 'directory') return { status: 'fail', msg: `${path} already exists as a ${st}`, result: { path } }
        const base = attrsOnly(path, eff, want, mtime, atime, follow)
        if (!recurse || (want.mode === undefined && want.owner === undefined && want.group === undefined)) return base
        return withRecurse(base, path, eff, want, ctx)
      }

      case 'touch': {
        const a = attrChanges(info.exists ? target : undefined, want)
        const lines = ['set -e']
        const effects: Effect[] = []
        if (!info.exists) lines.push(`: >> ${q}`)
        lines.push(...attrLines(q, a), ...timeLines(q, mtime, atime))
        const isDir = target.type === 'directory'
        effects.push(
          isDir
            ? { path, state: 'directory', mode: a.effectMode ?? target.mode }
            : {
                path,
                state: 'file',
                mode: a.effectMode ?? (info.exists ? target.mode : '0644'),
                owner: a.owner,
                group: a.group,
                sha256: info.exists ? undefined : SHA256_EMPTY,
                content: info.exists ? undefined : Buffer.alloc(0),
              },
        )
        const changes: Change[] = info.exists ? [...a.changes] : [{ summary: `create empty file ${path}` }]
        const timesChange = mtime !== 'preserve' || atime !== 'preserve'
        if (info.exists && timesChange) changes.push({ summary: 'update access and modification times' })
        if (changes.length === 0) return { status: 'ok', result: { dest: path } }
        return change(changes, [{ describe: `touch ${path}`, script: lines.join('\n') + '\n', effects }], { dest: path }, info.exists ? undefined : sd('touch'))
      }

      case 'link':
        return planSymlink(path, src, info, target, want, force, follow, ctx)

      case 'hard':
        return planHardlink(path, src, info, force, want, ctx)
    }
  } catch (e) {
    return argFail(e)
  }
}

const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

function change(changes: Change[], steps: Step[], result: Vars, diff?: FileDiff): Plan {
  if (diff && changes.length) changes = [{ ...changes[0], diff }, ...changes.slice(1)]
  return { status: 'change', changes, steps, result }
}

/** Ansible's --diff for file: the path's state before and after, as indented JSON. */
export function stateDiff(path: string, before: string, after: string): FileDiff {
  const j = (state: string) => JSON.stringify({ path, state }, null, 4) + '\n'
  return { path, before: j(before), after: j(after) }
}

function attrsOnly(
  path: string,
  info: FileInfo,
  want: { mode?: unknown; owner?: unknown; group?: unknown },
  mtime: string,
  atime: string,
  follow: boolean,
): Plan {
  const a = attrChanges(info, want)
  const q = shQuote(path)
  const times = timeLines(q, mtime, atime)
  if (a.changes.length === 0 && times.length === 0) return { status: 'ok', result: { path, ...pathInfo(info) } }
  const changes = [...a.changes, ...(times.length ? [{ summary: 'set access/modification time' }] : [])]
  const effect: Effect =
    info.type === 'directory'
      ? { path, state: 'directory', mode: a.effectMode ?? info.mode, owner: a.owner ?? info.owner, group: a.group ?? info.group }
      : { path, state: 'file', mode: a.effectMode ?? info.mode, owner: a.owner ?? info.owner, group: a.group ?? info.group, sha256: info.sha256 }
  // Without follow, chown must not pass through a link to its target.
  return change(
    changes,
    [{ describe: `set attributes of ${path}`, script: ['set -e', ...attrLines(q, a, { noDeref: !follow }), ...times].join('\n') + '\n', effects: [effect] }],
    { path },
  )
}

/** mkdir -p, except that every directory made gets the wanted mode and owner (Ansible applies them to each). */
async function planMkdirs(path: string, want: { mode?: unknown; owner?: unknown; group?: unknown }, ctx: PlanContext): Promise<Plan> {
  const parts = path
    .replace(/^\/+|(?<!\/)\/+$/g, '')
    .split('/')
    .filter((p) => p !== '')
  const chain: string[] = []
  let cur = path.startsWith('/') ? '' : undefined
  for (const p of parts) {
    cur = cur === undefined ? p : `${cur}/${p}`
    chain.push(cur)
  }
  const infos = await ctx.reader.files(chain, { follow: true })
  for (const c of chain) {
    const i = infos.get(c)!
    if (i.unknown) return { status: 'unknown', reason: `${c}: ${i.unknown}`, steps: [] }
  }
  const missing = chain.filter((c) => !infos.get(c)!.exists)
  const blocker = chain.find((c) => infos.get(c)!.exists && infos.get(c)!.type !== 'directory')
  if (blocker)
    return {
      status: 'fail',
      msg: `There was an issue creating ${missing[0] ?? path} as requested: [Errno 20] Not a directory: '${missing[0] ?? path}'`,
      result: { path },
    }
  const a: AttrPlan = attrChanges(undefined, want, true)
  const lines = ['set -e']
  const effects: Effect[] = []
  for (const c of missing) {
    const qc = shQuote(c)
    lines.push(`[ -d ${qc} ] || mkdir -- ${qc}`, ...attrLines(qc, a))
    effects.push({ path: c, state: 'directory', mode: a.effectMode, owner: a.owner, group: a.group })
  }
  return change([{ summary: `create directory ${path}` }], [{ describe: `mkdir ${path}`, script: lines.join('\n') + '\n', effects }], { path })
}

/** recurse=true: list what is below and count what differs (links are left alone, as chmod -R does). */
async function withRecurse(
  base: Plan,
  path: string,
  info: FileInfo,
  want: { mode?: unknown; owner?: unknown; group?: unknown },
  ctx: PlanContext,
): Promise<Plan> {
  const r = await ctx.reader.probe(`find ${shQuote(path)} -mindepth 1 ! -type l -printf '%m|%u|%g|%U|%G|%y\\n'\n`)
  if (r.rc !== 0) return { status: 'fail', msg: `Could not recursively set attributes on ${path}: ${r.stderr.toString().trim()}` }
  let differ = 0
  for (const line of r.stdout.toString().split('\n')) {
    if (!line) continue
    const [mode, owner, group, uid, gid, kind] = line.split('|')
    const i: FileInfo = {
      path: '',
      exists: true,
      type: kind === 'd' ? 'directory' : 'file',
      mode: mode.padStart(4, '0'),
      owner,
      group,
      uid: Number(uid),
      gid: Number(gid),
    }
    if (attrChanges(i, want).changes.length) differ++
  }
  if (differ === 0) return base
  const q = shQuote(path)
  const lines = ['set -e']
  if (want.owner !== undefined || want.group !== undefined) {
    const spec = want.owner !== undefined ? `${want.owner}${want.group !== undefined ? ':' + want.group : ''}` : `:${want.group}`
    lines.push(`chown -R -h ${shQuote(spec)} -- ${q}`)
  }
  if (want.mode !== undefined && want.mode !== null) {
    // Symbolic modes (u=rwX) are evaluated per entry by chmod itself, as Ansible does per entry.
    const m = typeof want.mode === 'number' || /^0?o?[0-7]{1,4}$/i.test(String(want.mode).trim()) ? normalizeMode(want.mode) : String(want.mode)
    lines.push(`find ${q} -mindepth 1 ! -type l -exec chmod ${shQuote(m)} {} +`)
  }
  const step: Step = { describe: `set attributes below ${path}`, script: lines.join('\n') + '\n', effects: [{ path, state: 'directory', mode: info.mode }] }
  const baseSteps = base.status === 'change' ? base.steps : []
  const baseChanges = base.status === 'change' ? base.changes : []
  return change([...baseChanges, { summary: `attributes of ${differ} path(s) below ${path}` }], [...baseSteps, step], { path })
}

async function planSymlink(
  path: string,
  src: string | undefined,
  info: FileInfo,
  target: FileInfo,
  want: { mode?: unknown; owner?: unknown; group?: unknown },
  force: boolean,
  follow: boolean,
  ctx: PlanContext,
): Promise<Plan> {
  const prev = stateOf(info)
  if (src === undefined && follow && info.type === 'link') src = info.linkTarget
  if (src === undefined && prev !== 'link') return { status: 'fail', msg: 'src is required for creating new symlinks', result: { path } }
  const relBase = info.exists && info.type === 'directory' ? path : posix.dirname(path)
  // Ansible warns (and sets no attributes) when the link, followed, leads nowhere
  let dangling = false
  // (with force and without follow nothing depends on the target: no look at it)
  if (src !== undefined && (!force || follow)) {
    const abs = posix.resolve(relBase, src)
    const t = (await ctx.reader.files([abs], { follow: true })).get(abs)!
    if (!t.exists && !t.unknown && !force)
      return { status: 'fail', msg: `src file does not exist, use "force=yes" if you really want to create the link: ${abs}`, result: { path, src } }
    dangling = follow && !t.exists && !t.unknown
  }
  const warnings = dangling ? { warnings: ['Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.'] } : {}
  if (prev === 'directory' && !force) return { status: 'fail', msg: `refusing to convert from directory to symlink for ${path}`, result: { path } }
  if ((prev === 'file' || prev === 'hard') && !force)
    return { status: 'fail', msg: `refusing to convert from ${prev} to symlink for ${path}`, result: { path } }
  const q = shQuote(path)
  const steps: Step[] = []
  const changes: Change[] = []
  if (prev !== 'link' || (src !== undefined && info.linkTarget !== src)) {
    const lines = ['set -e']
    if (prev === 'absent') lines.push(`ln -s -- ${shQuote(src!)} ${q}`)
    else {
      // A fresh link beside the old path, renamed over it: the path is never missing.
      if (prev === 'directory')
        lines.push(`rmdir -- ${q} || { echo "the directory ${path.replace(/[^\w./-]/g, '?')} is not empty, refusing to convert it" >&2; exit 1; }`)
      lines.push(`t=${shQuote(posix.dirname(path))}/.k3sbook.$$.tmp`, `ln -s -- ${shQuote(src!)} "$t"`, `mv -Tf -- "$t" ${q}`)
    }
    steps.push({ describe: `link ${path} -> ${src}`, script: lines.join('\n') + '\n', effects: [{ path, state: 'link', target: src! }] })
    changes.push({ summary: prev === 'link' ? `link target ${info.linkTarget} → ${src}` : `create symlink ${path} -> ${src}` })
  }
  // Attributes go to the target when following (and it exists); a link's own mode means nothing on Linux.
  if (want.mode !== undefined || want.owner !== undefined || want.group !== undefined) {
    const linkChanged = steps.length > 0
    const abs = posix.join(relBase, src ?? '')
    const dest = linkChanged ? (await ctx.reader.files([abs], { follow: true })).get(abs)! : target
    if (follow && dest.exists) {
      const a = attrChanges(dest, want)
      if (a.changes.length || !dest.exists) {
        steps.push({ describe: `set attributes of ${path}`, script: ['set -e', ...attrLines(q, a)].join('\n') + '\n' })
        changes.push(...a.changes)
      }
    } else if (!follow && (want.owner !== undefined || want.group !== undefined)) {
      const a = attrChanges(info.exists && info.type === 'link' && !linkChanged ? info : undefined, { owner: want.owner, group: want.group })
      if (a.owner !== undefined || a.group !== undefined) {
        steps.push({ describe: `set owner of link ${path}`, script: ['set -e', ...attrLines(q, a, { noDeref: true })].join('\n') + '\n' })
        changes.push(...a.changes)
      }
    }
  }
  // unchanged: the link as it is (add_path_info of dest: state link, its own mode and size)
  if (steps.length === 0) return { status: 'ok', result: { dest: path, src: src ?? info.linkTarget, ...(dangling ? {} : pathInfo(info)), ...warnings } }
  return change(changes, steps, { dest: path, src, ...warnings })
}

async function planHardlink(
  path: string,
  src: string | undefined,
  info: FileInfo,
  force: boolean,
  want: { mode?: unknown; owner?: unknown; group?: unknown },
  ctx: PlanContext,
): Promise<Plan> {
  if (src === undefined) return { status: 'fail', msg: 'src is required for creating new hardlinks', result: { path } }
  const r = await ctx.reader.probe(`for p in ${shQuote(src)} ${shQuote(path)}; do if [ -e "$p" ]; then stat -L -c '%d:%i' -- "$p"; else echo -; fi; done\n`)
  const [srcId, pathId] = r.stdout.toString().trim().split('\n')
  if (srcId === '-' || srcId === undefined) return { status: 'fail', msg: 'src does not exist', result: { dest: path, src } }
  const prev = stateOf(info)
  const q = shQuote(path)
  const steps: Step[] = []
  const changes: Change[] = []
  if (pathId !== srcId || prev === 'link') {
    if (prev === 'file' && !force) return { status: 'fail', msg: `Cannot link, file exists at destination`, result: { dest: path, src } }
    if (prev === 'hard' || (prev === 'file' && pathId !== srcId && !force)) {
      if (!force) return { status: 'fail', msg: 'Cannot link, different hard link exists at destination', result: { dest: path, src } }
    }
    if (prev === 'directory') return { status: 'fail', msg: `Cannot link: ${path} is a directory`, result: { dest: path, src } }
    const lines = ['set -e', `t=${shQuote(posix.dirname(path))}/.k3sbook.$$.tmp`, `ln -f -- ${shQuote(src)} "$t"`, `mv -Tf -- "$t" ${q}`]
    steps.push({
      describe: `hard link ${path} => ${src}`,
      script: lines.join('\n') + '\n',
      effects: [{ path, state: 'unknown', reason: `hard link to ${src}` }],
    })
    changes.push({ summary: `hard link ${path} => ${src}` })
  }
  if (want.mode !== undefined || want.owner !== undefined || want.group !== undefined) {
    const si = (await ctx.reader.files([src], { follow: true })).get(src)!
    const a = attrChanges(si, want)
    if (a.changes.length) {
      steps.push({ describe: `set attributes of ${path}`, script: ['set -e', ...attrLines(q, a)].join('\n') + '\n' })
      changes.push(...a.changes)
    }
  }
  if (steps.length === 0) return { status: 'ok', result: { dest: path, src } }
  return change(changes, steps, { dest: path, src })
}

function fileModuleResult(plan: Plan, steps: StepResult[] | undefined): Vars {
  const base = (plan.result ?? {}) as Vars
  if (plan.status === 'fail') return { changed: false, failed: true, ...base, msg: plan.msg }
  if (plan.status === 'ok') return { changed: false, failed: false, ...base }
  if (plan.status === 'skip') return { changed: false, skipped: true, msg: plan.reason }
  return { ...base, ...(statFromSteps(steps) ?? {}), changed: true, failed: false }
}

/** Adds the after-change stat line to a plan's last step, so the result reports mode/owner like Ansible. */
function withStat(plan: Plan, path: string): Plan {
  if (plan.status !== 'change' || plan.steps.length === 0) return plan
  const last = plan.steps[plan.steps.length - 1]
  const steps = [...plan.steps.slice(0, -1), { ...last, script: last.script + statLine(shQuote(path)) + '\n' }]
  return { ...plan, steps }
}
