// modprobe: a kernel module loaded or not, and loaded at boot through /etc/modules-load.d/NAME.conf
// (`persistent`), with its options in /etc/modprobe.d/NAME.conf. One probe reads /proc/modules,
// the built-in module lists and every .conf in both folders; modprobe runs only when the loaded
// state differs, so a kernel module that is already there (or built in) is never touched.
import { shQuote } from '../connection/quote.js'
import type { Change, Module, Step } from './types.js'
import { ArgError, choice, guardPlan, moduleSchema, str, writeFileStep, effectKey, defineModule } from './lib/index.js'
import { cutAt } from '../text.js'

export const modprobeSchema = moduleSchema(
  {
    name: str('Kernel module name, e.g. `br_netfilter`.'),
    state: choice(['present', 'absent'], 'Loaded (`present`) or unloaded (`absent`). Default: present.'),
    params: str('Module parameters, `key=value` separated by spaces.'),
    persistent: choice(
      ['present', 'absent', 'disabled'],
      '`present` writes /etc/modules-load.d/NAME.conf (and /etc/modprobe.d/NAME.conf with params) so the module loads at boot; `absent` removes NAME.conf files there and comments the module out of other files; `disabled` (default) leaves boot config alone.',
    ),
  },
  { required: ['name'] },
)

const LOAD_DIR = '/etc/modules-load.d'
const OPTS_DIR = '/etc/modprobe.d'

/** The kernel spells module names with `_`; modprobe accepts `-` too. */
export function moduleKey(name: string): string {
  return name.replace(/-/g, '_')
}

/**
 * Loaded when /proc/modules lists it, the kernel's modules.builtin names its .ko, or /sys/module
 * has it (built-in modules with parameters show there even on kernels without module support).
 */
export function moduleLoaded(procModules: string, builtin: string, sysModule: boolean, name: string): boolean {
  const k = moduleKey(name)
  if (procModules.split('\n').some((l) => moduleKey(l.split(/\s+/)[0] ?? '') === k)) return true
  if (
    builtin.split('\n').some(
      (l) =>
        moduleKey(
          l
            .trim()
            .split('/')
            .pop()
            ?.replace(/\.ko(\.\w+)?$/, '') ?? '',
        ) === k,
    )
  )
    return true
  return sysModule
}

export interface ConfFile {
  path: string
  text: string
}

/** Parses the probe's dump of config files: `@@F PATH` then the file's base64 on one line. */
export function parseConfDump(text: string): ConfFile[] {
  const out: ConfFile[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@F (.+)$/.exec(lines[i])
    if (m) out.push({ path: m[1], text: Buffer.from((lines[i + 1] ?? '').trim(), 'base64').toString('utf8') })
  }
  return out
}

const effective = (text: string) =>
  text
    .split('\n')
    .map((l) => cutAt(l, '#').trim())
    .filter(Boolean)

/** A modules-load.d file loads the module when one of its lines names it. */
export function loadsModule(text: string, name: string): boolean {
  return effective(text).some((l) => moduleKey(l) === moduleKey(name))
}

/** The params an `options NAME …` line in a modprobe.d file sets, or undefined without one. */
export function optionsFor(text: string, name: string): string | undefined {
  let v: string | undefined
  for (const l of effective(text)) {
    const f = l.split(/\s+/)
    if (f[0] === 'options' && moduleKey(f[1] ?? '') === moduleKey(name)) v = f.slice(2).join(' ')
  }
  return v
}

/** Comments out the lines that load `name` (modules-load.d) or set its options (modprobe.d). */
export function commentOut(text: string, name: string, kind: 'load' | 'options'): string {
  return text
    .split('\n')
    .map((l) => {
      const t = cutAt(l, '#').trim()
      if (!t) return l
      const f = t.split(/\s+/)
      const hit = kind === 'load' ? f.length === 1 && moduleKey(f[0]) === moduleKey(name) : f[0] === 'options' && moduleKey(f[1] ?? '') === moduleKey(name)
      return hit ? `#${l}` : l
    })
    .join('\n')
}

const normParams = (p: string) => p.trim().split(/\s+/).filter(Boolean).join(' ')

export const modprobeModule = defineModule({
  readAhead: true,
  name: 'modprobe',
  description: 'Loads or unloads a kernel module, and makes it load at boot via /etc/modules-load.d.',
  schema: modprobeSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const name = String(args.name)
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new ArgError(`modprobe: "${name}" is not a kernel module name`)
      const state = String(args.state ?? 'present')
      const persistent = String(args.persistent ?? 'disabled')
      const params = normParams(String(args.params ?? ''))
      if (state === 'absent' && persistent === 'present')
        throw new ArgError('modprobe: state=absent with persistent=present contradicts itself (unloaded now, loaded at boot)')
      const k = moduleKey(name)
      const r = await ctx.reader.probe(
        [
          'echo @@proc; cat /proc/modules 2>/dev/null',
          `echo @@builtin; cat "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null | grep -E ${shQuote(`/(${k.replace(/_/g, '[_-]')})\\.ko`)} || :`,
          `echo @@sys; [ -d /sys/module/${k} ] && echo yes || echo no`,
          'echo @@conf',
          `for f in ${LOAD_DIR}/*.conf ${OPTS_DIR}/*.conf; do [ -f "$f" ] || continue; printf '@@F %s\\n' "$f"; base64 -w0 < "$f"; echo; done`,
          'echo @@end',
        ].join('\n'),
      )
      const out = r.stdout.toString('utf8')
      const part = (a: string, b: string) => out.slice(out.indexOf(`@@${a}\n`) + a.length + 3, out.indexOf(`@@${b}\n`))
      let loaded = moduleLoaded(part('proc', 'builtin'), part('builtin', 'sys'), part('sys', 'conf').trim() === 'yes', name)
      const pend = ctx.reader.pending(effectKey.kmod(k))
      if (pend !== undefined) loaded = pend === 'present'
      let files = parseConfDump(part('conf', 'end'))
      if (ctx.reader.hasPending()) {
        // Check mode: see the config files earlier tasks would have written.
        const own = [`${LOAD_DIR}/${name}.conf`, `${OPTS_DIR}/${name}.conf`]
        const infos = await ctx.reader.files([...new Set([...files.map((f) => f.path), ...own])], { content: true })
        files = [...infos.values()].filter((i) => i.exists && i.content).map((i) => ({ path: i.path, text: i.content!.toString('utf8') }))
      }
      const loadFiles = files.filter((f) => f.path.startsWith(`${LOAD_DIR}/`))
      const optFiles = files.filter((f) => f.path.startsWith(`${OPTS_DIR}/`))

      const changes: Change[] = []
      const steps: Step[] = []
      const write = (path: string, before: string | undefined, after: string) => {
        changes.push({
          summary: before === undefined ? `create ${path}` : `edit ${path}`,
          ...(ctx.diff ? { diff: { path, before: before ?? '', after } } : {}),
        })
        steps.push(writeFileStep(path, Buffer.from(after), { mkdirParent: true }))
      }
      const remove = (path: string) => {
        changes.push({ summary: `remove ${path}` })
        steps.push({ describe: `rm ${path}`, script: `rm -f -- ${shQuote(path)}`, effects: [{ path, state: 'absent' }] })
      }

      if (state === 'present' && !loaded) {
        changes.push({ summary: `load ${name}${params ? ` ${params}` : ''}` })
        steps.push({
          describe: `modprobe ${name}`,
          script: ['modprobe', name, ...(params ? params.split(' ') : [])].map(shQuote).join(' '),
          effects: [{ key: effectKey.kmod(k), value: 'present' }],
        })
      } else if (state === 'absent' && loaded) {
        changes.push({ summary: `unload ${name}` })
        steps.push({ describe: `modprobe -r ${name}`, script: `modprobe -r ${shQuote(name)}`, effects: [{ key: effectKey.kmod(k), value: 'absent' }] })
      }

      const ownLoad = `${LOAD_DIR}/${name}.conf`
      const ownOpts = `${OPTS_DIR}/${name}.conf`
      if (persistent === 'present') {
        if (!loadFiles.some((f) => loadsModule(f.text, name))) write(ownLoad, loadFiles.find((f) => f.path === ownLoad)?.text, `${name}\n`)
        if (params) {
          const set = optFiles.map((f) => ({ f, v: optionsFor(f.text, name) })).filter((x) => x.v !== undefined)
          if (!(set.length === 1 && normParams(set[0].v!) === params)) {
            // Older options for the module elsewhere would fight ours: comment them out, as Ansible does.
            for (const { f } of set) if (f.path !== ownOpts) write(f.path, f.text, commentOut(f.text, name, 'options'))
            write(ownOpts, optFiles.find((f) => f.path === ownOpts)?.text, `options ${name} ${params}\n`)
          }
        }
      } else if (persistent === 'absent') {
        for (const f of loadFiles) {
          if (!loadsModule(f.text, name)) continue
          if (f.path === ownLoad && effective(f.text).every((l) => moduleKey(l) === k)) remove(f.path)
          else write(f.path, f.text, commentOut(f.text, name, 'load'))
        }
        for (const f of optFiles) {
          if (optionsFor(f.text, name) === undefined) continue
          if (f.path === ownOpts && effective(f.text).every((l) => optionsFor(l, name) !== undefined)) remove(f.path)
          else write(f.path, f.text, commentOut(f.text, name, 'options'))
        }
      }
      const result = { name, state, params, persistent }
      if (steps.length === 0) return { status: 'ok', result: { ...result, changed: false } }
      return { status: 'change', changes, steps, result: { ...result, changed: true } }
    }),
})
