// A run that would do nothing because a selector matched nothing is a mistake, said before any
// host is contacted (as ansible-playbook does for --limit): --limit, --tags and --start-at-task
// are checked against the playbook, and the error names what was matched against and the closest
// names. What cannot be known before running (a task name with a template in it, tasks of an
// include whose file is named at run time) makes it a warning instead.
import { editDistance } from '../errors.js'
import type { Project } from '../executor/run.js'
import type { TaskItem } from '../model.js'
import { playItems, walkItems } from '../playbook/load.js'
import { playHosts } from '../playbook/report.js'

export interface Selection {
  limit?: string
  tags?: string[]
  skipTags?: string[]
  startAtTask?: string
  /** No inventory at all was given or found. */
  noInventory?: boolean
  /** A pattern that matches no host is an error (ad-hoc: the pattern is all there is to run on). */
  requireHosts?: boolean
}

const SPECIAL_TAGS = new Set(['all', 'always', 'never', 'tagged', 'untagged'])

/** Up to `n` candidates nearest to `word` (edit distance), for "closest names" lists. */
export function closest(word: string, candidates: Iterable<string>, n = 3): string[] {
  return [...new Set(candidates)]
    .map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, n)
    .map((x) => x.c)
}

function quoteList(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ')
}

/** Static names a task would have at run time (as the executor names it); undefined when templated. */
function taskName(it: TaskItem): string | undefined {
  if (it.kind === 'block') return undefined
  const raw = it.name ?? (it.kind === 'task' ? it.module + (it.role ? ` (${it.role.name})` : '') : `include_${it.what}`)
  return raw.includes('{{') || raw.includes('{%') ? undefined : raw
}

function globMatch(pattern: string, s: string): boolean {
  if (pattern === s) return true
  return new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  ).test(s)
}

/** Errors (the run must not start) and warnings about selectors that match nothing. */
export function checkSelection(project: Project, sel: Selection): { errors: string[]; warnings: string[] } {
  const errors: string[] = []
  const warnings: string[] = []
  const { playbook, inventory, extraVars } = project
  const items = playbook.plays.flatMap((p) => [...walkItems([...playItems(p), ...p.handlers])])
  const dynamic = items.some((it) => it.kind === 'include' && !it.preloaded)

  // hosts
  let total = 0
  let totalUnlimited = 0
  const playHostNames = new Set<string>()
  for (const play of playbook.plays) {
    try {
      const all = playHosts(play, inventory, extraVars, { baseDir: playbook.dir })
      for (const h of all) playHostNames.add(h)
      totalUnlimited += all.length
      if (sel.limit) total += playHosts(play, inventory, extraVars, { limit: sel.limit, baseDir: playbook.dir }).length
    } catch {
      /* a bad pattern is validate's to report */
    }
  }
  if (sel.limit && total === 0) {
    const words = sel.limit
      .split(/[,:]/)
      .map((w) => w.replace(/^[&!~]/, '').trim())
      .filter((w) => w && !w.startsWith('@') && !/[*?[\]]/.test(w))
    const names = [...inventory.hostOrder, ...inventory.groups.keys()]
    const near = [...new Set(words.flatMap((w) => closest(w, names)))]
    const inPlays = playHostNames.size
      ? `the plays run on ${playHostNames.size} host(s): ${[...playHostNames].slice(0, 8).join(', ')}${playHostNames.size > 8 ? ', …' : ''}`
      : 'the plays match no host of the inventory'
    errors.push(
      `--limit "${sel.limit}" matches no host the playbook runs on (${inPlays}; inventory: ${inventory.hostOrder.length} host(s), ${inventory.groups.size} group(s))` +
        (near.length ? `; closest names: ${quoteList(near)}` : ''),
    )
  } else if (!sel.limit && totalUnlimited === 0 && sel.noInventory) {
    errors.push('no inventory: no play matches any host (give -i INVENTORY, or --lab NAME for a running lab)')
  } else if (!sel.limit && totalUnlimited === 0 && sel.requireHosts) {
    const pattern = playbook.plays.map((p) => p.hosts).join(', ')
    const names = [...inventory.hostOrder, ...inventory.groups.keys()]
    const near = [
      ...new Set(
        pattern
          .split(/[,:]/)
          .map((w) => w.replace(/^[&!~]/, '').trim())
          .filter(Boolean)
          .flatMap((w) => closest(w, names)),
      ),
    ]
    errors.push(
      `"${pattern}" matches no host (inventory: ${inventory.hostOrder.length} host(s), ${inventory.groups.size} group(s))${near.length ? `; closest names: ${quoteList(near)}` : ''}`,
    )
  }

  // tags
  const known = new Set<string>()
  for (const it of items) for (const t of it.tags) known.add(t)
  for (const p of playbook.plays) for (const t of p.tags) known.add(t)
  const check = (flag: string, list: string[] | undefined, strict: boolean) => {
    const asked = (list ?? []).filter((t) => !SPECIAL_TAGS.has(t))
    const unknown = asked.filter((t) => !known.has(t))
    if (unknown.length === 0) return
    const where = known.size
      ? `tags in the playbook: ${[...known].sort().slice(0, 12).join(', ')}${known.size > 12 ? ', …' : ''}`
      : 'no task in the playbook has a tag'
    const near = [...new Set(unknown.flatMap((t) => closest(t, known)))]
    const msg = `${flag} ${unknown.map((t) => `"${t}"`).join(', ')}: no task has ${unknown.length === 1 ? 'this tag' : 'these tags'} (${where})${near.length ? `; closest: ${quoteList(near)}` : ''}`
    if (strict && unknown.length === asked.length && asked.length > 0 && !dynamic) errors.push(msg)
    else warnings.push(msg + (dynamic && strict ? ' (tasks of run-time includes are not known yet)' : ''))
  }
  check('--tags', sel.tags, true)
  check('--skip-tags', sel.skipTags, false)

  // start-at-task
  if (sel.startAtTask) {
    const names = items.filter((it) => it.kind !== 'block').map(taskName)
    const staticNames = names.filter((n): n is string => n !== undefined)
    if (!staticNames.some((n) => globMatch(sel.startAtTask!, n))) {
      const near = closest(sel.startAtTask, staticNames)
      const msg = `--start-at-task "${sel.startAtTask}" matches no task name (${staticNames.length} named tasks)${near.length ? `; closest: ${quoteList(near)}` : ''}`
      // blocks have no name of their own: only templated names and run-time includes are unknowable
      const templated = items.some((it) => it.kind !== 'block' && taskName(it) === undefined)
      if (templated || dynamic) warnings.push(msg + ' (some task names are known only at run time)')
      else errors.push(msg)
    }
  }
  return { errors, warnings }
}
