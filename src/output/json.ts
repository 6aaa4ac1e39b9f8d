// `--output json`: one JSON object per line, exactly the RunEvent contract in
// src/executor/events.ts (secrets redacted). Stable for scripts: new fields may be added, none
// renamed or removed without a version bump.
import type { RunEvent } from '../executor/events.js'
import { Redactor, type Reporter } from './common.js'

export class JsonReporter implements Reporter {
  constructor(
    private readonly write: (s: string) => void,
    private readonly redactor: Redactor = new Redactor(),
  ) {}
  handle(e: RunEvent): void {
    this.write(JSON.stringify(this.redactor.value(e)) + '\n')
  }
  async close(): Promise<void> {}
}
