// The read-only view of a host given to plan(). `files()` answers many path questions in one
// round trip; in check mode an overlay of what earlier planned steps would have written is laid on
// top, so a later plan predicts instead of failing (a template into a directory a previous task
// creates is a change, not an error).
import { createHash } from 'node:crypto'
import type { Connection, ExecOptions, ExecResult } from '../connection/types.js'
import { shQuote } from '../connection/quote.js'
import type { Effect, PathEffect, FileInfo, FileType, HostReader } from '../modules/types.js'
import type { CachedProbes } from './prefetch.js'

export interface ReaderOptions {
  become?: ExecOptions['become']
  /** Probe results fetched ahead (see prefetch.ts): an identical probe is answered without a round trip. */
  cache?: CachedProbes
}

export function filesProbeScript(paths: string[], opts: { sha256?: boolean; content?: boolean; follow?: boolean }): string {
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
