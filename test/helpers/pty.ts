// The CLI on a real pseudo-terminal (script(1)), answering its questions as a person would: each
// answer is typed only once its question has shown (never after a delay), in order.
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '../..')
export const CLI = join(ROOT, 'bin/k3sbook.js')

export interface Exchange {
  /** what must show (after the previous exchange's question) before `send` is typed */
  expect: string | RegExp
  send: string
}

export interface PtyResult {
  /** everything the terminal received: output, prompts and whatever the terminal echoed */
  raw: string
  code: number
  /** how many exchanges took place */
  answered: number
}

const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`

/** Runs `k3sbook ARGS` on a pseudo-terminal; gives up (SIGKILL) after `deadlineMs`. */
export function ptyRun(
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; exchanges?: Exchange[]; deadlineMs?: number; size?: { rows: number; cols: number } } = {},
): Promise<PtyResult> {
  const size = o.size ?? { rows: 40, cols: 160 }
  const cmd = `stty rows ${size.rows} cols ${size.cols}; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`
  const exchanges = [...(o.exchanges ?? [])]
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: o.cwd ?? ROOT,
      env: { ...(o.env ?? process.env), TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let raw = ''
    let from = 0
    let answered = 0
    const step = () => {
      while (exchanges.length) {
        const { expect, send } = exchanges[0]
        const rest = raw.slice(from)
        const at = typeof expect === 'string' ? { index: rest.indexOf(expect), length: expect.length } : matchAt(rest, expect)
        if (at.index < 0) return
        from += at.index + at.length
        exchanges.shift()
        answered++
        child.stdin.write(send)
      }
    }
    child.stdout.on('data', (b: Buffer) => {
      raw += b.toString()
      step()
    })
    child.stderr.on('data', (b: Buffer) => (raw += b.toString()))
    child.stdin.on('error', () => {})
    const t = setTimeout(() => child.kill('SIGKILL'), o.deadlineMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(t)
      child.stdin.destroy()
      resolve({ raw, code: code ?? 1, answered })
    })
  })
}

function matchAt(text: string, re: RegExp): { index: number; length: number } {
  const m = re.exec(text)
  return m ? { index: m.index, length: m[0].length } : { index: -1, length: 0 }
}

/** The text without terminal control sequences. */
export const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[()][0-9A-Za-z]/g, '')
