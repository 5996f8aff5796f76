import { logger } from '@libp2p/logger'
import type { IdentifyResult, PeerId } from '@libp2p/interface'
import { DIAL_TIMEOUT_MS, RESERVATION_ATTEMPTS, RESERVATION_CHECK_MS } from './constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'

const log = logger('shoal:relay')
const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

/**
 * Makes sure a node behind NAT ends up with a relay reservation. libp2p's
 * relay transport asks a relay for one when it connects, but does not ask
 * again when that attempt fails. (It failed in one start of four here while
 * we used AutoNAT v1, whose server closes the connection it "dials back"
 * even when that is the existing one, reservation and all; AutoNAT v2 opens
 * a new one. This stays as a safety net.) So: after meeting a relay, if no
 * /p2p-circuit address appeared within RESERVATION_CHECK_MS, reconnect to
 * it, which makes the transport ask again; at most RESERVATION_ATTEMPTS
 * times, and never while Shoal traffic runs over that connection.
 */
export class RelayReservations {
  private readonly attempts = new Map<string, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor (private readonly node: ShoalLibp2p) {}

  start (): void {
    this.node.addEventListener('peer:identify', this.onIdentify)
  }

  stop (): void {
    this.stopped = true
    this.node.removeEventListener('peer:identify', this.onIdentify)
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (!evt.detail.protocols.includes(HOP_PROTOCOL) || this.hasReservation()) return
    this.check(evt.detail.peerId)
  }

  private hasReservation (): boolean {
    return this.node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))
  }

  private check (relay: PeerId): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (this.stopped || this.hasReservation()) return
      // never cut connections that run through this relay (reconnecting would)
      const key = relay.toString()
      const busy = this.node.getConnections().some(c => c.remoteAddr.toString().includes(`/p2p/${key}/p2p-circuit`)) ||
        this.node.getConnections(relay).some(c => c.streams.some(s => s.protocol?.startsWith('/shoal/') === true))
      if (busy) {
        this.check(relay)
        return
      }
      const n = (this.attempts.get(key) ?? 0) + 1
      if (n > RESERVATION_ATTEMPTS) return
      this.attempts.set(key, n)
      log('no reservation on relay %p yet: reconnecting (attempt %d)', relay, n)
      void (async () => {
        await this.node.hangUp(relay)
        await this.node.dial(relay, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      })().catch(err => { log('cannot reconnect to relay %p: %e', relay, err) })
    }, RESERVATION_CHECK_MS)
    this.timers.add(timer)
  }
}
