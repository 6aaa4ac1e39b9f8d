// apt_repository: one APT source line in sources.list or sources.list.d/*.list, as ansible-core
// 2.14's apt_repository edits them (without python3-apt on the host): every sources file parsed the
// module's way, the line added (or an existing disabled one enabled) or removed, and, when that
// changes anything, every sources file written back in the module's normalized form. The edit is the
// pure `aptSourcesEdit`; `update_cache` runs `apt-get update` (with the module's retries), and a
// failed update puts the files back as they were, as the module does. PPAs (`ppa:`) are Ubuntu's and
// refused.
import { shQuote } from '../connection/quote.js'
import type { Module, Step } from './types.js'
import type { Vars } from '../model.js'
import {
  alias,
  bool,
  choice,
  defineModule,
  effectKey,
  guardPlan,
  int,
  modeArg,
  modeSchema,
  moduleSchema,
  sections,
  str,
  ArgError,
  writeFileStep,
} from './lib/index.js'

const updateCache = bool('Run `apt-get update` after a change (default true); a failed update restores the sources files.')

export const aptRepositorySchema = moduleSchema(
  {
    repo: str('The source line (`deb [signed-by=/etc/apt/keyrings/x.gpg] https://example.org/debian bookworm main`).'),
    state: choice(['present', 'absent'], 'Whether the line is in the sources (enabled). Default: present.'),
    mode: modeSchema(' Of a sources file the line is added to (default 0644).'),
    update_cache: updateCache,
    'update-cache': alias('update_cache', updateCache),
    update_cache_retries: int('How many times `apt-get update` is tried (default 5).'),
    update_cache_retry_max_delay: int('The longest wait between tries, in seconds (default 12).'),
    filename: str('The sources.list.d file name without `.list` (default: made from the URL, as Ansible makes it).'),
    install_python_apt: bool('Accepted for compatibility; k3sbook needs no python3-apt.'),
    validate_certs: bool('Accepted for compatibility (used by Ansible for PPAs only).'),
    codename: str('Accepted for compatibility (used by Ansible for PPAs only).'),
  },
  { required: ['repo'] },
)

const VALID = new Set(['deb', 'deb-src'])

/** One line as the module keeps it: (n, valid, enabled, source, comment). */
export interface SourceLine {
  n: number
  valid: boolean
  enabled: boolean
  source: string
  comment: string
}

export class InvalidSource extends Error {}

/** SourcesList._parse. */
export function parseSourceLine(raw: string, raiseIfInvalid = false): Omit<SourceLine, 'n'> {
  let line = raw.trim()
  let enabled = true
  let comment = ''
  if (line.startsWith('#')) {
    enabled = false
    line = line.slice(1)
  }
  const i = line.indexOf('#')
  if (i > 0) {
    comment = line.slice(i + 1).trim()
    line = line.slice(0, i)
  }
  let source = line.trim()
  let valid = false
  if (source) {
    const chunks = source.split(/\s+/)
    if (VALID.has(chunks[0])) {
      valid = true
      source = chunks.join(' ')
    }
  }
  if (raiseIfInvalid && (!valid || !enabled)) throw new InvalidSource(line)
  return { valid, enabled, source, comment }
}

/** A file's lines as Python's text-mode iteration gives them (universal newlines). */
export function loadSources(text: string): SourceLine[] {
  const lines = text.split(/(?<=\r\n|\r(?!\n)|\n)/).filter((l) => l !== '')
  return lines.map((l, n) => ({ n, ...parseSourceLine(l) }))
}

/** SourcesList.dump for one file. */
export function dumpSources(lines: SourceLine[]): string {
  return lines.map((l) => `${l.enabled ? '' : '# '}${l.source}${l.comment ? ` # ${l.comment}` : ''}\n`).join('')
}

/** _suggest_filename: the host part of the URL, every other character a `_`; or `filename`. */
export function suggestFilename(source: string, filename?: string): string {
  if (filename !== undefined) return `${filename}.list`
  const line = source.replace(/\[[^\]]+\]/g, '').replace(/\w+:\/\//g, '')
  const parts = line.split(/\s+/).filter((p) => p !== '' && !VALID.has(p))
  let first = parts[0] ?? ''
  if (first.includes('@')) first = first.slice(first.indexOf('@') + 1)
  return `${first
    .replace(/[^a-zA-Z0-9]/g, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .join('_')}.list`
}

export interface SourcesEdit {
  /** Every file's normalized text before and after (a file with no lines left is absent after). */
  before: Map<string, string>
  after: Map<string, string>
  changed: boolean
  /** Files a line was appended to (their mode is set). */
  newRepos: Set<string>
}

/** The whole edit of main() on the sources files (path → text); throws InvalidSource as the module fails. */
export function aptSourcesEdit(
  files: Map<string, string>,
  repo: string,
  state: 'present' | 'absent',
  o: { filename?: string; sourceParts: string },
): SourcesEdit {
  const parsed = new Map<string, SourceLine[]>()
  for (const [path, text] of files) parsed.set(path, loadSources(text))
  const dump = () => {
    const m = new Map<string, string>()
    for (const [p, lines] of parsed) if (lines.length) m.set(p, dumpSources(lines))
    return m
  }
  const before = dump()
  const newRepos = new Set<string>()
  const source = parseSourceLine(repo, true).source
  if (state === 'present') {
    let found = false
    for (const lines of parsed.values())
      for (const l of lines)
        if (l.valid && l.source === source) {
          l.enabled = true
          found = true
        }
    if (!found) {
      const name = suggestFilename(source, o.filename)
      const file = name.includes('/') ? name : `${o.sourceParts.replace(/\/+$/, '')}/${name}`
      const lines = parsed.get(file) ?? []
      lines.push({ n: lines.length, valid: true, enabled: true, source, comment: '' })
      parsed.set(file, lines)
      newRepos.add(file)
    }
  } else {
    // _remove_valid_source pops by the line's number while iterating, as the module does
    for (const lines of parsed.values()) {
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]
        if (l.valid && l.source === source && l.enabled) {
          if (l.n >= lines.length) throw new Error(`pop index out of range (line ${l.n + 1})`)
          lines.splice(l.n, 1)
        }
      }
    }
  }
  const after = dump()
  const changed = before.size !== after.size || [...before].some(([p, t]) => after.get(p) !== t)
  return { before, after, changed, newRepos }
}

export const aptRepositoryModule: Module = defineModule({
  readAhead: false,
  name: 'apt_repository',
  description: "Adds or removes an APT source line in sources.list(.d), as Ansible's apt_repository module.",
  schema: aptRepositorySchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const repo = String(args.repo ?? '')
      const state = String(args.state ?? 'present') as 'present' | 'absent'
      if (!repo) throw new ArgError("Please set argument 'repo' to a non-empty value")
      if (repo.startsWith('ppa:')) throw new ArgError('PPA repositories (ppa:) are Ubuntu-only and not supported by k3sbook')
      const update = args.update_cache ?? args['update-cache']
      const doUpdate = update === undefined || update === null ? true : Boolean(update) && String(update) !== 'false'
      const retries = Number(args.update_cache_retries ?? 5)
      const maxDelay = Number(args.update_cache_retry_max_delay ?? 12)
      const mode = modeArg(args.mode) ?? '0644'
      const filename = args.filename === undefined || args.filename === null ? undefined : String(args.filename)

      // apt's own configuration names the files (Dir::Etc::sourcelist, Dir::Etc::sourceparts)
      const r = await ctx.reader.probe(
        [
          'SL=/etc/apt/sources.list; SP=/etc/apt/sources.list.d/',
          'command -v apt-config >/dev/null && eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"',
          'echo @@sl; echo "$SL"; echo @@sp; echo "$SP"; echo @@files',
          '[ -f "$SL" ] && echo "$SL"',
          'for f in "$SP"*.list; do [ -f "$f" ] && echo "$f"; done; exit 0',
        ].join('\n'),
      )
      const s = sections(r.stdout.toString())
      const sourceList = (s.sl ?? '').trim() || '/etc/apt/sources.list'
      const sourceParts = (s.sp ?? '').trim() || '/etc/apt/sources.list.d/'
      const listed = (s.files ?? '').split('\n').filter(Boolean)
      // read through the reader (check mode sees earlier tasks' writes), the file this line goes to included
      let target: string | undefined
      try {
        const name = suggestFilename(parseSourceLine(repo, true).source, filename)
        target = name.includes('/') ? name : `${sourceParts.replace(/\/+$/, '')}/${name}`
      } catch {
        target = undefined
      }
      const paths = [...new Set([...listed, ...(target ? [target] : [])])]
      const infos = await ctx.reader.files(paths, { content: true, follow: true })
      const files = new Map<string, string>()
      for (const p of paths) {
        const info = infos.get(p)!
        if (info.unknown) return { status: 'unknown', reason: info.unknown, steps: [] }
        if (info.exists && info.type === 'file' && (p === sourceList || p.endsWith('.list'))) files.set(p, info.content?.toString('utf8') ?? '')
      }
      let edit: SourcesEdit
      try {
        edit = aptSourcesEdit(files, repo, state, { filename, sourceParts })
      } catch (e) {
        if (e instanceof InvalidSource) return { status: 'fail', msg: `Invalid repository string: ${e.message}` }
        throw e
      }
      const result: Vars = { repo, state, changed: edit.changed }
      if (!edit.changed) return { status: 'ok', result }

      // save(): every file rewritten in the normalized form, an emptied one removed
      const steps: Step[] = []
      const restore: string[] = []
      const all = new Set([...edit.before.keys(), ...edit.after.keys()])
      const changes = []
      for (const p of all) {
        const now = files.get(p)
        const next = edit.after.get(p)
        if (next === undefined) {
          if (now !== undefined) {
            steps.push({ describe: `rm ${p}`, script: `rm -f -- ${shQuote(p)}`, effects: [{ path: p, state: 'absent' }] })
            restore.push(`printf %s ${shQuote(now)} > ${shQuote(p)}`)
          }
        } else if (next !== now || edit.newRepos.has(p)) {
          steps.push(writeFileStep(p, Buffer.from(next), { ...(edit.newRepos.has(p) ? { mode } : {}), mkdirParent: true }))
          restore.push(now === undefined ? `rm -f -- ${shQuote(p)}` : `printf %s ${shQuote(now)} > ${shQuote(p)}`)
        }
        if ((edit.before.get(p) ?? '') !== (next ?? ''))
          changes.push({
            summary: `${state === 'present' ? 'add' : 'remove'} ${repo} in ${p}`,
            ...(ctx.diff ? { diff: { path: p, before: edit.before.get(p) ?? '', after: next ?? '' } } : {}),
          })
      }
      if (doUpdate) {
        // apt.Cache().update() with the module's retries: 2^try s (+ up to 1 s), at most max delay; after the last failure the files go back
        const delays = Array.from({ length: retries }, (_, i) => Math.min(2 ** i, maxDelay) + Math.random())
        steps.push({
          describe: 'apt-get update',
          script: [
            'ok=""; err=""',
            `for d in ${delays.map((d) => d.toFixed(3)).join(' ')}; do`,
            '  if out=$(apt-get update -q 2>&1) && ! printf "%s" "$out" | grep -q "^[WE]: "; then ok=1; break; fi',
            '  err=$(printf "%s" "$out" | grep "^[WE]: " | head -n 3 | tr "\\n" " ")',
            '  sleep "$d"',
            'done',
            '[ -n "$ok" ] && exit 0',
            ...restore,
            'echo "Failed to update apt cache: ${err:-unknown reason}" >&2',
            'exit 1',
          ].join('\n'),
          timeoutMs: (retries * (maxDelay + 1) + retries * 300) * 1000,
          effects: [{ key: effectKey.aptCache(), value: 'updated' }],
        })
      }
      return { status: 'change', changes, steps, result }
    }),
  result: (plan) => ({ ...((plan as { result?: Vars }).result ?? {}) }),
})
