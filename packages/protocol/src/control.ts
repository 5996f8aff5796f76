/**
 * Control API types: HTTP/1.1 + JSON over `<repo>/shoal.sock`, routes under /v1/.
 * The embedding API (`createShoal`) returns the same shapes.
 */
import type { ErrorCode } from './errors.js'

/** Name of the control socket inside the repo. */
export const CONTROL_SOCKET_NAME = 'shoal.sock'
/** Largest control request body accepted (64 KiB). */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024

export const ControlRoute = {
  status: '/v1/status',
  peers: '/v1/peers',
  connect: '/v1/connect',
  shares: '/v1/shares',
  ls: '/v1/ls',
  fetch: '/v1/fetch',
  stop: '/v1/stop'
} as const

/** Error body of every 4xx/5xx reply. */
export interface ErrorBody {
  error: { code: ErrorCode, message: string }
}

export interface StatusInfo {
  peerId: string
  addrs: string[]
  repo: string
  version: string
  connections: number
  peers: number
  shares: number
  transfers: TransferInfo[]
  uptimeSeconds: number
  /** Peers in the DHT routing table. */
  dhtPeers: number
  /** Chunk payload bytes sent since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received (verified) since the daemon started. */
  downloaded: number
}

export interface PeerInfo {
  peerId: string
  addrs: string[]
  connections: number
  direction: 'inbound' | 'outbound' | 'mixed'
  /** Chunk payload bytes sent to this peer since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received from this peer since the daemon started. */
  downloaded: number
}

export interface ConnectRequest {
  addr: string
}

export interface ConnectResult {
  peerId: string
}

export interface ShareRequest {
  path: string
}

export interface ShareResult {
  cid: string
  ticket: string
  name: string
  path: string
  kind: 'file' | 'dir'
  size: number
  files: number
  chunks: number
}

export interface ShareInfo {
  cid: string
  name: string
  path: string
  kind: 'file' | 'dir'
  size: number
  files: number
  chunks: number
  /** True when the source changed on disk and can no longer be served. */
  stale: boolean
  /** Where it came from: shared from disk, or fetched. */
  origin: 'shared' | 'fetched'
  sharedAt: string
}

export interface TransferInfo {
  cid: string
  path: string
  state: 'active' | 'paused' | 'failed' | 'done'
  size: number
  received: number
  chunks: number
  chunksDone: number
  peers: number
  rate: number
  error?: { code: ErrorCode, message: string }
}

export interface ListResult {
  shares: ShareInfo[]
  downloads: TransferInfo[]
}

export interface FetchRequest {
  /** Content id or ticket. */
  id: string
  /** Output path; absolute (the CLI resolves it). A trailing `/` means "into this directory". */
  out?: string
  /** Replace an existing output path. */
  force?: boolean
  /** Seconds to look for providers before giving up. */
  timeout?: number
}

/** NDJSON events streamed by POST /v1/fetch, one object per line. */
export type FetchEvent =
  | { type: 'resolving', cid: string, providers: number }
  | { type: 'manifest', cid: string, name: string, kind: 'file' | 'dir', size: number, files: number, chunks: number, path: string }
  | { type: 'progress', cid: string, received: number, size: number, chunksDone: number, chunks: number, peers: number, rate: number }
  | { type: 'done', done: true, cid: string, path: string, size: number, seconds: number }
  | { type: 'error', error: { code: ErrorCode, message: string } }

export interface StopResult {
  stopping: true
}

export interface UnshareResult {
  cid: string
  removed: true
}
