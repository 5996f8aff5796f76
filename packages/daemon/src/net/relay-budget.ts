import type { Connection, PeerId } from '@libp2p/interface'
import { RELAY_LIMIT_MARGIN } from '../constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'

/**
 * What we may still ask for over connections a relay limits. A circuit
 * relay v2 connection carries at most `limits.bytes` (both ways together)
 * and is reset by the relay past that, so downloads ask only for what fits,
 * less a margin for framing and encryption; then they let the connection go
 * and use a new circuit or, better, a direct connection.
 */
export class RelayBudgets {
  /** Per limited connection: its byte limit when first seen, and the chunk bytes requested over it since. */
  private readonly budgets = new WeakMap<Connection, { limit: number, spent: number }>()

  /** Bytes of chunks we may still request over `conn`; Infinity when unlimited. */
  remaining (conn: Connection): number {
    const b = this.of(conn)
    return b === undefined ? Number.POSITIVE_INFINITY : Math.max(0, b.limit * (1 - RELAY_LIMIT_MARGIN) - b.spent)
  }

  /** Count `bytes` of requested chunks against `conn` (negative: a request never sent). */
  spend (conn: Connection, bytes: number): void {
    const b = this.of(conn)
    if (b !== undefined) b.spent = Math.max(0, b.spent + bytes)
  }

  private of (conn: Connection): { limit: number, spent: number } | undefined {
    // `limits.bytes` counts down as bytes flow (a live figure in circuit
    // relay v2), so the budget starts from the first reading and counts
    // requests itself, rather than subtracting twice
    let b = this.budgets.get(conn)
    if (b === undefined) {
      const limit = conn.limits?.bytes
      if (limit === undefined) return undefined
      b = { limit: Number(limit), spent: 0 }
      this.budgets.set(conn, b)
    }
    return b
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
