import type { ChunkMap, UiAccess } from '@shoal/protocol'

/**
 * The operations behind the web UI, part of every {@link Shoal}: a
 * download's chunk map and where the UI is. The UI's live view also uses
 * `status`, `list` and `peers`, as the CLI does.
 *
 * @example
 * ```ts
 * const map = await node.chunkMap(cid)
 * const held = map.cells.reduce((n, c) => n + c.held, 0)
 * console.log(`${held} of ${map.chunks} chunks held`)
 * ```
 */
export interface LiveViews {
  /**
   * The chunk map of a download (running, paused or failed) or a share:
   * its chunks in at most 1024 cells (`MAX_CHUNK_MAP_CELLS`), each with
   * counts of held, in-flight and wanted chunks and of who sent them. Cheap
   * to call a few times a second. Throws NOT_FOUND when the node has
   * neither a download nor a share of `cid`, INVALID_ID for a malformed id.
   *
   * @example
   * ```ts
   * const { cells, peers } = await node.chunkMap(cid)
   * for (const [peer, n] of cells[0]?.from ?? []) console.log(`${peers[peer]} sent ${n} chunk(s) of the first cell`)
   * ```
   */
  chunkMap(cid: string): Promise<ChunkMap>
  /**
   * The web UI's address, and the same with its token (`shoal ui`): the
   * token is made on first use and kept in `<repo>/ui-token` (0600). Throws
   * UI_UNAVAILABLE when the node runs no gateway (the `gateway` option).
   *
   * @example
   * ```ts
   * const { loginUrl } = await node.uiAccess()
   * console.log(`open ${loginUrl}`)
   * ```
   */
  uiAccess(): Promise<UiAccess>
}
