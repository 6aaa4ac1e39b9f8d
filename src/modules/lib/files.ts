// The one file-probe protocol: what the host says about paths (type, mode, owner, size, mtime,
// link target, and when asked sha256 and content), for files() questions. One generator makes one
// script for any number of questions (a direct plan asks one; the read-ahead merges a batch's);
// one parser turns its output straight into each question's FileInfo map. Caches key answers by
// filesKey (paths and options), never by script text.
import { shQuote } from '../../connection/quote.js'
import type { FileInfo, FileType } from '../types.js'
import type { Vars } from '../../model.js'

export interface FilesProbe {
  script: string
  /** Each question's answers, in the order asked (stdout of the script, read as latin1). */
  parse(out: Buffer): Map<string, FileInfo>[]
}

export interface FilesQuestion {
  paths: string[]
  opts: FilesProbeOptions
}

/** `content`: true reads any file whole; a number reads only files of at most that many bytes (a diff's size limit). */
export type FilesProbeOptions = { sha256?: boolean; content?: boolean | number; follow?: boolean }

/** The largest file a question reads (0: none). */
function contentMax(c: boolean | number | undefined): number {
  return c === true ? Infinity : typeof c === 'number' ? c : 0
}

/** A files() question's identity, for caches: its paths and options, and who asks (become). */
export function filesKey(q: FilesQuestion, become?: unknown): string {
  return JSON.stringify([become ?? null, q.paths, !!q.opts.sha256, String(contentMax(q.opts.content)), !!q.opts.follow])
}

const STAT_FORMAT = '%F|%a|%U|%G|%u|%g|%s|%Y'

/**
 * Many files() questions answered by ONE script that asks about each path once: one `stat` for
 * every path (one more with -L for those asked about through links), one `sha256sum` for every
 * file whose digest is wanted, readlink/base64 only for links and for contents asked for. The
 * separate probes would run a stat and a sha256sum per path per question (the same directory is
 * asked about by many tasks). `parse` gives each question its answers: a path left out of a
 * question's map could not be stat'ed (gone in between, unreadable folder) or the output was cut.
 */
export function filesProbe(questions: FilesQuestion[]): FilesProbe {
  const index = new Map<string, number>()
  const entries: { path: string; lstat: boolean; follow: boolean; sha: boolean; content: number }[] = []
  for (const q of questions) {
    for (const p of q.paths) {
      let i = index.get(p)
      if (i === undefined) {
        index.set(p, (i = entries.length))
        entries.push({ path: p, lstat: false, follow: false, sha: false, content: 0 })
      }
      const e = entries[i]
      if (q.opts.follow) e.follow = true
      else e.lstat = true
      if (q.opts.sha256) e.sha = true
      e.content = Math.max(e.content, contentMax(q.opts.content))
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
  for (const i of contents) {
    const max = entries[i].content
    const small = max === Infinity ? '' : ` && [ "$(wc -c < "$p")" -le ${max} ]`
    lines.push(`p=${q(i)}; if [ -f "$p" ] && [ -r "$p" ]${small}; then printf '%d ' ${i}; base64 -w0 < "$p"; echo; fi`)
  }
  lines.push('echo @@end')
  const script = lines.join('\n') + '\n'

  const parse = (out: Buffer): Map<string, FileInfo>[] => {
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
      const res = new Map<string, FileInfo>()
      for (const p of qu.paths) {
        const i = index.get(p)!
        const st = (qu.opts.follow ? follow : lstat).get(i)
        if (st === undefined) continue // unknown: the reader says it cannot stat
        if (st === '') {
          res.set(p, { path: p, exists: false })
          continue
        }
        const info = statInfo(p, st)
        // base64: a link target may hold newlines or any bytes.
        if (links.has(i)) info.linkTarget = Buffer.from(links.get(i)!, 'base64').toString('utf8').replace(/\n$/, '')
        const hex = qu.opts.sha256 ? /^\\?([0-9a-f]{64})\b/.exec(sha.get(i) ?? '')?.[1] : undefined
        if (hex) info.sha256 = hex
        if (content.has(i) && contentMax(qu.opts.content) > 0) {
          const bytes = Buffer.from(content.get(i)!, 'base64')
          if (bytes.length <= contentMax(qu.opts.content)) info.content = bytes
        }
        res.set(p, info)
      }
      return res
    })
  }
  return { script, parse }
}

function statInfo(path: string, line: string): FileInfo {
  const [kind, mode, owner, group, uid, gid, size, mtime] = line.split('|')
  return {
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

function fileType(kind: string): FileType {
  if (kind.startsWith('regular')) return 'file'
  if (kind === 'directory') return 'directory'
  if (kind === 'symbolic link') return 'link'
  return 'other'
}

/**
 * Ansible's path info in a result (AnsibleModule.add_path_info, for a result with `path`): state
 * and attributes as the host has them (lstat), `absent` for a path that is not there. Ansible's
 * `hard` (a file with several links) is reported as `file`.
 */
export function pathInfo(i: FileInfo): Vars {
  if (!i.exists) return { state: 'absent' }
  const state = i.type === 'directory' ? 'directory' : i.type === 'link' ? 'link' : 'file'
  return { state, mode: i.mode, owner: i.owner, group: i.group, uid: i.uid, gid: i.gid, size: i.size }
}
