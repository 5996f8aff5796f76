import {
  ErrorCode, MANIFEST_PROTOCOL, MAX_MANIFEST_FRAME_BYTES, ManifestRequest, ManifestResponse, ShoalError,
  decodeManifest, decodeManifestResponse, manifestMatches
} from '@shoal/protocol'
import type { CID, Manifest } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { MANIFEST_TIMEOUT_MS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { connectionFor } from '../../net/relay-budget.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'

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
