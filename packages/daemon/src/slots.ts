/**
 * A counting semaphore granted in FIFO order: a fixed number of slots for
 * bounded work (chunk reads for uploads, gateway responses, Bitswap sends),
 * taken in turn, so one busy user cannot starve the others.
 */
export class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor (slots: number) {
    this.free = slots
  }

  /** Wait for a slot; the returned function gives it back (once). A signal that fires while waiting rejects with its reason. */
  async acquire (signal?: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--
      return this.releaser()
    }
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => {
        const at = this.waiting.indexOf(grant)
        if (at >= 0) this.waiting.splice(at, 1)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(grant)
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next !== undefined) next() // the slot passes straight on
      else this.free++
    }
  }
}
