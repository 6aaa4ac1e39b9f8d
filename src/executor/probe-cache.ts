// The contract between the read-ahead (prefetch.ts), which fetches probe answers before a task
// runs, and the readers and the pipeline that consume them. Its own file so that neither side
// imports the other (reader.ts reads the cache; prefetch.ts fills it and uses the reader).
import type { Become, ExecResult } from '../connection/types.js'
import type { FileInfo } from '../modules/types.js'
import type { FilesQuestion } from '../modules/lib/files.js'

export interface ProbeOptions {
  stdin?: unknown
  env?: Record<string, string>
  become?: Become
}

/** Probe results fetched ahead for one host and one task's exec context (become, environment). */
export interface CachedProbes {
  /** The result for exactly this script and options, when it was fetched ahead and is still valid. */
  lookup(script: string, o: ProbeOptions): ExecResult | undefined
  /** The answers to exactly this files() question, asked with this become, when fetched ahead and still valid. */
  files?(q: FilesQuestion, become: Become | undefined): Map<string, FileInfo> | undefined
}

/** What the pipeline asks of the read-ahead: fetched answers for a task, and "a step ran here". */
export interface ProbeCache {
  /** Probes of `module` on `host`, run with this exec context; undefined for modules not planned ahead. */
  view(host: string, module: string, base: ProbeOptions): CachedProbes | undefined
  /** A step ran on the host (or may have): nothing fetched before it can be trusted. */
  invalidate(host: string): void
  /**
   * The answer to a probe handed to ride() (the facts) once the host's read-ahead has sent it with
   * its own probes; undefined when no read-ahead took it (the caller then runs it alone).
   */
  ridden(host: string): Promise<ExecResult | undefined>
}
