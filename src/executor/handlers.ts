// Handlers: notified by tasks that changed something, run when handlers are flushed (after each
// section of a play, or by meta: flush_handlers), in the order they are written, once per host.
import type { Handler } from '../model.js'
import { activeHosts, type HostState, type PlayCtx } from './state.js'

/**
 * The handlers due now, each with the hosts that notified it (by name or `listen`), taken off
 * those hosts' lists. Lazy: the hosts still running are looked at when each handler's turn comes.
 * A `listen` topic wakes every handler that listens to it, so what a host notified is taken off
 * its list when the flush is over, not at the first handler it woke.
 */
export function* dueHandlers(ctx: PlayCtx): Generator<[Handler, HostState[]]> {
  const consumed = new Map<HostState, Set<string>>()
  try {
    for (const hd of ctx.play.handlers) {
      const names = [hd.name, ...hd.listen].filter((n): n is string => !!n)
      const hosts = activeHosts(ctx).filter((s) => names.some((n) => s.notified.has(n)))
      if (hosts.length === 0) continue
      for (const s of hosts) {
        const c = consumed.get(s) ?? new Set<string>()
        consumed.set(s, c)
        for (const n of names) if (s.notified.has(n)) c.add(n)
      }
      yield [hd, hosts]
    }
  } finally {
    for (const [s, names] of consumed) for (const n of names) s.notified.delete(n)
  }
}
