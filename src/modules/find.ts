// `find`: lists files on the host by name pattern, type, age, size and content, as Ansible's find
// module does (os.walk of each path, entries lstat'ed, the same filters in the same order). One
// probe walks every path (GNU find, one NUL-terminated record per entry); `contains` and
// `get_checksum` ask one more. Read-only: always ok.
import { shQuote } from '../connection/quote.js'
import { fnmatchTranslate } from '../inventory/patterns.js'
import type { Vars } from '../model.js'
import type { Plan } from './types.js'
import {
  bool,
  choice,
  defineModule,
  guardPlan,
  int,
  moduleSchema,
  optBool,
  oneOf,
  pick,
  pyRegex,
  requireOneOf,
  str,
  strList,
  toInt,
  toList,
  alias,
  ArgError,
} from './lib/index.js'
import { dollarRefs } from '../text.js'

export interface FoundEntry {
  path: string
  /** find's %y: f d l b c p s */
  type: string
  mode: number
  uid: number
  gid: number
  size: number
  inode: number
  dev: number
  nlink: number
  atime: number
  mtime: number
  ctime: number
  user: string
  group: string
  /** How deep below the searched path (1: directly in it). */
  depth: number
}

const FMT = '%d|%y|%m|%U|%G|%s|%i|%D|%n|%A@|%T@|%C@|%u|%g|%p\\0'

/** The probe: for each path, `@@path N` then find's records (NUL-terminated), `@@rc N` at the end. */
export function findProbe(paths: string[], o: { recurse: boolean; depth?: number; follow: boolean }): string {
  // os.walk visits a directory's entries one level below each walked root: with a depth limit the
  // entries one level deeper are still examined (and counted), never descended into.
  const max = !o.recurse ? 1 : o.depth ? o.depth + 1 : undefined
  const lines = ['LC_ALL=C; export LC_ALL', 'printf "@@now %s\\n" "$(date +%s.%N)"']
  paths.forEach((p, i) => {
    lines.push(
      `printf '\\n@@path ${i}\\n'`,
      `p=${shQuote(p)}`,
      'if [ ! -d "$p" ]; then echo "@@notdir"; else',
      // records to the probe's stdout (fd 3), find's complaints kept in $err
      `  { err=$(find ${o.follow ? '-L ' : ''}"$p" -mindepth 1 ${max ? `-maxdepth ${max} ` : ''}-printf '${FMT}' 2>&1 >&3); rc=$?; } 3>&1`,
      `  echo; echo "@@rc $rc"; [ -z "$err" ] || printf '%s\\n' "$err" | sed 's/^/@@err /'`,
      'fi',
    )
  })
  return lines.join('\n') + '\n'
}

export interface ParsedFind {
  now: number
  paths: { notDir: boolean; entries: FoundEntry[]; errors: string[] }[]
}

export function parseFindProbe(out: string, count: number): ParsedFind {
  const now = Number(/^@@now (\S+)/m.exec(out)?.[1] ?? Date.now() / 1000)
  const paths: ParsedFind['paths'] = []
  const parts = out.split(/\n@@path (\d+)\n/)
  for (let i = 0; i < count; i++) {
    const idx = parts.indexOf(String(i))
    const body = idx >= 0 ? parts[idx + 1] : ''
    if (body.startsWith('@@notdir')) {
      paths.push({ notDir: true, entries: [], errors: [] })
      continue
    }
    const rcAt = body.lastIndexOf('\n@@rc ')
    const records = rcAt >= 0 ? body.slice(0, rcAt) : body
    const tail = rcAt >= 0 ? body.slice(rcAt + 1) : ''
    const errors = tail
      .split('\n')
      .filter((l) => l.startsWith('@@err '))
      .map((l) => l.slice(6))
    const entries: FoundEntry[] = []
    for (const rec of records.split('\0')) {
      if (rec === '' || rec === '\n') continue
      const f = rec.split('|')
      if (f.length < 15) continue
      const path = f.slice(14).join('|')
      entries.push({
        depth: Number(f[0]),
        type: f[1],
        mode: parseInt(f[2], 8),
        uid: Number(f[3]),
        gid: Number(f[4]),
        size: Number(f[5]),
        inode: Number(f[6]),
        dev: Number(f[7]),
        nlink: Number(f[8]),
        atime: Number(f[9]),
        mtime: Number(f[10]),
        ctime: Number(f[11]),
        user: f[12],
        group: f[13],
        path,
      })
    }
    paths.push({ notDir: false, entries, errors })
  }
  return { now, paths }
}

/** Ansible's pfilter: a pattern matches the base name (fnmatch, or re.match with use_regex) and no exclude does. */
export function pfilter(name: string, patterns: string[], excludes: string[], useRegex: boolean): boolean {
  if (!patterns.length && !excludes.length) return true
  if (!patterns.length) return false
  const m = (p: string) => (useRegex ? pyRegex(`^(?:${p})`, 's').test(name) : new RegExp(`^(?:${fnmatchTranslate(p)})$`, 's').test(name))
  for (const p of patterns) if (m(p)) return !excludes.some(m)
  return false
}

/** `age`: "-?N[smhdw]" in seconds. */
export function parseAge(v: string): number {
  const m = /^(-?\d+)(s|m|h|d|w)?$/.exec(v.toLowerCase())
  if (!m) throw new ArgError('failed to process age')
  return Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as Record<string, number>)[m[2] ?? 's']
}

/** `size`: "-?N[bkmgt]" in bytes. */
export function parseSize(v: string): number {
  const m = /^(-?\d+)(b|k|m|g|t)?$/.exec(v.toLowerCase())
  if (!m) throw new ArgError('failed to process size')
  return Number(m[1]) * ({ b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 } as Record<string, number>)[m[2] ?? 'b']
}

const ageOk = (t: number, now: number, age: number | undefined) => age === undefined || (age >= 0 ? now - t >= Math.abs(age) : now - t <= Math.abs(age))
const sizeOk = (s: number, size: number | undefined) => size === undefined || (size >= 0 ? s >= Math.abs(size) : s <= Math.abs(size))

/** Ansible's statinfo() for one entry. */
export function statInfo(e: FoundEntry): Vars {
  const m = e.mode
  return {
    path: e.path,
    mode: (m & 0o7777).toString(8).padStart(4, '0'),
    isdir: e.type === 'd',
    ischr: e.type === 'c',
    isblk: e.type === 'b',
    isreg: e.type === 'f',
    isfifo: e.type === 'p',
    islnk: e.type === 'l',
    issock: e.type === 's',
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    inode: e.inode,
    dev: e.dev,
    nlink: e.nlink,
    atime: e.atime,
    mtime: e.mtime,
    ctime: e.ctime,
    gr_name: e.group === String(e.gid) ? '' : e.group,
    pw_name: e.user === String(e.uid) ? '' : e.user,
    wusr: !!(m & 0o200),
    rusr: !!(m & 0o400),
    xusr: !!(m & 0o100),
    wgrp: !!(m & 0o20),
    rgrp: !!(m & 0o40),
    xgrp: !!(m & 0o10),
    woth: !!(m & 0o2),
    roth: !!(m & 0o4),
    xoth: !!(m & 0o1),
    isuid: !!(m & 0o4000),
    isgid: !!(m & 0o2000),
  }
}

/** Ansible's contentfilter: re.match on any line (with its newline), or re.search on the whole file. */
export function contentMatches(text: string, pattern: string, whole: boolean): boolean {
  if (whole) return pyRegex(pattern).test(text)
  const re = pyRegex(`^(?:${pattern})`)
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) if (re.test(line)) return true
  return false
}

export const findModule = defineModule({
  name: 'find',
  description: 'List files on the host by name pattern, type, age, size or content (into `files`, `matched`). Changes nothing.',
  readAhead: true,
  schema: moduleSchema(
    {
      paths: strList('The directories to search (a list, or one string with commas).'),
      path: alias('paths', strList('')),
      name: alias('paths', strList('')),
      patterns: strList('Base-name patterns: shell globs (fnmatch), or Python regular expressions with use_regex (re.match). Default: all.'),
      pattern: alias('patterns', strList('')),
      excludes: strList('Base-name patterns to leave out (same kind as patterns).'),
      exclude: alias('excludes', strList('')),
      contains: str('Regular files only: a Python regular expression one line must match from its start (or, with read_whole_file, found anywhere).'),
      read_whole_file: bool('Apply `contains` to the whole file (re.search) instead of line by line.'),
      file_type: choice(['any', 'directory', 'file', 'link'], 'What to list (default file).'),
      age: str('Older than this (`2d`, `3h`, `30m`, `10s`, `1w`); negative: younger than.'),
      age_stamp: choice(['atime', 'ctime', 'mtime'], 'Which time `age` compares (default mtime).'),
      size: str('At least this size (`10k`, `2m`, `1g`, bytes by default); negative: at most.'),
      recurse: bool('Descend into subdirectories (default false).'),
      hidden: bool('Include names starting with a dot (default false).'),
      follow: bool('Follow links to directories while walking (default false).'),
      get_checksum: bool("Add each regular file's sha1 as `checksum`."),
      use_regex: bool('patterns and excludes are Python regular expressions, not globs.'),
      depth: int('With recurse: the deepest level to list (1: the directory itself only).'),
    },
    { allOf: [requireOneOf('paths', 'path', 'name')] },
  ),
  plan: (args, ctx) =>
    guardPlan(async (): Promise<Plan> => {
      const paths = toList(pick(args, 'paths', 'path', 'name'))
      const useRegex = optBool(args.use_regex, false, 'use_regex')
      let patterns = toList(pick(args, 'patterns', 'pattern'))
      if (!patterns.length) patterns = [useRegex ? '.*' : '*']
      const excludes = toList(pick(args, 'excludes', 'exclude'))
      const fileType = oneOf(args.file_type, ['any', 'directory', 'file', 'link'] as const, 'file_type', 'file')
      const age = args.age === undefined ? undefined : parseAge(String(args.age))
      const stamp = oneOf(args.age_stamp, ['atime', 'ctime', 'mtime'] as const, 'age_stamp', 'mtime')
      const size = args.size === undefined ? undefined : parseSize(String(args.size))
      const recurse = optBool(args.recurse, false, 'recurse')
      const hidden = optBool(args.hidden, false, 'hidden')
      const follow = optBool(args.follow, false, 'follow')
      const checksum = optBool(args.get_checksum, false, 'get_checksum')
      const depth = toInt(args.depth)
      const contains = args.contains === undefined ? undefined : String(args.contains)
      // bad expressions fail before the host is asked
      for (const p of useRegex ? [...patterns, ...excludes] : []) pyRegex(p)
      if (contains !== undefined) pyRegex(contains)

      // Ansible expands ~ and $VARS in paths on the host
      const expanded = await expandPaths(ctx, paths)
      const r = await ctx.reader.probe(findProbe(expanded, { recurse, depth, follow }))
      const parsed = parseFindProbe(r.stdout.toString('utf8'), expanded.length)
      const files: FoundEntry[] = []
      const skipped: Vars = {}
      const warnings: string[] = []
      let examined = 0
      expanded.forEach((p, i) => {
        const got = parsed.paths[i]
        if (got.notDir) {
          skipped[p] = `'${p}' is not a directory`
          warnings.push(`Skipped '${p}' path due to this access issue: '${p}' is not a directory\n`)
          return
        }
        if (got.errors.length) {
          skipped[p] = got.errors.join('\n')
          warnings.push(`Skipped '${p}' path due to this access issue: ${got.errors[0]}\n`)
        }
        for (const e of got.entries) {
          examined++
          if (depth && e.depth > depth) continue
          e.path = e.path.replace(/\/+/g, '/')
          const base = e.path.slice(e.path.lastIndexOf('/') + 1)
          if (base.startsWith('.') && !hidden) continue
          const t = stamp === 'atime' ? e.atime : stamp === 'ctime' ? e.ctime : e.mtime
          const named = () => pfilter(base, patterns, excludes, useRegex) && ageOk(t, parsed.now, age)
          if (fileType === 'any') {
            if (named() && (e.type !== 'f' || sizeOk(e.size, size))) files.push(e)
          } else if (fileType === 'directory' && e.type === 'd') {
            if (named()) files.push(e)
          } else if (fileType === 'file' && e.type === 'f') {
            if (named() && sizeOk(e.size, size)) files.push(e)
          } else if (fileType === 'link' && e.type === 'l') {
            if (named()) files.push(e)
          }
        }
      })
      let list = files
      if (contains !== undefined && fileType === 'file' && list.length) {
        const infos = await ctx.reader.files(
          list.map((f) => f.path),
          { content: true },
        )
        const whole = optBool(args.read_whole_file, false, 'read_whole_file')
        list = list.filter((f) => {
          const c = infos.get(f.path)?.content
          return c !== undefined && contentMatches(c.toString('utf8'), contains, whole)
        })
      }
      const out = list.map(statInfo)
      if (checksum) {
        const regs = list.filter((f) => f.type === 'f').map((f) => f.path)
        if (regs.length) {
          const s = await ctx.reader.probe(regs.map((p) => `sha1sum -- ${shQuote(p)} 2>/dev/null | cut -c1-40 || echo`).join('\n') + '\n')
          const sums = s.stdout.toString().split('\n')
          let k = 0
          for (const o of out) if (o.isreg) o.checksum = sums[k++] ?? ''
        }
      }
      const msg = warnings.length ? 'Not all paths examined, check warnings for details' : 'All paths examined'
      return { status: 'ok', result: { files: out, matched: out.length, examined, msg, skipped_paths: skipped, ...(warnings.length ? { warnings } : {}) } }
    }),
  result: (plan) => ({ changed: false, failed: plan.status === 'fail', ...(plan.result ?? {}), ...(plan.status === 'fail' ? { msg: plan.msg } : {}) }),
})

/** os.path.expanduser(os.path.expandvars(p)) on the host, for paths that need it (one probe). */
async function expandPaths(ctx: { reader: { probe(s: string): Promise<{ stdout: Buffer }> } }, paths: string[]): Promise<string[]> {
  if (!paths.some((p) => p.includes('$') || p.startsWith('~'))) return paths
  const word = (p: string) => {
    let rest = p
    let out = ''
    if (p === '~' || p.startsWith('~/')) {
      out = '"${HOME%/}"'
      rest = p.slice(1)
    }
    let last = 0
    // /\$(\w+|\{[^}]*\})/g in linear time
    for (const m of dollarRefs(rest)) {
      const name = m.ref.replace(/^\{|\}$/g, '')
      out += shQuote(rest.slice(last, m.index))
      // unset variables stay as written (Python's expandvars)
      out += /^[A-Za-z_]\w*$/.test(name) ? `"$(if [ -n "\${${name}+x}" ]; then printf %s "$${name}"; else printf %s ${shQuote(m.text)}; fi)"` : shQuote(m.text)
      last = m.index + m.text.length
    }
    return out + shQuote(rest.slice(last))
  }
  const r = await ctx.reader.probe(paths.map((p) => `printf '%s\\0' ${word(p)}`).join('\n') + '\n')
  const got = r.stdout.toString('utf8').split('\0')
  return paths.map((p, i) => got[i] ?? p)
}
