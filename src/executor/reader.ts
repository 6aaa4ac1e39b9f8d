// The read-only view of a host given to plan(). `files()` answers many path questions in one
// round trip; in check mode an overlay of what earlier planned steps would have written is laid on
// top, so a later plan predicts instead of failing (a template into a directory a previous task
// creates is a change, not an error).
import { createHash } from 'node:crypto'
import type { Connection, ExecOptions, ExecResult } from '../connection/types.js'
import type { Effect, PathEffect, FileInfo, HostReader } from '../modules/types.js'
import { filesProbe, type FilesQuestion } from '../modules/lib/files.js'

import type { CachedProbes } from './probe-cache.js'

export interface ReaderOptions {
  become?: ExecOptions['become']
  /** Probe results fetched ahead (see prefetch.ts): an identical probe is answered without a round trip. */
  cache?: CachedProbes
}

export { filesProbe, filesKey, type FilesQuestion, type FilesProbeOptions } from '../modules/lib/files.js'

/** Pending effects of planned-but-not-applied steps on one host (check mode). */
export class Overlay {
  private paths = new Map<string, PathEffect>()
  private keys = new Map<string, unknown>()

  /** Planned steps whose effects are not (fully) declared: a command that may write anything. */
  opaque = 0
  /** What those steps are, in words (the first few): why a later failure may not happen in a run. */
  opaqueWhy: string[] = []

  record(effects: Effect[] | undefined, what?: string): void {
    this.steps++
    if (!effects?.length || effects.some((e) => 'state' in e && e.state === 'unknown')) {
      this.opaque++
      if (what && this.opaqueWhy.length < 3 && !this.opaqueWhy.includes(what)) this.opaqueWhy.push(what)
    }
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
        return {
          ...info,
          exists: true,
          type: 'directory',
          mode: e.mode ?? info.mode ?? '0755',
          owner: e.owner ?? info.owner,
          group: e.group ?? info.group,
          sha256: undefined,
          content: undefined,
        }
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
  return p.length > 1 ? p.replace(/(?<!\/)\/+$/, '') : p
}

export function makeReader(conn: Connection, overlay?: Overlay, opts: ReaderOptions = {}): HostReader {
  const exec = (script: string, o: ExecOptions): Promise<ExecResult> => {
    const hit = opts.cache?.lookup(script, o)
    return hit ? Promise.resolve(hit) : conn.exec(script, o)
  }
  return {
    host: conn.host,
    probe: (script, o = {}) => exec(script, { stdin: o.stdin, env: o.env, become: o.become ?? opts.become, maxOutput: o.maxOutput }),
    async files(paths, o = {}) {
      if (paths.length === 0) return new Map()
      const q: FilesQuestion = { paths, opts: { sha256: o.sha256, content: o.content, follow: o.follow } }
      const hit = opts.cache?.files?.(q, opts.become)
      let map: Map<string, FileInfo>
      let why = ''
      if (hit) map = new Map(hit)
      else {
        const probe = filesProbe([q])
        const r = await exec(probe.script, { become: opts.become })
        map = probe.parse(r.stdout)[0]
        why = r.stderr.toString().trim()
      }
      for (const p of paths) if (!map.has(p)) map.set(p, { path: p, exists: false, unknown: `cannot stat${why ? `: ${why}` : ''}` })
      if (overlay && !overlay.isEmpty) for (const [k, v] of map) map.set(k, overlay.apply(v))
      return map
    },
    pending: (key) => overlay?.pending(key),
    hasPending: () => !!overlay?.hasAny,
  }
}
