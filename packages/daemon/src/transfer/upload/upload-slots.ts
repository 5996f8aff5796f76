/**
 * A fixed number of upload slots granted first come, first served. A slot
 * covers reading, hashing and queueing one block; an xfer stream asks for at
 * most STREAM_CONCURRENCY at once and waits in line like everyone else, so
 * peers take turns and one fast requester cannot starve the others.
 */
export class UploadSlots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor (slots: number) {
    this.free = slots
  }

  async acquire (signal?: AbortSignal): Promise<() => void> {
    if (this.free > 0) {
      this.free--
      return this.releaser()
    }
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
      if (next !== undefined) next() // hand the slot straight over
      else this.free++
    }
  }
}
