// How to reach a host, read from its (already templated) variables under Ansible's names,
// including the older ansible_ssh_* aliases. The implicit localhost carries ansible_connection=local.
import { userInfo } from 'node:os'
import { asBool } from '../bool.js'
import { ValidationError } from '../errors.js'
import type { Vars } from '../model.js'

export interface ConnectionSpec {
  host: string
  port: number
  user: string
  privateKeyFile?: string
  password?: string
  connection: 'ssh' | 'local'
  commonArgs?: string
  extraArgs?: string
  become?: boolean
  becomeUser?: string
  becomeMethod?: string
  becomePassword?: string
}

function first(vars: Vars, names: string[]): unknown {
  for (const n of names) if (vars[n] !== undefined && vars[n] !== null && vars[n] !== '') return vars[n]
  return undefined
}

function str(vars: Vars, names: string[]): string | undefined {
  const v = first(vars, names)
  if (v === undefined) return undefined
  if (typeof v === 'object') throw new ValidationError(`${names[0]} must be a string, found ${Array.isArray(v) ? 'a list' : 'a mapping'}`)
  return String(v)
}

/** Ansible's boolean() (src/bool.ts) for an inventory variable; anything else is an error naming it. */
export function ansibleBool(v: unknown, name: string): boolean {
  const b = asBool(v)
  if (b !== undefined) return b
  throw new ValidationError(`${name} must be a boolean, got ${JSON.stringify(v)}`, { hint: 'use true or false' })
}

export function connectionSpec(vars: Vars): ConnectionSpec {
  const name = String(vars.inventory_hostname ?? '')
  const kind = str(vars, ['ansible_connection']) ?? 'ssh'
  let connection: 'ssh' | 'local'
  if (kind === 'local') connection = 'local'
  else if (kind === 'ssh' || kind === 'smart' || kind === 'paramiko' || kind === 'paramiko_ssh' || kind === 'ansible.builtin.ssh') connection = 'ssh'
  else if (kind === 'ansible.builtin.local') connection = 'local'
  else
    throw new ValidationError(`ansible_connection "${kind}" is not supported${name ? ` (host ${name})` : ''}`, {
      hint: 'k3sbook connects with ssh or local',
    })
  const portText = str(vars, ['ansible_port', 'ansible_ssh_port'])
  let port = 22
  if (portText !== undefined) {
    port = Number(portText)
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new ValidationError(`ansible_port must be a port number, got ${JSON.stringify(portText)}${name ? ` (host ${name})` : ''}`)
  }
  const spec: ConnectionSpec = {
    host: str(vars, ['ansible_host', 'ansible_ssh_host']) ?? name,
    port,
    // Ansible leaves remote_user unset and ssh then uses the local user's name
    user: str(vars, ['ansible_user', 'ansible_ssh_user']) ?? safeUser(),
    connection,
  }
  const set = <K extends keyof ConnectionSpec>(k: K, v: ConnectionSpec[K] | undefined) => {
    if (v !== undefined) spec[k] = v
  }
  set('privateKeyFile', str(vars, ['ansible_ssh_private_key_file', 'ansible_private_key_file']))
  set('password', str(vars, ['ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password']))
  set('commonArgs', str(vars, ['ansible_ssh_common_args']))
  set('extraArgs', str(vars, ['ansible_ssh_extra_args']))
  const become = first(vars, ['ansible_become'])
  if (become !== undefined) spec.become = ansibleBool(become, 'ansible_become')
  set('becomeUser', str(vars, ['ansible_become_user']))
  set('becomeMethod', str(vars, ['ansible_become_method']))
  set('becomePassword', str(vars, ['ansible_become_password', 'ansible_become_pass']))
  return spec
}

function safeUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'root'
  }
}
