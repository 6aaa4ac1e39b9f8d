// zfs: a ZFS dataset (file system, volume, snapshot or clone) and the properties asked for. One
// probe reads whether it exists and the asked properties as `zfs get -p` prints them; only missing
// datasets are created and only differing properties set, and nothing is ever destroyed.
// Also home of the ZFS helpers the zpool module shares: property values, sizes, tool checks.
import { shJoin, shQuote } from '../connection/quote.js'
import type { Vars } from '../model.js'
import type { Change, HostReader, Module, Plan, Step } from './types.js'
import { ArgError, choice, dict, guardPlan, moduleSchema, sections, str, effectKey, defineModule } from './lib/index.js'

// ---------------------------------------------------------------- values as ZFS prints them

/** A property value as the zfs command takes it: YAML booleans back to on/off, as Ansible does. */
export function zfsValue(v: unknown): string {
  if (v === true) return 'on'
  if (v === false) return 'off'
  if (v === null || v === undefined) return ''
  if (typeof v === 'object') throw new ArgError(`a ZFS property value must be a string or number, got ${JSON.stringify(v)}`)
  return String(v)
}

/** Properties (all of them, flat) as strings; bad names fail before any host is touched. */
export function zfsProps(v: unknown, what: string): Array<[string, string]> {
  if (v === undefined || v === null) return []
  if (typeof v !== 'object' || Array.isArray(v)) throw new ArgError(`${what} must be a mapping of property names to values`)
  return Object.entries(v as Record<string, unknown>).map(([k, val]) => {
    if (!/^[a-z0-9_.:@-]+$/i.test(k)) throw new ArgError(`${what}: "${k}" is not a ZFS property name`)
    return [k, zfsValue(val)] as [string, string]
  })
}

const SIZE_PROPS = new Set([
  'quota',
  'refquota',
  'reservation',
  'refreservation',
  'volsize',
  'recordsize',
  'volblocksize',
  'special_small_blocks',
  'filesystem_limit',
  'snapshot_limit',
])

/** Properties whose values are byte counts (`zfs get -p` prints them as plain numbers). */
export function isSizeProp(prop: string): boolean {
  return SIZE_PROPS.has(prop) || /^(user|group|project)(obj)?quota@/.test(prop)
}

/** Properties fixed when the dataset is created: a difference is reported, never "fixed". */
export const CREATION_ONLY = new Set(['volblocksize', 'casesensitivity', 'normalization', 'utf8only', 'encryption'])

const UNITS = 'BKMGTPEZ'

/**
 * A ZFS size as bytes, the way zfs(8) reads one: a number with an optional suffix (K, M, G, …,
 * any case, optionally followed by B or iB), fractions allowed ("1.5G"); "none" is 0. Undefined
 * when the text is not a size.
 */
export function parseZfsSize(text: string): number | undefined {
  const s = text.trim()
  if (s.toLowerCase() === 'none') return 0
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*(?:([bkmgtpez])(?:i?b)?)?$/i.exec(s)
  if (!m) return undefined
  const shift = m[2] ? UNITS.indexOf(m[2].toUpperCase()) : 0
  if (shift < 0) return undefined
  // zfs multiplies then truncates to an integer number of bytes.
  return Math.floor(Number(m[1]) * 1024 ** shift)
}

/** Values compare as ZFS prints them with -p: sizes as bytes, mountpoints without a trailing slash. */
export function sameZfsValue(prop: string, want: string, have: string | undefined): boolean {
  if (have === undefined) return false
  if (want === have) return true
  if (isSizeProp(prop)) {
    const w = parseZfsSize(want)
    const h = parseZfsSize(have)
    return w !== undefined && w === h
  }
  if (prop === 'mountpoint') return stripSlash(want) === stripSlash(have)
  return false
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/(?<!\/)\/+$/, '') : p
}

export interface PropValue {
  value: string
  source: string
}

/** `zfs get -H [-p] -o property,value,source` output → property → value and source. */
export function parseZfsGet(out: string): Map<string, PropValue> {
  const r = new Map<string, PropValue>()
  for (const line of out.split('\n')) {
    if (line === '') continue
    const f = line.split('\t')
    if (f.length < 3) continue
    r.set(f[0], { value: f.slice(1, -1).join('\t'), source: f[f.length - 1] })
  }
  return r
}

export interface PropDiff {
  /** Properties to set: name, wanted value, value before (with its source). */
  set: Array<{ prop: string; value: string; before: string }>
  /** Differences that cannot be changed after creation, reported instead. */
  notes: string[]
}

/**
 * Which wanted properties differ from the dataset's. As Ansible's zfs module does, a value counts
 * as set only when its source is local (or received, or "-" for properties without one): a wanted
 * value the dataset merely inherits is set explicitly, so it stays put when the parent changes.
 */
export function zfsPropertyDiff(want: Array<[string, string]>, have: Map<string, PropValue>): PropDiff {
  const out: PropDiff = { set: [], notes: [] }
  for (const [prop, value] of want) {
    const cur = have.get(prop)
    const isUser = prop.includes(':')
    const unset = !cur || (isUser && cur.source === '-' && cur.value === '-')
    const before = unset ? '(unset)' : `${cur.value}${cur.source === 'local' || cur.source === '-' ? '' : ` (${cur.source})`}`
    if (CREATION_ONLY.has(prop)) {
      if (!sameZfsValue(prop, value, cur?.value)) out.notes.push(`${prop} is ${cur?.value ?? 'unknown'}, not ${value}: it is fixed when the dataset is created`)
      continue
    }
    const pinned = !unset && (cur.source === 'local' || cur.source === 'received' || cur.source === '-')
    if (pinned && sameZfsValue(prop, value, cur.value)) continue
    out.set.push({ prop, value, before })
  }
  return out
}

/** The pool of a dataset, snapshot or volume name. */
export function poolOf(name: string): string {
  return name.split('/')[0].split('@')[0]
}

/** ZFS names: components of letters, digits, `_ - . :`, separated by `/`, with at most one `@snapshot`. */
export function checkDatasetName(name: string): void {
  const [ds, snap, extra] = name.split('@')
  const ok = /^[A-Za-z][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)*$/.test(ds) && (snap === undefined || /^[A-Za-z0-9_.:-]+$/.test(snap)) && extra === undefined
  if (!ok) throw new ArgError(`"${name}" is not a valid ZFS dataset name (pool/path[@snapshot])`)
}

/** Check-mode keys an earlier task records when it installs ZFS's packages or starts its services. */
const ZFS_SETUP_KEYS = [
  ...['zfsutils-linux', 'zfs-fuse', 'zfsutils'].map(effectKey.pkg),
  ...['zfs-fuse', 'zfs-import-cache', 'zfs.target'].map(effectKey.service),
]

/** Which earlier planned task (check mode) makes ZFS usable, if any. */
export function zfsSetupPending(reader: HostReader): string | undefined {
  for (const k of ZFS_SETUP_KEYS) {
    const v = reader.pending(k)
    if (v === 'present' || v === 'started') return k
  }
  return undefined
}

/** The lines worth showing from a zfs/zpool error (its usage text is noise). */
export function zfsError(out: string): string {
  const lines = out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
  const cut = lines.findIndex((l) => /^usage:/i.test(l))
  return (cut >= 0 ? lines.slice(0, cut) : lines).slice(0, 3).join('; ') || '(no output)'
}

/** `zfs list` failed because the dataset is not there (not because ZFS itself is unusable). */
export function isMissingDataset(out: string): boolean {
  return /dataset does not exist|no such pool|could not find any snapshots/.test(out)
}

// ---------------------------------------------------------------- the zfs module

export const zfsSchema = moduleSchema(
  {
    name: str('Dataset, volume or snapshot name, e.g. `tank/data`, `tank/vol`, `tank/data@before-upgrade`.'),
    state: choice(
      ['present', 'absent'],
      '`present`: created when missing, properties set when they differ. `absent` is refused: k3sbook never destroys a dataset.',
    ),
    origin: str('Snapshot to clone the new dataset from (`zfs clone`), e.g. `tank/data@golden`.'),
    extra_zfs_properties: dict(
      'Properties, e.g. `{compression: lz4, atime: off, mountpoint: /data}` (YAML booleans become on/off). `volsize` makes the dataset a volume (`zfs create -V`) and `volblocksize` sets its block size (`-b`). Sizes compare as bytes, so `1G` equals 1073741824.',
    ),
  },
  { required: ['name', 'state'] },
)

interface ZfsTarget {
  name: string
  kind: 'snapshot' | 'clone' | 'volume' | 'filesystem'
  props: Array<[string, string]>
  origin?: string
}

/** `zfs create|snapshot|clone` for a missing dataset (Ansible's command line: volsize → -V, volblocksize → -b). */
export function zfsCreateScript(t: ZfsTarget): string {
  const opts: string[] = []
  for (const [k, v] of t.props) {
    if (k === 'volsize') opts.push('-V', v)
    else if (k === 'volblocksize') opts.push('-b', v)
    else opts.push('-o', `${k}=${v}`)
  }
  if (t.kind === 'snapshot') return shJoin(['zfs', 'snapshot', ...opts, t.name])
  if (t.kind === 'clone') return shJoin(['zfs', 'clone', '-p', ...opts, t.origin!, t.name])
  return shJoin(['zfs', 'create', '-p', ...opts, t.name])
}

/** The probe: does the dataset exist (and its properties), and if not, does what it needs exist. */
export function zfsProbeScript(name: string, props: string[]): string {
  const dep = name.includes('@') ? name.split('@')[0] : poolOf(name)
  const list = ['type', ...props.filter((p) => p !== 'type')].join(',')
  return [
    'LC_ALL=C; export LC_ALL',
    `n=${shQuote(name)}`,
    `if ! command -v zfs >/dev/null 2>&1; then echo @@notool; exit 0; fi`,
    `out=$(zfs list -H -o name -t all "$n" 2>&1); rc=$?`,
    `printf '@@list\\n%s\\n@@listrc\\n%s\\n' "$out" "$rc"`,
    `if [ "$rc" -eq 0 ]; then`,
    `  printf '@@get\\n'; zfs get -H -p -o property,value,source ${shQuote(list)} "$n" 2>&1; printf '@@getrc\\n%s\\n' "$?"`,
    `else`,
    `  d=${shQuote(dep)}; out=$(zfs list -H -o name -t all "$d" 2>&1); printf '@@dep\\n%s\\n@@deprc\\n%s\\n' "$out" "$?"`,
    `fi`,
  ].join('\n')
}

function describeTarget(t: ZfsTarget): string {
  const props = t.props.map(([k, v]) => `${k}=${v}`).join(', ')
  const what = t.kind === 'volume' ? 'volume' : t.kind === 'snapshot' ? 'snapshot' : t.kind === 'clone' ? `clone of ${t.origin}` : 'file system'
  return `create ${what} ${t.name}${props ? ` (${props})` : ''}`
}

function createEffects(t: ZfsTarget): Step['effects'] {
  const eff: NonNullable<Step['effects']> = [{ key: effectKey.zfs(t.name), value: 'present' }]
  if (t.kind === 'volume') eff.push({ key: effectKey.dev(`/dev/zvol/${t.name}`), value: 'present' })
  return eff
}

async function planZfs(args: Vars, reader: HostReader): Promise<Plan> {
  const name = String(args.name ?? '')
  checkDatasetName(name)
  const state = String(args.state ?? 'present')
  if (state === 'absent')
    return { status: 'fail', msg: `zfs: state=absent is refused: k3sbook never destroys a dataset (${name}); destroy it by hand if you mean it` }
  if (state !== 'present') throw new ArgError(`zfs: state must be present, got ${state}`)
  const props = zfsProps(args.extra_zfs_properties, 'extra_zfs_properties')
  const origin = args.origin === undefined || args.origin === null ? undefined : String(args.origin)
  if (origin && name.includes('@')) throw new ArgError('zfs: cannot specify origin when operating on a snapshot')
  if (origin) checkDatasetName(origin)
  const isVol = props.some(([k]) => k === 'volsize')
  const target: ZfsTarget = { name, props, origin, kind: name.includes('@') ? 'snapshot' : origin ? 'clone' : isVol ? 'volume' : 'filesystem' }
  const result = { name, state, ...Object.fromEntries(props) }

  const r = await reader.probe(
    zfsProbeScript(
      name,
      props.map(([k]) => k),
    ),
  )
  const s = sections(r.stdout.toString('utf8'))
  const create = (why?: string): Plan => ({
    status: 'change',
    changes: [{ summary: describeTarget(target) + (why ? ` (${why})` : '') }],
    steps: [{ describe: describeTarget(target), script: zfsCreateScript(target), effects: createEffects(target) }],
    result: { ...result, changed: true },
  })
  const pendingSetup = zfsSetupPending(reader)
  if (s.notool !== undefined) {
    if (pendingSetup) return create(`predicted: zfs is not installed yet (${pendingSetup} comes first)`)
    return { status: 'fail', msg: `zfs: the zfs command is not installed on ${reader.host}` }
  }
  if (s.listrc?.trim() !== '0') {
    const msg = s.list ?? ''
    if (!isMissingDataset(msg)) {
      if (pendingSetup) return create(`predicted: ZFS is not usable yet (${pendingSetup} comes first)`)
      // check mode: the pool itself is created by an earlier planned task, so nothing in it exists yet
      if (reader.pending(effectKey.zpool(poolOf(name))) === 'present') return create(`predicted: pool ${poolOf(name)} is created by an earlier task`)
      return { status: 'fail', msg: `zfs: cannot inspect ${name}: ${zfsError(msg)}` }
    }
    const dep = name.includes('@') ? name.split('@')[0] : poolOf(name)
    if (s.deprc?.trim() === '0') return create()
    const depPending = reader.pending(effectKey.zfs(dep)) === 'present' || reader.pending(effectKey.zpool(poolOf(name))) === 'present'
    if (depPending) return create(`${name.includes('@') ? 'dataset' : 'pool'} ${dep} is created by an earlier task`)
    if (name.includes('@')) return { status: 'fail', msg: `zfs: cannot snapshot ${dep}: it does not exist` }
    return { status: 'fail', msg: `zfs: pool ${dep} does not exist (or is not imported); create it first, e.g. with the zpool module` }
  }
  // The dataset exists: compare its properties.
  if (s.getrc?.trim() !== '0') return { status: 'fail', msg: `zfs: cannot read properties of ${name}: ${zfsError(s.get ?? '')}` }
  const have = parseZfsGet(s.get ?? '')
  const type = have.get('type')?.value
  if (isVol && type !== 'volume') return { status: 'fail', msg: `zfs: ${name} exists as a ${type ?? 'dataset'}, not a volume: volsize cannot apply` }
  const diff = zfsPropertyDiff(props, have)
  const note = diff.notes.length ? diff.notes.join('; ') : undefined
  if (diff.set.length === 0) return { status: 'ok', note, result: { ...result, changed: false } }
  const shrink = diff.set.find((d) => d.prop === 'volsize' && (parseZfsSize(d.value) ?? Infinity) < (parseZfsSize(have.get('volsize')?.value ?? '') ?? 0))
  if (shrink)
    return {
      status: 'fail',
      msg: `zfs: volsize of ${name} would shrink from ${have.get('volsize')?.value} to ${shrink.value} bytes; k3sbook never shrinks a volume (its data would be cut)`,
    }
  const changes: Change[] = diff.set.map((d) => ({ summary: `${d.prop}: ${d.before} → ${d.value}` }))
  if (note) changes.push({ summary: `note: ${note}` })
  const steps: Step[] = diff.set.map((d) => ({
    describe: `zfs set ${d.prop}=${d.value} ${name}`,
    script: shJoin(['zfs', 'set', `${d.prop}=${d.value}`, name]),
    effects: [{ key: effectKey.zfs(name, d.prop), value: d.value }],
  }))
  return {
    status: 'change',
    changes,
    steps,
    result: {
      ...result,
      changed: true,
      diff: {
        before: { extra_zfs_properties: Object.fromEntries(diff.set.map((d) => [d.prop, d.before])) },
        after: { extra_zfs_properties: Object.fromEntries(diff.set.map((d) => [d.prop, d.value])) },
      },
    },
  }
}

export const zfsModule = defineModule({
  readAhead: true,
  probeIsLast: true,
  name: 'zfs',
  description: 'Creates a ZFS file system, volume, snapshot or clone when missing and sets the properties asked for; never destroys one.',
  schema: zfsSchema,
  plan: (args, ctx) => guardPlan(() => planZfs(args, ctx.reader)),
})
