// The read-only view of a host given to plan(). `files()` answers many path questions in one
// round trip; in check mode an overlay of what earlier planned steps would have written is laid on
// top, so a later plan predicts instead of failing (a template into a directory a previous task
// creates is a change, not an error).
import { createHash } from 'node:crypto'
import type { Connection, ExecOptions, ExecResult } from '../connection/types.js'
import { shQuote } from '../connection/quote.js'
import type { Effect, PathEffect, FileInfo, FileType, HostReader } from '../modules/types.js'
import type { CachedProbes } from './probe-cache.js'

export interface ReaderOptions {
  become?: ExecOptions['become']
  /** Probe results fetched ahead (see prefetch.ts): an identical probe is answered without a round trip. */
  cache?: CachedProbes
}

export function filesProbeScript(paths: string[], opts: FilesProbeOptions): string {
  const statCmd = opts.follow ? 'stat -L' : 'stat'
  const lines = ['LC_ALL=C; export LC_ALL']
  paths.forEach((p, i) => {
    lines.push(
      `p=${shQuote(p)}`,
      // Following links, a dangling link does not exist (os.path.exists); stat -L would fail on it.
      opts.follow ? `if [ -e "$p" ]; then` : `if [ -e "$p" ] || [ -L "$p" ]; then`,
      `  printf '@@%d ' ${i}; ${statCmd} -c '%F|%a|%U|%G|%u|%g|%s|%Y' -- "$p"`,
      // base64: a link target may hold newlines or any bytes.
      `  if [ -L "$p" ]; then printf '#lnk '; readlink -- "$p" | base64 -w0; echo; fi`,
      opts.sha256 || opts.content ? `  if [ -f "$p" ] && [ -r "$p" ]; then` : '  if false; then',
      // "<hex>  -": the first field is taken here, not with cut (a process less per file).
      opts.sha256 ? `    printf '#sha '; sha256sum < "$p"` : '    :',
      opts.content ? `    printf '#b64 '; base64 -w0 < "$p"; echo` : '    :',
      '  fi',
      `else printf '@@%d -\\n' ${i}; fi`,
    )
  })
  return lines.join('\n') + '\n'
}

export interface FilesQuestion {
  paths: string[]
  opts: FilesProbeOptions
}

export type FilesProbeOptions = { sha256?: boolean; content?: boolean; follow?: boolean }

const STAT_FORMAT = '%F|%a|%U|%G|%u|%g|%s|%Y'

/**
 * Many files() questions answered by ONE script that asks about each path once: one `stat` for
 * every path (one more with -L for those asked about through links), one `sha256sum` for every
 * file whose digest is wanted, readlink/base64 only for links and for contents asked for. The
 * separate probes would run a stat and a sha256sum per path per question (the same directory is
 * asked about by many tasks). `split` gives each question the output its own probe would give.
 */
export function mergedFilesProbe(questions: FilesQuestion[]): { script: string; split(out: Buffer, err: Buffer): ExecResult[] } {
  const index = new Map<string, number>()
  const entries: { path: string; lstat: boolean; follow: boolean; sha: boolean; content: boolean }[] = []
  for (const q of questions) {
    for (const p of q.paths) {
      let i = index.get(p)
      if (i === undefined) {
        index.set(p, (i = entries.length))
        entries.push({ path: p, lstat: false, follow: false, sha: false, content: false })
      }
      const e = entries[i]
      if (q.opts.follow) e.follow = true
      else e.lstat = true
      if (q.opts.sha256) e.sha = true
      if (q.opts.content) e.content = true
    }
  }
  const q = (i: number) => shQuote(entries[i].path)
  const all = entries.map((_, i) => i)
  const lstats = all.filter((i) => entries[i].lstat)
  const follows = all.filter((i) => entries[i].follow)
  const shas = all.filter((i) => entries[i].sha)
  const contents = all.filter((i) => entries[i].content)
  const lines = ['LC_ALL=C; export LC_ALL', `k3sb_f='${STAT_FORMAT}'`]
  // Which of `list` pass `test`, as a line of e/n; those that do become "$@" for one command. A
  // command that fails on one of them (gone or unreadable in between) prints @@fail and is re-run
  // path by path, a '?' line standing for each one that fails again.
  const section = (name: string, list: number[], test: string, cmd: string, one: string) => {
    lines.push(`echo @@${name}`, 'set --')
    for (const i of list) lines.push(`p=${q(i)}; if ${test}; then set -- "$@" "$p"; printf e; else printf n; fi`)
    lines.push('echo', `if [ $# -gt 0 ]; then ${cmd} -- "$@" || { echo @@fail; for p; do ${one} || echo '?'; done; }; fi`)
  }
  section('lstat', lstats, '[ -e "$p" ] || [ -L "$p" ]', 'stat -c "$k3sb_f"', 'stat -c "$k3sb_f" -- "$p"')
  // Following links, a dangling link does not exist (os.path.exists); stat -L would fail on it.
  section('follow', follows, '[ -e "$p" ]', 'stat -L -c "$k3sb_f"', 'stat -L -c "$k3sb_f" -- "$p"')
  // base64: a link target may hold newlines or any bytes.
  lines.push('echo @@links')
  for (const i of all) lines.push(`p=${q(i)}; if [ -L "$p" ]; then printf '%d ' ${i}; readlink -- "$p" | base64 -w0; echo; fi`)
  section('sha', shas, '[ -f "$p" ] && [ -r "$p" ]', 'sha256sum', 'sha256sum < "$p"')
  lines.push('echo @@content')
  for (const i of contents) lines.push(`p=${q(i)}; if [ -f "$p" ] && [ -r "$p" ]; then printf '%d ' ${i}; base64 -w0 < "$p"; echo; fi`)
  lines.push('echo @@end')
  const script = lines.join('\n') + '\n'

  const split = (out: Buffer, err: Buffer): ExecResult[] => {
    const text = out.toString('latin1')
    const sec = new Map<string, string[]>()
    let cur: string[] | undefined
    for (const line of text.split('\n')) {
      const m = /^@@(lstat|follow|links|sha|content|end)$/.exec(line)
      if (m) sec.set(m[1], (cur = []))
      else cur?.push(line)
    }
    // Per path of `list`: the command's output line, '' when the test failed, undefined when unknown.
    const answers = (name: string, list: number[]): Map<number, string | undefined> => {
      const res = new Map<number, string | undefined>()
      const ls = sec.get(name)
      if (!ls || !sec.has('end')) return res
      const flags = ls[0] ?? ''
      const passed = list.filter((_, k) => flags[k] === 'e')
      for (const [k, i] of list.entries()) if (flags[k] === 'n') res.set(i, '')
      let body = ls.slice(1)
      const failAt = body.indexOf('@@fail')
      if (failAt >= 0) body = body.slice(failAt + 1)
      if (body.length !== passed.length) return res // cut short: nothing from this section is trusted
      passed.forEach((i, k) => res.set(i, body[k] === '?' ? undefined : body[k]))
      return res
    }
    const lstat = answers('lstat', lstats)
    const follow = answers('follow', follows)
    const sha = answers('sha', shas)
    const tagged = (name: string): Map<number, string> => {
      const res = new Map<number, string>()
      for (const l of sec.get(name) ?? []) {
        const m = /^(\d+) (.*)$/.exec(l)
        if (m) res.set(Number(m[1]), m[2])
      }
      return res
    }
    const links = tagged('links')
    const content = tagged('content')
    return questions.map((qu) => {
      let o = ''
      qu.paths.forEach((p, j) => {
        const i = index.get(p)!
        const st = (qu.opts.follow ? follow : lstat).get(i)
        if (st === undefined) return // unknown: the reader says it cannot stat
        if (st === '') {
          o += `@@${j} -\n`
          return
        }
        o += `@@${j} ${st}\n`
        if (links.has(i)) o += `#lnk ${links.get(i)}\n`
        const h = sha.get(i)
        const hex = h ? /^\\?([0-9a-f]{64})\b/.exec(h)?.[1] : undefined
        if (qu.opts.sha256 && hex) o += `#sha ${hex}  -\n`
        if (qu.opts.content && content.has(i)) o += `#b64 ${content.get(i)}\n`
      })
      return { rc: 0, stdout: Buffer.from(o, 'latin1'), stderr: err }
    })
  }
  return { script, split }
}

export function parseFilesProbe(paths: string[], out: string): Map<string, FileInfo> {
  const result = new Map<string, FileInfo>()
  let cur: FileInfo | undefined
  for (const line of out.split('\n')) {
    const m = /^@@(\d+) (.*)$/.exec(line)
    if (m) {
      const path = paths[Number(m[1])]
      if (m[2] === '-') cur = { path, exists: false }
      else {
        const [kind, mode, owner, group, uid, gid, size, mtime] = m[2].split('|')
        cur = {
          path,
          exists: true,
          type: fileType(kind),
          mode: mode.padStart(4, '0'),
          owner,
          group,
          uid: Number(uid),
          gid: Number(gid),
          size: Number(size),
          mtime: Number(mtime),
        }
      }
      result.set(path, cur)
    } else if (cur && line.startsWith('#lnk ')) cur.linkTarget = Buffer.from(line.slice(5), 'base64').toString('utf8').replace(/\n$/, '')
    else if (cur && line.startsWith('#sha ')) cur.sha256 = line.slice(5).trim().split(' ')[0]
    else if (cur && line.startsWith('#b64 ')) cur.content = Buffer.from(line.slice(5), 'base64')
  }
  return result
}

function fileType(kind: string): FileType {
  if (kind.startsWith('regular')) return 'file'
  if (kind === 'directory') return 'directory'
  if (kind === 'symbolic link') return 'link'
  return 'other'
}

/** Pending effects of planned-but-not-applied steps on one host (check mode). */
export class Overlay {
  private paths = new Map<string, PathEffect>()
  private keys = new Map<string, unknown>()

  /** Planned steps whose effects are not (fully) declared: a command that may write anything. */
  opaque = 0

  record(effects: Effect[] | undefined): void {
    this.steps++
    if (!effects?.length || effects.some((e) => 'state' in e && e.state === 'unknown')) this.opaque++
    for (const e of effects ?? []) {
      if ('key' in e) this.keys.set(e.key, e.value)
      else {
        if (e.state === 'absent') {
          for (const p of [...this.paths.keys()]) if (p.startsWith(e.path.replace(/\/$/, '') + '/')) this.paths.delete(p)
        }
        this.paths.set(normalize(e.path), e)
      }
    }
  }

  pending(key: string): unknown {
    return this.keys.get(key)
  }

  get isEmpty(): boolean {
    return this.paths.size === 0
  }

  /** Anything recorded at all (paths or other effects). */
  get hasAny(): boolean {
    return this.paths.size > 0 || this.keys.size > 0 || this.steps > 0
  }

  /** Steps planned but not applied, including those that declared no effects. */
  steps = 0

  apply(info: FileInfo): FileInfo {
    const p = normalize(info.path)
    const e = this.paths.get(p)
    if (!e) {
      // A file written below this path makes it an existing directory.
      for (const q of this.paths.keys()) {
        const eff = this.paths.get(q)!
        if (eff.state !== 'absent' && eff.state !== 'unknown' && q.startsWith(p + '/') && !info.exists)
          return { path: info.path, exists: true, type: 'directory', mode: '0755', owner: 'root', group: 'root' }
      }
      // Under a removed directory: gone.
      for (const q of this.paths.keys()) {
        const eff = this.paths.get(q)!
        if (eff.state === 'absent' && p.startsWith(q + '/')) return { path: info.path, exists: false }
        if (eff.state === 'unknown' && p.startsWith(q + '/')) return { ...info, unknown: eff.reason }
      }
      return info
    }
    switch (e.state) {
      case 'absent':
        return { path: info.path, exists: false }
      case 'unknown':
        return { ...info, unknown: e.reason }
      case 'directory':
        return { ...info, exists: true, type: 'directory', mode: e.mode ?? info.mode ?? '0755', owner: e.owner ?? info.owner, group: e.group ?? info.group, sha256: undefined, content: undefined }
      case 'link':
        return { ...info, exists: true, type: 'link', linkTarget: e.target }
      case 'file': {
        const content = e.content
        const sha = e.sha256 ?? (content ? createHash('sha256').update(content).digest('hex') : undefined)
        return {
          ...info,
          exists: true,
          type: 'file',
          mode: e.mode ?? (info.exists ? info.mode : '0644'),
          owner: e.owner ?? info.owner ?? 'root',
          group: e.group ?? info.group ?? 'root',
          sha256: sha,
          content: content ?? (sha === info.sha256 ? info.content : undefined),
          size: content?.length ?? info.size,
        }
      }
    }
    return info
  }
}

function normalize(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p
}

export function makeReader(conn: Connection, overlay?: Overlay, opts: ReaderOptions = {}): HostReader {
  const exec = (script: string, o: ExecOptions): Promise<ExecResult> => {
    const hit = opts.cache?.lookup(script, o)
    return hit ? Promise.resolve(hit) : conn.exec(script, o)
  }
  return {
    host: conn.host,
    probe: (script, o = {}) => exec(script, { stdin: o.stdin, env: o.env, become: o.become ?? opts.become }),
    async files(paths, o = {}) {
      if (paths.length === 0) return new Map()
      const r = await exec(filesProbeScript(paths, o), { become: opts.become })
      const out = r.stdout.toString('latin1') // base64 and stat fields are ASCII; paths come from our list
      const map = parseFilesProbe(paths, out)
      for (const p of paths) if (!map.has(p)) map.set(p, { path: p, exists: false, unknown: `cannot stat: ${r.stderr.toString().trim()}` })
      if (overlay && !overlay.isEmpty) for (const [k, v] of map) map.set(k, overlay.apply(v))
      return map
    },
    pending: (key) => overlay?.pending(key),
    hasPending: () => !!overlay?.hasAny,
  }
}
