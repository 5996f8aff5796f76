import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { PACE_PIECE_BYTES } from '../../constants.js'
import type { Reservation } from '../rate-limit.js'

/**
 * Writes whole frames to a stream one after another; a paced frame goes out
 * in PACE_PIECE_BYTES pieces, each when the bandwidth caps allow, so a
 * capped upload is a steady flow rather than a chunk-sized burst followed by
 * silence. Frames never interleave, so every write on the stream must go
 * through the same writer.
 */
export class PacedWriter {
  private tail: Promise<void> = Promise.resolve()

  constructor (
    private readonly stream: Stream,
    private readonly pace: (bytes: number) => Reservation,
    private readonly drainTimeoutMs: number
  ) {}

  /** Queue one length-prefixed frame; resolves once all of it is handed to the stream. */
  async write (bytes: Uint8Array | Uint8ArrayList, paced = false): Promise<void> {
    await this.run(async write => { await write(bytes, paced) })
  }

  /**
   * Run `task` in turn with every other write (it may read a chunk first,
   * so that only the block being sent is in memory); it writes through the
   * function it is given, never through `write` (that would wait on itself).
   */
  async run (task: (write: (bytes: Uint8Array | Uint8ArrayList, paced?: boolean) => Promise<void>) => Promise<void>): Promise<void> {
    const run = this.tail.then(async () => { await task(async (bytes, paced = false) => { await this.writeNow(bytes, paced) }) })
    this.tail = run.catch(() => {})
    await run
  }

  private async writeNow (bytes: Uint8Array | Uint8ArrayList, paced: boolean): Promise<void> {
    const list = bytes instanceof Uint8ArrayList ? bytes : new Uint8ArrayList(bytes)
    const total = list.byteLength
    const step = paced ? PACE_PIECE_BYTES : total
    for (let offset = 0; offset < total; offset += step) {
      const end = Math.min(total, offset + step)
      if (this.stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
      if (paced) {
        const reservation = this.pace(end - offset)
        await reservation.ready
        // closed while waiting: those bytes will never go, give their room back
        if (this.stream.status !== 'open') { reservation.cancel(); throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed') }
      }
      const piece = offset === 0 && end === total ? list : list.sublist(offset, end)
      if (!this.stream.send(piece)) {
        try {
          await this.stream.onDrain({ signal: AbortSignal.timeout(this.drainTimeoutMs) })
        } catch (err) {
          throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer read nothing for ${this.drainTimeoutMs / 1000} s`, { cause: err })
        }
      }
    }
  }
}
