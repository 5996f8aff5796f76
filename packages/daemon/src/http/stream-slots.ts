/**
 * At most `max` responses stream content at once; others wait their turn in
 * arrival order. Each stream holds at most one chunk in memory, so this
 * bounds the memory of a thousand concurrent requests.
 */
export class StreamSlots {
  private used = 0
  private readonly queue: Array<() => void> = []

  constructor (private readonly max: number) {}

  /** Wait for a slot; the returned function gives it back. A signal that fires while waiting rejects. */
  async take (signal?: AbortSignal): Promise<() => void> {
    if (this.used < this.max) {
      this.used++
      return this.releaser()
    }
    await new Promise<void>((resolve, reject) => {
      const turn = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
      const onAbort = (): void => {
        const at = this.queue.indexOf(turn)
        if (at >= 0) this.queue.splice(at, 1)
        reject(signal?.reason)
      }
      this.queue.push(turn)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      const next = this.queue.shift()
      if (next !== undefined) next() // the slot passes on
      else this.used--
    }
  }
}
