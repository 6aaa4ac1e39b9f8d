// fetch: copies a file from the host to the control machine, into DEST/HOSTNAME/SRC-PATH (or DEST
// itself with `flat`). Idempotent by sha: when the local copy matches the host's, nothing moves.
// The write happens on the control machine inside apply(), so check mode never writes locally.
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { shQuote } from '../connection/quote.js'
import type { StepResult } from './types.js'
import { bool, guardPlan, moduleSchema, pick, planData, sha256, str, toBool, defineModule } from './lib/index.js'
import { hostReadLimit, tooLarge } from './lib/limits.js'

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

/** Ansible's layout: DEST/HOST/SRC without its leading slash, or DEST (DEST/basename when it ends with /) when flat. */
export function fetchDestPath(dest: string, host: string, src: string, flat: boolean, baseDir = '.'): string {
  const base = isAbsolute(dest) ? dest : resolve(baseDir, dest)
  if (flat) return dest.endsWith('/') ? join(base, src.split('/').pop()!) : base
  return join(base, host, src.replace(/^\/+/, ''))
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex')
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

interface FetchPlan {
  src: string
  local: string
  remoteSha: string
  /** The host file is readable by its owner only: so is the local copy. */
  private: boolean
  validate: boolean
}
const pending = planData<FetchPlan>()

export const fetchModule = defineModule({
  readAhead: true,
  resultAfterRun: true,
  name: 'fetch',
  description: 'Copies a file from the host to the control machine (DEST/HOSTNAME/PATH, or DEST with flat).',
  schema: fetchSchema,
  plan: (args, ctx) =>
    guardPlan(async () => {
      const src = String(args.src)
      const local = fetchDestPath(String(args.dest), ctx.host, src, toBool(args.flat, false), ctx.task?.baseDir)
      const info = (await ctx.reader.files([src], { sha256: true, follow: true })).get(src)!
      if (!info.exists) {
        const msg = 'the remote file does not exist, not transferring, ignored'
        if (toBool(pick(args, 'fail_on_missing'), true)) return { status: 'fail', msg: `${msg}: ${src}`, result: { file: src } }
        return { status: 'ok', note: msg, result: { changed: false, msg, file: src } }
      }
      if (info.type === 'directory')
        return { status: 'fail', msg: `remote file is a directory, fetch cannot work on directories: ${src}`, result: { file: src } }
      if (!info.sha256) return { status: 'fail', msg: `unable to read ${src} (permission denied?)`, result: { file: src } }
      const limit = hostReadLimit()
      if (info.size !== undefined && info.size > limit) return { status: 'fail', msg: `fetch: ${tooLarge(src, info.size, limit)}`, result: { file: src } }
      let localBytes: Buffer | undefined
      try {
        localBytes = await readFile(local)
      } catch {
        localBytes = undefined
      }
      if (localBytes && sha256(localBytes) === info.sha256)
        return {
          status: 'ok',
          result: { changed: false, dest: local, file: src, checksum: sha1(localBytes), md5sum: md5(localBytes), remote_checksum: sha1(localBytes) },
        }
      return pending.attach(
        {
          status: 'change',
          changes: [{ summary: localBytes ? `fetch ${src} → ${local} (differs)` : `fetch ${src} → ${local}` }],
          // capped too: a file that grew since it was probed fails its checksum instead of filling memory
          steps: [{ describe: `read ${src}`, script: `cat -- ${shQuote(src)}`, maxOutput: limit }],
          result: { dest: local, file: src },
        },
        { src, local, remoteSha: info.sha256, validate: toBool(args.validate_checksum, true), private: isPrivate(info.mode) },
      )
    }),
  async apply(plan, _args, ctx) {
    const p = pending.of(plan)!
    const r = await ctx.run(plan.steps[0])
    if (r.rc !== 0) return [r]
    const bytes = r.stdout
    if (p.validate && sha256(bytes) !== p.remoteSha) {
      // Report through a synthetic failing result so the executor shows it like any failed step.
      return [{ ...r, rc: 1, stderr: Buffer.from(`checksum mismatch: ${p.src} changed while it was read (sha256 ${sha256(bytes)} ≠ ${p.remoteSha})\n`) }]
    }
    await mkdir(dirname(p.local), { recursive: true })
    const tmp = `${p.local}.k3sbook-${process.pid}`
    // A file only its owner may read on the host (a kubeconfig, a token) stays private here too.
    await writeFile(tmp, bytes, p.private ? { mode: 0o600 } : {})
    await rename(tmp, p.local)
    return [r]
  },
  result(plan, steps: StepResult[] | undefined) {
    const base = { ...(plan.result ?? {}) }
    if (plan.status === 'ok' || plan.status === 'fail') return base
    // the bytes read, once apply() wrote them here (a failed read or a checksum mismatch is not 0)
    const bytes = steps?.[0]?.rc === 0 ? steps[0].stdout : undefined
    if (!bytes) return { ...base, changed: plan.status === 'change' }
    return { ...base, changed: true, checksum: sha1(bytes), md5sum: md5(bytes), remote_checksum: sha1(bytes), remote_md5sum: null }
  },
})

/** No group or other permission bits: the host keeps this file to its owner. */
export function isPrivate(mode: string | undefined): boolean {
  return mode !== undefined && (parseInt(mode, 8) & 0o077) === 0
}
