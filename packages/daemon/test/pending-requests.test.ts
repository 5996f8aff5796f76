import { describe, expect, it } from 'vitest'
import { PendingRequests } from '../src/transfer/upload/pending-requests.js'

describe('PendingRequests', () => {
  it('a cancel drops one pending request of that chunk, once', () => {
    const p = new PendingRequests()
    p.take(5)
    p.cancel(5)
    expect(p.dropped(5)).toBe(true)
    expect(p.dropped(5)).toBe(false)
  })

  it('a chunk cancelled and asked for again is still sent once', () => {
    const p = new PendingRequests()
    p.take(5) // waiting for room
    p.cancel(5)
    p.take(5) // asked for again
    // whichever of the two looks first is dropped; the other is sent
    expect([p.dropped(5), p.dropped(5)]).toEqual([true, false])
  })

  it('ignores cancels of chunks with nothing pending, and forgets a chunk once answered', () => {
    const p = new PendingRequests()
    p.cancel(7)
    p.take(7)
    expect(p.dropped(7)).toBe(false)
    p.cancel(7)
    p.answered(7)
    p.take(7) // a new request after the old one was answered
    expect(p.dropped(7)).toBe(false)
  })

  it('keeps the cancels of a chunk to no more than its pending requests', () => {
    const p = new PendingRequests()
    p.take(1)
    p.take(1)
    p.cancel(1)
    p.cancel(1)
    p.cancel(1) // one too many
    p.answered(1) // one of them was sent
    expect(p.dropped(1)).toBe(true)
    expect(p.dropped(1)).toBe(false)
  })
})
