/**
 * @shoal/daemon — the Shoal node: a libp2p host, the chunk store and transfer
 * engine, and the control server the `shoal` CLI talks to. Embed it with
 * {@link createShoal}; the {@link Shoal} it returns has the same operations
 * as the control API. Errors are {@link ShoalError}s with a stable code.
 *
 * @example
 * ```ts
 * import { createShoal, ShoalError, ErrorCode } from '@shoal/daemon'
 *
 * const node = await createShoal({ repo: '/tmp/shoal-b', controlSocket: false })
 * await node.start()
 * try {
 *   const { path } = await node.fetch(ticket, { out: '/tmp/downloads/', signal: AbortSignal.timeout(300_000) })
 *   console.log('saved', path)
 * } catch (err) {
 *   if (err instanceof ShoalError && err.code === ErrorCode.NO_PROVIDERS) console.error('nobody shares it right now')
 *   else throw err
 * } finally {
 *   await node.stop()
 * }
 * ```
 *
 * @packageDocumentation
 */
import './polyfill.js'

export { createShoal } from './shoal-node.js'
export type { Shoal, ShoalOptions, ShareOptions, FetchCallOptions, FetchResult, CatStream, CatOptions, FilesOptions } from './shoal-types.js'
export type { LiveViews } from './live-views.js'
export { defaultRepoDir } from './repo/repo.js'
export { STOP_TIMEOUT_MS } from './constants.js'
export { ShoalError, ErrorCode } from '@shoal/protocol'
export type { FetchEvent, StatusInfo, PeerInfo, ShareResult, ListResult, TransferInfo, ShareInfo, ConnectResult, UnshareResult, CancelResult, SkippedEntries, SkippedEntry, FilesResult, FileEntry, ChunkMap, ChunkCell, UiAccess, LiveEvent } from '@shoal/protocol'
