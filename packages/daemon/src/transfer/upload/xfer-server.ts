import { XFER_PROTOCOL } from '@shoal/protocol'
import type { Connection, Stream } from '@libp2p/interface'
import { MAX_INBOUND_XFER_STREAMS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { UploadStream } from './upload-stream.js'
import type { UploadStreamComponents } from './upload-stream.js'

export type { UploadStats } from './upload-stream.js'

/** Serve chunks of whatever `lookup` finds over /shoal/xfer/1.0.0. */
export type XferServerComponents = UploadStreamComponents

/**
 * Serve /shoal/xfer/1.0.0: each inbound stream is one UploadStream (HELLO →
 * HAVE_ALL/BITFIELD or NOT_FOUND, then REQUESTs answered with BLOCK or
 * NOT_FOUND), at most MAX_INBOUND_XFER_STREAMS at once per connection.
 */
export async function registerXferProtocol (node: ShoalLibp2p, components: XferServerComponents): Promise<void> {
  await node.handle(XFER_PROTOCOL, (stream: Stream, connection: Connection) => {
    const upload = new UploadStream(stream, connection.remotePeer, components)
    upload.run().catch(err => { upload.fail(err) })
  }, { maxInboundStreams: MAX_INBOUND_XFER_STREAMS, runOnLimitedConnection: true })
}
