// Connections and become: one connection per host for the whole run (opened on first use, shared by
// every task and the read-ahead), and the view of it a task gets, whose every exec carries the
// task's become, environment and timeout.
import pLimit from 'p-limit'
import type { Connection, ExecOptions } from '../connection/types.js'
import { LocalConnection } from '../connection/local.js'
import type { Vars } from '../model.js'
import { isImplicitLocalhost } from '../inventory/index.js'
import { lazyLayers } from './vars.js'
import type { Project, RunOptions } from './state.js'

/** What every exec of a task carries. */
export interface ExecContext {
  become?: ExecOptions['become']
  env?: Record<string, string>
  timeoutMs?: number
}

export class Connections {
  private readonly conns = new Map<string, Promise<Connection>>()
  /** Every connection opened, in order (closed at the end of the run; round trips come from them). */
  readonly opened: Connection[] = []
  /**
   * At most `forks` handshakes in flight (as Ansible: forks bounds the hosts worked on at once).
   * All at once, 150 handshakes share two cores with 150 sshds and all finish late together:
   * one past its connect timeout drops the host. Bounded, each finishes in its own time.
   */
  private readonly handshakes: ReturnType<typeof pLimit>

  constructor(
    private readonly project: Project,
    private readonly connect: RunOptions['connect'],
    private readonly invVars: (host: string) => Vars,
    forks = 50,
  ) {
    this.handshakes = pLimit(Math.max(1, forks))
  }

  get(host: string): Promise<Connection> {
    let p = this.conns.get(host)
    if (!p) {
      p = (async () => {
        const vars = lazyLayers([this.invVars(host), this.project.extraVars])
        const implicitLocal = isImplicitLocalhost(this.project.inventory, host)
        const c = implicitLocal ? new LocalConnection(host) : await this.connect(host, vars)
        await this.handshakes(() => c.connect())
        this.opened.push(c)
        return c
      })()
      this.conns.set(host, p)
    }
    return p
  }

  /** Kills what the open connections run on their hosts (Connection.interrupt). */
  async interruptAll(): Promise<void> {
    await Promise.allSettled(this.opened.map((c) => c.interrupt?.()))
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.opened.map((c) => c.close()))
  }
}

/** A connection whose every exec carries the task's become, environment and timeout. */
export function scoped(conn: Connection, extra: ExecContext): Connection {
  if (!extra.become && !extra.env && !extra.timeoutMs) return conn
  return {
    host: conn.host,
    stats: conn.stats,
    controller: conn.controller,
    connect: () => conn.connect(),
    exec: (script, o = {}) =>
      conn.exec(script, {
        ...o,
        become: o.become ?? extra.become,
        env: extra.env || o.env ? { ...extra.env, ...o.env } : undefined,
        timeoutMs: o.timeoutMs ?? extra.timeoutMs,
      }),
    upload: (l, r, o = {}) => conn.upload(l, r, { ...o, become: o.become ?? extra.become }),
    download: (r, o = {}) => conn.download(r, { ...o, become: o.become ?? extra.become }),
    close: () => conn.close(),
    reset: conn.reset && (() => conn.reset!()),
  }
}
