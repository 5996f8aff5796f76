import {
  ErrorCode, MANIFEST_PROTOCOL, ManifestResponse, ShoalError, contentIdFromBytes, decodeManifestRequest
} from '@shoal/protocol'
import type { Connection, Stream } from '@libp2p/interface'
import type { SourceLookup } from '../../storage/chunk-source.js'
import { MANIFEST_TIMEOUT_MS, MAX_INBOUND_MANIFEST_STREAMS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'

/** Largest manifest request (a CID and protobuf overhead). */
const MAX_REQUEST_BYTES = 256

/** Serve manifests of what `lookup` finds. */
export async function registerManifestProtocol (node: ShoalLibp2p, lookup: SourceLookup): Promise<void> {
  const log = node.logger.forComponent('shoal:manifest:server')
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
  // a peer that stops reading holds this stream for at most MANIFEST_TIMEOUT_MS
  const signal = AbortSignal.timeout(MANIFEST_TIMEOUT_MS)
  await sendFrame(stream, ManifestResponse.encode(response), signal)
  await stream.close({ signal })
}
