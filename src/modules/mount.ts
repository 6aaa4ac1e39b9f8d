// mount: a filesystem's line in fstab and whether it is mounted. fstab is a pure line edit compared
// with the file's text; the mounted state comes from /proc/mounts, both read in one probe. Only what
// differs is changed, so a second run plans nothing (except `remounted`, which always acts).
import { shQuote } from '../connection/quote.js'
import type { Change, Effect, Module, Step } from './types.js'
import {
  alias,
  ArgError,
  bool,
  choice,
  guardPlan,
  moduleSchema,
  pick,
  requireOneOf,
  sections,
  str,
  toBool,
  looseScalar,
  writeFileStep,
  effectKey,
  defineModule,
} from './lib/index.js'

const path = str('Mount point, e.g. /var/lib/longhorn.')

export const mountSchema = moduleSchema(
  {
    path,
    name: alias('path', path),
    src: str('Device, `UUID=…`, `LABEL=…`, `host:/export` or dataset to mount (required for present and mounted).'),
    fstype: str('Filesystem type (required for present and mounted).'),
    opts: str('Mount options, comma-separated. Default: defaults.'),
    dump: looseScalar('fstab dump field. Default 0.'),
    passno: looseScalar('fstab pass field. Default 0.'),
    state: choice(
      ['mounted', 'present', 'absent', 'unmounted', 'remounted', 'absent_from_fstab', 'ephemeral'],
      '`present`: in fstab only; `mounted`: in fstab and mounted (creates the mount point); `unmounted`: unmounted, fstab kept; `absent`: unmounted, removed from fstab and the (empty) mount point removed; `absent_from_fstab`: removed from fstab only; `remounted`: remount now (always changes); `ephemeral`: mounted without touching fstab.',
    ),
    fstab: str('fstab file to edit. Default /etc/fstab.'),
    boot: bool('When false, adds `noauto` so the filesystem is not mounted at boot. Default true.'),
    backup: bool('Keep a copy of fstab before changing it.'),
  },
  { required: ['state'], ...requireOneOf('path', 'name') },
)

export interface FstabEntry {
  src: string
  path: string
  fstype: string
  opts: string
  dump: string
  passno: string
}

/** fstab and /proc/mounts escape blanks and backslashes as octal (`\040`). */
export function fstabEscape(v: string): string {
  return v.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/\t/g, '\\011').replace(/\n/g, '\\012')
}

export function fstabUnescape(v: string): string {
  return v.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
}

/** Parses one fstab or /proc/mounts line; comments and blank lines give undefined. */
export function parseFstabLine(line: string): FstabEntry | undefined {
  const t = line.trim()
  if (t === '' || t.startsWith('#')) return undefined
  const f = t.split(/\s+/)
  if (f.length < 2) return undefined
  return { src: fstabUnescape(f[0]), path: fstabUnescape(f[1]), fstype: f[2] ?? 'auto', opts: f[3] ?? 'defaults', dump: f[4] ?? '0', passno: f[5] ?? '0' }
}

export function formatFstabLine(e: FstabEntry): string {
  return [fstabEscape(e.src), fstabEscape(e.path), e.fstype, e.opts, e.dump, e.passno].join(' ')
}

function samePath(a: string, b: string): boolean {
  const n = (p: string) => (p.length > 1 ? p.replace(/(?<!\/)\/+$/, '') : p)
  return n(a) === n(b)
}

/**
 * fstab after the edit: the first line for `path` becomes `entry` (left alone, with its spacing,
 * when every field already matches), later lines for the same mount point go; without one, the
 * entry is appended. `entry` undefined removes every line for `path`.
 */
export function fstabEdit(text: string, path: string, entry: FstabEntry | undefined): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n')
  const out: string[] = []
  let done = false
  for (const line of lines) {
    const e = parseFstabLine(line)
    if (!e || !samePath(e.path, path)) {
      out.push(line)
      continue
    }
    if (entry && !done) {
      const same = e.src === entry.src && e.fstype === entry.fstype && e.opts === entry.opts && e.dump === entry.dump && e.passno === entry.passno
      out.push(same ? line : formatFstabLine(entry))
    }
    done = true
  }
  if (!done && entry) out.push(formatFstabLine(entry))
  return out.length ? out.join('\n') + '\n' : ''
}

/** The topmost mount at `path` in /proc/mounts (later lines are mounted over earlier ones). */
export function mountedAt(procMounts: string, path: string): FstabEntry | undefined {
  let found: FstabEntry | undefined
  for (const line of procMounts.split('\n')) {
    const e = parseFstabLine(line)
    if (e && samePath(e.path, path)) found = e
  }
  return found
}

/** `boot: false` is fstab's `noauto`; `defaults` alone is dropped when other options exist. */
export function fstabOpts(opts: string | undefined, boot: boolean): string {
  let list = (opts ?? 'defaults')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (!boot && !list.includes('noauto')) list.push('noauto')
  if (boot) list = list.filter((o) => o !== 'noauto')
  if (list.length > 1) list = list.filter((o) => o !== 'defaults')
  return list.length ? list.join(',') : 'defaults'
}

/** A mount command that needs no fstab: explicit source, type and options. */
function mountCmd(e: FstabEntry): string {
  const opts = e.opts
    .split(',')
    .filter((o) => o !== 'defaults' && o !== 'noauto' && o !== 'auto' && o !== 'nofail')
    .join(',')
  return ['mount', ...(e.fstype && e.fstype !== 'auto' ? ['-t', e.fstype] : []), ...(opts ? ['-o', opts] : []), '--', e.src, e.path].map(shQuote).join(' ')
}

export const mountModule = defineModule({
  readAhead: true,
  name: 'mount',
  description: "Manages a filesystem's fstab line and whether it is mounted.",
  schema: mountSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const mp = String(pick(args, 'path', 'name'))
      if (!mp.startsWith('/')) throw new ArgError(`mount: path must be absolute, got "${mp}"`)
      const state = String(args.state)
      const fstab = String(args.fstab ?? '/etc/fstab')
      const boot = toBool(args.boot, true)
      const needsEntry = state === 'present' || state === 'mounted' || state === 'ephemeral'
      if (needsEntry && (args.src === undefined || args.fstype === undefined)) throw new ArgError(`mount: state=${state} needs src and fstype`)
      const entry: FstabEntry | undefined = needsEntry
        ? {
            src: String(args.src),
            path: mp,
            fstype: String(args.fstype),
            opts: fstabOpts(args.opts === undefined ? undefined : String(args.opts), boot),
            dump: String(args.dump ?? '0'),
            passno: String(args.passno ?? '0'),
          }
        : undefined
      const r = await ctx.reader.probe(
        [
          `echo @@mounts; cat /proc/mounts`,
          `echo @@fstab; f=${shQuote(fstab)}; if [ -f "$f" ]; then base64 -w0 < "$f"; fi; echo`,
          `echo @@dir; [ -d ${shQuote(mp)} ] && echo yes || echo no`,
          'echo @@end',
        ].join('\n'),
      )
      const s = sections(r.stdout.toString('utf8'))
      let before = Buffer.from(s.fstab?.trim() ?? '', 'base64').toString('utf8')
      if (ctx.reader.hasPending()) {
        // Check mode: an earlier task may have planned an fstab write; read through the overlay.
        const f = (await ctx.reader.files([fstab], { content: true, follow: true })).get(fstab)!
        if (f.unknown) return { status: 'unknown', reason: f.unknown, steps: [] }
        before = f.content?.toString('utf8') ?? (f.exists ? before : '')
      }
      let mounted = mountedAt(s.mounts ?? '', mp)
      const pending = ctx.reader.pending(effectKey.mount(mp))
      if (pending === 'mounted' && !mounted && entry) mounted = entry
      if (pending === 'unmounted') mounted = undefined
      const dirExists = (s.dir ?? '').trim() === 'yes'

      const changes: Change[] = []
      const steps: Step[] = []
      const editFstab = (after: string) => {
        if (after === before) return false
        changes.push({ summary: `${fstab}: ${entry ? formatFstabLine(entry) : `remove ${mp}`}`, ...(ctx.diff ? { diff: { path: fstab, before, after } } : {}) })
        const backup = toBool(args.backup, false) ? `cp -p -- ${shQuote(fstab)} ${shQuote(fstab)}."$(date +%Y-%m-%d@%H:%M:%S)~"\n` : ''
        const write = writeFileStep(fstab, Buffer.from(after), {})
        write.script = backup + write.script
        steps.push(write)
        return true
      }
      const mountEffects = (v: 'mounted' | 'unmounted'): Effect[] => [{ key: effectKey.mount(mp), value: v }]
      const doMount = () => {
        if (!dirExists) {
          changes.push({ summary: `create mount point ${mp}` })
          steps.push({ describe: `mkdir ${mp}`, script: `mkdir -p -- ${shQuote(mp)}`, effects: [{ path: mp, state: 'directory' }] })
        }
        changes.push({ summary: `mount ${entry!.src} on ${mp} (${entry!.fstype})` })
        steps.push({ describe: `mount ${mp}`, script: mountCmd(entry!), effects: mountEffects('mounted') })
      }
      const doUmount = () => {
        changes.push({ summary: `unmount ${mp}` })
        steps.push({ describe: `umount ${mp}`, script: `umount -- ${shQuote(mp)}`, effects: mountEffects('unmounted') })
      }

      switch (state) {
        case 'present':
          editFstab(fstabEdit(before, mp, entry))
          break
        case 'mounted': {
          const changed = editFstab(fstabEdit(before, mp, entry))
          if (!mounted) doMount()
          else if (changed) {
            // As Ansible: a changed fstab line on a mounted filesystem is applied by remounting.
            changes.push({ summary: `remount ${mp}` })
            const o = entry!.opts
              .split(',')
              .filter((x) => x !== 'defaults' && x !== 'noauto' && x !== 'auto')
              .join(',')
            steps.push({
              describe: `remount ${mp}`,
              script: `mount -o ${shQuote(o ? `remount,${o}` : 'remount')} -- ${shQuote(mp)}`,
              effects: mountEffects('mounted'),
            })
          }
          break
        }
        case 'ephemeral':
          if (!mounted) doMount()
          break
        case 'unmounted':
          if (mounted) doUmount()
          break
        case 'absent':
        case 'absent_from_fstab':
          if (state === 'absent' && mounted) doUmount()
          editFstab(fstabEdit(before, mp, undefined))
          if (state === 'absent' && dirExists) {
            // Ansible removes the mount point too; rmdir refuses a directory that still holds files.
            changes.push({ summary: `remove mount point ${mp}` })
            steps.push({ describe: `rmdir ${mp}`, script: `rmdir -- ${shQuote(mp)}`, effects: [{ path: mp, state: 'absent' }] })
          }
          break
        case 'remounted':
          if (!mounted) return { status: 'fail', msg: `mount: ${mp} is not mounted, cannot remount` }
          changes.push({ summary: `remount ${mp}` })
          steps.push({
            describe: `remount ${mp}`,
            script: `mount -o ${shQuote(args.opts ? `remount,${args.opts}` : 'remount')} -- ${shQuote(mp)}`,
            effects: mountEffects('mounted'),
          })
          break
      }
      const result = { name: mp, ...(entry ? { src: entry.src, fstype: entry.fstype, opts: entry.opts, dump: entry.dump, passno: entry.passno } : {}), fstab }
      if (steps.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      return { status: 'change', changes, steps, result: { ...result, changed: true } }
    }),
})
