import { XferMessage, encodeXfer, frame } from '@shoal/protocol'
import { Uint8ArrayList } from 'uint8arraylist'

type Kind = XferMessage.Type.REQUEST | XferMessage.Type.CANCEL

/**
 * The REQUESTs and CANCELs a session decides on in one turn of the event
 * loop, sent together in one write at the end of the turn (a microtask), so
 * a window refilled by hundreds of small chunks costs one stream write, one
 * Yamux frame and one Noise message instead of one each. Consecutive chunks
 * become one message with a `count` (a range): REQUESTs only when `mergeable`
 * says so of both ends (short chunks: full chunks keep one REQUEST each, so a
 * server's never-sent-first order and super-seeding still see each chunk),
 * CANCELs always. Order is kept.
 */
export class RequestOutbox {
  private readonly items: Array<{ kind: Kind, index: number }> = []
  private scheduled = false

  constructor (
    /** Sends the frames, length-prefixed, as one write. */
    private readonly send: (frames: Uint8ArrayList) => void,
    /** True when a REQUEST for `index` may share a range with its neighbours. */
    private readonly mergeable: (index: number) => boolean
  ) {}

  request (index: number): void {
    this.push(XferMessage.Type.REQUEST, index)
  }

  cancel (index: number): void {
    this.push(XferMessage.Type.CANCEL, index)
  }

  /** Forget what is not sent yet (the stream is going away). */
  clear (): void {
    this.items.length = 0
  }

  private push (kind: Kind, index: number): void {
    this.items.push({ kind, index })
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => { this.flush() })
  }

  /** Send everything queued, ranges merged, in one write. */
  flush (): void {
    this.scheduled = false
    if (this.items.length === 0) return
    const out = new Uint8ArrayList()
    let i = 0
    while (i < this.items.length) {
      const { kind, index } = this.items[i] as { kind: Kind, index: number }
      let count = 1
      const merge = kind === XferMessage.Type.CANCEL || this.mergeable(index)
      while (merge) {
        const next = this.items[i + count]
        if (next === undefined || next.kind !== kind || next.index !== index + count) break
        if (kind === XferMessage.Type.REQUEST && !this.mergeable(next.index)) break
        count++
      }
      out.append(frame(encodeXfer({ type: kind, index, ...(count > 1 ? { count } : {}) })))
      i += count
    }
    this.items.length = 0
    this.send(out)
  }
}
