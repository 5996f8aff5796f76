import type { IdentifyResult, PeerId, Logger } from '@libp2p/interface'
import { DIAL_TIMEOUT_MS, RESERVATION_ATTEMPTS, RESERVATION_CHECK_MS, RESERVATION_MAX_CHECKS } from '../constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'

const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

/**
 * Makes sure a node behind NAT ends up with a relay reservation. libp2p's
 * relay transport asks a relay for one when it connects, but does not ask
 * again when that attempt fails. (It failed in one start of four here while
 * we used AutoNAT v1, whose server closes the connection it "dials back"
 * even when that is the existing one, reservation and all; AutoNAT v2 opens
 * a new one. This stays as a safety net.) So: after meeting a relay, if no
 * /p2p-circuit address appeared within RESERVATION_CHECK_MS (longer than
 * the transport's own 10 s reservation timeout), reconnect to it, which
 * makes the transport ask again: one relay at a time, RESERVATION_ATTEMPTS
 * reconnects in all, never while Shoal traffic runs over that connection.
 */
export class RelayReservations {
  private readonly log: Logger
  /** Reconnects so far, over all relays: the safety net gives up after RESERVATION_ATTEMPTS. */
  private attempts = 0
  /** Checks so far, busy ones included (bounded, so a relay that stays busy is not watched forever). */
  private checks = 0
  /** One check at a time: the relay it is for, and its timer. */
  private pending?: { relay: PeerId, timer: NodeJS.Timeout }
  private stopped = false

  constructor (private readonly node: ShoalLibp2p) {
    this.log = node.logger.forComponent('shoal:relay')
  }

  start (): void {
    this.node.addEventListener('peer:identify', this.onIdentify)
  }

  stop (): void {
    this.stopped = true
    this.node.removeEventListener('peer:identify', this.onIdentify)
    if (this.pending !== undefined) clearTimeout(this.pending.timer)
    this.pending = undefined
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (this.pending !== undefined || !evt.detail.protocols.includes(HOP_PROTOCOL) || this.hasReservation()) return
    this.check(evt.detail.peerId)
  }

  private hasReservation (): boolean {
    return this.node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))
  }

  private check (relay: PeerId): void {
    if (this.stopped || this.attempts >= RESERVATION_ATTEMPTS || this.checks >= RESERVATION_MAX_CHECKS) return
    this.checks++
    const timer = setTimeout(() => {
      this.pending = undefined
      if (this.stopped || this.hasReservation()) return
      // never cut connections that run through this relay, or Shoal traffic with it (reconnecting would)
      const key = relay.toString()
      const busy = this.node.getConnections().some(c => c.remoteAddr.toString().includes(`/p2p/${key}/p2p-circuit`)) ||
        this.node.getConnections(relay).some(c => c.streams.some(s => s.protocol?.startsWith('/shoal/') === true))
      if (busy) {
        this.check(relay)
        return
      }
      this.attempts++
      this.log('no reservation on relay %p yet: reconnecting (attempt %d)', relay, this.attempts)
      void (async () => {
        await this.node.hangUp(relay)
        await this.node.dial(relay, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      })().catch(err => { this.log('cannot reconnect to relay %p: %e', relay, err) })
    }, RESERVATION_CHECK_MS)
    timer.unref()
    this.pending = { relay, timer }
  }
}
