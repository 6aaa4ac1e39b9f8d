// Does a module k3sbook does not implement exist in Ansible? `validate` refuses only a module that
// exists nowhere (certainly wrong on every path: ansible-playbook refuses it too, at parse time);
// one that Ansible has but k3sbook lacks is a warning, and its task fails only if it runs.
// The answer comes from the controller's installed ansible-core and collections (their module
// files and routing tables); without them, nothing is certain and the answer is 'unknown'.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ansiblePackage } from '../paths.js'

export { ansiblePackage }

export type ModuleWhere = 'ansible' | 'nowhere' | 'unknown'

function collectionRoots(): string[] {
  const pkg = ansiblePackage()
  const env = process.env.ANSIBLE_COLLECTIONS_PATH ?? process.env.ANSIBLE_COLLECTIONS_PATHS
  const out = [...(env ? env.split(':') : [join(homedir(), '.ansible/collections'), '/usr/share/ansible/collections'])].map((p) =>
    p.endsWith('ansible_collections') ? p : join(p, 'ansible_collections'),
  )
  if (pkg) out.push(join(pkg, '..', 'ansible_collections'))
  return out
}

const routing = new Map<string, Set<string>>()
const routingText = new Map<string, string>()
/**
 * Whether a runtime.yml routes module `name`. Parsing ansible-core's own (10,000 lines) costs ~1 s,
 * so it is parsed only when its text holds the name at all: a key, quoted or not, contains it.
 */
function routes(file: string, name: string): boolean {
  if (!routing.has(file)) {
    let text = routingText.get(file)
    if (text === undefined) {
      try {
        text = readFileSync(file, 'utf8')
      } catch {
        text = ''
      }
      routingText.set(file, text)
    }
    if (!text.includes(name)) return false
  }
  return routedModules(file).has(name)
}

/** Module names a runtime.yml routes (redirects, deprecations, tombstones excluded). */
function routedModules(file: string): Set<string> {
  let r = routing.get(file)
  if (r) return r
  r = new Set()
  try {
    // uniqueKeys off: Ansible's loader accepts repeated keys, and checking them costs O(n²) on this 10,000-line file
    const doc = parse(routingText.get(file) ?? readFileSync(file, 'utf8'), { uniqueKeys: false }) as {
      plugin_routing?: { modules?: Record<string, { tombstone?: unknown }> }
    }
    for (const [k, v] of Object.entries(doc?.plugin_routing?.modules ?? {})) if (!v?.tombstone) r.add(k)
  } catch {
    /* unreadable: nothing routed */
  }
  routing.set(file, r)
  return r
}

function moduleFile(dir: string, name: string): boolean {
  return ['.py', '.ps1', ''].some((ext) => existsSync(join(dir, name + ext)))
}

/**
 * Where `key` (as written: `dnf`, `ansible.builtin.dnf`, `community.general.ufw`) is found.
 * `dirs`: the task's role and its parents, then the playbook's folder: their `library/` folders hold modules too.
 */
export function ansibleModuleWhere(key: string, dirs: string[]): ModuleWhere {
  const parts = key.split('.')
  const name = parts[parts.length - 1]
  if (parts.length === 1 && dirs.some((d) => moduleFile(join(d, 'library'), name) || moduleFile(join(d, 'action_plugins'), name))) return 'ansible'
  const pkg = ansiblePackage()
  if (!pkg) return 'unknown'
  const builtin = () => moduleFile(join(pkg, 'modules'), name) || routes(join(pkg, 'config', 'ansible_builtin_runtime.yml'), name)
  if (parts.length === 1) return builtin() ? 'ansible' : 'nowhere'
  if (parts.length !== 3) return 'unknown'
  const [ns, coll] = parts
  if (ns === 'ansible' && (coll === 'builtin' || coll === 'legacy')) return builtin() ? 'ansible' : 'nowhere'
  for (const root of collectionRoots()) {
    const dir = join(root, ns, coll)
    if (!existsSync(dir)) continue
    if (moduleFile(join(dir, 'plugins', 'modules'), name) || routes(join(dir, 'meta', 'runtime.yml'), name)) return 'ansible'
    return 'nowhere'
  }
  // the collection is not installed here: ansible-playbook on this controller would refuse it, but
  // another controller may have it
  return 'unknown'
}
