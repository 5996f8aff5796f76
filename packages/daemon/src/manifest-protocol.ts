import { logger } from '@libp2p/logger'
import {
  ErrorCode, MANIFEST_PROTOCOL, MAX_MANIFEST_FRAME_BYTES, ManifestRequest, ManifestResponse, ShoalError,
  contentIdFromBytes, decodeManifest, decodeManifestRequest, decodeManifestResponse, manifestMatches
} from '@shoal/protocol'
import type { CID, Manifest } from '@shoal/protocol'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { ChunkSource } from './chunk-source.js'
import { MANIFEST_TIMEOUT_MS, MAX_INBOUND_MANIFEST_STREAMS } from './constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'
import { connectionFor } from './relay-budget.js'
import { FrameInbox, abortStream, sendFrame } from './stream-io.js'

const log = logger('shoal:manifest')

/** Largest manifest request (a CID and protobuf overhead). */
const MAX_REQUEST_BYTES = 256

export type SourceLookup = (cid: string) => ChunkSource | undefined

/** Serve manifests of what `lookup` finds. */
export async function registerManifestProtocol (node: ShoalLibp2p, lookup: SourceLookup): Promise<void> {
  await node.handle(MANIFEST_PROTOCOL, (stream: Stream, connection: Connection) => {
    serveManifest(stream, lookup).catch(err => {
      log('manifest request from %p failed: %e', connection.remotePeer, err)
      abortStream(stream, err)
    })
  }, { maxInboundStreams: MAX_INBOUND_MANIFEST_STREAMS, runOnLimitedConnection: true })
}

async function serveManifest (stream: Stream, lookup: SourceLookup): Promise<void> {
  const first = await new FrameInbox(stream, MAX_REQUEST_BYTES).next(MANIFEST_TIMEOUT_MS, 'a manifest request')
  if (first === undefined) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream ended before the request')
  const req = decodeManifestRequest(first)
  let response: ManifestResponse
  try {
    const cid = contentIdFromBytes(req.root).toString()
    const source = lookup(cid)
    response = source !== undefined
      ? { status: ManifestResponse.Status.OK, manifest: source.manifestBytes as Uint8Array<ArrayBuffer>, name: source.name, message: '' }
      : { status: ManifestResponse.Status.NOT_FOUND, manifest: new Uint8Array(0), name: '', message: 'not shared here' }
  } catch (err) {
    response = { status: ManifestResponse.Status.ERROR, manifest: new Uint8Array(0), name: '', message: (err as Error).message }
  }
  await sendFrame(stream, ManifestResponse.encode(response))
  await stream.close()
}

export interface FetchedManifest {
  manifest: Manifest
  bytes: Uint8Array
  name: string
}

/**
 * Ask `peer` for the manifest of `cid`; verifies that the bytes hash to the
 * cid and that the manifest is valid. Returns undefined when the peer does
 * not have it.
 */
export async function requestManifest (node: ShoalLibp2p, peer: PeerId, cid: CID, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
  const opSignal = signal !== undefined ? AbortSignal.any([signal, AbortSignal.timeout(MANIFEST_TIMEOUT_MS)]) : AbortSignal.timeout(MANIFEST_TIMEOUT_MS)
  // a relayed (limited) connection will do for a manifest
  const connection = await connectionFor(node, peer, undefined, 0, opSignal)
  const stream = await connection.newStream(MANIFEST_PROTOCOL, { signal: opSignal, runOnLimitedConnection: true })
  try {
    await sendFrame(stream, ManifestRequest.encode({ root: cid.bytes }), opSignal)
    const reply = await new FrameInbox(stream, MAX_MANIFEST_FRAME_BYTES).next(MANIFEST_TIMEOUT_MS, 'the manifest')
    if (reply === undefined) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'peer closed the stream without a manifest')
    const res = decodeManifestResponse(reply)
    await stream.close().catch(() => {})
    if (res.status === ManifestResponse.Status.NOT_FOUND) return undefined
    if (res.status !== ManifestResponse.Status.OK) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer could not send the manifest: ${res.message.slice(0, 200)}`)
    if (!(await manifestMatches(cid, res.manifest))) {
      throw new ShoalError(ErrorCode.HASH_MISMATCH, `peer ${peer.toString()} sent a manifest that does not hash to ${cid.toString()}`)
    }
    const manifest = decodeManifest(res.manifest)
    return { manifest, bytes: res.manifest, name: res.name.slice(0, 255) }
  } catch (err) {
    abortStream(stream, err)
    throw err
  }
}
