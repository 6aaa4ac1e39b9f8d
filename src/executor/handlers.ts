// Handlers: notified by tasks that changed something, run when handlers are flushed (after each
// section of a play, or by meta: flush_handlers), in the order they are written, once per host.
import type { Handler } from '../model.js'
import { activeHosts, type HostState, type PlayCtx } from './state.js'

/**
 * The handlers due now, each with the hosts that notified it (by name or `listen`), taken off
 * those hosts' lists. Lazy: the hosts still running are looked at when each handler's turn comes.
 */
export function* dueHandlers(ctx: PlayCtx): Generator<[Handler, HostState[]]> {
  for (const hd of ctx.play.handlers) {
    const names = [hd.name, ...hd.listen].filter((n): n is string => !!n)
    const hosts = activeHosts(ctx).filter((s) => names.some((n) => s.notified.has(n)))
    if (hosts.length === 0) continue
    for (const s of hosts) for (const n of names) s.notified.delete(n)
    yield [hd, hosts]
  }
}
