// zpool: a ZFS pool that must exist. One probe tells whether it is imported, and if not whether it
// can be imported from its vdevs; it is created only when it exists nowhere, imported when it is on
// disk, and its pool and root-dataset properties are set when they differ. Never destroyed.
import { shJoin, shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Change, HostReader, Module, Plan, Step } from './types.js'
import { ArgError, choice, dict, guardPlan, int, moduleSchema, sections, str, toInt, effectKey, defineModule } from './lib/index.js'
import { parseZfsGet, zfsError, zfsPropertyDiff, zfsProps, zfsSetupPending, type PropValue } from './zfs.js'

const VDEV_TYPES = ['mirror', 'raidz', 'raidz1', 'raidz2', 'raidz3', 'draid', 'spare', 'log', 'cache', 'special', 'dedup']

const vdevItem = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      properties: {
        disks: { type: 'array', items: { type: 'string' }, description: 'Devices or files of this vdev.' },
        type: { type: 'string', description: 'stripe (default), mirror, raidz, raidz1, raidz2 or raidz3.' },
        role: { type: 'string', description: 'log, cache, spare, special or dedup.' },
      },
      required: ['disks'],
      additionalProperties: false,
    },
  ],
}

export const zpoolSchema = moduleSchema(
  {
    name: str('Pool name, e.g. `tank`.'),
    vdevs: {
      description:
        "What the pool is made of, as `zpool create` takes it: disks or files (`/dev/sdb`, `/var/lib/zfs/disk0.img`), optionally with vdev keywords (`mirror`, `raidz`, `log`, …) between them, or community.general.zpool's form `[{type: mirror, disks: [...]}, {role: cache, disks: [...]}]`. Used to create the pool, and to find it on disk (`zpool import -d DIR` for files).",
      anyOf: [{ type: 'array', items: vdevItem }, { type: 'string' }],
    },
    ashift: int(
      'Sector size exponent at creation (`-o ashift=N`, 12 for 4K sectors). Cannot change later: a pool with another ashift is reported, not changed.',
    ),
    properties: dict('Pool properties (`zpool create -o k=v`, later `zpool set`), e.g. `{autoexpand: on}`.'),
    pool_properties: dict("Alias of `properties` (community.general.zpool's name)."),
    filesystem_properties: dict("Properties of the pool's root dataset (`zpool create -O k=v`, later `zfs set`), e.g. `{compression: lz4, mountpoint: none}`."),
    mountpoint: str('Mount point of the root dataset: short for `filesystem_properties: {mountpoint: …}` (which wins when both are given).'),
    state: choice(['present', 'absent'], '`present` (default). `absent` is refused: k3sbook never destroys a pool.'),
  },
  { required: ['name'] },
)

/** vdevs as argv words for `zpool create`, from either accepted form. */
export function vdevWords(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (typeof v === 'string') return v.split(/[\s,]+/).filter((s) => s !== '')
  if (!Array.isArray(v)) throw new ArgError('zpool: vdevs must be a list')
  const out: string[] = []
  for (const item of v) {
    if (typeof item === 'string' || typeof item === 'number') out.push(String(item))
    else if (item && typeof item === 'object') {
      const o = item as { disks?: unknown; type?: unknown; role?: unknown }
      if (!Array.isArray(o.disks) || o.disks.length === 0) throw new ArgError('zpool: a vdev mapping needs a non-empty `disks` list')
      if (o.role) out.push(String(o.role))
      if (o.type && o.type !== 'stripe') out.push(String(o.type))
      out.push(...o.disks.map(String))
    } else throw new ArgError(`zpool: bad vdev ${JSON.stringify(item)}`)
  }
  return out
}

/**
 * Where `zpool import` must look to find the pool: the folders of file vdevs (files are never
 * scanned by default), plus /dev when there are devices too. Empty: the default scan.
 */
export function importDirs(words: string[]): string[] {
  const devs = words.filter((w) => !VDEV_TYPES.includes(w))
  const files = devs.filter((d) => d.startsWith('/') && !d.startsWith('/dev/'))
  if (files.length === 0) return []
  const dirs = [...new Set(files.map((f) => f.replace(/\/[^/]+$/, '') || '/'))]
  if (devs.some((d) => !files.includes(d))) dirs.push('/dev')
  return dirs
}

export interface ImportCandidate {
  name: string
  id?: string
  state?: string
  status?: string
}

/** `zpool import` (listing) output → the pools it could import. */
export function parseZpoolImport(out: string): ImportCandidate[] {
  const pools: ImportCandidate[] = []
  let cur: ImportCandidate | undefined
  for (const line of out.split('\n')) {
    // `key: value`, split by hand: /^\s*(pool|…):\s*(.*?)\s*$/ is cubic on a line of spaces.
    const t = line.trim()
    const colon = t.indexOf(':')
    const key = t.slice(0, colon)
    if (colon < 0 || !['pool', 'id', 'state', 'status'].includes(key)) continue
    const value = t.slice(colon + 1).trim()
    if (key === 'pool') pools.push((cur = { name: value }))
    else if (cur && key === 'id') cur.id = value
    else if (cur && key === 'state') cur.state = value
    else if (cur && key === 'status') cur.status = value
  }
  return pools
}

/** `zpool list -H -o name` → names. */
export function parseZpoolList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
}

/**
 * `zpool get PROPS POOL` in its table form (NAME PROPERTY VALUE SOURCE): zfs-fuse's zpool has no
 * -H/-o, and OpenZFS prints the same table, so one parser serves both.
 */
export function parseZpoolGet(out: string, pool: string): Map<string, PropValue> {
  const r = new Map<string, PropValue>()
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 4 || f[0] !== pool) continue
    r.set(f[1], { value: f.slice(2, -1).join(' '), source: f[f.length - 1] })
  }
  return r
}

export function zpoolProbeScript(name: string, poolProps: string[], fsProps: string[], dirs: string[]): string {
  const importCmd = shJoin(['zpool', 'import', ...dirs.flatMap((d) => ['-d', d])])
  return [
    'LC_ALL=C; export LC_ALL',
    `n=${shQuote(name)}`,
    `if ! command -v zpool >/dev/null 2>&1; then echo @@notool; exit 0; fi`,
    `out=$(zpool list -H -o name 2>&1); rc=$?`,
    `printf '@@list\\n%s\\n@@listrc\\n%s\\n' "$out" "$rc"`,
    `[ "$rc" -eq 0 ] || exit 0`,
    `if printf '%s\\n' "$out" | grep -qxF -- "$n"; then`,
    poolProps.length ? `  printf '@@get\\n'; zpool get ${shQuote(poolProps.join(','))} "$n" 2>&1; printf '@@getrc\\n%s\\n' "$?"` : '  :',
    fsProps.length
      ? `  printf '@@fsget\\n'; zfs get -H -p -o property,value,source ${shQuote(fsProps.join(','))} "$n" 2>&1; printf '@@fsgetrc\\n%s\\n' "$?"`
      : '  :',
    `else`,
    // Listing importable pools changes nothing; it exits 1 when there are none.
    `  printf '@@import\\n'; ${importCmd} 2>&1; printf '@@importrc\\n%s\\n' "$?"`,
    `fi`,
  ].join('\n')
}

export interface ZpoolWant {
  name: string
  vdevs: string[]
  ashift?: number
  poolProps: Array<[string, string]>
  fsProps: Array<[string, string]>
  dirs: string[]
}

export function zpoolCreateScript(w: ZpoolWant): string {
  const argv = ['zpool', 'create']
  if (w.ashift !== undefined) argv.push('-o', `ashift=${w.ashift}`)
  for (const [k, v] of w.poolProps) argv.push('-o', `${k}=${v}`)
  for (const [k, v] of w.fsProps) argv.push('-O', `${k}=${v}`)
  return shJoin([...argv, w.name, ...w.vdevs])
}

/** Import, then make the asked properties hold (setting a property to its value changes nothing). */
export function zpoolImportScript(w: ZpoolWant): string {
  const lines = ['set -e', shJoin(['zpool', 'import', ...w.dirs.flatMap((d) => ['-d', d]), w.name])]
  for (const [k, v] of w.poolProps) lines.push(shJoin(['zpool', 'set', `${k}=${v}`, w.name]))
  for (const [k, v] of w.fsProps) lines.push(shJoin(['zfs', 'set', `${k}=${v}`, w.name]))
  return lines.join('\n') + '\n'
}

/** Check mode: every vdev is a file path that does not exist yet (or only an earlier planned step makes it). */
async function vdevFilesMissing(reader: HostReader, vdevs: string[]): Promise<string | undefined> {
  const files = vdevs.filter((v) => v.startsWith('/') && !v.startsWith('/dev/'))
  if (!reader.hasPending() || files.length === 0 || files.length !== vdevs.filter((v) => v.startsWith('/')).length) return undefined
  const info = await reader.files(files)
  if (![...info.values()].every((f) => !f.exists || f.unknown)) return undefined
  return `its vdev files do not exist yet (${files.join(', ')}), so the pool cannot exist`
}

function presentEffects(name: string): Step['effects'] {
  return [
    { key: effectKey.zpool(name), value: 'present' },
    { key: effectKey.zfs(name), value: 'present' },
  ]
}

async function planZpool(args: Vars, reader: HostReader): Promise<Plan> {
  const name = String(args.name ?? '')
  if (!/^[A-Za-z][A-Za-z0-9_.:-]*$/.test(name) || /^(mirror|raidz|draid|spare|log|c[0-9])/.test(name))
    throw new ArgError(`zpool: "${name}" is not a valid pool name`)
  const state = String(args.state ?? 'present')
  if (state === 'absent')
    return { status: 'fail', msg: `zpool: state=absent is refused: k3sbook never destroys a pool (${name}); run zpool destroy by hand if you mean it` }
  if (state !== 'present') throw new ArgError(`zpool: state must be present, got ${state}`)
  const vdevs = vdevWords(args.vdevs)
  const ashift = toInt(args.ashift)
  if (ashift !== undefined && (ashift < 0 || ashift > 16)) throw new ArgError(`zpool: ashift must be between 9 and 16 (or 0 for automatic), got ${ashift}`)
  const poolProps = zfsProps(args.properties ?? args.pool_properties, 'properties').filter(([k]) => k !== 'ashift')
  const fsProps = zfsProps(args.filesystem_properties, 'filesystem_properties')
  if (args.mountpoint !== undefined && args.mountpoint !== null && !fsProps.some(([k]) => k === 'mountpoint'))
    fsProps.push(['mountpoint', String(args.mountpoint)])
  // ashift given among properties counts as the argument.
  const ashiftProp = zfsProps(args.properties ?? args.pool_properties, 'properties').find(([k]) => k === 'ashift')
  const wantAshift = ashift ?? (ashiftProp ? toInt(ashiftProp[1]) : undefined)
  const want: ZpoolWant = { name, vdevs, ashift: wantAshift, poolProps, fsProps, dirs: importDirs(vdevs) }
  const result = { name, state }

  const getProps = [...(wantAshift !== undefined ? ['ashift'] : []), ...poolProps.map(([k]) => k)]
  const r = await reader.probe(
    zpoolProbeScript(
      name,
      getProps,
      fsProps.map(([k]) => k),
      want.dirs,
    ),
  )
  const s = sections(r.stdout.toString('utf8'))

  const create = (why?: string): Plan => {
    if (vdevs.length === 0) return { status: 'fail', msg: `zpool: pool ${name} does not exist and no vdevs are given to create it` }
    const summary = `create pool ${name} on ${vdevs.join(' ')}`
    return {
      status: 'change',
      changes: [{ summary: summary + (why ? ` (${why})` : '') }],
      steps: [{ describe: summary, script: zpoolCreateScript(want), effects: presentEffects(name) }],
      result: { ...result, changed: true },
    }
  }
  const pendingSetup = zfsSetupPending(reader)
  if (s.notool !== undefined) {
    if (pendingSetup) return create(`predicted: zpool is not installed yet (${pendingSetup} comes first)`)
    return { status: 'fail', msg: `zpool: the zpool command is not installed on ${reader.host}` }
  }
  if (s.listrc?.trim() !== '0') {
    if (pendingSetup) return create(`predicted: ZFS is not usable yet (${pendingSetup} comes first)`)
    // check mode: ZFS cannot be asked yet (its daemon is started by an earlier task), but a pool
    // cannot exist while its vdev files do not (or only an earlier planned command makes them)
    const missing = await vdevFilesMissing(reader, vdevs)
    if (missing) return create(`predicted: ${missing}`)
    return { status: 'fail', msg: `zpool: ZFS is not usable on ${reader.host}: ${zfsError(s.list ?? '')}` }
  }

  if (s.import !== undefined) {
    const found = parseZpoolImport(s.import).filter((p) => p.name === name)
    if (found.length === 0) return create()
    if (found.length > 1)
      return {
        status: 'fail',
        msg: `zpool: ${found.length} pools named ${name} can be imported (ids ${found.map((p) => p.id).join(', ')}); import the right one by id by hand`,
      }
    const p = found[0]
    if (p.state && !/^(ONLINE|DEGRADED)$/.test(p.state))
      return { status: 'fail', msg: `zpool: pool ${name} is on disk but cannot be imported: state ${p.state}${p.status ? ` (${p.status})` : ''}` }
    const where = want.dirs.length ? ` from ${want.dirs.join(', ')}` : ''
    const summary = `import pool ${name}${where} (id ${p.id ?? '?'}, ${p.state ?? 'state unknown'})`
    return {
      status: 'change',
      changes: [{ summary }],
      steps: [{ describe: `zpool import ${name}`, script: zpoolImportScript(want), effects: presentEffects(name) }],
      result: { ...result, changed: true, imported: true },
    }
  }

  // Imported: compare pool and root-dataset properties.
  const notes: string[] = []
  const changes: Change[] = []
  const steps: Step[] = []
  if (getProps.length) {
    if (s.getrc?.trim() !== '0') return { status: 'fail', msg: `zpool: cannot read properties of ${name}: ${zfsError(s.get ?? '')}` }
    const have = parseZpoolGet(s.get ?? '', name)
    if (wantAshift !== undefined) {
      const cur = have.get('ashift')?.value
      if (cur !== String(wantAshift)) notes.push(`ashift is ${cur ?? 'unknown'}, not ${wantAshift}: it is fixed when the pool is created`)
    }
    for (const [k, v] of poolProps) {
      const cur = have.get(k)?.value
      if (cur === v) continue
      changes.push({ summary: `pool ${k}: ${cur ?? '(unknown)'} → ${v}` })
      steps.push({
        describe: `zpool set ${k}=${v} ${name}`,
        script: shJoin(['zpool', 'set', `${k}=${v}`, name]),
        effects: [{ key: effectKey.zpool(name, k), value: v }],
      })
    }
  }
  if (fsProps.length) {
    if (s.fsgetrc?.trim() !== '0') return { status: 'fail', msg: `zpool: cannot read properties of ${name}'s root dataset: ${zfsError(s.fsget ?? '')}` }
    const diff = zfsPropertyDiff(fsProps, parseZfsGet(s.fsget ?? ''))
    notes.push(...diff.notes)
    for (const d of diff.set) {
      changes.push({ summary: `${d.prop}: ${d.before} → ${d.value}` })
      steps.push({
        describe: `zfs set ${d.prop}=${d.value} ${name}`,
        script: shJoin(['zfs', 'set', `${d.prop}=${d.value}`, name]),
        effects: [{ key: effectKey.zfs(name, d.prop), value: d.value }],
      })
    }
  }
  const note = notes.length ? notes.join('; ') : undefined
  if (steps.length === 0) return { status: 'ok', note, result: { ...result, changed: false } }
  if (note) changes.push({ summary: `note: ${note}` })
  return { status: 'change', changes, steps, result: { ...result, changed: true } }
}

export const zpoolModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'zpool',
  description:
    'Makes a ZFS pool exist: created from its vdevs when it exists nowhere, imported when it is on disk, properties set when they differ; never destroyed.',
  schema: zpoolSchema,
  plan: (args, ctx) => guardPlan(() => planZpool(args, ctx.reader)),
})
