// The explicit module registry: a module exists when it is listed here (no discovery by file name).
import type { Task } from '../model.js'
import type { Module } from './types.js'
import { bridgedModule } from './bridge/module.js'
import { coreModules } from './core.js'
import { ping } from './ping.js'
import { provisionModules } from './provision.js'
import { storageModules } from './storage.js'
import { commonModules } from './common.js'
import { systemModules } from './system.js'

const byName = new Map<string, Module>()
for (const m of [...coreModules, ping, ...provisionModules, ...storageModules, ...commonModules, ...systemModules]) {
  for (const n of [m.name, ...(m.aliases ?? [])]) {
    if (byName.has(n)) throw new Error(`module ${n} registered twice`)
    byName.set(n, m)
  }
}

/** Ansible's collection prefixes that name the same modules (`ansible.builtin.copy` → `copy`). */
const PREFIXES = ['ansible.builtin.', 'ansible.legacy.', 'ansible.posix.', 'community.general.', 'kubernetes.core.']

export function canonicalModuleName(key: string): string {
  for (const p of PREFIXES) if (key.startsWith(p)) return key.slice(p.length)
  return key
}

export function getModule(key: string): Module | undefined {
  return byName.get(canonicalModuleName(key))
}

/** The module Ansible's implicit fact gathering ("Gathering Facts") is reported as. */
export const FACTS_MODULE = 'setup'

/** The module an ad-hoc command runs when none is named (Ansible's default `module_name`). */
export const ADHOC_MODULE = 'command'

/**
 * The module a task runs: k3sbook's own, else Ansible's module code through the bridge (it fails
 * with a clear message where the controller has no ansible-core or Ansible has no such module).
 */
export function moduleFor(key: string, task?: Pick<Task, 'libraryDirs'>): Module {
  return getModule(key) ?? bridgedModule(key, { libraryDirs: task?.libraryDirs })
}

/**
 * The subfolder a task's `with_*` lookup (first_found) searches, from the action's name, as
 * Ansible's task executor decides it: 'templates' when the name holds "template", 'vars' when it
 * holds "var" (include_vars), else 'files'.
 */
export function lookupSubdir(action: string): 'files' | 'templates' | 'vars' {
  return action.includes('template') ? 'templates' : action.includes('var') ? 'vars' : 'files'
}

export function moduleNames(): string[] {
  return [...byName.keys()].sort()
}
