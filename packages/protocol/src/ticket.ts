import * as dagCbor from '@ipld/dag-cbor'
import { base32 } from 'multiformats/bases/base32'
import type { CID } from 'multiformats/cid'
import { MAX_TICKET_ADDRS, MAX_TICKET_LENGTH, TICKET_PREFIX } from './constants.js'
import { contentIdFromBytes } from './content-id.js'
import { ErrorCode, ShoalError } from './errors.js'

const MAX_PEER_ID_LENGTH = 128
const MAX_ADDR_LENGTH = 1024
const MAX_NAME_LENGTH = 255

/**
 * A ticket: the content id plus where to find it (the sharer's peer id and
 * addresses) and a suggested name, in one pasteable string. Peer ids and
 * multiaddrs are carried as strings; the daemon parses them.
 */
export interface Ticket {
  /** The content id. */
  cid: CID
  /** The sharer's peer id. */
  peerId: string
  /** The sharer's multiaddrs, without the `/p2p/<peer id>` suffix (at most {@link MAX_TICKET_ADDRS}). */
  addrs: string[]
  /** Suggested file or directory name for the fetcher. */
  name?: string
}

/**
 * Encode a ticket: `shoal1` + base32 of a dag-cbor map. Addresses of 1024
 * characters or more, and a name longer than 255, are left out, as are
 * addresses from the end until the ticket fits {@link MAX_TICKET_LENGTH}; so
 * {@link decodeTicket} accepts every ticket this makes. Throws
 * INVALID_TICKET for an empty or over-long peer id.
 *
 * @example
 * ```ts
 * const ticket = encodeTicket({ cid, peerId: node.peerId, addrs: ['/ip4/192.0.2.7/tcp/4001'], name: 'photos' })
 * // 'shoal1...'
 * ```
 */
export function encodeTicket (ticket: Ticket): string {
  if (ticket.peerId.length === 0 || ticket.peerId.length > MAX_PEER_ID_LENGTH) {
    throw new ShoalError(ErrorCode.INVALID_TICKET, `cannot make a ticket: peer id of ${ticket.peerId.length} characters`)
  }
  // keep what decodeTicket accepts: drop over-long addresses and names, then
  // drop addresses from the end until the ticket fits
  const addrs = ticket.addrs.filter(a => a.length < MAX_ADDR_LENGTH).slice(0, MAX_TICKET_ADDRS)
  const name = ticket.name !== undefined && ticket.name !== '' && ticket.name.length <= MAX_NAME_LENGTH ? ticket.name : undefined
  while (true) {
    const body: Record<string, unknown> = { v: 1, cid: ticket.cid.bytes, peer: ticket.peerId, addrs }
    if (name !== undefined) body.name = name
    // base32.baseEncode: rfc4648 lower-case, no padding, no multibase prefix
    const text = TICKET_PREFIX + base32.baseEncode(dagCbor.encode(body))
    if (text.length <= MAX_TICKET_LENGTH || addrs.length === 0) return text
    addrs.pop()
  }
}

/**
 * True when `text` looks like a ticket (rather than a content id): it starts
 * with `shoal1`. Says nothing about whether it decodes.
 *
 * @example
 * ```ts
 * const cid = isTicket(input) ? decodeTicket(input).cid : parseContentId(input)
 * ```
 */
export function isTicket (text: string): boolean {
  return text.trim().startsWith(TICKET_PREFIX)
}

/**
 * Decode a ticket string (surrounding whitespace is ignored); throws
 * INVALID_TICKET naming what is wrong, e.g. a ticket cut short when pasted.
 *
 * @example
 * ```ts
 * const { cid, peerId, addrs, name } = decodeTicket('shoal1...')
 * ```
 */
export function decodeTicket (text: string): Ticket {
  const trimmed = text.trim()
  const fail = (why: string, cause?: unknown): never => {
    throw new ShoalError(ErrorCode.INVALID_TICKET, `invalid ticket: ${why}`, cause !== undefined ? { cause } : undefined)
  }
  if (!trimmed.startsWith(TICKET_PREFIX)) fail(`does not start with "${TICKET_PREFIX}"`)
  if (trimmed.length > MAX_TICKET_LENGTH) fail(`longer than ${MAX_TICKET_LENGTH} characters`)
  let raw: unknown
  try {
    raw = dagCbor.decode(base32.baseDecode(trimmed.slice(TICKET_PREFIX.length)))
  } catch (err) {
    fail('not valid base32 dag-cbor (was it cut short when pasted?)', err)
  }
  if (typeof raw !== 'object' || raw === null) fail('not a map')
  const obj = raw as Record<string, unknown>
  if (obj.v !== 1) fail(`unsupported version ${String(obj.v)}`)
  if (!(obj.cid instanceof Uint8Array)) fail('missing content id')
  if (typeof obj.peer !== 'string' || obj.peer.length === 0 || obj.peer.length > MAX_PEER_ID_LENGTH) fail('missing or bad peer id')
  if (!Array.isArray(obj.addrs) || obj.addrs.length > MAX_TICKET_ADDRS || !obj.addrs.every(a => typeof a === 'string' && a.length < MAX_ADDR_LENGTH)) {
    fail('bad address list')
  }
  if (obj.name !== undefined && (typeof obj.name !== 'string' || obj.name.length > MAX_NAME_LENGTH)) fail('bad name')
  let cid: CID
  try {
    cid = contentIdFromBytes(obj.cid as Uint8Array)
  } catch (err) {
    return fail('bad content id', err)
  }
  const ticket: Ticket = { cid, peerId: obj.peer as string, addrs: obj.addrs as string[] }
  if (typeof obj.name === 'string') ticket.name = obj.name
  return ticket
}
