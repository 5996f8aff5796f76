import type { Bitfield, ChunkLayout } from '@shoal/protocol'

/** Something that can hand out verified chunks of one root. */
export interface ChunkSource {
  readonly cid: string
  readonly layout: ChunkLayout
  /** Suggested name sent with the manifest. */
  readonly name: string
  readonly manifestBytes: Uint8Array
  /** True when chunk `index` can be served. */
  has(index: number): boolean
  /** True when every chunk can be served. */
  hasAll(): boolean
  /** The chunk bytes, verified against the manifest hash. */
  readChunk(index: number): Promise<Uint8Array>
  /**
   * Chunks `first` .. `first + count - 1`, one after another in one buffer,
   * each verified against its manifest hash (a pack of short chunks, sent
   * as one BLOCK). Fails as `readChunk` does if any of them cannot be served.
   */
  readChunks(first: number, count: number): Promise<Uint8Array>
  /** What can be served: every chunk, or the chunks set in a bitfield. */
  holdings(): 'all' | Bitfield
  /** Be told of chunks gained later ('all' once complete); returns an unsubscribe. */
  subscribe(listener: (index: number | 'all') => void): () => void
  close(): Promise<void>
}

/** The source serving a root (a complete share first, else a download in progress), or undefined. */
export type SourceLookup = (cid: string) => ChunkSource | undefined
