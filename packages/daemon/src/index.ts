/** @shoal/daemon — the Shoal node, embeddable with createShoal(). */
import './polyfill.js'

export { createShoal } from './shoal.js'
export type { Shoal, ShoalOptions, ShareOptions, FetchCallOptions, FetchResult } from './shoal-types.js'
export { defaultRepoDir } from './repo.js'
export { ShoalError, ErrorCode } from '@shoal/protocol'
export type { FetchEvent, StatusInfo, PeerInfo, ShareResult, ListResult, TransferInfo, ShareInfo } from '@shoal/protocol'
