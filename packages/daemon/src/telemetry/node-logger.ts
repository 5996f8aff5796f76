import { logger } from '@libp2p/logger'
import type { ComponentLogger, Logger } from '@libp2p/interface'

/**
 * Loggers for one node, also given to libp2p: the usual names
 * (`shoal:fetch`, `libp2p:tcp`, so `DEBUG=` filters work as ever), every
 * line starting with `[<last 6 characters of the peer id>]` so that two
 * nodes in one process can be told apart. Costs nothing while disabled.
 */
export function nodeLogger (peerId: string): ComponentLogger {
  const tag = `[${peerId.slice(-6)}] `
  const tagged = (base: Logger): Logger => {
    const log = ((formatter: unknown, ...args: unknown[]) => { if (log.enabled) base(tag + String(formatter), ...args) }) as Logger
    log.error = (formatter: unknown, ...args: unknown[]) => { if (isOn(base.error)) base.error(tag + String(formatter), ...args) }
    log.trace = (formatter: unknown, ...args: unknown[]) => { if (isOn(base.trace)) base.trace(tag + String(formatter), ...args) }
    Object.defineProperty(log, 'enabled', { get: () => base.enabled })
    log.newScope = (name: string) => tagged(base.newScope(name))
    return log
  }
  return { forComponent: (name: string) => tagged(logger(name)) }
}

/** False only for a debug function that says it is off (libp2p's error and trace loggers do). */
function isOn (fn: unknown): boolean {
  return (fn as { enabled?: boolean }).enabled !== false
}
