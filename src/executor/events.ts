// Typed events: the executor emits them, reporters (listr2, plain lines, JSON) draw them. The
// executor never imports a reporter. The JSON reporter prints these objects as they are, one per
// line, so this file is the documented contract of `--output json`.
import type { SourcePos } from '../errors.js'
import type { FileDiff } from '../modules/types.js'

export type HostStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'unknown'

export interface HostCounts {
  ok: number
  changed: number
  unreachable: number
  failed: number
  skipped: number
  rescued: number
  ignored: number
  /** Check mode: tasks whose outcome could not be known (counted in `changed` too, as possible changes). */
  unknown?: number
}

export interface HostResultEvent {
  type: 'host:result'
  play: string
  task: string
  /** Task position in its YAML file. */
  pos?: SourcePos
  host: string
  /** For delegated tasks: where it ran. */
  delegatedTo?: string
  status: HostStatus
  /** In check mode: the change was predicted, not made. */
  check: boolean
  /** Failed but `ignore_errors` let the host go on. */
  ignored?: boolean
  /** One-line summaries of what changed (or would): "content", "mode 0644 → 0600". */
  changes?: string[]
  diff?: FileDiff[]
  msg?: string
  /** Loop item label, when the task loops. */
  item?: string
  /** A loop's items, each with its own status (and why, when unknown), in order. */
  items?: { label: string; status: HostStatus; msg?: string }[]
  rc?: number
  stdout?: string
  stderr?: string
  /** The command or step that failed, for failures. */
  command?: string
  durationMs: number
  /** Handler run because of a notification. */
  handler?: boolean
}

export type RunEvent =
  | { type: 'run:start'; playbook: string; check: boolean; diff: boolean; time: string }
  | { type: 'play:start'; play: string; hosts: string[]; pos?: SourcePos }
  | { type: 'play:skip'; play: string; reason: string; pos?: SourcePos }
  /** With `serial`, each batch of hosts runs the whole play before the next one starts. */
  | { type: 'batch:start'; play: string; hosts: string[]; batch: number; batches: number }
  | { type: 'task:start'; play: string; task: string; module: string; hosts: string[]; pos?: SourcePos; handler?: boolean }
  | HostResultEvent
  | { type: 'task:end'; play: string; task: string; durationMs: number }
  /**
   * A host has left the play for good: it failed (no enclosing rescue/always can take it back) or
   * became unreachable. Reporters stop drawing it as running.
   */
  | { type: 'host:end'; play: string; host: string; status: 'failed' | 'unreachable' }
  | { type: 'play:end'; play: string; durationMs: number }
  | { type: 'warning'; message: string; pos?: SourcePos; host?: string }
  /** `debug`: `msg`, or for `var:` the variable's name and value (msg holds the value too). */
  | { type: 'debug'; host: string; task: string; msg: unknown; var?: string; value?: unknown }
  | { type: 'verbose'; level: number; host?: string; message: string }
  | {
      type: 'run:end'
      recap: Record<string, HostCounts>
      durationMs: number
      check: boolean
      interrupted: boolean
      /** SSH commands sent per host (each a round trip). */
      roundTrips: Record<string, number>
      exitCode: number
    }

export type Emit = (e: RunEvent) => void

export function emptyCounts(): HostCounts {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 }
}
