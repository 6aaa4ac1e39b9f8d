// Filters and lookups real content uses beyond the core set: random, shuffle, password_hash, and
// the lookups first_found, pipe, lines, varnames, together, nested, subelements, flattened,
// inventory_hostnames, random_choice, fileglob, password, ini, unvault, csvfile, config; the filters
// expanduser, expandvars, realpath, fileglob, strftime, to_datetime, vault, unvault. Each follows
// Ansible 2.14's plugin of the same name (lib/ansible/plugins/{filter,lookup}); a seeded `random` /
// `shuffle` gives CPython's very sequence (pyrandom.ts), where the rare case Python's answer cannot
// be reproduced, the call is refused with that reason rather than answered differently.
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, opendirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { isVaulted, decryptVault, decryptWithSecrets, encryptVault, hasVaultSecrets, recordVaultSecret } from '../vault.js'
import { UnsafeString, VaultString } from '../yamlfile.js'
import { passwordHash } from './crypt.js'
import { LOOKUPS, lookupName, RAW_TERMS, type LookupFn } from './filters.js'
import { PyRandom } from './pyrandom.js'
import { hasKey, isDict, isInt, isNum, isStr, iterate, num, PyError, PyFloat, pyStr, sv, truthy, typeName, Undefined, fail } from './pyvalues.js'
import { strftimeFilter, strptime } from './pytime.js'
import { FILTERS, TESTS, findFile, noteHostFile, resolvePluginName, type CallCtx, type Env } from './runtime.js'
import { configLookup } from './configlookup.js'
import { splitAssignment, splitBeforeKeys, starPieces } from '../text.js'
import { parseKv } from '../kv.js'
import { ownFileName } from '../hostfiles.js'

const str = (v: unknown): string => (isStr(v) ? sv(v) : pyStr(v))

// ---------- filters ----------

/**
 * random.Random(seed) as CPython seeds it (pyrandom.ts): str and int seeds (bool as int); an
 * integral float hashes to its int. Other seeds (a fractional float) are refused rather than
 * answered differently from Ansible.
 */
function seededRandom(name: string, seed: unknown): PyRandom {
  if (typeof seed === 'boolean') return new PyRandom(seed ? 1 : 0)
  if (isStr(seed)) return new PyRandom(sv(seed))
  if (isNum(seed) && Number.isInteger(num(seed))) {
    const n = num(seed)
    // hash(-1.0) is -2 in CPython (-1 is reserved), and a float seed is hashed
    return new PyRandom(seed instanceof PyFloat && n === -1 ? -2 : n)
  }
  if (isNum(seed))
    throw new PyError(`the '${name}' filter with a fractional float seed is not supported by k3sbook (use an int or a str seed)`, 'AnsibleFilterError')
  throw new PyError('The only supported seed types are: None,\nint, float, str, bytes, and bytearray.', 'TypeError')
}

/** A Python sequence for choice(): a list, a str's characters; a dict is indexed by position in Python and fails. */
function sequence(v: unknown): unknown[] {
  if (Array.isArray(v)) return v
  if (isStr(v)) return [...sv(v)]
  if (isDict(v)) throw new PyError('random: choosing from a dict is not supported (Python indexes it by a number and fails)', 'AnsibleFilterError')
  return iterate(v)
}

/** Ansible's rand(environment, end, start=None, step=None, seed=None) (plugins/filter/core.py). */
FILTERS.set('random', (v, a, k) => {
  const start = a.length > 0 ? a[0] : k.start
  const step = a.length > 1 ? a[1] : k.step
  const seed = a.length > 2 ? a[2] : k.seed
  const r = seed === undefined || seed === null ? null : seededRandom('random', seed)
  if (typeof v === 'boolean' || isInt(v)) {
    const end = Number(v)
    const s = truthy(start ?? null) ? num(start) : 0
    const st = truthy(step ?? null) ? num(step) : 1
    if (r) return r.randrange(s, end, st)
    // SystemRandom: the same arithmetic (randrange) over the OS's random numbers
    const width = end - s
    const n = st === 1 ? width : st > 0 ? Math.floor((width + st - 1) / st) : st < 0 ? Math.floor((width + st + 1) / st) : 0
    if (st === 0) throw new PyError('zero step for randrange()', 'ValueError')
    if (n <= 0) throw new PyError(st === 1 ? `empty range for randrange() (${s}, ${end}, ${width})` : 'empty range for randrange()', 'ValueError')
    return s + st * randomInt(n)
  }
  if (Array.isArray(v) || isStr(v) || isDict(v)) {
    if (truthy(start ?? null) || truthy(step ?? null)) throw new PyError('start and step can only be used with integer values', 'AnsibleFilterError')
    const items = sequence(v)
    if (r) return r.choice(items)
    if (!items.length) throw new PyError('Cannot choose from an empty sequence', 'IndexError')
    return items[randomInt(items.length)]
  }
  throw new PyError('random can only be used on sequences and integers', 'AnsibleFilterError')
})

/** Ansible's randomize_list(mylist, seed=None): a truthy seed shuffles as random.Random(seed); any error leaves the list as it is. */
FILTERS.set('shuffle', (v, a, k) => {
  const seed = a.length > 0 ? a[0] : k.seed
  let items: unknown[]
  try {
    items = [...iterate(v)]
  } catch {
    return v
  }
  if (seed !== undefined && truthy(seed)) {
    seededRandom('shuffle', seed).shuffle(items)
    return items
  }
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1)
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
})

/** password_hash: see crypt.ts (Ansible's crypt path: sha512, sha256, md5; without a salt a random one, so not idempotent). */
FILTERS.set('password_hash', (v, a, k) => passwordHash(v, a, k))

// ---- controller paths, as Python's os.path functions on the controller

const pathArg = (name: string, v: unknown): string => {
  if (isStr(v)) return sv(v)
  throw new PyError(`expected str, bytes or os.PathLike object, not ${typeName(v)}`, 'TypeError')
}

/** os.path.expanduser: ~ is $HOME (else the passwd entry), ~name the user's home; an unknown user leaves the path as it is. */
export function expandUser(path: string): string {
  if (!path.startsWith('~')) return path
  let i = path.indexOf('/', 1)
  if (i < 0) i = path.length
  let home: string | undefined
  if (i === 1) home = process.env.HOME ?? passwdHome(null)
  else home = passwdHome(path.slice(1, i))
  if (home === undefined) return path
  home = home.replace(/\/+$/, '')
  return home + path.slice(i) || '/'
}

function passwdHome(user: string | null): string | undefined {
  let text: string
  try {
    text = readFileSync('/etc/passwd', 'utf8')
  } catch {
    return undefined
  }
  const uid = process.getuid?.()
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 7) continue
    if (user === null ? Number(f[2]) === uid : f[0] === user) return f[5]
  }
  return undefined
}

/** os.path.expandvars (posix): $name and ${name} of set variables replaced, others left as written. */
export function expandVars(path: string): string {
  if (!path.includes('$')) return path
  return path.replace(/\$([A-Za-z0-9_]+|\{[^}]*\})/g, (all, name: string) => {
    const n = name.startsWith('{') && name.endsWith('}') ? name.slice(1, -1) : name
    const v = process.env[n]
    return v === undefined ? all : v
  })
}

/** os.path.realpath (not strict): symlinks of the parts that exist resolved, '..' after them, the rest kept. */
export function realPath(path: string, cwd = process.cwd()): string {
  const seen = new Map<string, string | null>()
  const walk = (base: string, rest: string): string => {
    let cur = base
    for (const part of rest.split('/')) {
      if (!part || part === '.') continue
      if (part === '..') {
        cur = cur === '/' ? '/' : cur.slice(0, cur.lastIndexOf('/')) || '/'
        continue
      }
      const next = cur === '/' ? `/${part}` : `${cur}/${part}`
      let link: string | null = null
      try {
        if (lstatSync(next).isSymbolicLink()) link = readlinkSync(next)
      } catch {
        link = null
      }
      if (link === null) {
        cur = next
        continue
      }
      if (seen.has(next)) {
        const done = seen.get(next)
        // a symlink loop: Python keeps the path as it is from there
        cur = done ?? next
        continue
      }
      seen.set(next, null)
      cur = walk(link.startsWith('/') ? '/' : cur, link)
      seen.set(next, cur)
    }
    return cur
  }
  return path.startsWith('/') ? walk('/', path) : walk('/', `${cwd}/${path}`)
}

/**
 * A folder's names in the order the file system keeps them, as Python's os.scandir (and so glob)
 * gives them: readdirSync sorts them (libuv's scandir), which is not the order Ansible loops in.
 */
export function dirOrder(dir: string): string[] {
  const d = opendirSync(dir)
  const names: string[] = []
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) names.push(e.name)
  } finally {
    d.closeSync()
  }
  return names
}

/** Ansible's fileglob filter: glob.glob(pathname) (relative to the controller's folder), regular files only. */
export function globFiles(pattern: string, cwd = process.cwd()): string[] {
  const abs = pattern.startsWith('/')
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0)
  let found: string[] = [abs ? '/' : '']
  for (const [i, part] of parts.entries()) {
    if (i === 0 && abs) continue
    const last = i === parts.length - 1
    const next: string[] = []
    for (const dir of found) {
      const fsDir = dir === '' ? cwd : resolve(cwd, dir)
      if (!/[*?[]/.test(part)) {
        const p = dir === '' ? part : dir.endsWith('/') ? dir + part : `${dir}/${part}`
        if (existsSync(resolve(cwd, p)) || (!last && part === '')) next.push(p)
        continue
      }
      let names: string[]
      try {
        names = dirOrder(fsDir)
      } catch {
        continue
      }
      const re = globRegex(part, part.startsWith('.'))
      for (const n of names) if (re.test(n)) next.push(dir === '' ? n : dir.endsWith('/') ? dir + n : `${dir}/${n}`)
    }
    found = next
  }
  return found.filter((f) => {
    try {
      return statSync(resolve(cwd, f)).isFile()
    } catch {
      return false
    }
  })
}

/**
 * Host data is data: a path made from a managed host's data (a registered result, its facts) may
 * name the playbook's and roles' own files, never another place on the control machine, whose
 * state (which files exist, their names, where links point) would then be handed back to a host,
 * as the file lookups refuse it (filters.ts refuseHostTerms).
 */
function controllerPath(plugin: string, path: string, ctx: CallCtx): string {
  if (!ctx.hostArgs) return path
  const abs = resolve(process.cwd(), path)
  if (!ownFileName(abs, ctx.frame.env.lookupOpts.searchPath ?? []))
    throw new PyError(
      `${plugin}: its argument is made from host data (a result registered on a managed host, its facts, or a file fetched from it), and names a path on the control machine outside the playbook's folders ("${path}"): host data may only choose among the playbook's and roles' own files`,
      'AnsibleError',
    )
  return path
}

/** expanduser/expandvars of host data: refused only where the control machine's home or environment would go into the result. */
function controllerExpands(plugin: string, path: string, ctx: CallCtx, expands: boolean): string {
  if (ctx.hostArgs && expands)
    throw new PyError(
      `${plugin}: its argument is made from host data (a result registered on a managed host, its facts, or a file fetched from it) ("${path}"), and k3sbook never lets host data choose what the control machine reveals`,
      'AnsibleError',
    )
  return path
}

FILTERS.set('expanduser', (v, _a, _k, ctx) => {
  const path = pathArg('expanduser', v)
  return expandUser(controllerExpands('expanduser', path, ctx, path.startsWith('~')))
})
FILTERS.set('expandvars', (v, _a, _k, ctx) => {
  const path = pathArg('expandvars', v)
  return expandVars(controllerExpands('expandvars', path, ctx, path.includes('$')))
})
FILTERS.set('realpath', (v, _a, _k, ctx) => realPath(controllerPath('realpath', pathArg('realpath', v), ctx)))
FILTERS.set('fileglob', (v, _a, _k, ctx) => globFiles(controllerPath('fileglob', pathArg('fileglob', v), ctx)))

// ---- Ansible's file tests (plugins/test/files.py): Python's os.path functions on the control
// machine, a relative path from its working folder. An error of the file system is False, as in
// os.path; a path that is not text is Python's TypeError.

const statArg = (v: unknown): string => {
  if (isStr(v)) return sv(v)
  // an int is a file descriptor to os.stat: of the control machine's process, not followed here
  throw new PyError(`stat: path should be string, bytes, os.PathLike or integer, not ${typeName(v)}`, 'TypeError')
}
function fsTest(names: string[], test: (path: string) => boolean): void {
  for (const name of names)
    TESTS.set(name, (v, _a, _k, ctx) => {
      const path = controllerPath(`the '${name}' test`, statArg(v), ctx)
      // os.stat('') is ENOENT, where resolve() would give the working folder
      if (path === '') return false
      try {
        return test(resolve(process.cwd(), path))
      } catch {
        return false
      }
    })
}
const st = (p: string) => statSync(p, { throwIfNoEntry: false })
const lst = (p: string) => lstatSync(p, { throwIfNoEntry: false })
fsTest(['directory', 'is_dir'], (p) => st(p)?.isDirectory() === true)
fsTest(['file', 'is_file'], (p) => st(p)?.isFile() === true)
fsTest(['link', 'is_link'], (p) => lst(p)?.isSymbolicLink() === true)
fsTest(['exists'], (p) => st(p) !== undefined)
fsTest(['link_exists'], (p) => lst(p) !== undefined)
/** posixpath.ismount: not a link, and on another device than its parent or the same inode (the root). */
fsTest(['mount', 'is_mount'], (p) => {
  const s = lst(p)
  if (!s || s.isSymbolicLink()) return false
  const parent = lst(join(p, '..'))
  if (!parent) return false
  return s.dev !== parent.dev || s.ino === parent.ino
})
/** posixpath.isabs: text only, no file system. */
for (const name of ['abs', 'is_abs']) TESTS.set(name, (v) => statArg(v).startsWith('/'))
/** os.path.samefile: both stat'ed (links followed); a missing one is Python's FileNotFoundError. */
for (const name of ['same_file', 'is_same_file'])
  TESTS.set(name, (v, a, k, ctx) => {
    const other = a.length ? a[0] : k.f2
    const paths = [v, other].map((x) => controllerPath(`the '${name}' test`, statArg(x), ctx))
    const stats = paths.map((x) => {
      try {
        if (x === '') throw Object.assign(new Error('empty path'), { code: 'ENOENT' })
        return statSync(resolve(process.cwd(), x))
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        const errno = code === 'ENOENT' ? 2 : code === 'EACCES' ? 13 : code === 'ENOTDIR' ? 20 : 0
        const what =
          code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'ENOTDIR' ? 'Not a directory' : String(code)
        throw new PyError(`[Errno ${errno}] ${what}: '${x}'`, code === 'ENOENT' ? 'FileNotFoundError' : code === 'EACCES' ? 'PermissionError' : 'OSError')
      }
    })
    return stats[0].dev === stats[1].dev && stats[0].ino === stats[1].ino
  })

// ---- time

FILTERS.set('strftime', (v, a, k) => strftimeFilter(v, a.length > 0 ? a[0] : k.second, truthy(a.length > 1 ? a[1] : (k.utc ?? false))))
FILTERS.set('to_datetime', (v, a, k) => strptime(v, a.length > 0 ? a[0] : (k.format ?? '%Y-%m-%d %H:%M:%S')))

// ---- vault (plugins/filter/encryption.py)

const isText = (v: unknown) => isStr(v)

/** vault(data, secret, salt=None, vaultid='filter_default', wrap_object=False) */
FILTERS.set('vault', (v, a, k) => {
  const secret = a.length > 0 ? a[0] : k.secret
  const salt = a.length > 1 ? a[1] : k.salt
  const vaultid = a.length > 2 ? a[2] : (k.vaultid ?? 'filter_default')
  const wrap = a.length > 3 ? a[3] : (k.wrap_object ?? false)
  if (!isText(secret)) throw new PyError(`Secret passed is required to be a string, instead we got: <class '${typeName(secret)}'>`, 'AnsibleFilterTypeError')
  if (!isText(v)) throw new PyError(`Can only vault strings, instead we got: <class '${typeName(v)}'>`, 'AnsibleFilterTypeError')
  const id = str(vaultid ?? 'filter_default')
  let text = encryptVault(sv(v), sv(secret), salt === undefined || salt === null ? undefined : Buffer.from(str(salt), 'utf8'))
  // VaultLib.encrypt: format 1.2 with the vault id unless the id is 'default'
  if (id && id !== 'default') text = text.replace(/^\$ANSIBLE_VAULT;1\.1;AES256/, `$ANSIBLE_VAULT;1.2;AES256;${id}`)
  return truthy(wrap) ? new VaultString(text) : text
})

/** unvault(vault, secret, vaultid='filter_default'): the plain text, which is a secret from then on. */
FILTERS.set('unvault', (v, a, k) => {
  const secret = a.length > 0 ? a[0] : k.secret
  if (!isText(secret)) throw new PyError(`Secret passed is required to be as string, instead we got: <class '${typeName(secret)}'>`, 'AnsibleFilterTypeError')
  if (!isText(v) && !(v instanceof VaultString))
    throw new PyError(`Vault should be in the form of a string, instead we got: <class '${typeName(v)}'>`, 'AnsibleFilterTypeError')
  const text = v instanceof VaultString ? v.ciphertext : sv(v)
  if (!(v instanceof VaultString) && !isVaulted(text)) return text
  let plain: string
  try {
    plain = decryptVault(text, sv(secret))
  } catch (e) {
    const m = (e as Error).message
    throw new PyError(
      `Unable to decrypt: ${/HMAC|password/.test(m) ? 'Decryption failed (no vault secrets were found that could decrypt)' : m}`,
      'AnsibleFilterError',
    )
  }
  recordVaultSecret(plain)
  return plain
})

// ---------- lookups ----------

const L = (name: string, fn: LookupFn, raw = true) => {
  LOOKUPS[name] = fn
  if (raw) RAW_TERMS.add(name)
}

function flat(terms: unknown[]): unknown[] {
  const out: unknown[] = []
  for (const t of terms) {
    if (Array.isArray(t)) out.push(...flat(t))
    else out.push(t)
  }
  return out
}

/** The controller folder a command runs in: the playbook's (Ansible: the loader's basedir). */
function baseDir(env: Env): string {
  const sp = env.lookupOpts.searchPath ?? []
  return sp[sp.length - 1] ?? process.cwd()
}

/**
 * Only a playbook's own tasks may run commands (or write files) on the controller: a template
 * rendered without a playbook's folders (the sandbox: inventories, bare renders) may not. And host
 * data never runs there, nor names a file there: once the render has read host data (a registered
 * result, a fact, or a value computed from them — the engine computes on plain strings, so the
 * render's taint says it, not the term), the lookup is refused.
 */
function controllerOnly(name: string, env: Env): void {
  if (!env.lookupOpts.searchPath?.length)
    throw new PyError(
      `lookup plugin '${name}' is not supported by k3sbook templates outside a playbook's tasks (running commands on the controller from a template is refused here)`,
      'AnsibleError',
    )
  if (env.taint.host || env.lookupOpts.hostTerms)
    throw new PyError(
      `lookup('${name}'): this template has read host data (a result registered on a managed host, its facts, or a file fetched from it), and k3sbook never runs host data on the controller nor lets it name a file there`,
      'AnsibleError',
    )
}

function controllerCommand(name: string, t: unknown): string {
  if (t instanceof UnsafeString)
    throw new PyError(`lookup('${name}'): the command comes from a host (unsafe data) and is not run on the controller`, 'AnsibleError')
  return str(t)
}

function runCommand(name: string, cmd: string, env: Env): string {
  // Ansible runs it with the shell and waits for it; so does this (bounded: a template must not hang a run)
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd: baseDir(env), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })
  if (r.error) throw new PyError(`lookup('${name}'): ${r.error.message}`, 'AnsibleError')
  if (r.status !== 0) throw new PyError(`lookup_plugin.${name}(${cmd}) returned ${r.status}`, 'AnsibleError')
  return r.stdout
}

L(
  'pipe',
  (terms, _k, { frame }) =>
    (controllerOnly('pipe', frame.env), terms).map((t) => runCommand('pipe', controllerCommand('pipe', t), frame.env).replace(/\n$/, '')),
  false,
)
L(
  'lines',
  (terms, _k, { frame }) =>
    (controllerOnly('lines', frame.env), terms).flatMap((t) =>
      runCommand('lines', controllerCommand('lines', t), frame.env)
        .split(/\r?\n/)
        .filter((l, i, all) => i < all.length - 1 || l !== ''),
    ),
  false,
)

L(
  'varnames',
  (terms, _k, { frame }) => {
    const names = Object.keys(frame.env.vars)
    const out: string[] = []
    for (const t of terms) {
      if (!isStr(t)) throw new PyError(`Invalid setting identifier, "${pyStr(t)}" is not a string, it is a <class '${typeName(t)}'>`, 'AnsibleError')
      const re = pyRegex(sv(t))
      for (const n of names) if (re.test(n)) out.push(n)
    }
    return out
  },
  false,
)

function pyRegex(p: string): RegExp {
  try {
    return new RegExp(p)
  } catch (e) {
    // Python's re words it "nothing to repeat at position 0"; JS: "Invalid regular expression: /*/: Nothing to repeat"
    const m = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '')
    throw new PyError(`Unable to use "${p}" as a search parameter: ${m.charAt(0).toLowerCase() + m.slice(1)}`, 'AnsibleError')
  }
}

L('together', (terms) => {
  if (!terms.length) throw new PyError('with_together requires at least one element in each list', 'AnsibleError')
  const lists = terms.map((t) => (Array.isArray(t) ? t : [t]))
  const n = Math.max(...lists.map((l) => l.length))
  return Array.from({ length: n }, (_, i) => lists.map((l) => (i < l.length ? l[i] : null)))
})

L('nested', (terms) => {
  if (!terms.length) throw new PyError('with_nested requires at least one element in the nested list', 'AnsibleError')
  const lists = terms.map((t) => (Array.isArray(t) ? t : [t]))
  let acc: unknown[][] = lists[0].map((x) => [x])
  for (const l of lists.slice(1)) acc = acc.flatMap((a) => l.map((x) => [...a, x]))
  return acc.map((x) => flat(x))
})
L('cartesian', LOOKUPS.nested)

L('flattened', (terms) => flat(terms).filter((x) => !(isStr(x) && (sv(x) === 'None' || sv(x) === 'null'))))

L('random_choice', (terms) => (terms.length ? [terms[randomInt(terms.length)]] : []), false)

// Ansible's subelements lookup, step by step (its skip_missing goes on to the next subkey, and the
// list is taken out of the first element, which the items then carry without it)
L('subelements', (terms) => {
  const termsError = (msg = '') => new PyError('subelements lookup expects a list of two or three items, ' + msg, 'AnsibleError')
  if (terms.length < 2 || terms.length > 3) throw termsError()
  const key = terms[1]
  // listify_lookup_plugin_terms: a string or a scalar first term is a list of one
  const list = isDict(terms[0]) || Array.isArray(terms[0]) ? terms[0] : [terms[0]]
  if (!(isDict(list) || Array.isArray(list)) || !isStr(key)) throw termsError('first a dict or a list, second a string pointing to the subkey')
  const subelements = sv(key).split('.')
  let elements: unknown[]
  if (isDict(list)) {
    if (hasKey(list, 'skipped') && list.skipped !== false) return []
    elements = Object.values(list)
  } else elements = list
  const flags = terms.length === 3 ? terms[2] : {}
  if (!isDict(flags)) throw termsError("the optional third item must be a dict with flags ['skip_missing']")
  const skipMissing = truthy(flags.skip_missing ?? false)
  const out: unknown[] = []
  for (const el of elements) {
    if (!isDict(el)) throw new PyError(`subelements lookup expects a dictionary, got '${pyStr(el)}'`, 'AnsibleError')
    if (hasKey(el, 'skipped') && el.skipped !== false) continue
    const item0: Record<string, unknown> = { ...el }
    let sub: Record<string, unknown> = item0
    let sublist: unknown[] = []
    for (const [i, sk] of subelements.entries()) {
      const last = i === subelements.length - 1
      if (!hasKey(sub, sk)) {
        if (skipMissing) continue
        throw new PyError(`could not find '${sk}' key in iterated item '${pyStr(sub)}'`, 'AnsibleError')
      }
      if (!last) {
        if (!isDict(sub[sk])) {
          if (skipMissing) continue
          throw new PyError(`the key ${sk} should point to a dictionary, got '${pyStr(sub[sk])}'`, 'AnsibleError')
        }
        sub[sk] = { ...(sub[sk] as Record<string, unknown>) }
        sub = sub[sk] as Record<string, unknown>
      } else {
        if (!Array.isArray(sub[sk])) throw new PyError(`the key ${sk} should point to a list, got '${pyStr(sub[sk])}'`, 'AnsibleError')
        sublist = sub[sk] as unknown[]
        delete sub[sk]
      }
    }
    for (const x of sublist) out.push([item0, x])
  }
  return out
})

L('first_found', (terms, k, { frame }) => {
  const env = frame.env
  let skip = truthy(k.skip ?? false)
  const files: string[] = []
  const paths: string[] = []
  const split = (v: unknown): string[] =>
    flat(Array.isArray(v) ? v : [v])
      .flatMap((x) => str(x).split(/[,;]/))
      .map((s) => s.trim())
      .filter(Boolean)
  // paths also split on ':' (Ansible's _split_on(paths, ',:;'))
  const splitPaths = (v: unknown): string[] => split(v).flatMap((x) => x.split(':').filter(Boolean))
  for (const t of flat(terms)) {
    if (isDict(t)) {
      const f = split(t.files ?? [])
      const p = splitPaths(t.paths ?? [])
      if (truthy(t.skip ?? false)) skip = true
      if (p.length) for (const path of p) for (const file of f) files.push(join(path, file))
      else files.push(...f)
    } else files.push(str(t))
  }
  if (k.files !== undefined || k.paths !== undefined) {
    const f = split(k.files ?? [])
    for (const p of splitPaths(k.paths ?? [])) paths.push(p)
    if (paths.length) for (const p of paths) for (const file of f) files.push(join(p, file))
    else files.push(...f)
  }
  for (const f of files) {
    const found = isAbsolute(f) ? (existsSync(f) ? f : null) : findFile(env, f, env.lookupOpts.loopSubdir ?? 'files', true)
    if (found) return [found]
  }
  if (skip) return []
  throw new PyError('No file was found when using first_found.', 'AnsibleLookupError')
})

L(
  'fileglob',
  (terms, _k, { frame }) => {
    const out: string[] = []
    for (const t of terms) {
      const term = str(t)
      const dir = dirname(term)
      const base = term.slice(dir === '.' && !term.startsWith('./') ? 0 : dir.length + 1)
      const roots = isAbsolute(term) ? [dir] : (frame.env.lookupOpts.searchPath ?? []).flatMap((d) => [join(d, 'files', dir), join(d, dir)])
      const re = globRegex(base)
      for (const root of roots) {
        let names: string[]
        try {
          names = dirOrder(root)
        } catch {
          continue
        }
        const hits = names.filter((n) => re.test(n) && statSync(join(root, n)).isFile()).map((n) => resolve(root, n))
        if (hits.length) {
          out.push(...hits)
          break
        }
      }
    }
    return out
  },
  false,
)

/** Python fnmatch: * ? [seq] [!seq]; a leading dot is matched by wildcards too (glob hides dotfiles). */
function globRegex(p: string, dotted = false): RegExp {
  const pieces: string[] = []
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '*') {
      pieces.push(re)
      re = ''
    } else if (c === '?') re += '.'
    else if (c === '[') {
      const j = p.indexOf(']', i + 2)
      if (j < 0) re += '\\['
      else {
        let set = p.slice(i + 1, j).replace(/\\/g, '\\\\')
        if (set.startsWith('!')) set = '^' + set.slice(1)
        re += `[${set}]`
        i = j
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  // the stars matched atomically: `.*` for each backtracked in O(name^stars)
  return new RegExp(`^${dotted ? '' : '(?!\\.)'}(?:${starPieces([...pieces, re])})$`, 's')
}

L(
  'inventory_hostnames',
  (terms, _k, { frame }) => {
    const groups = frame.env.hooks.templateVar('groups', frame.env.vars.groups, frame.env) as Record<string, string[]> | undefined
    if (!isDict(groups)) return []
    const all = (groups.all as string[]) ?? []
    const match = (pat: string): string[] => {
      if (pat === 'all' || pat === '*') return all
      if (hasKey(groups, pat)) return groups[pat] as string[]
      if (pat.startsWith('~')) {
        const re = new RegExp(pat.slice(1))
        return all.filter((h) => re.test(h))
      }
      if (/[*?[]/.test(pat)) {
        const re = globRegex(pat)
        const gs = Object.keys(groups)
          .filter((g) => re.test(g))
          .flatMap((g) => groups[g] as string[])
        return [...new Set([...gs, ...all.filter((h) => re.test(h))])]
      }
      return all.includes(pat) ? [pat] : []
    }
    let hosts: string[] = []
    for (const t of terms) {
      for (const part of str(t)
        .split(/[:,]/)
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (part.startsWith('!')) hosts = hosts.filter((h) => !match(part.slice(1)).includes(h))
        else if (part.startsWith('&')) hosts = hosts.filter((h) => match(part.slice(1)).includes(h))
        else hosts = [...hosts, ...match(part).filter((h) => !hosts.includes(h))]
      }
    }
    return all.filter((h) => hosts.includes(h))
  },
  false,
)

/** `path key=value ...` terms (password, ini). */
function termParams(t: string): { first: string; params: Record<string, string> } {
  const parts = splitBeforeKeys(t.trim())
  const params: Record<string, string> = {}
  for (const p of parts.slice(1)) {
    const i = p.indexOf('=')
    params[p.slice(0, i)] = p.slice(i + 1)
  }
  return { first: parts[0] ?? '', params }
}

const CHARSETS: Record<string, string> = {
  ascii_letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ascii_lowercase: 'abcdefghijklmnopqrstuvwxyz',
  ascii_uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hexdigits: '0123456789abcdefABCDEF',
  octdigits: '01234567',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
}

/** password: the file's password when it exists, else a new random one written there (as Ansible). */
L(
  'password',
  (terms, k, { frame }) =>
    (controllerOnly('password', frame.env), terms).map((t) => {
      const { first, params } = termParams(str(t))
      const opt = (n: string) => params[n] ?? (k[n] !== undefined ? str(k[n]) : undefined)
      const length = Number(opt('length') ?? 20)
      const chars =
        (opt('chars') ?? 'ascii_letters,digits,.,:-_')
          .split(/,(?!,)/)
          .map((c) => CHARSETS[c] ?? c)
          .join('') || CHARSETS.ascii_letters
      const path = isAbsolute(first) ? first : join(baseDir(frame.env), first)
      if (first !== '/dev/null' && existsSync(path)) {
        const content = readFileSync(path, 'utf8').trimEnd()
        return content.replace(/ salt=\S*$/, '')
      }
      const pw = Array.from({ length }, () => chars[randomInt(chars.length)]).join('')
      if (first !== '/dev/null') {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, pw + '\n', { mode: 0o600 })
      }
      recordVaultSecret(pw)
      return pw
    }),
  false,
)

/** ini: `key section=S file=F default=D re=False type=ini|properties`. */
L(
  'ini',
  (terms, k, { frame }) =>
    terms.map((t) => {
      const { first: key, params } = termParams(str(t))
      const opt = (n: string, d: string) => params[n] ?? (k[n] !== undefined ? str(k[n]) : d)
      const file = findFile(frame.env, opt('file', 'ansible.ini'), 'files')!
      noteHostFile(frame.env, file)
      const text = readFileSync(file, opt('encoding', 'utf-8') as BufferEncoding)
      const type = opt('type', 'ini')
      const section = type === 'properties' ? 'java_properties' : opt('section', 'global')
      const entries = new Map<string, string>()
      let cur = type === 'properties' ? 'java_properties' : ''
      for (const raw of text.split(/\r?\n/)) {
        const line = raw.trim()
        if (!line || line.startsWith('#') || line.startsWith(';')) continue
        const sec = /^\[(.+)\]$/.exec(line)
        if (sec && type !== 'properties') {
          cur = sec[1]
          continue
        }
        if (cur !== section) continue
        const m = splitAssignment(line)
        if (m) entries.set(type === 'properties' ? m[0] : m[0].toLowerCase(), m[1])
      }
      if (truthy(opt('re', 'False') === 'True' || opt('re', 'False') === 'true')) {
        const re = new RegExp(key)
        return [...entries].filter(([n]) => re.test(n)).map(([, v]) => v)
      }
      const v = entries.get(type === 'properties' ? key : key.toLowerCase())
      return v === undefined ? (params.default ?? (k.default !== undefined ? k.default : '')) : v
    }),
  false,
)

/** unvault: a (vaulted) file's content, decrypted with the run's vault password; the result is secret. */
L(
  'unvault',
  (terms, _k, { frame }) =>
    terms.map((t) => {
      const file = findFile(frame.env, str(t), 'files')!
      noteHostFile(frame.env, file)
      const text = readFileSync(file, 'utf8')
      if (!isVaulted(text)) return text
      if (!hasVaultSecrets()) throw new PyError(`lookup('unvault'): ${str(t)} is vaulted and no vault password was given`, 'AnsibleError')
      const plain = decryptWithSecrets(text)
      recordVaultSecret(plain)
      return plain
    }),
  false,
)

/** Python's csv.reader (excel dialect, strict off) over a whole text: rows of fields. */
export function pyCsvRows(text: string, delimiter: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  type State = 'record' | 'field' | 'in' | 'quoted' | 'quote' | 'eol'
  let st: State = 'record'
  const endField = () => {
    row.push(field)
    field = ''
  }
  const endRow = () => {
    rows.push(row)
    row = []
  }
  for (const c of text) {
    const nl = c === '\n' || c === '\r'
    switch (st) {
      case 'eol':
      case 'record':
      case 'field':
        if (nl && st !== 'field') {
          if (st === 'record') endRow() // an empty line: an empty row
          st = c === '\r' ? 'eol' : 'record'
          continue
        }
        if (nl) {
          endField()
          endRow()
          st = c === '\r' ? 'eol' : 'record'
        } else if (c === '"') st = 'quoted'
        else if (c === delimiter) {
          endField()
          st = 'field'
        } else {
          field += c
          st = 'in'
        }
        break
      case 'in':
        if (nl) {
          endField()
          endRow()
          st = c === '\r' ? 'eol' : 'record'
        } else if (c === delimiter) {
          endField()
          st = 'field'
        } else field += c
        break
      case 'quoted':
        if (c === '"') st = 'quote'
        else field += c
        break
      case 'quote':
        if (c === '"') {
          field += c
          st = 'quoted'
        } else if (c === delimiter) {
          endField()
          st = 'field'
        } else if (nl) {
          endField()
          endRow()
          st = c === '\r' ? 'eol' : 'record'
        } else {
          field += c
          st = 'in'
        }
        break
    }
  }
  if (st !== 'record' && st !== 'eol') {
    endField()
    endRow()
  }
  return rows
}

const CSV_OPTIONS = ['col', 'default', 'delimiter', 'file', 'encoding']

/** csvfile: `key [file=F delimiter=D col=N default=X encoding=E]`: column N of the first row whose first field is key. */
L(
  'csvfile',
  (terms, k, { frame }) => {
    const out: unknown[] = []
    for (const o of Object.keys(k)) if (!CSV_OPTIONS.includes(o)) throw new PyError(`Invalid option "${o}" for lookup csvfile`, 'AnsibleError')
    for (const t of terms) {
      const kv = parseKv(str(t))
      if (kv._raw_params === undefined) throw new PyError('Search key is required but was not found', 'AnsibleError')
      const key = kv._raw_params
      const opt: Record<string, unknown> = { col: '1', default: null, delimiter: 'TAB', file: 'ansible.csv', encoding: 'utf-8' }
      for (const [n, v] of Object.entries(k)) opt[n] = v
      for (const [n, v] of Object.entries(kv)) {
        if (n === '_raw_params') continue
        if (!CSV_OPTIONS.includes(n)) throw new PyError(`${n} is not a valid option`, 'AnsibleError')
        opt[n] = v
      }
      let delimiter = str(opt.delimiter)
      if (delimiter === 'TAB') delimiter = '\t'
      const file = findFile(frame.env, str(opt.file), 'files', true)
      let value: unknown = opt.default
      try {
        if (file === null) throw new Error(`[Errno 2] No such file or directory: b'None'`)
        if (delimiter.length !== 1) throw new Error('"delimiter" must be a 1-character string')
        const encoding = str(opt.encoding).toLowerCase().replace(/_/g, '-')
        noteHostFile(frame.env, file)
        const text = readFileSync(
          file,
          ['utf-8', 'utf8', 'ascii', 'latin-1', 'latin1'].includes(encoding) ? (encoding.replace('-', '') as BufferEncoding) : 'utf8',
        )
        for (const row of pyCsvRows(text, delimiter)) {
          if (row.length && row[0] === key) {
            const col = Number(str(opt.col).trim())
            if (!Number.isInteger(col)) throw new Error(`invalid literal for int() with base 10: '${str(opt.col)}'`)
            const v = col < 0 ? row[row.length + col] : row[col]
            if (v === undefined) throw new Error('list index out of range')
            value = v
            break
          }
        }
      } catch (e) {
        throw new PyError(`csvfile: ${(e as Error).message}`, 'AnsibleError')
      }
      if (value !== null && value !== undefined) {
        if (Array.isArray(value)) out.push(...value)
        else out.push(value)
      }
    }
    return out
  },
  false,
)

/** config: an Ansible setting's value, as the controller's ansible-core resolves it (see configlookup.ts). */
L('config', configLookup, false)

/** Does k3sbook's template engine have this lookup (`with_NAME`, `lookup('NAME')`)? */
export { lookupName }

export function hasLookup(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(LOOKUPS, lookupName(name))
}

/** Does k3sbook's template engine have this filter (a bare name or an FQCN it maps)? validate refuses the others up front. */
export function hasFilter(name: string): boolean {
  return FILTERS.has(resolvePluginName(name))
}
