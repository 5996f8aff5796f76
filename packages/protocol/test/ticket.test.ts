import { describe, it, expect, beforeAll } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { base32 } from 'multiformats/bases/base32'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  CID, MAX_TICKET_ADDRS, MAX_TICKET_LENGTH, TICKET_PREFIX, decodeTicket, encodeTicket, isTicket,
  parseContentId, sealManifest
} from '../src/index.js'
import type { Ticket } from '../src/index.js'
import { expectShoalError, fileManifest } from './helpers.js'

let cid: CID
const peerId = '12D3KooWGRUVh3CiZzv9YCKWfN8Lp2SNVEmpcmkDXrzK4vp3ZWNT'
const addrs = ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/udp/4001/quic-v1', '/dns4/example.com/tcp/443/wss']

beforeAll(async () => {
  cid = (await sealManifest(fileManifest(12345))).cid
})

/** A ticket string from an arbitrary body, bypassing encodeTicket's shaping. */
const rawTicket = (body: unknown): string => TICKET_PREFIX + base32.baseEncode(dagCbor.encode(body))

describe('ticket round trip', () => {
  it('with a name', () => {
    const t: Ticket = { cid, peerId, addrs, name: 'holiday photos' }
    const text = encodeTicket(t)
    expect(text.startsWith(TICKET_PREFIX)).toBe(true)
    expect(text).toMatch(/^shoal1[a-z2-7]+$/)
    const back = decodeTicket(text)
    expect(back.cid.equals(cid)).toBe(true)
    expect(back.peerId).toBe(peerId)
    expect(back.addrs).toEqual(addrs)
    expect(back.name).toBe('holiday photos')
    expect(encodeTicket(back)).toBe(text)
  })

  it('without a name, and with an empty name (dropped)', () => {
    for (const t of [{ cid, peerId, addrs }, { cid, peerId, addrs, name: '' }]) {
      const back = decodeTicket(encodeTicket(t))
      expect(back.cid.equals(cid)).toBe(true)
      expect(back.peerId).toBe(peerId)
      expect(back.addrs).toEqual(addrs)
      expect(back.name).toBeUndefined()
      expect('name' in back).toBe(false)
    }
    expect(encodeTicket({ cid, peerId, addrs, name: '' })).toBe(encodeTicket({ cid, peerId, addrs }))
  })

  it('with no addresses, and with non-ASCII names', () => {
    const back = decodeTicket(encodeTicket({ cid, peerId, addrs: [], name: 'Fotos 📷 ü' }))
    expect(back.addrs).toEqual([])
    expect(back.name).toBe('Fotos 📷 ü')
  })

  it(`caps addresses at ${MAX_TICKET_ADDRS}`, () => {
    const many = Array.from({ length: MAX_TICKET_ADDRS + 8 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4001`)
    const back = decodeTicket(encodeTicket({ cid, peerId, addrs: many }))
    expect(back.addrs).toEqual(many.slice(0, MAX_TICKET_ADDRS))
  })

  it('tolerates surrounding whitespace (as pasted)', () => {
    const text = encodeTicket({ cid, peerId, addrs })
    expect(decodeTicket(`  ${text}\n`).cid.equals(cid)).toBe(true)
  })

  it('the decoded cid is a proper Shoal content id', () => {
    const back = decodeTicket(encodeTicket({ cid, peerId, addrs }))
    expect(parseContentId(back.cid.toString()).equals(cid)).toBe(true)
  })
})

describe('isTicket', () => {
  it('tells tickets from content ids', () => {
    const text = encodeTicket({ cid, peerId, addrs })
    expect(isTicket(text)).toBe(true)
    expect(isTicket(` \t${text}`)).toBe(true)
    expect(isTicket(cid.toString())).toBe(false)
    expect(isTicket('')).toBe(false)
    expect(isTicket('shoal')).toBe(false)
  })
})

describe('ticket rejections (INVALID_TICKET)', () => {
  const good = (): string => encodeTicket({ cid, peerId, addrs, name: 'x' })

  it('wrong prefix', () => {
    const body = good().slice(TICKET_PREFIX.length)
    for (const text of ['shoal2' + body, 'SHOAL1' + body, body, cid.toString(), '', ' ']) {
      const e = expectShoalError(() => decodeTicket(text), 'INVALID_TICKET')
      expect(e.message).toMatch(/start with/)
    }
  })

  it('truncated (last 10 chars cut), and shorter cuts', () => {
    const text = good()
    expectShoalError(() => decodeTicket(text.slice(0, -10)), 'INVALID_TICKET')
    for (let cut = 1; cut < text.length - TICKET_PREFIX.length; cut++) {
      expectShoalError(() => decodeTicket(text.slice(0, text.length - cut)), 'INVALID_TICKET')
    }
    // nothing after the prefix
    expectShoalError(() => decodeTicket(TICKET_PREFIX), 'INVALID_TICKET')
  })

  it('invalid base32', () => {
    const text = good()
    const mid = Math.floor(text.length / 2)
    for (const ch of ['1', '8', '9', '0', '!', '=', ' ', '-', 'é']) {
      expectShoalError(() => decodeTicket(text.slice(0, mid) + ch + text.slice(mid + 1)), 'INVALID_TICKET')
    }
  })

  it('the base32 body is read case-insensitively (the prefix is not)', () => {
    const text = good()
    const upper = TICKET_PREFIX + text.slice(TICKET_PREFIX.length).toUpperCase()
    expect(decodeTicket(upper).cid.equals(cid)).toBe(true)
  })

  it(`longer than MAX_TICKET_LENGTH (${MAX_TICKET_LENGTH})`, () => {
    const e = expectShoalError(() => decodeTicket(TICKET_PREFIX + 'a'.repeat(MAX_TICKET_LENGTH)), 'INVALID_TICKET')
    expect(e.message).toMatch(/longer than/)
    // a structurally valid ticket that is just too long
    const long = rawTicket({ v: 1, cid: cid.bytes, peer: peerId, addrs: Array.from({ length: 32 }, () => '/dns4/' + 'a'.repeat(200)) })
    expect(long.length).toBeGreaterThan(MAX_TICKET_LENGTH)
    expectShoalError(() => decodeTicket(long), 'INVALID_TICKET')
  })

  it('bodies that are valid dag-cbor but not a valid ticket', async () => {
    const rawCid = CID.createV1(0x55, await sha256.digest(Uint8Array.of(1)))
    const base = { v: 1, cid: cid.bytes, peer: peerId, addrs }
    const bodies: unknown[] = [
      [1, 2],
      'ticket',
      7,
      null,
      cid,
      { ...base, v: 2 },
      (({ v: _v, ...rest }) => rest)(base),
      (({ cid: _c, ...rest }) => rest)(base),
      { ...base, cid: cid.toString() },
      { ...base, cid: rawCid.bytes },
      { ...base, cid: Uint8Array.of(1, 2, 3) },
      { ...base, cid },
      { ...base, peer: '' },
      { ...base, peer: 5 },
      { ...base, peer: 'p'.repeat(129) },
      (({ peer: _p, ...rest }) => rest)(base),
      { ...base, addrs: 'x' },
      { ...base, addrs: [1] },
      { ...base, addrs: ['a'.repeat(1024)] },
      { ...base, addrs: Array.from({ length: MAX_TICKET_ADDRS + 1 }, () => '/ip4/1.2.3.4/tcp/1') },
      { ...base, name: 5 },
      { ...base, name: null },
      { ...base, name: 'n'.repeat(256) }
    ]
    for (const body of bodies) {
      expectShoalError(() => decodeTicket(rawTicket(body)), 'INVALID_TICKET')
    }
  })

  it('accepts the limits exactly', () => {
    const t = decodeTicket(rawTicket({
      v: 1,
      cid: cid.bytes,
      peer: 'p'.repeat(128),
      addrs: Array.from({ length: MAX_TICKET_ADDRS }, () => 'a'.repeat(100)),
      name: 'n'.repeat(255)
    }))
    expect(t.addrs).toHaveLength(MAX_TICKET_ADDRS)
    expect(t.name).toHaveLength(255)
  })
})

describe('parseContentId (INVALID_ID)', () => {
  it('garbage', () => {
    for (const text of ['garbage', 'b', 'bafy!!!', '12345', 'z', '\u0000']) {
      expectShoalError(() => parseContentId(text), 'INVALID_ID')
    }
  })

  it('a CIDv0', () => {
    const e = expectShoalError(() => parseContentId('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'), 'INVALID_ID')
    expect(e.message).toMatch(/CIDv1/)
  })

  it('a CIDv1 with the raw codec', async () => {
    const raw = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('hello')))
    expect(raw.toString().startsWith('b')).toBe(true)
    expectShoalError(() => parseContentId(raw.toString()), 'INVALID_ID')
  })

  it('a ticket is not a content id', () => {
    expectShoalError(() => parseContentId(encodeTicket({ cid, peerId, addrs })), 'INVALID_ID')
  })
})
