import { describe, expect, it } from 'vitest'
import { FrameDecoder, MAX_XFER_FRAME_BYTES, XferMessage, decodeXfer } from '@shoal/protocol'
import type { Uint8ArrayList } from 'uint8arraylist'
import { RequestOutbox } from '../src/transfer/download/request-outbox.js'

const T = XferMessage.Type

describe('RequestOutbox', () => {
  it('sends one turn of requests and cancels in one write, consecutive short chunks as ranges, in order', async () => {
    const writes: Uint8ArrayList[] = []
    // chunks from 100 on are full: never merged into a REQUEST range
    const outbox = new RequestOutbox(frames => { writes.push(frames) }, i => i < 100)
    for (const i of [1, 2, 3, 7, 100, 101]) outbox.request(i)
    outbox.cancel(50)
    outbox.cancel(51)
    outbox.request(4)
    expect(writes).toHaveLength(0)
    await Promise.resolve()
    expect(writes).toHaveLength(1)
    const messages: XferMessage[] = []
    new FrameDecoder(MAX_XFER_FRAME_BYTES).push(writes[0] as Uint8ArrayList, f => { messages.push(decodeXfer(f)) })
    expect(messages.map(m => [m.type, m.index, m.count])).toEqual([
      [T.REQUEST, 1, 3], [T.REQUEST, 7, undefined], [T.REQUEST, 100, undefined], [T.REQUEST, 101, undefined],
      [T.CANCEL, 50, 2], [T.REQUEST, 4, undefined]
    ])
  })

  it('forgets what it holds when cleared', async () => {
    const writes: Uint8ArrayList[] = []
    const outbox = new RequestOutbox(frames => { writes.push(frames) }, () => true)
    outbox.request(1)
    outbox.clear()
    await Promise.resolve()
    expect(writes).toHaveLength(0)
  })
})
