/** A counting semaphore, granted in FIFO order: bounded work shared fairly by its users. */
export class Slots {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor (slots: number) {
    this.free = slots
  }

  /** Wait for a slot; call the returned function once to give it back. */
  async acquire (): Promise<() => void> {
    if (this.free > 0) this.free--
    else await new Promise<void>(resolve => { this.waiting.push(resolve) })
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.free++
    }
  }
}
