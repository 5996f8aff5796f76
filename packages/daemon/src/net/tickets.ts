import { MAX_TICKET_ADDRS, P2P_MULTIADDR_CODE, encodeTicket, parseContentId } from '@shoal/protocol'
import type { ShoalLibp2p } from './libp2p-node.js'

/**
 * A ticket for `cid`: the content id, this node's peer id and the addresses
 * it can be dialed on (direct ones first, but one relayed address kept for
 * peers that cannot dial us), and the share's name.
 */
export function ticketFor (node: ShoalLibp2p, cid: string, name: string): string {
  const all = node.getMultiaddrs().map(ma => ma.decapsulateCode(P2P_MULTIADDR_CODE).toString()) // drop /p2p/<id>: the ticket carries it
  const relayed = all.filter(a => a.includes('/p2p-circuit'))
  const direct = all.filter(a => !a.includes('/p2p-circuit'))
  const addrs = [...direct.slice(0, MAX_TICKET_ADDRS - Math.min(1, relayed.length)), ...relayed].slice(0, MAX_TICKET_ADDRS)
  return encodeTicket({ cid: parseContentId(cid), peerId: node.peerId.toString(), addrs, name })
}
