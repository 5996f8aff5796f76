import { CHUNK_HARD_TIMEOUT_MS, CHUNK_TIMEOUT_MS, SESSION_STALL_MS } from '../../constants.js'

/** What the timeouts look at of a peer session. */
export interface TimedSession {
  /** Requests in flight and when each went out. */
  readonly inflight: ReadonlyMap<number, number>
  /** Requests sent and not answered (those a download cap holds back excluded). */
  readonly awaiting: number
  /** Last time the peer answered anything, or we started waiting on it. */
  readonly lastActivityAt: number
  /** Last time any bytes arrived from the peer. */
  readonly lastBytesAt: number
}

/**
 * A session's requests to withdraw at `now`. A peer with requests out that
 * sent nothing for SESSION_STALL_MS is `stalled`: all of them go (the peer's
 * failure, not the chunks'). Otherwise a request that waits its turn behind
 * others on a slow or capped link times out only when nothing at all arrived
 * for CHUNK_TIMEOUT_MS since it went out, or after CHUNK_HARD_TIMEOUT_MS
 * whatever (a drip-feeding peer): those count against their chunks.
 */
export function expiredRequests (session: TimedSession, now: number): { stalled: boolean, expired: number[] } {
  const stalled = session.awaiting > 0 && now - session.lastActivityAt > SESSION_STALL_MS
  const expired: number[] = []
  for (const [index, at] of session.inflight) {
    if (stalled || now - Math.max(at, session.lastBytesAt) > CHUNK_TIMEOUT_MS || now - at > CHUNK_HARD_TIMEOUT_MS) expired.push(index)
  }
  return { stalled, expired }
}
