// unarchive: unpacks a tar (gz, bz2, xz, zst: GNU tar detects the compression) or zip archive into a
// directory on the host. Idempotent through `creates`, or by listing the archive's members (type,
// sha256 of each file, link target; with extra_opts such as --strip-components applied) and
// comparing them with what dest holds: nothing is unpacked when every member is already there.
// Listing reads the archive without writing anywhere (tar --to-command, unzip -p); an archive
// from the control machine is listed there once per run and uploaded only when something differs.
import { spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { shQuote } from '../connection/quote.js'
import type { Plan, Step } from './types.js'
import {
  applySteps,
  ArgError,
  bool,
  planData,
  sha256,
  guardPlan,
  modeSchema,
  moduleSchema,
  sections,
  str,
  strList,
  toBool,
  toList,
  modeArg,
  defineModule,
} from './lib/index.js'
import type { Vars } from '../model.js'

export const unarchiveSchema = moduleSchema(
  {
    src: str(
      "The archive: a file on the control machine (looked up in the role's files/), a path on the host with `remote_src`, or a URL (downloaded by the host).",
    ),
    dest: str('Existing directory on the host to unpack into.'),
    remote_src: bool('`src` is already on the host (or is a URL the host downloads). Default false.'),
    creates: str('A path on the host; when it exists, nothing is unpacked.'),
    list_files: bool("Return the archive's member names in `files`."),
    exclude: strList('Members (or shell patterns) not to unpack.'),
    include: strList('Only these members are unpacked.'),
    extra_opts: strList('Extra options for tar (e.g. `--strip-components=1`) or unzip; for tar they apply to the comparison too.'),
    keep_newer: bool("Do not replace files in dest newer than the archive's (tar only)."),
    mode: modeSchema(' Applied to every unpacked member.'),
    owner: str('Owner of every unpacked member.'),
    group: str('Group of every unpacked member.'),
    copy: bool('Deprecated inverse of `remote_src`.'),
    decrypt: bool('Accepted for compatibility (vault is not used).'),
    validate_certs: bool('Verify TLS when `src` is a URL.'),
    io_buffer_size: str('Accepted for compatibility.'),
  },
  { required: ['src', 'dest'] },
)

export type Format = 'tar' | 'zip'

/** zip by its magic (`PK\x03\x04`) or name; everything else goes to GNU tar, which detects compression itself. */
export function archiveFormat(name: string, head?: Buffer): Format {
  if (head && head.length >= 4) return head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) ? 'zip' : 'tar'
  return /\.zip$/i.test(name) ? 'zip' : 'tar'
}

export interface ArchiveOpts {
  format: Format
  extra: string[]
  exclude: string[]
  include: string[]
}

/** tar's selection arguments: the same ones list, hash and unpack, so all three see the same members. */
function tarSelect(o: ArchiveOpts): string {
  return [...o.extra, ...o.exclude.map((e) => `--exclude=${e}`), ...(o.include.length ? ['--', ...o.include] : [])].map(shQuote).join(' ')
}

/** Escapes unzip's wildcards so a member name matches only itself. */
const UNZIP_LITERAL = `sed 's/\\[/[[]/g; s/\\*/[*]/g; s/?/[?]/g'`

/**
 * POSIX sh that lists the archive at "$A": `@@list` tar -tv (c-quoted names) or the zip names,
 * then `@@sums` NAME / sha256 line pairs for the regular files. It writes nothing.
 */
export function manifestScript(o: ArchiveOpts): string {
  if (o.format === 'tar') {
    const sel = tarSelect(o)
    return [
      'LC_ALL=C; export LC_ALL',
      `echo @@list; tar -tvf "$A" --quoting-style=c --show-transformed-names ${sel} || exit 5`,
      `echo @@sums; tar -xf "$A" ${sel} --to-command='printf "%s\\n" "$TAR_FILENAME"; sha256sum' || exit 5`,
      'echo @@end',
    ].join('\n')
  }
  const excl = o.exclude.length ? ` -x ${o.exclude.map(shQuote).join(' ')}` : ''
  const incl = o.include.length ? ` ${o.include.map(shQuote).join(' ')}` : ''
  return [
    'LC_ALL=C; export LC_ALL',
    `echo @@list; unzip -Zs "$A"${incl}${excl} || exit 5`,
    'echo @@sums',
    `unzip -Z1 "$A"${incl}${excl} | while IFS= read -r n; do case "$n" in */) continue;; esac; printf '%s\\n' "$n"; unzip -p "$A" "$(printf '%s' "$n" | ${UNZIP_LITERAL})" | sha256sum; done`,
    'echo @@end',
  ].join('\n')
}

export interface Member {
  /** As unpacked under dest, without `./` and trailing `/`. */
  path: string
  /** The name as the archive lists it. */
  name: string
  type: 'file' | 'directory' | 'link' | 'hardlink'
  sha256?: string
  target?: string
  /** zip symlinks: the digest of the target (the member's content). */
  targetSha256?: string
  mode?: string
}

/** Reads one C-quoted string (tar --quoting-style=c) starting at s[i] === '"'; returns it and the index after. */
function cString(s: string, i: number): [string, number] {
  let out = ''
  const bytes: number[] = []
  const flush = () => {
    if (bytes.length) ((out += Buffer.from(bytes).toString('utf8')), (bytes.length = 0))
  }
  for (i++; i < s.length && s[i] !== '"'; i++) {
    if (s[i] !== '\\') {
      flush()
      out += s[i]
      continue
    }
    const c = s[++i]
    const oct = /^[0-7]{3}/.exec(s.slice(i))
    if (oct) (bytes.push(parseInt(oct[0], 8)), (i += 2))
    else (flush(), (out += ({ n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c))
  }
  flush()
  return [out, i + 1]
}

/** `-rwxr-xr-x` → `0755` (setuid/setgid/sticky included). */
export function permOctal(perm: string): string {
  const p = perm.slice(1, 10).padEnd(9, '-')
  let n = 0
  for (let i = 0; i < 9; i++) if (p[i] !== '-' && !(p[i] === 'S' || p[i] === 'T')) n |= 1 << (8 - i)
  if (/[sS]/.test(p[2])) n |= 0o4000
  if (/[sS]/.test(p[5])) n |= 0o2000
  if (/[tT]/.test(p[8])) n |= 0o1000
  return n.toString(8).padStart(4, '0')
}

export function memberPath(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/(?<!\/)\/+$/, '')
}

/** The members from manifestScript's output (skipping the archive's own `./`). */
export function parseManifest(text: string, format: Format): Member[] {
  const s = sections(text)
  const sums = new Map<string, string>()
  const sl = (s.sums ?? '').split('\n')
  for (let i = 0; i + 1 < sl.length; i += 2) {
    const m = /^([0-9a-f]{64})\s/.exec(sl[i + 1])
    if (m) sums.set(sl[i], m[1])
    else i-- // a name without its sum line cannot happen with sha256sum; resync defensively
  }
  const out: Member[] = []
  for (const line of (s.list ?? '').split('\n')) {
    if (!line) continue
    if (format === 'zip') {
      // zipinfo -s: perms, version, os, size, text/binary, method, date, time, name (may hold blanks).
      const z = /^([-dl?][-rwxsStT?]{9})\s+\S+\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s(.*)$/.exec(line)
      if (!z) continue
      const name = z[2]
      const path = memberPath(name)
      if (!path) continue
      // A symlink's content is its target: its digest is compared with the digest of readlink's answer.
      if (z[1][0] === 'l') out.push({ path, name, type: 'link', targetSha256: sums.get(name) })
      else out.push(name.endsWith('/') || z[1][0] === 'd' ? { path, name, type: 'directory' } : { path, name, type: 'file', sha256: sums.get(name) })
      continue
    }
    const q = line.indexOf('"')
    if (q < 0) continue
    const [name, after] = cString(line, q)
    const path = memberPath(name)
    if (!path) continue
    const kind = line[0]
    const mode = permOctal(line.slice(0, 10))
    if (kind === 'd') out.push({ path, name, type: 'directory', mode })
    else if (kind === 'l' || kind === 'h') {
      const t = line.indexOf('"', after)
      const target = t >= 0 ? cString(line, t)[0] : ''
      out.push(kind === 'l' ? { path, name, type: 'link', target } : { path, name, type: 'hardlink', target })
    } else out.push({ path, name, type: 'file', sha256: sums.get(name), mode })
  }
  return out
}

export interface HostEntry {
  type: 'F' | 'D' | 'L' | 'O' | 'M'
  mode?: string
  owner?: string
  group?: string
  sha256?: string
  target?: string
}

/** Reads paths (one a line) on stdin inside dest and prints what each is: `TYPE\tPATH\tMODE|OWNER|GROUP\tSHA-or-TARGET`. */
export const HOST_CHECK = [
  'while IFS= read -r p; do',
  '  p=${p#./}; while [ "${p%/}" != "$p" ]; do p=${p%/}; done; [ -n "$p" ] || continue',
  `  if [ -L "$p" ]; then printf 'L\\t%s\\t%s\\t%s\\n' "$p" "$(stat -c '%a|%U|%G' -- "$p")" "$(readlink -- "$p")"`,
  `  elif [ -d "$p" ]; then printf 'D\\t%s\\t%s\\t\\n' "$p" "$(stat -c '%a|%U|%G' -- "$p")"`,
  `  elif [ -f "$p" ]; then printf 'F\\t%s\\t%s\\t%s\\n' "$p" "$(stat -c '%a|%U|%G' -- "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"`,
  `  elif [ -e "$p" ]; then printf 'O\\t%s\\t\\t\\n' "$p"`,
  `  else printf 'M\\t%s\\t\\t\\n' "$p"; fi`,
  'done',
].join('\n')

export function parseHostCheck(text: string): Map<string, HostEntry> {
  const m = new Map<string, HostEntry>()
  for (const line of text.split('\n')) {
    const [type, path, attrs, extra] = line.split('\t')
    if (!path || !/^[FDLOM]$/.test(type)) continue
    const [mode, owner, group] = (attrs ?? '').split('|')
    m.set(path, {
      type: type as HostEntry['type'],
      ...(mode ? { mode: mode.padStart(4, '0'), owner, group } : {}),
      ...(type === 'F' ? { sha256: extra } : type === 'L' ? { target: extra } : {}),
    })
  }
  return m
}

/** Members that dest does not hold as the archive has them (missing, other type, content, link target, mode or asked-for owner/group). */
export function unarchiveDiff(members: Member[], host: Map<string, HostEntry>, attrs: { mode?: string; owner?: string; group?: string } = {}): string[] {
  const out: string[] = []
  for (const m of members) {
    const h = host.get(m.path)
    let why: string | undefined
    if (!h || h.type === 'M') why = 'missing'
    else if (m.type === 'directory' && h.type !== 'D') why = 'not a directory'
    else if (m.type === 'link' && (h.type !== 'L' || (m.targetSha256 ? sha256(h.target ?? '') !== m.targetSha256 : h.target !== m.target))) why = 'link differs'
    else if ((m.type === 'file' || m.type === 'hardlink') && h.type !== 'F') why = 'not a file'
    else if (m.type === 'file' && m.sha256 && h.sha256 !== m.sha256) why = 'content differs'
    else if (h.type !== 'L' && attrs.mode && /^[0-7]{4}$/.test(attrs.mode) && h.mode !== attrs.mode) why = `mode ${h.mode}`
    else if (h.type !== 'L' && !attrs.mode && m.type === 'file' && m.mode && h.mode && h.mode !== m.mode) why = `mode ${h.mode}, archive has ${m.mode}`
    else if (attrs.owner && h.owner !== attrs.owner) why = `owner ${h.owner}`
    else if (attrs.group && h.group !== attrs.group) why = `group ${h.group}`
    if (why) out.push(`${m.path}: ${why}`)
  }
  return out
}

/** The unpack command for the archive at "$A" into "$D", then owner/mode on every member. */
function unpackScript(o: ArchiveOpts, attrs: { mode?: string; owner?: string; group?: string }, keepNewer: boolean): string {
  const lines = ['set -e']
  if (o.format === 'tar') lines.push(`tar -xf "$A" -C "$D"${keepNewer ? ' --keep-newer-files' : ''} ${tarSelect(o)}`)
  else
    lines.push(
      `unzip -o -q ${o.extra.map(shQuote).join(' ')} "$A"${o.include.length ? ' ' + o.include.map(shQuote).join(' ') : ''}${o.exclude.length ? ` -x ${o.exclude.map(shQuote).join(' ')}` : ''} -d "$D"`,
    )
  if (attrs.owner || attrs.group || attrs.mode) {
    const list = o.format === 'tar' ? `tar -tf "$A" --quoting-style=literal --show-transformed-names ${tarSelect(o)}` : `unzip -Z1 "$A"`
    const own = attrs.owner || attrs.group ? `chown -h ${shQuote(`${attrs.owner ?? ''}${attrs.group ? `:${attrs.group}` : ''}`)} -- "$p"; ` : ''
    const mode = attrs.mode ? `[ -L "$p" ] || chmod ${shQuote(attrs.mode)} -- "$p"; ` : ''
    lines.push(`cd "$D"; ${list} | while IFS= read -r p; do p=\${p#./}; [ -n "$p" ] || continue; ${own}${mode}done`)
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------- controller-side listing (once per archive per run)

const manifestCache = new Map<string, Promise<Member[]>>()

function runLocal(script: string, env: Record<string, string>): Promise<{ rc: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/sh', ['-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')))
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
    c.on('error', reject)
    c.on('close', (code) => resolve({ rc: code ?? 1, stdout, stderr }))
  })
}

/** Lists a control-machine archive; hosts share the listing (keyed by path, size, mtime and options). */
export async function controllerManifest(path: string, o: ArchiveOpts): Promise<Member[]> {
  const st = await stat(path)
  const key = JSON.stringify([path, st.size, st.mtimeMs, o])
  let p = manifestCache.get(key)
  if (!p) {
    p = runLocal(manifestScript(o), { A: path }).then((r) => {
      if (r.rc !== 0) throw new ArgError(`unarchive: cannot list ${path} on the control machine: ${r.stderr.trim() || `exit ${r.rc}`}`)
      return parseManifest(r.stdout, o.format)
    })
    manifestCache.set(key, p)
    p.catch(() => manifestCache.delete(key))
  }
  return p
}

// ---------------------------------------------------------------- the module

interface Pending {
  localPath?: string
  remoteSrc?: string
  url?: string
  dest: string
  script: string
}
const pendingPlans = planData<Pending>()

export const unarchiveModule = defineModule({
  resultAfterRun: true,
  name: 'unarchive',
  controllerFiles: (args): Record<string, 'read' | 'write'> => (args.remote_src === undefined && args.copy === undefined ? { src: 'read' } : {}),
  description: 'Unpacks a tar or zip archive (from the control machine or the host) into a directory on the host.',
  schema: unarchiveSchema,
  sourceArgs: { src: 'files' },
  plan: (args, ctx) =>
    guardPlan(async () => {
      const src = String(args.src)
      const dest = String(args.dest)
      const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(src)
      const remote = isUrl || toBool(args.remote_src, false) || toBool(args.copy, true) === false
      const attrs = { mode: modeArg(args.mode), owner: args.owner as string | undefined, group: args.group as string | undefined }
      const base = { extra: toList(args.extra_opts), exclude: toList(args.exclude), include: toList(args.include) }
      const keepNewer = toBool(args.keep_newer, false)
      const listFiles = toBool(args.list_files, false)
      const creates = args.creates === undefined ? undefined : String(args.creates)
      const info = await ctx.reader.files([dest, ...(creates ? [creates] : [])], { follow: true })
      if (creates && info.get(creates)?.exists) return { status: 'skip', reason: `skipped, since ${creates} exists`, result: { changed: false, dest, src } }
      const d = info.get(dest)!
      if (!d.exists || d.type !== 'directory') {
        if (!ctx.reader.hasPending()) return { status: 'fail', msg: `dest '${dest}' must be an existing dir` }
        if (!d.exists) return { status: 'unknown', reason: `dest '${dest}' does not exist yet (an earlier change may create it)`, steps: [] }
      }
      const result: Vars = {
        dest,
        src,
        ...(attrs.mode ? { mode: attrs.mode } : {}),
        ...(attrs.owner ? { owner: attrs.owner } : {}),
        ...(attrs.group ? { group: attrs.group } : {}),
      }
      const setup = `A=${shQuote(src)}; D=${shQuote(dest)}`
      let members: Member[]
      let host: Map<string, HostEntry>
      let format: Format
      let localPath: string | undefined
      if (isUrl) {
        // Listing a URL's archive would mean downloading it in plan: only `creates` makes this idempotent.
        format = archiveFormat(src)
        const o = { ...base, format }
        const script = [
          `set -e; D=${shQuote(dest)}; A=$(mktemp); trap 'rm -f -- "$A"' EXIT`,
          `curl -fsSL ${toBool(args.validate_certs, true) ? '' : '-k '}-o "$A" -- ${shQuote(src)}`,
          unpackScript(o, attrs, keepNewer),
        ].join('\n')
        return {
          status: 'unknown',
          reason: `${src} is downloaded and unpacked when applied (give creates to make this idempotent)`,
          changes: [{ summary: `unpack ${src} into ${dest}` }],
          steps: [{ describe: `unpack ${src} → ${dest}`, script }],
          result,
        }
      } else if (remote) {
        const head = await ctx.reader.probe(`head -c 4 -- ${shQuote(src)} | od -An -tx1`)
        if (head.rc !== 0) return { status: 'fail', msg: `Source '${src}' does not exist on the host` }
        format = archiveFormat(src, Buffer.from(head.stdout.toString().replace(/\s+/g, ''), 'hex'))
        const o = { ...base, format }
        const names = format === 'tar' ? `tar -tf "$A" --quoting-style=literal --show-transformed-names ${tarSelect(o)}` : 'unzip -Z1 "$A"'
        const r = await ctx.reader.probe(
          [
            setup,
            manifestScript(o).replace('echo @@end', ''),
            'echo @@host',
            `if [ -d "$D" ]; then ${names} | (cd "$D" && ${HOST_CHECK}); fi`,
            'echo @@end',
          ].join('\n'),
        )
        if (r.rc === 5 || r.rc !== 0)
          return { status: 'fail', msg: `unarchive: cannot list ${src} on the host: ${r.stderr.toString().trim() || `exit ${r.rc}`}` }
        const text = r.stdout.toString('utf8')
        members = parseManifest(text, format)
        host = parseHostCheck(sections(text).host ?? '')
      } else {
        const f = await ctx.controller.find(src, 'files')
        localPath = f.path
        format = archiveFormat(src, f.content.subarray(0, 4))
        members = await controllerManifest(f.path, { ...base, format })
        const r = await ctx.reader.probe(`D=${shQuote(dest)}\nif [ -d "$D" ]; then cd "$D" && ${HOST_CHECK.replace(/\n/g, '\n  ')}; fi`, {
          stdin: members.map((m) => m.path).join('\n') + '\n',
        })
        host = parseHostCheck(r.stdout.toString('utf8'))
      }
      const o = { ...base, format }
      if (listFiles) result.files = members.map((m) => m.name)
      const diff = unarchiveDiff(members, host, attrs)
      if (diff.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      const summary = `unpack ${src} into ${dest} (${diff.length} of ${members.length} members differ${diff.length ? `: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? '; …' : ''}` : ''})`
      const effects = [{ path: dest, state: 'unknown' as const, reason: `unpacked from ${src}` }]
      let plan: Plan
      if (remote)
        plan = {
          status: 'change',
          changes: [{ summary }],
          steps: [{ describe: `unpack ${src} → ${dest}`, script: `${setup}\n${unpackScript(o, attrs, keepNewer)}`, effects }],
          result: { ...result, changed: true },
        }
      else {
        const script = `D=${shQuote(dest)}; A=$1; trap 'rm -f -- "$A"' EXIT\n${unpackScript(o, attrs, keepNewer)}`
        plan = pendingPlans.attach(
          {
            status: 'change',
            changes: [{ summary }],
            steps: [
              { describe: 'make a temp file for the archive', script: 'mktemp "${TMPDIR:-/tmp}/k3sbook-unarchive.XXXXXX"' },
              { describe: `unpack ${src} → ${dest}`, script, effects },
            ],
            result: { ...result, changed: true },
          },
          { localPath, dest, script },
        )
      }
      return plan
    }),
  async apply(plan, _args, ctx) {
    const p = pendingPlans.of(plan)
    if (!p?.localPath) return applySteps(plan.steps, ctx)
    const mk = await ctx.run(plan.steps[0])
    if (mk.rc !== 0) return [mk]
    const tmp = mk.stdout.toString().trim()
    const unpack: Step = plan.steps[1]
    if (ctx.upload) {
      await ctx.upload(p.localPath, tmp)
      return [mk, await ctx.run({ ...unpack, script: `set -- ${shQuote(tmp)}\n${unpack.script}` })]
    }
    return [mk, await ctx.run({ ...unpack, script: `set -- ${shQuote(tmp)}\ncat > "$1"\n${unpack.script}`, stdin: await readFile(p.localPath) })]
  },
})
