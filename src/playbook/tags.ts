// Ansible's --tags/--skip-tags selection (Taggable.evaluate_tags, checked against ansible-playbook in
// test/executor/tags.test.ts): the one selector, used by the executor and by `k3sbook tasks`; and
// the flattening that `ansible-playbook --list-tasks` does: blocks opened, static imports already
// inlined, dynamic includes listed as themselves.
import type { Include, Play, Task, TaskItem } from '../model.js'

/** Whether an item with these (effective) tags runs under --tags `only` / --skip-tags `skip`. */
export function tagsMatch(itemTags: readonly string[], only: readonly string[], skip: readonly string[]): boolean {
  const tags = new Set(itemTags.length ? itemTags : ['untagged'])
  const untagged = itemTags.length === 0
  const want = only.length ? only : ['all']
  let run: boolean
  if (tags.has('always')) run = true
  else if (want.includes('all') && !tags.has('never')) run = true
  else if (want.some((t) => tags.has(t))) run = true
  else if (want.includes('tagged') && !untagged && !tags.has('never')) run = true
  else if (want.includes('untagged') && untagged) run = true
  else run = false
  if (run && skip.length) {
    if (skip.includes('all')) {
      if (!tags.has('always') || skip.includes('always')) run = false
    } else if (skip.some((t) => tags.has(t))) run = false
    else if (skip.includes('tagged') && !untagged) run = false
    else if (skip.includes('untagged') && untagged) run = false
  }
  return run
}

/**
 * The tasks and dynamic includes that would run, in order, as --list-tasks shows them: block
 * bodies flattened (rescue/always are not listed, as in Ansible), each item filtered by its tags.
 */
export function selectByTags(items: TaskItem[], only: readonly string[] = [], skip: readonly string[] = []): (Task | Include)[] {
  const out: (Task | Include)[] = []
  for (const it of items) {
    if (it.kind === 'block') out.push(...selectByTags(it.block, only, skip))
    else if (tagsMatch(it.tags, only, skip)) out.push(it)
  }
  return out
}

/** The order a play runs its task lists in. */
export function playTaskLists(play: Play): TaskItem[] {
  return [...play.preTasks, ...play.roleTasks, ...play.tasks, ...play.postTasks]
}

/** The name --list-tasks prints: "role : name" for named role tasks, else the module as written. */
export function listName(it: Task | Include): string {
  if (it.name) return it.role ? `${it.role.name} : ${it.name}` : it.name
  if (it.kind === 'task') return it.moduleKey
  return moduleKeyOf(it)
}

function moduleKeyOf(inc: Include): string {
  const raw = inc.src.yf.node(inc.src.path)
  const v = raw && 'items' in raw ? (raw as { items: { key: { value?: unknown } }[] }).items.map((p) => String(p.key?.value)) : []
  return v.find((k) => /(^|\.)(include|import)_(tasks|role)$/.test(k)) ?? `include_${inc.what}`
}
