/** What a ChunkPicker (chunk-picker.ts) offers and needs: its interface, apart from the algorithm. */

/** What the picker needs of a peer session: what it holds. Sessions are told apart by identity. */
export interface PickerSession {
  /** True when the peer holds chunk `index`; may change only as reported through `onHave`/`onHaveAll`. */
  has(index: number): boolean
  /** True when the peer holds every chunk. */
  readonly isSeed: boolean
}

export interface ChunkPickerInit {
  /** Chunks in the download. */
  chunkCount: number
  /** Chunks already held (resume): never picked. */
  have?: { has(index: number): boolean }
  /** Chunks missing at most for end-game duplicates. @default ENDGAME_CHUNKS */
  endgameChunks?: number
  /** How long a NOT_FOUND keeps a session from being asked for that chunk. @default NOT_FOUND_RETRY_MS */
  notFoundRetryMs?: number
  /** Failures after which a chunk is not picked again (the download gives up). @default MAX_CHUNK_ATTEMPTS */
  maxAttempts?: number
  /** Clock for refusals, in ms. @default Date.now */
  now?: () => number
  /** Source of the random start, in [0, 1). @default Math.random */
  random?: () => number
  /** Bytes of chunk `index`, for picks bounded in bytes. @default every chunk 1 */
  lengthOf?: (index: number) => number
}

/** Chooses which chunks to request from which session (see the module comment). */
export interface ChunkPicker<S extends PickerSession> {
  /** Chunks looked at by all picks so far: what picking has cost. */
  readonly scanned: number
  /** A session opened: its chunks count toward availability (a seed's do not). */
  addSession(session: S): void
  /** A session closed: its chunks stop counting and what it was asked for is wanted again. */
  removeSession(session: S): void
  /** A session gained chunk `index`; a refusal of it ends. */
  onHave(session: S, index: number): void
  /** A session gained every chunk; `previous` is what it held before. */
  onHaveAll(session: S, previous: { has(index: number): boolean }): void
  /**
   * Up to `max` chunks to request from `session` (recorded as requested from
   * it), best first, together at most `maxBytes` long (`lengthOf`; a chunk
   * that does not fit ends the pick). @default max 1, maxBytes unbounded
   */
  pick(session: S, max?: number, maxBytes?: number): number[]
  /** Ask `session` for `index` out of turn (a reader waits for it): true when `index` was wanted and asked of nobody, and `session` has it and did not refuse it. */
  claim(session: S, index: number): boolean
  /**
   * Partial holder `holder` just gained chunk `index`, which is requested
   * from seeds only: record it as requested from `holder` instead and return
   * the seeds to withdraw it from ([] when nothing moves).
   */
  moveFromSeeds(holder: S, index: number): S[]
  /** `session` is no longer asked for `index` (answered, timed out, withdrawn). */
  unrequest(session: S, index: number): void
  /** `session` answered NOT_FOUND for `index`: not asked again for it for a while. */
  refused(session: S, index: number): void
  /** A request for `index` failed (timed out, bad data): one attempt used. */
  failed(index: number): void
  /** Chunk `index` arrived and verified: never picked again. Returns the sessions still asked for it, to withdraw. */
  completed(index: number): S[]
  /** Chunk `index`, thought held, is missing after all (failed re-verification): wanted again. */
  reopen(index: number): void
  /** A chunk not held that failed `maxAttempts` times, if any: the download cannot finish. */
  exhausted(): { index: number, attempts: number } | undefined
}
