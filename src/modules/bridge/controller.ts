// The Ansible helper on the controller: one `python3 -c HELPER` process per run, spawned on first
// use, asked over JSON lines. Nothing here blocks the event loop: every answer is a promise, and the
// process holds the loop open only while a question is pending. Answers are cached per question.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createInterface } from 'node:readline'
import { HELPER_SOURCE } from './helper.py.js'

/** The Python that runs Ansible's code on the controller (Debian's ansible-core uses /usr/bin/python3). */
export function ansiblePython(): string {
  return process.env.K3SBOOK_ANSIBLE_PYTHON || '/usr/bin/python3'
}

export interface ArgSpecOption {
  type: string
  required?: boolean
  aliases?: string[]
  choices?: unknown[]
  no_log?: boolean
  suboptions?: boolean
}

export interface ArgSpec {
  options: Record<string, ArgSpecOption>
  mutually_exclusive: string[][]
  required_one_of: string[][]
  supports_check_mode: boolean
}

export type Resolved = { found: true; path: string; fqcn: string; python: boolean; action: boolean; stub?: boolean; spec?: ArgSpec | null } | { found: false }

export interface Payload {
  style: string
  payload: Buffer
}

/** Ansible is not importable by the controller's Python (or that Python does not run). */
export class NoAnsibleError extends Error {}

type Answer = Record<string, unknown> & { id: number; error?: string; noAnsible?: string }

class Helper {
  private proc?: ChildProcessWithoutNullStreams
  private next = 1
  private waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>()
  private dead?: Error

  private start(): ChildProcessWithoutNullStreams {
    if (this.proc) return this.proc
    const py = ansiblePython()
    const proc = spawn(py, ['-c', HELPER_SOURCE], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ANSIBLE_NOCOLOR: '1' } })
    this.proc = proc
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let a: Answer
      try {
        a = JSON.parse(line) as Answer
      } catch {
        return
      }
      const w = this.waiting.get(a.id)
      if (!w) return
      this.waiting.delete(a.id)
      this.idle()
      w.resolve(a)
    })
    const fail = (e: Error) => {
      this.dead = e
      for (const w of this.waiting.values()) w.reject(e)
      this.waiting.clear()
    }
    proc.on('error', (e) => fail(new NoAnsibleError(`${py}: ${e.message}`)))
    proc.on('exit', (code, sig) => fail(new NoAnsibleError(`${py} exited (${sig ?? code})${stderr ? `: ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`)))
    proc.stdin.on('error', () => {})
    process.once('exit', () => proc.kill())
    return proc
  }

  /** Hold the event loop only while an answer is awaited. */
  private idle(): void {
    const p = this.proc
    if (!p) return
    const busy = this.waiting.size > 0
    for (const h of [p, p.stdout, p.stderr, p.stdin] as { ref?: () => void; unref?: () => void }[]) busy ? h.ref?.() : h.unref?.()
  }

  ask(req: Record<string, unknown>): Promise<Answer> {
    if (this.dead) return Promise.reject(this.dead)
    const proc = this.start()
    const id = this.next++
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.idle()
      proc.stdin.write(JSON.stringify({ ...req, id }) + '\n')
    }).then((a) => {
      if (a.noAnsible !== undefined) throw new NoAnsibleError(`${ansiblePython()} cannot import ansible (${a.noAnsible})`)
      if (a.error !== undefined) throw new Error(a.error)
      return a
    })
  }

  stop(): void {
    this.proc?.kill()
    this.proc = undefined
    this.dead = undefined
  }
}

let helper: Helper | undefined
const resolved = new Map<string, Promise<Resolved>>()
const built = new Map<string, Promise<Payload>>()

function theHelper(): Helper {
  helper ??= new Helper()
  return helper
}

/**
 * Where Ansible finds module `name` (FQCN or short, with role `library/` folders and a
 * `collections:` list), and its argument spec when `spec` is asked. One question per name and
 * folders per run.
 */
export function resolveModule(name: string, opts: { libraryDirs?: string[]; collections?: string[]; spec?: boolean } = {}): Promise<Resolved> {
  const key = JSON.stringify([name, opts.libraryDirs ?? [], opts.collections ?? [], !!opts.spec])
  let p = resolved.get(key)
  if (!p) {
    p = theHelper().ask({
      op: 'resolve',
      name,
      libraryDirs: opts.libraryDirs ?? [],
      collections: opts.collections ?? [],
      spec: !!opts.spec,
    }) as unknown as Promise<Resolved>
    resolved.set(key, p)
  }
  return p
}

/** The module's payload (AnsiballZ, arguments inside), built once per module, arguments and modes per run. */
export function buildPayload(req: {
  name: string
  path: string
  args: unknown
  check: boolean
  diff: boolean
  noLog: boolean
  interpreter: string
}): Promise<Payload> {
  const key = JSON.stringify(req)
  let p = built.get(key)
  if (!p) {
    p = theHelper()
      .ask({ op: 'build', ...req })
      .then((a) => ({ style: String(a.style), payload: Buffer.from(String(a.payload), 'base64') }))
    built.set(key, p)
    // a payload is large: keep only the recent ones
    if (built.size > 64) built.delete(built.keys().next().value!)
  }
  return p
}

/** Forget everything (tests switch K3SBOOK_ANSIBLE_PYTHON between cases). */
export function resetAnsibleHelper(): void {
  helper?.stop()
  helper = undefined
  resolved.clear()
  built.clear()
}
