// fetch: copies a file from the host to the control machine, into DEST/HOSTNAME/SRC-PATH (or DEST
// itself with `flat`). Idempotent by checksum: when the local copy matches the host's, nothing
// moves (Ansible compares checksums first). The bytes stream from the host into a temp file next
// to the destination while their checksums are computed, so memory stays bounded whatever the
// file's size; the temp file replaces the destination only once it is whole and its checksum is
// the host's, so a failed or interrupted fetch leaves the old destination as it was. The write
// happens on the control machine inside apply(), so check mode never writes locally.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { shQuote } from '../connection/quote.js'
import { markHostFile } from '../hostfiles.js'
import { ConnectionError, RemoteError } from '../errors.js'
import type { Step, StepResult } from './types.js'
import { ArgError, bool, guardPlan, moduleSchema, pick, planData, str, toBool, defineModule } from './lib/index.js'

export const fetchSchema = moduleSchema(
  {
    src: str('File on the host to fetch (not a directory).'),
    dest: str(
      "Directory on the control machine; the file lands in DEST/HOSTNAME/SRC (or, with `flat`, at DEST, or in DEST when it ends with /). Relative to the playbook's folder.",
    ),
    flat: bool('Do not add the host name and source path below dest.'),
    fail_on_missing: bool('Fail when src does not exist on the host. Default true.'),
    validate_checksum: bool("Verify the fetched copy's checksum against the host's. Default true."),
  },
  { required: ['src', 'dest'] },
)

/**
 * Ansible's layout: DEST/HOST/SRC without its leading slash, or DEST (DEST/basename when it ends
 * with /) when flat. SRC is taken as the host resolves it ("/a/../b" is "/b"), so no ".." in it —
 * from the playbook or from host data (`src: "{{ found.stdout }}"`) — leads out of DEST/HOST: Ansible
 * 2.14 joins it as given and writes "DEST/HOST/etc/../../../x" to "x" beside DEST. A host name that
 * would climb out (an add_host name made from host data) is refused with Ansible's traversal message.
 */
export function fetchDestPath(dest: string, host: string, src: string, flat: boolean, baseDir = '.'): string {
  const base = isAbsolute(dest) ? dest : resolve(baseDir, dest)
  const there = posix.normalize('/' + src)
  if (flat) {
    if (!dest.endsWith('/')) return base
    const name = posix.basename(there)
    if (name === '') throw new ArgError(`src names no file to fetch into a directory: ${src}`)
    return join(base, name)
  }
  const local = join(base, host, there.slice(1))
  if (host === '' || host === '.' || host === '..' || host.includes('/') || host.includes('\0'))
    throw new ArgError(`Detected directory traversal, expected to be contained in '${base}' but got '${local}'`)
  return local
}

interface Sums {
  sha256: string
  sha1: string
  md5: string
  size: number
}

/** A pass-through that computes the checksums of what flows through it. */
class Summing extends Transform {
  private readonly h = { sha256: createHash('sha256'), sha1: createHash('sha1'), md5: createHash('md5') }
  size = 0
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null, data?: Buffer) => void): void {
    this.h.sha256.update(chunk)
    this.h.sha1.update(chunk)
    this.h.md5.update(chunk)
    this.size += chunk.length
    done(null, chunk)
  }
  sums(): Sums {
    return { sha256: this.h.sha256.digest('hex'), sha1: this.h.sha1.digest('hex'), md5: this.h.md5.digest('hex'), size: this.size }
  }
}

/** The checksums of a local file, read as a stream (any size); undefined when it is not a readable regular file. */
export async function fileSums(path: string): Promise<Sums | undefined> {
  try {
    if (!(await stat(path)).isFile()) return undefined
    const s = new Summing()
    await pipeline(createReadStream(path), s, async (src: AsyncIterable<Buffer>) => {
      for await (const _ of src);
    })
    return s.sums()
  } catch {
    return undefined
  }
}

interface FetchPlan {
  src: string
  local: string
  remoteSha: string
  /** The host file is readable by its owner only: so is the local copy. */
  private: boolean
  validate: boolean
  /** Set by apply(): the checksums of the bytes received (and written, when they match). */
  got?: Sums
}
const pending = planData<FetchPlan>()

export const fetchModule = defineModule({
  readAhead: true,
  resultAfterRun: true,
  name: 'fetch',
  controllerFiles: () => ({ dest: 'write' }),
  description: 'Copies a file from the host to the control machine (DEST/HOSTNAME/PATH, or DEST with flat).',
  schema: fetchSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const src = String(args.src)
      const dest = String(args.dest)
      const flat = toBool(args.flat, false)
      const local = fetchDestPath(dest, ctx.host, src, flat, ctx.task?.baseDir)
      // what lands there is the host's: host data when a later task reads it back (hostfiles.ts)
      markHostFile(local)
      const info = (await ctx.reader.files([src], { sha256: true, follow: true })).get(src)!
      if (!info.exists) {
        const msg = 'the remote file does not exist, not transferring, ignored'
        if (toBool(pick(args, 'fail_on_missing'), true)) return { status: 'fail', msg: `${msg}: ${src}`, result: { file: src } }
        return { status: 'ok', note: msg, result: { changed: false, msg, file: src } }
      }
      if (info.type === 'directory')
        return { status: 'fail', msg: `remote file is a directory, fetch cannot work on directories: ${src}`, result: { file: src } }
      if (!info.sha256) return { status: 'fail', msg: `unable to read ${src} (permission denied?)`, result: { file: src } }
      const there = await stat(local).catch(() => undefined)
      if (there?.isDirectory())
        // Ansible's words; without flat the path ends in the source's name, so this is flat's case
        return {
          status: 'fail',
          msg: `dest is an existing directory, use a trailing slash if you want to fetch src into that directory: ${local}`,
          result: { file: src },
        }
      // Ansible compares checksums before any transfer: a matching local copy is not fetched again.
      const mine = there ? await fileSums(local) : undefined
      if (mine && mine.sha256 === info.sha256)
        return {
          status: 'ok',
          result: { changed: false, dest: local, file: src, checksum: mine.sha1, md5sum: mine.md5, remote_checksum: mine.sha1 },
        }
      return pending.attach(
        {
          status: 'change',
          changes: [{ summary: mine ? `fetch ${src} → ${local} (differs)` : `fetch ${src} → ${local}` }],
          steps: [{ describe: `read ${src}`, script: `cat -- ${shQuote(src)}` }],
          result: { dest: local, file: src },
        },
        { src, local, remoteSha: info.sha256, validate: toBool(args.validate_checksum, true), private: isPrivate(info.mode) },
      )
    }),
  async apply(plan, _args, ctx) {
    const p = pending.of(plan)!
    const step = plan.steps[0]
    const t0 = Date.now()
    const failed = (msg: string): StepResult[] => [{ step, rc: 1, stdout: Buffer.alloc(0), stderr: Buffer.from(msg + '\n'), durationMs: Date.now() - t0 }]
    await mkdir(dirname(p.local), { recursive: true })
    // hidden, beside the destination (the same file system: the rename is atomic), never an existing file
    const tmp = join(dirname(p.local), `.${basename(p.local)}.k3sbook.${randomBytes(6).toString('hex')}`)
    const old = await stat(p.local).catch(() => undefined)
    // A file only its owner may read on the host (a kubeconfig, a token) stays private here too;
    // a destination that exists keeps its mode.
    const mode = p.private ? 0o600 : old ? old.mode & 0o7777 : undefined
    const summing = new Summing()
    const written = pipeline(summing, createWriteStream(tmp, { flags: 'wx', mode: mode ?? 0o666 }))
    written.catch(() => {}) // awaited below; a write error also fails the transfer at once
    let r: StepResult
    try {
      r = ctx.stream ? await ctx.stream(step, summing) : await inMemory(ctx.run, step, summing)
      if (r.rc === 0) await written
    } catch (e) {
      summing.destroy()
      await written.catch(() => {})
      await rm(tmp, { force: true })
      const why = await written.then(
        () => undefined,
        (w: Error) => w,
      )
      // a local write error (a full disk) is the cause; a lost connection or an interrupt is the executor's to report
      if (why && !(e instanceof RemoteError || e instanceof ConnectionError))
        return failed(`cannot write ${p.local}: ${why.message}; the destination was left as it was`)
      throw e
    }
    if (r.rc !== 0) {
      summing.destroy()
      await written.catch(() => {})
      await rm(tmp, { force: true })
      return [r]
    }
    const got = summing.sums()
    p.got = got
    if (p.validate && got.sha256 !== p.remoteSha) {
      await rm(tmp, { force: true })
      return failed(`checksum mismatch: ${p.src} changed while it was read (sha256 ${got.sha256} ≠ ${p.remoteSha}); the destination was left as it was`)
    }
    try {
      if (mode !== undefined) await chmod(tmp, mode) // not narrowed by the umask
      await rename(tmp, p.local)
    } catch (e) {
      await rm(tmp, { force: true })
      return failed(`cannot write ${p.local}: ${(e as Error).message}; the destination was left as it was`)
    }
    return [r]
  },
  result(plan, steps: StepResult[] | undefined) {
    const base = { ...(plan.result ?? {}) }
    if (plan.status === 'ok' || plan.status === 'fail') return base
    const got = pending.of(plan)?.got
    // the checksums of the bytes written, once apply() wrote them (a failed read or a mismatch is not 0)
    if (!got || steps?.[0]?.rc !== 0) return { ...base, changed: plan.status === 'change' }
    return { ...base, changed: true, checksum: got.sha1, md5sum: got.md5, remote_checksum: got.sha1, remote_md5sum: null }
  },
})

/** Without a streamed run (a test's context): the step's output whole, then through the same writer. */
async function inMemory(run: (s: Step) => Promise<StepResult>, step: Step, out: NodeJS.WritableStream): Promise<StepResult> {
  const r = await run(step)
  if (r.rc === 0) out.end(r.stdout)
  return { ...r, stdout: Buffer.alloc(0) }
}

/** No group or other permission bits: the host keeps this file to its owner. */
export function isPrivate(mode: string | undefined): boolean {
  return mode !== undefined && (parseInt(mode, 8) & 0o077) === 0
}
