/**
 * The two layout sizes past which a 1 MiB-leaf file grows a level: 1024 MiB
 * (one full root of 1024 leaves) and 1024 MiB + 1 (a second level). Bytes are
 * generated once and streamed through a stock Helia's `addByteStream` (into a
 * blockstore that keeps nothing) while the same pieces are hashed for
 * Shoal's layout: no 1 GiB file is written.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { UNIXFS_CHUNK_SIZE, UNIXFS_MAX_LINKS } from '@shoal/protocol'
import { layoutShare } from '../src/ipfs/unixfs-layout.js'
import { discardingBlockstore, offlineUnixfs } from '../../../examples/support/helia-node.js'

const MiB = UNIXFS_CHUNK_SIZE

describe('UnixFS layout at 1 GiB equals stock Helia', () => {
  for (const [label, size] of [['1024 MiB', UNIXFS_MAX_LINKS * MiB], ['1024 MiB + 1', UNIXFS_MAX_LINKS * MiB + 1]] as const) {
    it(`a file of ${label}`, async () => {
      const base = createHash('sha512').update(label).digest()
      const piece = Buffer.alloc(MiB)
      for (let at = 0; at < MiB; at += base.byteLength) base.copy(piece, at)
      const digests: Buffer[] = []
      async function * bytes (): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < size; at += MiB) {
          // every piece different: its index in its first bytes
          const chunk = Buffer.from(piece.subarray(0, Math.min(MiB, size - at)))
          if (chunk.byteLength >= 4) chunk.writeUInt32BE(at / MiB, 0)
          digests.push(createHash('sha256').update(chunk).digest())
          yield chunk
        }
      }
      const helia = await offlineUnixfs(discardingBlockstore()).addByteStream(bytes())
      const ours = await layoutShare('file', [{ path: '', size, leafDigests: Buffer.concat(digests) }], [])
      expect(ours.root.toString()).toBe(helia.toString())
      // 1024 leaves fit one root; one more leaf makes two nodes under a new root
      expect(ours.blocks).toHaveLength(size === UNIXFS_MAX_LINKS * MiB ? 1 : 3)
    }, 300_000)
  }
})
