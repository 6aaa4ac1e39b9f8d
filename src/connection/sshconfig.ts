// OpenSSH client configuration as k3sbook honours it: ~/.ssh/config (Host blocks, first value wins,
// Include) and the ssh command-line options users put in ansible_ssh_common_args/extra_args
// (-o Key=Value, -i, -p, -l, -J, -F), merged with first-wins precedence exactly like ssh itself.
import { shlexSplit } from '../shlex.js'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { isAbsolute, join, dirname, basename } from 'node:path'
import { ValidationError } from '../errors.js'
import { cutSpaceComment, keywordValue } from '../text.js'
import { patternListMatches, wildcardMatch } from './knownhosts.js'

/** Keyword (lower case) → values: most keywords keep their first value; IdentityFile accumulates. */
export type SshOptionMap = Map<string, string[]>

/** Options whose every occurrence adds to a list rather than the first one winning. */
const ACCUMULATE = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv'])

export function addOption(map: SshOptionMap, keyword: string, value: string): void {
  const k = keyword.toLowerCase()
  // ProxyJump and ProxyCommand compete: whichever comes first stops the other (ssh_config(5)).
  if ((k === 'proxyjump' && map.has('proxycommand')) || (k === 'proxycommand' && map.has('proxyjump'))) return
  const cur = map.get(k)
  if (ACCUMULATE.has(k)) map.set(k, [...(cur ?? []), value])
  else if (!cur) map.set(k, [value])
}

/**
 * Splits ansible_ssh_common_args / ansible_ssh_extra_args into words as Ansible does (shlex.split).
 */
export function splitShellWords(s: string): string[] {
  return shlexSplit(s, (m) => new Error(`${m} in: ${s}`))
}

/** `Key=Value`, `Key Value` or `Key = Value` from one -o argument or config line. */
export function splitKeyValue(arg: string): [string, string] | undefined {
  const m = keywordValue(arg, { leading: true, trimValue: true })
  if (!m) return undefined
  let value = m[1]
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
  return [m[0], value]
}

export interface SshArgs {
  options: SshOptionMap
  /** -F: an alternative config file. */
  configFile?: string
  /** Arguments that were understood but have no effect here, and ones not understood. */
  ignored: string[]
}

/** Flags ssh takes without an argument; they change nothing k3sbook does, so they are accepted silently. */
const NO_ARG_FLAGS = new Set('46AaCfGgKkMNnqsTtVvXxYy'.split(''))
/** Options ssh takes with an argument that have no k3sbook meaning (binding, forwarding, logging). */
const ARG_FLAGS_IGNORED = new Set('BbcDEeILmOQRSWw'.split(''))

/** Parses an `ansible_ssh_common_args`-style string (or several) into ssh options, first value winning. */
export function parseSshArgs(...strings: Array<string | undefined>): SshArgs {
  const out: SshArgs = { options: new Map(), ignored: [] }
  for (const s of strings) {
    if (!s) continue
    const words = splitShellWords(s)
    for (let i = 0; i < words.length; i++) {
      const w = words[i]
      if (!w.startsWith('-') || w.length < 2) {
        out.ignored.push(w)
        continue
      }
      // Flags may be bundled (`-qC`) and an argument may be attached (`-p2222`, `-oPort=22`).
      for (let j = 1; j < w.length; j++) {
        const f = w[j]
        if (NO_ARG_FLAGS.has(f)) continue
        const takesArg = 'oipJlF'.includes(f) || ARG_FLAGS_IGNORED.has(f)
        if (!takesArg) {
          out.ignored.push(`-${f}`)
          continue
        }
        let arg = w.slice(j + 1)
        if (arg === '') {
          if (i + 1 >= words.length) throw new Error(`ssh option -${f} needs an argument`)
          arg = words[++i]
        }
        switch (f) {
          case 'o': {
            const kv = splitKeyValue(arg)
            if (!kv) throw new Error(`bad ssh option: -o ${arg}`)
            addOption(out.options, kv[0], kv[1])
            break
          }
          case 'i':
            addOption(out.options, 'IdentityFile', arg)
            break
          case 'p':
            addOption(out.options, 'Port', arg)
            break
          case 'J':
            addOption(out.options, 'ProxyJump', arg)
            break
          case 'l':
            addOption(out.options, 'User', arg)
            break
          case 'F':
            out.configFile ??= arg
            break
          default:
            out.ignored.push(`-${f} ${arg}`)
        }
        break
      }
    }
  }
  return out
}

interface ConfigLine {
  keyword: string
  args: string[]
  /** The value as written (ProxyCommand is handed to the shell verbatim). */
  raw: string
  file: string
  line: number
}

/** A parsed config: lines grouped under the condition that activates them. */
export interface SshConfig {
  blocks: Array<{ kind: 'all' | 'host' | 'match'; patterns: string[]; lines: ConfigLine[] }>
}

export interface ParseConfigOptions {
  home?: string
  /** Depth guard for Include loops (ssh allows 16). */
  depth?: number
  /** Reads files; swappable in tests. */
  readFile?: (path: string) => string | undefined
}

function defaultRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

export function expandTilde(p: string, home = homedir()): string {
  if (p === '~') return home
  if (p.startsWith('~/')) return join(home, p.slice(2))
  return p
}

/** Expands an Include argument: relative paths are under ~/.ssh; `*` and `?` in the last parts glob. */
function includePaths(arg: string, home: string): string[] {
  let p = expandTilde(arg, home)
  if (!isAbsolute(p)) p = join(home, '.ssh', p)
  if (!/[*?]/.test(p)) return [p]
  const dir = dirname(p)
  const pat = basename(p)
  try {
    return readdirSync(dir)
      .filter((n) => wildcardMatch(pat, n))
      .sort()
      .map((n) => join(dir, n))
      .filter((f) => statSync(f).isFile())
  } catch {
    return []
  }
}

/** Parses ssh_config text. Keywords are case-insensitive; `Keyword=value` and quoted args are accepted. */
export function parseSshConfig(text: string, file: string, opts: ParseConfigOptions = {}): SshConfig {
  const home = opts.home ?? homedir()
  const read = opts.readFile ?? defaultRead
  const depth = opts.depth ?? 0
  const cfg: SshConfig = { blocks: [{ kind: 'all', patterns: [], lines: [] }] }
  let block = cfg.blocks[0]
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const m = keywordValue(line)
    if (!m) throw new ValidationError(`cannot parse ssh config line: ${line}`, { pos: { file, line: i + 1, col: 1 } })
    const keyword = m[0].toLowerCase()
    let args: string[]
    try {
      args = splitShellWords(cutSpaceComment(m[1]))
    } catch (e) {
      throw new ValidationError((e as Error).message, { pos: { file, line: i + 1, col: 1 } })
    }
    if (keyword === 'host') {
      block = { kind: 'host', patterns: args.flatMap((a) => a.split(',')), lines: [] }
      cfg.blocks.push(block)
    } else if (keyword === 'match') {
      block = { kind: 'match', patterns: args, lines: [] }
      cfg.blocks.push(block)
    } else if (keyword === 'include') {
      if (depth >= 16) throw new ValidationError('ssh config Include nested too deeply', { pos: { file, line: i + 1, col: 1 } })
      const outer = block
      for (const a of args) {
        for (const p of includePaths(a, home)) {
          const t = read(p)
          if (t === undefined) continue
          const sub = parseSshConfig(t, p, { ...opts, depth: depth + 1 })
          // The included file's unconditional lines live under the block that included it.
          outer.lines.push(...sub.blocks[0].lines)
          for (const b of sub.blocks.slice(1)) {
            cfg.blocks.push(b)
          }
        }
      }
      // Lines after the Include continue the including block (as ssh does).
      if (cfg.blocks[cfg.blocks.length - 1] !== outer) {
        block = { kind: outer.kind, patterns: outer.patterns, lines: [] }
        cfg.blocks.push(block)
      }
    } else block.lines.push({ keyword, args, raw: m[1].trim(), file, line: i + 1 })
  })
  return cfg
}

/**
 * `Match` supports `all`, `host`, `originalhost` and `user` criteria; anything else (exec, canonical,
 * localuser, …) is treated as not matching and reported in `unsupported`.
 */
function matchBlock(patterns: string[], ctx: { host: string; original: string; user?: string }, unsupported: string[]): boolean {
  let ok = true
  for (let i = 0; i < patterns.length; i++) {
    const crit = patterns[i].toLowerCase()
    if (crit === 'all') continue
    const neg = crit.startsWith('!')
    const name = neg ? crit.slice(1) : crit
    const arg = patterns[++i] ?? ''
    let r: boolean
    if (name === 'host') r = patternListMatches(arg.split(','), ctx.host)
    else if (name === 'originalhost') r = patternListMatches(arg.split(','), ctx.original)
    else if (name === 'user') r = ctx.user !== undefined && patternListMatches(arg.split(','), ctx.user)
    else {
      unsupported.push(`Match ${patterns.join(' ')}`)
      return false
    }
    if (neg ? r : !r) ok = false
  }
  return ok
}

/**
 * Options in effect for `host` (the name as typed: the inventory's ansible_host), seeded with
 * higher-priority options (command line) so that first-wins works the way ssh does it.
 */
export function resolveSshConfig(cfg: SshConfig | undefined, host: string, seed: SshOptionMap = new Map()): { options: SshOptionMap; unsupported: string[] } {
  const options: SshOptionMap = new Map([...seed].map(([k, v]) => [k, [...v]]))
  const unsupported: string[] = []
  if (!cfg) return { options, unsupported }
  const apply = (lines: ConfigLine[]) => {
    for (const l of lines) {
      if (l.keyword === 'proxycommand') addOption(options, l.keyword, l.raw)
      else if (l.args.length === 1) addOption(options, l.keyword, l.args[0])
      else addOption(options, l.keyword, l.args.map((a) => (/[\s'"\\]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' '))
    }
  }
  for (const b of cfg.blocks) {
    if (b.kind === 'all') apply(b.lines)
    else if (b.kind === 'host') {
      if (patternListMatches(b.patterns, host)) apply(b.lines)
    } else {
      const hn = options.get('hostname')?.[0] ?? host
      const user = options.get('user')?.[0]
      if (matchBlock(b.patterns, { host: hn, original: host, user }, unsupported)) apply(b.lines)
    }
  }
  return { options, unsupported }
}

export function loadSshConfig(path: string, opts: ParseConfigOptions = {}): SshConfig | undefined {
  const text = (opts.readFile ?? defaultRead)(path)
  return text === undefined ? undefined : parseSshConfig(text, path, opts)
}

/** The settings k3sbook acts on, typed and with tokens (%h %p %r %u %d %%) and ~ expanded. */
export interface SshSettings {
  hostName: string
  port: number
  user: string
  identityFiles: string[]
  identitiesOnly: boolean
  proxyJump?: string
  proxyCommand?: string
  userKnownHostsFiles?: string[]
  globalKnownHostsFiles?: string[]
  strictHostKeyChecking?: string
  /** Seconds, as in ssh_config. */
  connectTimeout?: number
  serverAliveInterval?: number
  serverAliveCountMax?: number
  hostKeyAlias?: string
  passwordAuthentication: boolean
  /** IdentityAgent / SSH_AUTH_SOCK path; undefined when agent use is off. */
  identityAgent?: string
}

export function expandTokens(s: string, t: { host: string; port: number; user: string; original: string; home: string }): string {
  return s.replace(/%([%hprundlL])/g, (_, c: string) => {
    switch (c) {
      case '%':
        return '%'
      case 'h':
        return t.host
      case 'p':
        return String(t.port)
      case 'r':
        return t.user
      case 'n':
        return t.original
      case 'd':
        return t.home
      case 'u':
        return userInfo().username
      default:
        return '%' + c
    }
  })
}

function parsePort(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad ${what}: ${v}`)
  return n
}

export function settingsFrom(options: SshOptionMap, original: string, env: NodeJS.ProcessEnv = process.env, home = homedir()): SshSettings {
  const one = (k: string) => options.get(k)?.[0]
  const yes = (k: string, dflt: boolean) => {
    const v = one(k)?.toLowerCase()
    return v === undefined ? dflt : v === 'yes' || v === 'true'
  }
  const hostName = one('hostname') ? one('hostname')!.replace(/%h/g, original) : original
  const port = parsePort(one('port'), 'Port') ?? 22
  const user = one('user') ?? env.USER ?? userInfo().username
  const tok = { host: hostName, port, user, original, home }
  const path = (p: string) => expandTilde(expandTokens(p, tok), home)
  const num = (k: string) => {
    const v = one(k)
    if (v === undefined || v.toLowerCase() === 'none') return undefined
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) throw new Error(`bad ${k}: ${v}`)
    return n
  }
  const words = (k: string) =>
    options
      .get(k)
      ?.flatMap((v) => splitShellWords(v))
      .map(path)
  let identityAgent: string | undefined = env.SSH_AUTH_SOCK
  const ia = one('identityagent')
  if (ia !== undefined) {
    if (ia.toLowerCase() === 'none') identityAgent = undefined
    else if (ia !== 'SSH_AUTH_SOCK') identityAgent = ia.startsWith('$') ? env[ia.slice(1)] : path(ia)
  }
  const pj = one('proxyjump')
  const pc = one('proxycommand')
  return {
    hostName,
    port,
    user,
    identityFiles: (options.get('identityfile') ?? []).filter((f) => f.toLowerCase() !== 'none').map(path),
    identitiesOnly: yes('identitiesonly', false),
    proxyJump: pj && pj.toLowerCase() !== 'none' ? pj : undefined,
    proxyCommand: pc && pc.toLowerCase() !== 'none' ? expandTokens(pc, tok) : undefined,
    userKnownHostsFiles: words('userknownhostsfile'),
    globalKnownHostsFiles: words('globalknownhostsfile'),
    strictHostKeyChecking: one('stricthostkeychecking'),
    connectTimeout: num('connecttimeout'),
    serverAliveInterval: num('serveraliveinterval'),
    serverAliveCountMax: num('serveralivecountmax'),
    hostKeyAlias: one('hostkeyalias'),
    passwordAuthentication: yes('passwordauthentication', true),
    identityAgent,
  }
}

/** One ProxyJump hop: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export function parseJumpHop(hop: string): { user?: string; host: string; port?: number } {
  let s = hop.trim()
  if (s.startsWith('ssh://')) s = s.slice(6).replace(/\/$/, '')
  let user: string | undefined
  const at = s.lastIndexOf('@')
  if (at >= 0) {
    user = s.slice(0, at)
    s = s.slice(at + 1)
  }
  let port: number | undefined
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s)
  if (v6) {
    s = v6[1]
    port = parsePort(v6[2], 'ProxyJump port')
  } else {
    const m = /^([^:]+):(\d+)$/.exec(s)
    if (m) {
      s = m[1]
      port = parsePort(m[2], 'ProxyJump port')
    }
  }
  if (!s) throw new Error(`bad ProxyJump hop: ${hop}`)
  return { user, host: s, port }
}
