/**
 * Regression tests for bugs found while writing the protocol tests (framing
 * that dropped or misframed truncated and padded prefixes, non-string paths,
 * non-leaf `dirs`, tickets that could not be decoded).
 */
import { describe, it, expect } from 'vitest'
import {
  ShoalError, encodeTicket, decodeTicket, readFrames, sealManifest,
  validateManifest, validateRelativePath
} from '../src/index.js'
import { dirManifest, expectShoalError, expectShoalErrorAsync, file, fileManifest } from './helpers.js'

async function collect (parts: Uint8Array[], max: number): Promise<number[][]> {
  const out: number[][] = []
  for await (const f of readFrames(parts, max)) out.push(Array.from(f.subarray()))
  return out
}

describe('regressions: framing.ts readFrames', () => {
  // framing.ts:12-24 — delegates to it-length-prefixed, which only reports a
  // truncated stream when bytes are left in its buffer; once the length prefix
  // has been consumed and no data followed, the buffer is empty and the stream
  // "ends cleanly" with the declared frame silently dropped.
  it('a stream ending right after a length prefix (declaring 5 bytes) throws PROTOCOL_ERROR', async () => {
    await expectShoalErrorAsync(() => collect([Uint8Array.of(0x05)], 100), 'PROTOCOL_ERROR')
  })

  it('a stream ending right after a complete frame plus a bare prefix throws PROTOCOL_ERROR', async () => {
    await expectShoalErrorAsync(() => collect([Uint8Array.of(0x01, 0xaa, 0x03)], 100), 'PROTOCOL_ERROR')
  })

  // it-length-prefixed's default decoder consumes varint.encodingLength(value)
  // bytes, not the number of bytes the varint actually used; a non-minimal
  // varint (0x81 0x00 = 1) consumes one byte too few and the leftover prefix
  // byte is delivered as frame data, desynchronizing the stream.
  it('a non-minimal varint prefix is rejected or decoded correctly, never misframed', async () => {
    let result: number[][] | ShoalError
    try {
      result = await collect([Uint8Array.of(0x81, 0x00, 0x41)], 100)
    } catch (err) {
      result = err as ShoalError
    }
    if (result instanceof ShoalError) {
      expect(result.code).toBe('PROTOCOL_ERROR')
    } else {
      expect(result).toEqual([[0x41]]) // actually yields [[0x00]]
    }
  })
})

describe('regressions: manifest.ts / paths.ts', () => {
  // paths.ts:13 — fail() calls path.slice() before the typeof check has a
  // chance to report, so a non-string path throws TypeError ("path.slice is
  // not a function") instead of INVALID_MANIFEST. Reachable through
  // validateManifest() on a JS object (decodeManifest checks types first).
  it('validateRelativePath on a non-string throws INVALID_MANIFEST, not TypeError', () => {
    expectShoalError(() => validateRelativePath(5 as unknown as string), 'INVALID_MANIFEST')
  })

  it('validateManifest on a dir manifest with a non-string file path throws INVALID_MANIFEST', () => {
    const m = dirManifest([{ path: 42 as unknown as string, size: 0, hashes: new Uint8Array(0) }])
    expectShoalError(() => validateManifest(m), 'INVALID_MANIFEST')
  })

  // manifest.ts:33-34 documents `dirs` as "Empty directories (no files below
  // them)", but validateManifest (manifest.ts:80-89) never checks it, so one
  // tree has several valid encodings and content ids (with and without the
  // redundant dir entries).
  it('a dir listed in `dirs` that has a file below it is rejected', () => {
    expectShoalError(() => validateManifest(dirManifest([file('a/b', 1)], ['a'])), 'INVALID_MANIFEST')
  })

  it('a dir listed in `dirs` that is the parent of another listed dir is rejected', () => {
    expectShoalError(() => validateManifest(dirManifest([], ['a', 'a/b'])), 'INVALID_MANIFEST')
  })
})

describe('regressions: ticket.ts', () => {
  // ticket.ts:22-32 — encodeTicket enforces none of the limits decodeTicket
  // applies (name ≤ 255 chars, peer id ≤ 128 chars, addr < 1024 chars, ticket
  // ≤ MAX_TICKET_LENGTH), so it returns tickets nobody can decode.
  it('every ticket encodeTicket returns can be decoded (or encodeTicket refuses)', async () => {
    const { cid } = await sealManifest(fileManifest(1))
    const cases = [
      { cid, peerId: 'p', addrs: [], name: 'n'.repeat(256) },
      { cid, peerId: 'p'.repeat(129), addrs: [] },
      { cid, peerId: 'p', addrs: ['/dns4/' + 'a'.repeat(1100)] },
      { cid, peerId: 'p', addrs: Array.from({ length: 32 }, () => '/dns4/' + 'a'.repeat(200)) }
    ]
    for (const t of cases) {
      let text: string
      try {
        text = encodeTicket(t)
      } catch {
        continue // refusing is fine
      }
      expect(() => decodeTicket(text)).not.toThrow()
    }
  })
})
