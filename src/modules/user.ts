// user: a local account present with the given uid, group, groups, home, shell, comment and
// password hash, or absent. One probe reads `getent passwd`, `getent shadow` and `getent group`;
// pure helpers decide the useradd/usermod arguments, so only what differs is changed.
import { shQuote } from '../connection/quote.js'
import type { Module, Step } from './types.js'
import {
  alias,
  ArgError,
  bool,
  choice,
  guardPlan,
  int,
  num,
  moduleSchema,
  pick,
  requireOneOf,
  sections,
  str,
  strList,
  toBool,
  toInt,
  toList,
  effectKey,
  defineModule,
} from './lib/index.js'
import { parseGroups, type GroupEntry } from './group.js'

const name = str('Login name.')

export const userSchema = moduleSchema(
  {
    name,
    user: alias('name', name),
    state: choice(['present', 'absent'], 'Default: present.'),
    uid: int('User id.'),
    non_unique: bool('Allow a uid that another user has (`-o`).'),
    group: str('Primary group (name or gid).'),
    groups: strList('Supplementary groups. Replaces the current list unless `append`; an empty list removes them all.'),
    append: bool("Add `groups` to the user's groups instead of replacing them."),
    comment: str('GECOS field (full name).'),
    home: str('Home directory.'),
    shell: str('Login shell.'),
    password: str('Hashed password (as in /etc/shadow), never a clear-text one.'),
    update_password: choice(['always', 'on_create'], '`on_create` sets the password only for a new user. Default: always.'),
    password_lock: bool('Lock (true) or unlock (false) the password.'),
    create_home: bool('Create the home directory for a new user. Default true.'),
    createhome: alias('create_home', bool('')),
    move_home: bool("Move the home directory's content when `home` changes."),
    skeleton: str('Skeleton directory for a new home (`-k`).'),
    system: bool('Create a system account (only when creating).'),
    expires: num('Account expiry as epoch seconds; -1 removes the expiry.'),
    password_expire_min: int('Minimum days between password changes (`chage -m`).'),
    password_expire_max: int('Maximum days a password stays valid (`chage -M`).'),
    password_expire_warn: int("Days of warning before the password expires (`chage -W`; ansible-core 2.16's option, which 2.14 refuses)."),
    force: bool('With state=absent: remove even while logged in (`userdel -f`).'),
    remove: bool('With state=absent: remove the home directory and mail spool (`userdel -r`).'),
    local: bool('Accepted for compatibility (local tools are always used).'),
    umask: str('Accepted for compatibility.'),
  },
  requireOneOf('name', 'user'),
)

export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  comment: string
  home: string
  shell: string
}

export function parsePasswd(line: string): PasswdEntry | undefined {
  const f = line.trim().split(':')
  if (f.length < 7 || !f[0]) return undefined
  return { name: f[0], uid: Number(f[2]), gid: Number(f[3]), comment: f[4], home: f[5], shell: f[6] }
}

export interface ShadowEntry {
  hash: string
  /** Days since the epoch; undefined: never expires. */
  expireDays?: number
  /** Password ageing (shadow's fields 4–6): minimum and maximum age, warning days; undefined when empty. */
  minDays?: number
  maxDays?: number
  warnDays?: number
}

export function parseShadow(line: string): ShadowEntry | undefined {
  const f = line.trim().split(':')
  if (f.length < 2 || !f[0]) return undefined
  const day = (s: string | undefined) => (s ? Number(s) : undefined)
  return { hash: f[1], expireDays: day(f[7]), minDays: day(f[3]), maxDays: day(f[4]), warnDays: day(f[5]) }
}

export interface Ageing {
  min?: number
  max?: number
  warn?: number
}

/**
 * chage arguments for the password ageing that differs (Ansible's set_password_expire: each given
 * value compared with the shadow entry; a user being created is compared with nothing).
 */
export function chageArgs(w: Ageing, shadow: ShadowEntry | undefined): { args: string[]; summary: string[] } {
  const a: string[] = []
  const s: string[] = []
  const one = (want: number | undefined, have: number | undefined, flag: string, what: string) => {
    if (want === undefined || (shadow && have === want)) return
    a.push(flag, String(want))
    s.push(`${what} ${want} days`)
  }
  one(w.min, shadow?.minDays, '-m', 'password minimum age')
  one(w.max, shadow?.maxDays, '-M', 'password maximum age')
  one(w.warn, shadow?.warnDays, '-W', 'password warning')
  return { args: a, summary: s }
}

export interface UserWant {
  name: string
  uid?: number
  nonUnique: boolean
  /** Primary group, resolved to a gid (undefined: not managed). */
  gid?: number
  group?: string
  /** undefined: not managed; [] with append=false: none. */
  groups?: string[]
  append: boolean
  comment?: string
  home?: string
  shell?: string
  password?: string
  updatePassword: 'always' | 'on_create'
  passwordLock?: boolean
  createHome: boolean
  moveHome: boolean
  skeleton?: string
  system: boolean
  /** Epoch seconds; negative removes the expiry. */
  expires?: number
}

/** Names of the groups that list the user as a member (what `usermod -G` sets). */
export function memberOf(groups: Map<string, GroupEntry>, user: string): string[] {
  return [...groups.values()].filter((g) => g.members.includes(user)).map((g) => g.name)
}

/** Stands for the password hash in argv: the script reads it from the environment, so it never shows in logs or errors. */
export const PASSWORD_ARG = '\u0000password'

function script(argv: string[]): string {
  return argv.map((a) => (a === PASSWORD_ARG ? '"$K3SBOOK_PW"' : a === `!${PASSWORD_ARG}` ? '"!$K3SBOOK_PW"' : shQuote(a))).join(' ')
}

const isoDay = (epochSeconds: number) => new Date(Math.floor(epochSeconds / 86400) * 86400 * 1000).toISOString().slice(0, 10)

/** useradd arguments for a new account (Ansible's order and choices, e.g. `-N` when a same-named group exists). */
export function useraddArgs(w: UserWant, groupNamedAsUserExists: boolean): string[] {
  const a = ['useradd']
  if (w.uid !== undefined) a.push('-u', String(w.uid), ...(w.nonUnique ? ['-o'] : []))
  if (w.group !== undefined) a.push('-g', w.group)
  else if (groupNamedAsUserExists) a.push('-N')
  if (w.groups && w.groups.length) a.push('-G', w.groups.join(','))
  if (w.comment !== undefined) a.push('-c', w.comment)
  if (w.home !== undefined) a.push('-d', w.home)
  if (w.shell !== undefined) a.push('-s', w.shell)
  if (w.expires !== undefined) a.push('-e', w.expires < 0 ? '' : isoDay(w.expires))
  if (w.password !== undefined) a.push('-p', w.passwordLock ? `!${PASSWORD_ARG}` : PASSWORD_ARG)
  if (w.createHome) a.push('-m', ...(w.skeleton !== undefined ? ['-k', w.skeleton] : []))
  else a.push('-M')
  if (w.system) a.push('-r')
  a.push(w.name)
  return a
}

/**
 * Ansible's "handle missing homedirs": an existing user whose home does not exist gets one when
 * create_home (the default) — the skeleton copied (symlinks kept), else an empty folder; its mode from
 * login.defs' UMASK; then owned by the user (numbers read after usermod). Nothing if it exists by then.
 */
export function makeHomeScript(name: string, home: string, skeleton = '/etc/skel'): string {
  const h = shQuote(home)
  const k = shQuote(skeleton)
  return [
    `[ -e ${h} ] && exit 0`,
    `if [ -d ${k} ]; then cp -a ${k} ${h}; else mkdir -p ${h}; fi`,
    String.raw`m=$(sed -n 's/^UMASK[[:space:]][[:space:]]*\([0-7][0-7]*\)$/\1/p' /etc/login.defs 2>/dev/null | tail -n 1)`,
    `if [ -n "$m" ]; then chmod "$(printf '%o' $((0777 & ~0$m)))" ${h}; fi`,
    `chown -R "$(id -u ${shQuote(name)}):$(id -g ${shQuote(name)})" ${h}`,
  ].join('\n')
}

/** usermod arguments for what differs (empty: nothing to do), with a summary per difference. */
export function usermodArgs(w: UserWant, cur: PasswdEntry, shadow: ShadowEntry | undefined, member: string[]): { args: string[]; summary: string[] } {
  const a: string[] = []
  const s: string[] = []
  if (w.uid !== undefined && cur.uid !== w.uid) (a.push('-u', String(w.uid), ...(w.nonUnique ? ['-o'] : [])), s.push(`uid ${cur.uid} → ${w.uid}`))
  if (w.gid !== undefined && cur.gid !== w.gid) (a.push('-g', String(w.gid)), s.push(`primary group ${cur.gid} → ${w.gid}`))
  if (w.groups !== undefined) {
    const want = new Set(w.groups)
    const have = new Set(member)
    if (w.append) {
      const add = [...want].filter((g) => !have.has(g))
      if (add.length) (a.push('-a', '-G', [...want].join(',')), s.push(`add to groups ${add.join(',')}`))
    } else if ([...want].some((g) => !have.has(g)) || [...have].some((g) => !want.has(g))) {
      ;(a.push('-G', [...want].join(',')), s.push(`groups ${[...have].sort().join(',') || '(none)'} → ${[...want].sort().join(',') || '(none)'}`))
    }
  }
  if (w.comment !== undefined && cur.comment !== w.comment) (a.push('-c', w.comment), s.push(`comment "${cur.comment}" → "${w.comment}"`))
  if (w.home !== undefined && cur.home !== w.home) (a.push('-d', w.home, ...(w.moveHome ? ['-m'] : [])), s.push(`home ${cur.home} → ${w.home}`))
  if (w.shell !== undefined && cur.shell !== w.shell) (a.push('-s', w.shell), s.push(`shell ${cur.shell} → ${w.shell}`))
  if (w.expires !== undefined) {
    const days = w.expires < 0 ? undefined : Math.floor(w.expires / 86400)
    if ((shadow?.expireDays ?? undefined) !== days)
      (a.push('-e', days === undefined ? '' : isoDay(w.expires)), s.push(days === undefined ? 'remove expiry' : `expires ${isoDay(w.expires)}`))
  }
  const locked = shadow?.hash.startsWith('!') ?? false
  if (w.password !== undefined && w.updatePassword === 'always' && shadow && shadow.hash.replace(/^!/, '') !== w.password)
    (a.push('-p', (w.passwordLock ?? locked) ? `!${PASSWORD_ARG}` : PASSWORD_ARG), s.push('password hash'))
  else if (w.passwordLock === true && !locked) (a.push('-L'), s.push('lock password'))
  else if (w.passwordLock === false && locked) (a.push('-U'), s.push('unlock password'))
  return { args: a, summary: s }
}

export const userModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'user',
  description: 'Creates, changes or removes a local user account.',
  schema: userSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const name = String(pick(args, 'name', 'user'))
      if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/.test(name)) throw new ArgError(`user: "${name}" is not a valid login name`)
      const state = String(args.state ?? 'present')
      const wantHome = args.home === undefined ? undefined : String(args.home)
      // the same round trip says whether the user's current home, and the wanted one, exist
      const r = await ctx.reader.probe(
        [
          // one getent for the entry and its home (the 6th field, split by the shell: no cut)
          `echo @@passwd; k3sb_p=$(getent passwd ${shQuote(name)}); [ -z "$k3sb_p" ] || printf '%s\\n' "$k3sb_p"`,
          `echo @@shadow; getent shadow ${shQuote(name)}`,
          'echo @@group; getent group',
          'echo @@homes; h=; if [ -n "$k3sb_p" ]; then set -f; k3sb_i=$IFS; IFS=:; set -- $k3sb_p; IFS=$k3sb_i; set +f; h=$6; fi',
          'if [ -n "$h" ] && [ -e "$h" ]; then echo current; fi',
          ...(wantHome !== undefined ? [`if [ -e ${shQuote(wantHome)} ]; then echo wanted; fi`] : []),
          'echo @@end',
        ].join('\n'),
      )
      const s = sections(r.stdout.toString('utf8'))
      let cur = parsePasswd(s.passwd ?? '')
      const shadow = parseShadow(s.shadow ?? '')
      const groups = parseGroups(s.group ?? '')
      // Check mode: groups and users that earlier planned tasks would create or remove.
      const groupExists = (g: string) => {
        const p = ctx.reader.pending(effectKey.group(g))
        if (p === 'present') return true
        if (p === 'absent') return false
        return groups.has(g) || (/^\d+$/.test(g) && [...groups.values()].some((e) => e.gid === Number(g)))
      }
      const pendUser = ctx.reader.pending(effectKey.user(name))
      if (pendUser === 'absent') cur = undefined
      const predicted = pendUser === 'present' && !cur

      if (state === 'absent') {
        const result = { name, state, force: toBool(args.force, false), remove: toBool(args.remove, false) }
        if (!cur && !predicted) return { status: 'ok', result: { ...result, changed: false } }
        const cmd = ['userdel', ...(toBool(args.force, false) ? ['-f'] : []), ...(toBool(args.remove, false) ? ['-r'] : []), name]
        return {
          status: 'change',
          changes: [{ summary: `remove user ${name}` }],
          steps: [{ describe: cmd.join(' '), script: cmd.map(shQuote).join(' '), effects: [{ key: effectKey.user(name), value: 'absent' }] }],
          result: { ...result, changed: true },
        }
      }

      const group = args.group === undefined ? undefined : String(args.group)
      const groupList = args.groups === undefined || args.groups === null ? undefined : toList(args.groups)
      for (const g of [...(group !== undefined ? [group] : []), ...(groupList ?? [])])
        if (!groupExists(g)) return { status: 'fail', msg: `Group ${g} does not exist` }
      const gid = group === undefined ? undefined : /^\d+$/.test(group) ? Number(group) : groups.get(group)?.gid
      const w: UserWant = {
        name,
        uid: toInt(args.uid),
        nonUnique: toBool(args.non_unique, false),
        group,
        gid,
        groups: groupList,
        append: toBool(args.append, false),
        comment: args.comment === undefined ? undefined : String(args.comment),
        home: args.home === undefined ? undefined : String(args.home),
        shell: args.shell === undefined ? undefined : String(args.shell),
        password: args.password === undefined ? undefined : String(args.password),
        updatePassword: args.update_password === 'on_create' ? 'on_create' : 'always',
        passwordLock: toBool(args.password_lock),
        createHome: toBool(pick(args, 'create_home', 'createhome'), true),
        moveHome: toBool(args.move_home, false),
        skeleton: args.skeleton === undefined ? undefined : String(args.skeleton),
        system: toBool(args.system, false),
        expires: args.expires === undefined ? undefined : Number(args.expires),
      }
      const env = w.password !== undefined ? { K3SBOOK_PW: w.password } : undefined
      const result: Record<string, unknown> = { name, state, system: w.system, create_home: w.createHome }
      const ageing: Ageing = { min: toInt(args.password_expire_min), max: toInt(args.password_expire_max), warn: toInt(args.password_expire_warn) }
      let step: Step | undefined
      let summary: string[] = []
      if (!cur && !predicted) {
        const cmd = useraddArgs(w, groupExists(name))
        summary = [`create user ${name}`]
        step = {
          describe: `useradd ${name}`,
          script: script(cmd),
          env,
          effects: [
            { key: effectKey.user(name), value: 'present' },
            ...(w.createHome ? [{ path: w.home ?? `/home/${name}`, state: 'directory' as const }] : []),
          ],
        }
      } else {
        if (!cur) return { status: 'unknown', reason: `user ${name} is created by an earlier task; its attributes are known only once that runs`, steps: [] }
        Object.assign(result, { uid: cur.uid, group: cur.gid, home: cur.home, shell: cur.shell, comment: cur.comment })
        const m = usermodArgs(w, cur, shadow, memberOf(groups, name))
        if (m.args.length) {
          summary = m.summary
          step = {
            describe: `usermod ${name} (${m.summary.join('; ')})`,
            script: script(['usermod', ...m.args, name]),
            env,
            effects: [{ key: effectKey.user(name), value: 'present' }],
          }
        }
      }
      const steps = step ? [step] : []
      // an existing user's missing home is made (Ansible's "handle missing homedirs"); a new one's by useradd -m
      if (cur && w.createHome) {
        const home = w.home ?? cur.home
        const moved = w.moveHome && w.home !== undefined && w.home !== cur.home
        const homes = (s.homes ?? '').split('\n')
        const exists = w.home !== undefined && w.home !== cur.home ? homes.includes('wanted') : homes.includes('current')
        if (home && !moved && !exists) {
          steps.push({ describe: `create home ${home}`, script: makeHomeScript(name, home, w.skeleton), effects: [{ path: home, state: 'directory' }] })
          summary = [...summary, `create home ${home}`]
        }
      }
      // password ageing after the user exists, as Ansible sets it
      const c = chageArgs(ageing, cur ? shadow : undefined)
      if (c.args.length) {
        steps.push({
          describe: `chage ${name} (${c.summary.join('; ')})`,
          script: script(['chage', ...c.args, name]),
          effects: [{ key: effectKey.user(name), value: 'present' }],
        })
        summary = [...summary, ...c.summary]
      }
      if (!steps.length) return { status: 'ok', result: { ...result, changed: false } }
      return { status: 'change', changes: summary.map((x) => ({ summary: x })), steps, result: { ...result, changed: true } }
    }),
})
