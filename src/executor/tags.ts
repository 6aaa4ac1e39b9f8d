// Ansible's tag selection: --tags selects, --skip-tags removes; `always` runs unless skipped by
// name, `never` runs only when asked for by one of its other tags; `tagged`/`untagged`/`all` are
// the special selectors.

export function tagSelected(taskTags: readonly string[], only: readonly string[], skip: readonly string[]): boolean {
  const tags = new Set(taskTags)
  const want = only.length ? only : ['all']
  let run = false
  if (tags.has('always') && !want.includes('never')) run = true
  else if (want.includes('all') && !tags.has('never')) run = true
  else if (want.includes('tagged') && tags.size > 0 && !tags.has('never')) run = true
  else if (want.includes('untagged') && (tags.size === 0 || (tags.size === 1 && tags.has('always')))) run = true
  else if ([...tags].some((t) => want.includes(t) && t !== 'always')) run = true
  if (!run) return false
  if (skip.length) {
    if ([...tags].some((t) => skip.includes(t))) return false
    if (skip.includes('all') && !tags.has('always')) return false
    if (skip.includes('tagged') && tags.size > 0) return false
    if (skip.includes('untagged') && tags.size === 0) return false
  }
  return true
}
