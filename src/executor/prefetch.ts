// Read-ahead: before a host runs a stretch of tasks, plan the upcoming ones speculatively with a
// reader that only records what they would ask the host, send all those probes in ONE round trip,
// and serve the real plans' identical probes from that cache. Results are keyed by the exact script
// and exec options, so a wrong guess (arguments that depend on a result registered in between) only
// costs the round trip it would have cost anyway; any step applied on the host drops the cache.
import { randomBytes } from 'node:crypto'
import type { Connection, ExecResult } from '../connection/types.js'
import { shQuote } from '../connection/quote.js'
import { hostDataInEnvironment } from './controller-guard.js'
import { innerScript } from '../connection/quote.js'
import type { Task, TaskItem, Vars } from '../model.js'
import { getModule } from '../modules/registry.js'
import type { FileInfo, HostReader, Module } from '../modules/types.js'
import { evalCondition } from '../template/index.js'
import { loopVars, renderLoopItems } from './loop.js'
import type { CachedProbes, ProbeCache, ProbeOptions } from './probe-cache.js'
import { filesKey, filesProbe, makeReader, type FilesQuestion } from './reader.js'
import { planContext, renderArgs } from './task.js'
import type { TaskContext } from './task-context.js'
import { TRACE, TRACE_DUMP, trace, traceDump } from '../trace.js'

export type { CachedProbes, ProbeOptions } from './probe-cache.js'

/** Modules whose plan() only reads files and package/state listings say so (Module.readAhead). */
function readAhead(module: string): boolean {
  return getModule(module)?.readAhead === true
}

/** Speculative planning rounds per stretch: a copy with `src` asks twice (is dest a directory? then dest). */
const MAX_ROUNDS = 3
/** Tasks planned ahead in one go, at most. */
const MAX_WINDOW = 64
/** Loop items planned ahead per task, at most. */
const MAX_ITEMS = 64

/**
 * The task as the runner will run it on a host (variables, conditions, tags, become, check and
 * diff, delegation, controller files, connection): the look-ahead plans through the same context
 * and the same render and plan functions as the pipeline (task.ts), so a guess is planned exactly
 * as the real run will plan it.
 */
export type TaskAt = (task: Task) => TaskContext

interface HostCache {
  results: Map<string, ExecResult>
  /** files() answers, by question (filesKey). */
  files: Map<string, Map<string, FileInfo>>
  /** Bumped by every invalidation: a fetch started in an older generation is thrown away. */
  gen: number
  covered: Set<Task>
  coveredGen: number
  lastSeenGen: number
  /** Tasks in a row that changed nothing on the host: how far ahead it pays to look. */
  streak: number
  /** The read-ahead of the current stretch, until its answers are in. */
  inflight?: Promise<void>
}

function keyOf(script: string, o: ProbeOptions): string | undefined {
  if (o.stdin !== undefined && o.stdin !== null && String(o.stdin) !== '') return undefined
  return JSON.stringify([o.become ?? null, o.env ?? null, script])
}

function mergeOpts(base: ProbeOptions, o: ProbeOptions): ProbeOptions {
  const env = base.env || o.env ? { ...base.env, ...o.env } : undefined
  return { stdin: o.stdin, env, become: o.become ?? base.become }
}

function copyResult(r: ExecResult): ExecResult {
  return { rc: r.rc, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr) }
}

/** Rejection of a probe not fetched yet: a plain object, since an Error would capture a stack each time. */
const MISS = Object.freeze({ miss: 'not fetched ahead' })

interface Wanted {
  script: string
  opts: ProbeOptions
  /** A files() question instead of a script: the batch merges them all into one probe (filesProbe). */
  files?: FilesQuestion
}

/** A probe that goes out with a host's next read-ahead batch instead of on its own (the facts). */
interface Rider {
  script: string
  taken: boolean
  answer: Promise<ExecResult | undefined>
  settle(r: ExecResult | undefined): void
}

function wantedKey(w: Wanted): string {
  return w.files ? 'files:' + filesKey(w.files, w.opts.become) : keyOf(w.script, w.opts)!
}

export class Prefetcher implements ProbeCache {
  private readonly hosts = new Map<string, HostCache>()
  /**
   * Speculative planning is CPU on this one thread: done one host at a time, the first host's
   * probes are on the wire while the next host is planned, instead of all waiting for the last.
   */
  private cpu: Promise<unknown> = Promise.resolve()
  private readonly memo: SpecMemo = new WeakMap()
  /** Round trips spent on read-ahead, per host (already counted in the connection's stats). */
  readonly batches = new Map<string, number>()
  private readonly riders = new Map<string, Rider>()

  /**
   * `script` (read-only, run without become) goes out with the next read-ahead batch sent to
   * `host`, in the same round trip: the play's facts ride with its first stretch. ridden() gives
   * its answer, or undefined when the read-ahead sent nothing it could ride with.
   */
  ride(host: string, script: string): void {
    this.riders.get(host)?.settle(undefined)
    let settle!: (r: ExecResult | undefined) => void
    const answer = new Promise<ExecResult | undefined>((r) => (settle = r))
    const rider: Rider = {
      script,
      taken: false,
      answer,
      settle: (r) => {
        if (this.riders.get(host) === rider) this.riders.delete(host)
        settle(r)
      },
    }
    this.riders.set(host, rider)
  }

  ridden(host: string): Promise<ExecResult | undefined> {
    return this.riders.get(host)?.answer ?? Promise.resolve(undefined)
  }

  /** The read-ahead on `host` is over: a rider it did not take is handed back (ridden() gives undefined). */
  private unride(host: string): void {
    const r = this.riders.get(host)
    if (r && !r.taken) r.settle(undefined)
  }

  private host(name: string): HostCache {
    let h = this.hosts.get(name)
    if (!h) {
      h = { results: new Map(), files: new Map(), gen: 0, covered: new Set(), coveredGen: -1, lastSeenGen: 0, streak: Number.POSITIVE_INFINITY }
      this.hosts.set(name, h)
    }
    return h
  }

  /** Probes of `module` on `host`, run with this exec context; undefined for modules not planned ahead. */
  view(host: string, module: string, base: ProbeOptions): CachedProbes | undefined {
    if (!readAhead(module)) return undefined
    const h = this.host(host)
    return {
      lookup: (script, o) => {
        const k = keyOf(script, mergeOpts(base, o))
        const r = k === undefined ? undefined : h.results.get(k)
        return r && copyResult(r)
      },
      files: (q, become) => h.files.get(filesKey(q, become ?? base.become)),
    }
  }

  /** A step ran on the host (or may have): nothing fetched before it can be trusted. */
  invalidate(host: string): void {
    const h = this.hosts.get(host)
    if (!h) return
    h.gen++
    h.results.clear()
    h.files.clear()
  }

  /**
   * Called before `items[from]` runs on `hosts`: for each host whose cache does not cover that task,
   * plan a window of upcoming tasks ahead and fetch what they will read in one round trip.
   */
  async ahead(items: TaskItem[], task: Task, hosts: string[], at: TaskAt): Promise<void> {
    try {
      if (!readAhead(task.module)) return
      const tc = at(task)
      if (tc.delegated || !tc.selected) return
      const from = items.indexOf(task)
      if (from < 0) return
      await Promise.all(hosts.map((h) => this.aheadOnHost(items, from, h, at).catch(() => undefined)))
    } finally {
      for (const h of hosts) this.unride(h)
    }
  }

  private async aheadOnHost(items: TaskItem[], from: number, host: string, at: TaskAt): Promise<void> {
    const h = this.host(host)
    // The task before this one changed the host: this one plans directly; look further the
    // longer the host stays unchanged (a first run changes nearly everything, a re-run nothing).
    if (h.gen !== h.lastSeenGen) h.streak = 0
    else h.streak++
    h.lastSeenGen = h.gen
    const task = items[from] as Task
    if (TRACE) trace(`${host}: ahead at "${task.name ?? task.module}": ${h.coveredGen === h.gen && h.covered.has(task) ? 'covered' : `streak ${h.streak}`}`)
    if (h.coveredGen === h.gen && h.covered.has(task)) {
      // Planned ahead already (maybe still on the wire: a play's first stretch is planned while
      // the connections are being made): its answers are what this task waits for.
      await h.inflight
      return
    }
    if (h.streak === 0) return
    const size = Math.min(MAX_WINDOW, h.streak >= 6 ? MAX_WINDOW : 2 ** h.streak)
    const window: TaskContext[] = []
    for (let i = from; i < items.length && window.length < size; i++) {
      const t = items[i]
      if (t.kind !== 'task' || !readAhead(t.module) || t.until?.length) continue
      const tc = at(t)
      if (!tc.delegated && tc.selected) window.push(tc)
    }
    if (window.length === 0) return
    const gen = h.gen
    if (h.coveredGen !== gen) {
      h.covered = new Set()
      h.coveredGen = gen
    }
    for (const tc of window) h.covered.add(tc.task)
    const work = this.fetchAhead(window, host, h, gen)
    h.inflight = work.catch(() => undefined)
    await work
  }

  private async fetchAhead(window: TaskContext[], host: string, h: HostCache, gen: number): Promise<void> {
    let conn: Connection | undefined
    let inputs: PlanInput[] | undefined
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const wanted = new Map<string, Wanted>()
      const outcomes = new Map<PlanInput, Speculation>()
      // Answers recorded with nothing in the cache depend on the arguments only: shareable.
      const memo = round === 0 && h.results.size === 0 && h.files.size === 0 ? this.memo : undefined
      await this.serially(async () => {
        if (TRACE) trace(`${host}: planning ahead`)
        if (!inputs) {
          inputs = []
          for (const tc of window) {
            const t = tc.task
            const got = planInputs(tc, host)
            // Not known yet: planned again when its turn comes (a new stretch starts there).
            if (got === undefined) {
              h.covered.delete(t)
              if (TRACE) trace(`${host}: read-ahead cannot plan "${t.name ?? t.module}" yet`)
            } else inputs.push(...got)
          }
        }
        await Promise.allSettled(
          inputs!.map((inp) =>
            speculate(inp, host, h, wanted, memo).then(
              (o) => outcomes.set(inp, o),
              // Its arguments cannot be rendered yet (they use a result registered later): left
              // for a stretch that starts at its turn.
              () => h.covered.delete(inp.task),
            ),
          ),
        )
      })
      if (wanted.size === 0 || h.gen !== gen) return this.unride(host)
      // Planning needs no connection: only sending does (the host may still be connecting).
      conn ??= await window[0].conn(host)
      const rider = this.riders.get(host)
      const riding = rider && !rider.taken ? rider : undefined
      if (riding) riding.taken = true
      let fetched: Awaited<ReturnType<typeof fetchBatch>>
      try {
        fetched = await fetchBatch(conn, [...wanted.values()], riding?.script)
      } catch (e) {
        riding?.settle(undefined)
        throw e
      }
      riding?.settle(fetched.rider)
      this.batches.set(host, (this.batches.get(host) ?? 0) + fetched.trips)
      if (h.gen !== gen) return
      for (const [i, w] of [...wanted.values()].entries()) {
        const r = fetched.results[i]
        const f = fetched.files[i]
        if (w.files && f) h.files.set(filesKey(w.files, w.opts.become), f)
        else if (!w.files && r) h.results.set(keyOf(w.script, w.opts)!, r)
      }
      // Planned again only where the plan may ask more: it stopped at a probe, or went on with a
      // guess the host now contradicts. Plans that ran to the end have nothing more to ask.
      inputs = inputs!.filter((inp) => {
        const o = outcomes.get(inp)
        return o && ((o.stopped && !inp.module.probeIsLast) || o.guesses.some((g) => !guessHolds(g, h.files.get(g.key))))
      })
      if (inputs.length === 0) return
      if (TRACE)
        trace(
          `${host}: read-ahead plans again: ${inputs.map((i) => `${i.task.name ?? i.task.module}${outcomes.get(i)?.stopped ? ' (stopped)' : ' (guess)'}`).join(', ')}`,
        )
    }
  }

  private serially<T>(f: () => Promise<T>): Promise<T> {
    // A turn of the event loop before each host's planning: handshakes and answers in flight are
    // handled in between instead of waiting for every host to be planned.
    const run = this.cpu.then(() => new Promise<void>((r) => setImmediate(r))).then(f)
    this.cpu = run.catch(() => undefined)
    return run
  }
}

interface PlanInput {
  tc: TaskContext
  task: Task
  module: Module
  vars: Vars
}

/**
 * The per-item variables plan() would see (none when the task's conditions rule it out), or
 * undefined when they cannot be known yet: they use a result registered (or a fact set) later.
 */
function planInputs(tc: TaskContext, host: string): PlanInput[] | undefined {
  const task = tc.task
  const module = getModule(task.module)
  if (!module || module.controllerOnly || task.invalid) return []
  try {
    const vars = tc.vars(host)
    // host data in the environment: the run refuses it on the control machine, so nothing is asked ahead
    if (tc.environment.length && hostDataInEnvironment(tc.environment, vars, tc.rc.lookupPath(task))) return []
    const conds = tc.conditions
    if (!task.loop) return conds.every((c) => evalCondition(c, vars)) ? [{ tc, task, module, vars }] : []
    const items = renderLoopItems(task, vars, tc.rc.lookupPath(task)).slice(0, MAX_ITEMS)
    const out: PlanInput[] = []
    let unknown = false
    items.forEach((_item, i) => {
      try {
        const iv = tc.vars(host, loopVars(task.loop!, items, i))
        if (conds.every((c) => evalCondition(c, iv))) out.push({ tc, task, module, vars: iv })
      } catch {
        unknown = true // this item depends on something not known yet
      }
    })
    return unknown ? undefined : out
  } catch {
    return undefined // depends on a result registered later, or fails: the real run will say so
  }
}

interface Guess {
  key: string
  paths: string[]
  infos: FileInfo[]
}

interface Speculation {
  /** A probe other than files() was not answered: the plan stopped there. */
  stopped: boolean
  guesses: Guess[]
}

/** Whether what the host answered matches what the plan was told (exists, type, link target). */
function guessHolds(g: Guess, real: Map<string, FileInfo> | undefined): boolean {
  if (!real) return false
  return g.infos.every((i) => {
    const x = real.get(i.path)
    return !!x && x.exists === i.exists && x.type === i.type && (i.type !== 'link' || x.linkTarget === i.linkTarget)
  })
}

/**
 * Runs plan() against a reader that answers from the cache and records every other question.
 * A files() question not answered yet gets a guess (see guess()) so the plan goes on to ask its
 * next question in the same round: a copy asks whether dest is a directory, then about dest itself.
 */
async function speculate(inp: PlanInput, host: string, h: HostCache, wanted: Map<string, Wanted>, memo?: SpecMemo): Promise<Speculation> {
  const out: Speculation = { stopped: false, guesses: [] }
  const { tc, task, module, vars } = inp
  const args = renderArgs(task, module, vars, tc.rc.lookupPath(task), tc.moduleDefaults(vars, module.name))
  const { become, env } = tc.exec(vars)
  const base: ProbeOptions = { become, env }
  // Hosts given the same arguments ask the same first questions: plan once, reuse on the others.
  let memoKey: string | undefined
  if (memo) {
    try {
      const check = tc.check
      memoKey = JSON.stringify([args, base, check, check && tc.overlay(host).hasAny, tc.diff])
    } catch {
      memoKey = undefined
    }
    const hit = memoKey === undefined ? undefined : memo.get(task)?.get(memoKey)
    if (hit) {
      for (const w of hit.wanted) wanted.set(wantedKey(w), w)
      return hit.out
    }
  }
  const mine: Wanted[] = []
  const recorder: Connection = {
    host,
    stats: { roundTrips: 0, bytesSent: 0, bytesReceived: 0 },
    connect: async () => {},
    exec: (script, o = {}) => {
      const opts = mergeOpts(base, o)
      const k = keyOf(script, opts)
      const hit = k === undefined ? undefined : h.results.get(k)
      if (hit) return Promise.resolve(copyResult(hit))
      if (k === undefined) out.stopped = true
      else {
        mine.push({ script, opts })
        if (!wanted.has(k)) wanted.set(k, { script, opts })
      }
      const p = Promise.reject(MISS)
      p.catch(() => {}) // a plan may drop a probe it started; the miss must not become unhandled
      return p
    },
    upload: () => Promise.reject(MISS),
    download: () => Promise.reject(MISS),
    close: async () => {},
  }
  const real = makeReader(recorder, tc.check ? tc.overlay(host) : undefined, {
    become: base.become,
    cache: { lookup: () => undefined, files: (q, become) => h.files.get(filesKey(q, become)) },
  })
  const reader: HostReader = {
    ...real,
    probe: (script, o) =>
      real.probe(script, o).catch((e) => {
        if (e === MISS) out.stopped = true
        throw e
      }),
    files: (paths, o) => {
      const q: FilesQuestion = { paths: [...paths], opts: { sha256: o?.sha256, content: o?.content, follow: o?.follow } }
      const key = filesKey(q, base.become)
      if (paths.length === 0 || h.files.has(key)) return real.files(paths, o)
      // Not fetched yet: ask for it in the batch, and go on with a guess.
      const w: Wanted = { script: '', opts: { become: base.become }, files: q }
      mine.push(w)
      if (!wanted.has(wantedKey(w))) wanted.set(wantedKey(w), w)
      const infos = paths.map((p) => module.readAheadGuess?.(p, args, !!o?.follow) ?? guess(p, args))
      out.guesses.push({ key, paths, infos })
      return Promise.resolve(new Map(infos.map((i): [string, FileInfo] => [i.path, i])))
    },
  }
  const ctx = planContext(tc, host, vars, reader, base.become)
  try {
    await module.plan(args, ctx)
  } catch {
    out.stopped = true
  }
  if (memo && memoKey !== undefined) {
    let m = memo.get(task)
    if (!m) memo.set(task, (m = new Map()))
    m.set(memoKey, { wanted: mine, out })
  }
  return out
}

/** Per task and arguments: what planning asked with nothing fetched yet. */
type SpecMemo = WeakMap<Task, Map<string, { wanted: Wanted[]; out: Speculation }>>

/**
 * What a path not fetched yet most likely is, so the plan goes on as it will on a converged host
 * (a module may know better: Module.readAheadGuess): a folder above the path the task manages is
 * a directory (a copy asks whether dest's folder exists), anything else a plain file.
 */
function guess(path: string, args: Vars): FileInfo {
  const base: FileInfo = { path, exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: 0 }
  const own = args.path ?? args.dest ?? args.name
  if (typeof own === 'string' && own !== path && own.startsWith(path.replace(/(?<!\/)\/+$/, '') + '/'))
    return { ...base, type: 'directory', mode: '0755', size: 4096 }
  return base
}

/**
 * One script that runs every probe in its own subshell (stdin closed, as a direct probe runs) and
 * frames each one's stdout (with its exit code) and its stderr with a random nonce, each on its own
 * stream: no temp file, no process beyond the probes' own.
 */
export function batchScript(probes: { script: string; env?: Record<string, string> }[], nonce: string): string {
  const lines: string[] = []
  probes.forEach((p, i) => {
    lines.push(
      `( eval ${shQuote(innerScript(p.script, { env: p.env }))} ) </dev/null`,
      `printf '\\n@@${nonce} %d %d\\n' ${i} $?`,
      `printf '\\n@@${nonce} %d\\n' ${i} >&2`,
    )
  })
  return lines.join('\n') + '\n'
}

/** Each probe's result from the batch's stdout and stderr; undefined for probes the output does not cover. */
export function parseBatch(out: Buffer, err: Buffer, count: number, nonce: string): (ExecResult | undefined)[] {
  const s = out.toString('latin1')
  const e = err.toString('latin1')
  const results: (ExecResult | undefined)[] = new Array(count).fill(undefined)
  let pos = 0
  let epos = 0
  for (let i = 0; i < count; i++) {
    const head = `\n@@${nonce} ${i} `
    const at = s.indexOf(head, pos)
    if (at < 0) break
    const eol = s.indexOf('\n', at + head.length)
    if (eol < 0) break
    const emark = `\n@@${nonce} ${i}\n`
    const eat = e.indexOf(emark, epos)
    if (eat < 0) break
    const rc = Number(s.slice(at + head.length, eol))
    if (Number.isInteger(rc)) results[i] = { rc, stdout: Buffer.from(s.slice(pos, at), 'latin1'), stderr: Buffer.from(e.slice(epos, eat), 'latin1') }
    pos = eol + 1
    epos = eat + emark.length
  }
  return results
}

/**
 * Sends the wanted probes, one script per become (the connection runs them one after another), and
 * `rider` (run without become) first in the script that runs without become, or else on its own.
 */
async function fetchBatch(
  conn: Connection,
  wanted: Wanted[],
  rider?: string,
): Promise<{ results: (ExecResult | undefined)[]; files: (Map<string, FileInfo> | undefined)[]; trips: number; rider?: ExecResult }> {
  const results: (ExecResult | undefined)[] = new Array(wanted.length).fill(undefined)
  const files: (Map<string, FileInfo> | undefined)[] = new Array(wanted.length).fill(undefined)
  let riderAnswer: ExecResult | undefined
  const groups = new Map<string, number[]>()
  const NO_BECOME = JSON.stringify(null)
  wanted.forEach((w, i) => {
    const g = JSON.stringify(w.opts.become ?? null)
    if (!groups.has(g)) groups.set(g, [])
    groups.get(g)!.push(i)
  })
  if (rider !== undefined && !groups.has(NO_BECOME)) groups.set(NO_BECOME, [])
  await Promise.all(
    [...groups.entries()].map(async ([g, idx]) => {
      const nonce = randomBytes(12).toString('hex')
      const withRider = rider !== undefined && g === NO_BECOME
      // files() questions go into one merged probe, asked last.
      const merge = idx.filter((i) => wanted[i].files)
      const alone = idx.filter((i) => !wanted[i].files)
      const merged = merge.length ? filesProbe(merge.map((i) => wanted[i].files!)) : undefined
      const probes = alone.map((i) => ({ script: wanted[i].script, env: wanted[i].opts.env }))
      if (merged) probes.push({ script: merged.script, env: undefined })
      if (withRider) probes.push({ script: rider, env: undefined })
      const script = batchScript(probes, nonce)
      if (TRACE_DUMP) traceDump(conn.host, script)
      if (TRACE)
        trace(`${conn.host}: read-ahead sends ${idx.length} probes as ${probes.length}${withRider ? ' (with the facts)' : ''} (${script.length} bytes)`)
      const r = await conn.exec(script, { become: idx.length ? wanted[idx[0]].opts.become : undefined })
      if (TRACE) trace(`${conn.host}: read-ahead answered (${r.stdout.length} bytes)`)
      const out = parseBatch(r.stdout, r.stderr, probes.length, nonce)
      alone.forEach((i, j) => (results[i] = out[j]))
      const m = merged && out[alone.length]
      if (merged && m && m.rc === 0) merged.parse(m.stdout).forEach((res, j) => (files[merge[j]] = res))
      if (withRider) riderAnswer = out[probes.length - 1]
    }),
  )
  return { results, files, trips: groups.size, rider: riderAnswer }
}
