// File modes and attributes: Ansible's octal and symbolic modes, what differs from what the host
// has, and the chown/chmod lines that set them.
import { shQuote } from '../../connection/quote.js'
import type { Change, FileInfo, PathEffect, Step } from '../types.js'
import { ArgError } from './args.js'

/**
 * A wanted mode as four octal digits, given the current mode (symbolic modes are relative) and
 * whether the path is a directory (for `X`). An integer is taken as already converted from octal,
 * as Ansible does: YAML `0644` is 420 → '0644'; a plain 644 stays the decimal number (→ '1204').
 */
export function normalizeMode(mode: unknown, current?: string, isDir = false): string {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new ArgError(`mode must be between 0 and 07777, got ${mode}`)
    return mode.toString(8).padStart(4, '0')
  }
  const s = String(mode).trim()
  if (/^0?o?[0-7]{1,4}$/.test(s) || /^0o[0-7]{1,4}$/i.test(s)) {
    const digits = s.replace(/^0o/i, '')
    const n = parseInt(digits, 8)
    if (n > 0o7777) throw new ArgError(`mode must be between 0 and 07777, got ${s}`)
    return n.toString(8).padStart(4, '0')
  }
  if (/^[0-7]+$/.test(s)) throw new ArgError(`mode ${s} is out of range (at most 4 octal digits)`)
  return symbolicMode(s, current ? parseInt(current, 8) : 0, isDir)
    .toString(8)
    .padStart(4, '0')
}

const WHO_MASK: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007 }

/** chmod(1)-style symbolic modes ('u=rw,g=r,o=', 'a+x', 'go-w', 'u=rwX'), as Ansible computes them. */
export function symbolicMode(spec: string, current: number, isDir: boolean): number {
  let mode = current & 0o7777
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*|[ugo])$/.exec(clause)
    if (!m) throw new ArgError(`bad symbolic mode "${spec}" (expected e.g. u=rw,g=r,o=r)`)
    // Ansible applies no umask for an empty "who": it is the same as 'a'.
    const who = (m[1] || 'a').replace('a', 'ugo')
    const op = m[2]
    for (const w of new Set(who)) {
      let bits = 0
      if (/^[ugo]$/.test(m[3])) {
        // Copy permissions from another class (g=u).
        const src = m[3]
        const shift = src === 'u' ? 6 : src === 'g' ? 3 : 0
        const rwx = (mode >> shift) & 7
        bits = w === 'u' ? rwx << 6 : w === 'g' ? rwx << 3 : rwx
      } else {
        for (const p of m[3]) {
          const sh = w === 'u' ? 6 : w === 'g' ? 3 : 0
          if (p === 'r') bits |= 4 << sh
          else if (p === 'w') bits |= 2 << sh
          else if (p === 'x') bits |= 1 << sh
          else if (p === 'X') {
            if (isDir || (mode & 0o111) !== 0) bits |= 1 << sh
          } else if (p === 's') bits |= w === 'u' ? 0o4000 : w === 'g' ? 0o2000 : 0
          else if (p === 't') bits |= w === 'o' ? 0o1000 : 0
        }
      }
      const mask = WHO_MASK[w]
      if (op === '=') mode = (mode & ~mask) | (bits & mask)
      else if (op === '+') mode |= bits & mask
      else mode &= ~(bits & mask)
    }
  }
  return mode
}

/** A mode for chmod(1): symbolic clauses without "who" mean "a" in Ansible (chmod would apply the umask). */
export function chmodSpec(mode: string): string {
  if (/^[0-7]+$/.test(mode)) return mode
  return mode
    .split(',')
    .map((c) => (/^[-+=]/.test(c) ? 'a' + c : c))
    .join(',')
}

// ---------------------------------------------------------------- attributes

export interface Attrs {
  mode?: unknown
  owner?: unknown
  group?: unknown
}

/** Which of mode/owner/group differ from what the host has (owner and group compare by name or id). */
export interface AttrPlan {
  /** What chmod gets: octal when the current mode is known, else the user's symbolic mode. */
  mode?: string
  /** The mode the path will have, for check-mode effects (a guess from 0644/0755 for new symbolic modes). */
  effectMode?: string
  owner?: string
  group?: string
  changes: Change[]
}

/** Which of mode/owner/group differ from what the host has (owner and group compare by name or id). */
export function attrChanges(info: FileInfo | undefined, want: Attrs, isDirWanted = false): AttrPlan {
  const out: AttrPlan = { changes: [] }
  const exists = !!info?.exists
  const isDir = exists ? info!.type === 'directory' : isDirWanted
  if (want.mode !== undefined && want.mode !== null && String(want.mode) !== 'preserve') {
    if (exists) {
      const m = normalizeMode(want.mode, info!.mode, isDir)
      if (info!.mode !== m) {
        out.mode = out.effectMode = m
        out.changes.push({ summary: `mode ${info!.mode} → ${m}` })
      }
    } else {
      const symbolic = typeof want.mode === 'string' && !/^0?o?[0-7]{1,4}$/i.test(want.mode.trim())
      out.effectMode = normalizeMode(want.mode, isDir ? '0755' : '0644', isDir)
      out.mode = symbolic ? String(want.mode) : out.effectMode
    }
  }
  if (want.owner !== undefined && want.owner !== null) {
    const o = String(want.owner)
    if (!exists || (info!.owner !== o && String(info!.uid) !== o)) {
      out.owner = o
      if (exists) out.changes.push({ summary: `owner ${info!.owner} → ${o}` })
    }
  }
  if (want.group !== undefined && want.group !== null) {
    const g = String(want.group)
    if (!exists || (info!.group !== g && String(info!.gid) !== g)) {
      out.group = g
      if (exists) out.changes.push({ summary: `group ${info!.group} → ${g}` })
    }
  }
  return out
}

/** chown/chmod lines for a path (`-h` so a link itself is changed, never its target, where asked). */
export function attrScript(path: string, a: { mode?: string; owner?: string; group?: string }, opts: { recurse?: boolean; noDeref?: boolean } = {}): string[] {
  return attrLines(shQuote(path), a, opts)
}

/** Like attrScript, with the path already a shell word (e.g. "$t"). */
export function attrLines(word: string, a: { mode?: string; owner?: string; group?: string }, opts: { recurse?: boolean; noDeref?: boolean } = {}): string[] {
  const lines: string[] = []
  const r = opts.recurse ? '-R ' : ''
  const h = opts.noDeref ? '-h ' : ''
  if (a.owner !== undefined || a.group !== undefined) {
    const spec = a.owner !== undefined ? `${a.owner}${a.group !== undefined ? ':' + a.group : ''}` : `:${a.group}`
    lines.push(`chown ${r}${h}${shQuote(spec)} -- ${word}`)
  }
  if (a.mode !== undefined) lines.push(`chmod ${r}${shQuote(chmodSpec(a.mode))} -- ${word}`)
  return lines
}

/** chmod/chown of an existing path, as a step with its declared effect. */
export function attrStep(
  path: string,
  info: FileInfo,
  a: { mode?: string; owner?: string; group?: string },
  opts: { recurse?: boolean; noDeref?: boolean } = {},
): Step {
  const eff: PathEffect =
    info.type === 'directory'
      ? { path, state: 'directory', mode: a.mode ?? info.mode, owner: a.owner ?? info.owner, group: a.group ?? info.group }
      : {
          path,
          state: 'file',
          mode: a.mode ?? info.mode,
          owner: a.owner ?? info.owner,
          group: a.group ?? info.group,
          sha256: info.sha256,
          content: info.content,
        }
  return { describe: `set attributes of ${path}`, script: ['set -e', ...attrScript(path, a, opts)].join('\n') + '\n', effects: [eff] }
}

/**
 * A mode as modules that pass it to chmod(1) take it: octal normalized to four digits, a symbolic
 * mode unchanged (chmod computes it on the host), undefined when not given. The playbook reader
 * follows YAML 1.1 as Ansible does, so `mode: 0644` arrives as the number 420: a number is the
 * mode's value, as in Ansible.
 */
export function modeArg(mode: unknown): string | undefined {
  if (mode === undefined || mode === null || mode === '') return undefined
  if (typeof mode === 'number') return mode.toString(8).padStart(4, '0')
  const s = String(mode).trim()
  if (/^0?o?[0-7]{1,4}$/.test(s)) return s.replace(/^0?o/, '').padStart(4, '0')
  return s
}

/** Which attributes differ from what the host has (mode compared only when octal). */
export function attrSummaries(info: FileInfo | undefined, attrs: { mode?: string; owner?: string; group?: string }): string[] {
  const out: string[] = []
  if (!info?.exists) return out
  if (attrs.mode && /^[0-7]{4}$/.test(attrs.mode) && info.mode !== attrs.mode) out.push(`mode ${info.mode} → ${attrs.mode}`)
  if (attrs.mode && !/^[0-7]{4}$/.test(attrs.mode)) out.push(`mode ${attrs.mode}`)
  if (attrs.owner && info.owner !== attrs.owner && String(info.uid) !== attrs.owner) out.push(`owner ${info.owner} → ${attrs.owner}`)
  if (attrs.group && info.group !== attrs.group && String(info.gid) !== attrs.group) out.push(`group ${info.group} → ${attrs.group}`)
  return out
}
