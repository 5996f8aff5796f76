import type { Connection, PeerId } from '@libp2p/interface'
import { RELAY_LIMIT_MARGIN } from './constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'

/**
 * What we may still ask for over connections a relay limits. A circuit
 * relay v2 connection carries at most `limits.bytes` (both ways together)
 * and is reset by the relay past that, so downloads ask only for what fits,
 * less a margin for framing and encryption; then they let the connection go
 * and use a new circuit or, better, a direct connection.
 */
export class RelayBudgets {
  private readonly spent = new WeakMap<Connection, number>()

  /** Bytes of chunks we may still request over `conn`; Infinity when unlimited. */
  remaining (conn: Connection): number {
    const limit = conn.limits?.bytes
    if (limit === undefined) return Number.POSITIVE_INFINITY
    return Math.max(0, Number(limit) * (1 - RELAY_LIMIT_MARGIN) - (this.spent.get(conn) ?? 0))
  }

  spend (conn: Connection, bytes: number): void {
    if (conn.limits?.bytes !== undefined) this.spent.set(conn, (this.spent.get(conn) ?? 0) + bytes)
  }
}

/**
 * The connection to open a stream on: an open direct or unlimited one if
 * there is one, else a limited (relayed) one with room for at least `need`
 * more bytes, else a new dial. libp2p itself never reuses a limited
 * connection for a dial, and would dial the relay again.
 */
export async function connectionFor (node: ShoalLibp2p, peer: PeerId, budgets: RelayBudgets | undefined, need: number, signal: AbortSignal): Promise<Connection> {
  const open = node.getConnections(peer).filter(c => c.status === 'open')
  const unlimited = open.find(c => c.limits === undefined && c.direct) ?? open.find(c => c.limits === undefined)
  if (unlimited !== undefined) return unlimited
  const limited = open.find(c => (budgets?.remaining(c) ?? Number.POSITIVE_INFINITY) >= need)
  if (limited !== undefined) return limited
  return await node.dial(peer, { signal })
}
