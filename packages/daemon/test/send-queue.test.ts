import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ErrorCode } from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'
import { SendQueueGate } from '../src/transfer/upload/send-queue.js'

/** Just what the gate reads of a stream: its write buffer length, status and events. */
class FakeStream extends EventTarget {
  writeBufferLength = 0
  status = 'open'
  /** The peer's window opened and `bytes` left the write buffer. */
  drained (bytes: number): void {
    this.writeBufferLength = Math.max(0, this.writeBufferLength - bytes)
    this.dispatchEvent(new Event('drain'))
  }
}

const MiB = 1024 * 1024
let stream: FakeStream
let gate: SendQueueGate
let stalls: Error[]

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 })
  stream = new FakeStream()
  stalls = []
  gate = new SendQueueGate(stream as unknown as Stream, 2 * MiB, 20_000, err => { stalls.push(err) })
})
afterEach(() => { gate.close(); vi.useRealTimers() })

/** Settles `p` or reports it still pending. */
async function state (p: Promise<void>): Promise<'done' | 'pending' | Error> {
  let result: 'done' | 'pending' | Error = 'pending'
  p.then(() => { result = 'done' }, (err: Error) => { result = err })
  await vi.advanceTimersByTimeAsync(0)
  return result
}

describe('SendQueueGate', () => {
  it('lets the first block through whatever its size, then holds the next until the queue has room', async () => {
    await gate.reserve(4 * MiB) // larger than the bound, but nothing is queued
    gate.release(4 * MiB)
    stream.writeBufferLength = 4 * MiB // it went onto the stream
    const next = gate.reserve(MiB)
    expect(await state(next)).toBe('pending')
    stream.drained(2 * MiB) // 2 MiB left: 2 + 1 > 2
    expect(await state(next)).toBe('pending')
    stream.drained(MiB) // 1 MiB left: 1 + 1 fits
    expect(await state(next)).toBe('done')
    expect(gate.queued).toBe(2 * MiB)
  })

  it('counts blocks still being read against the bound', async () => {
    await gate.reserve(MiB)
    await gate.reserve(MiB)
    const third = gate.reserve(MiB)
    expect(await state(third)).toBe('pending')
    gate.release(MiB) // that block was dropped (cancelled): room again
    expect(await state(third)).toBe('done')
  })

  it('reports a stall when queued bytes do not move for the timeout, but not while the peer reads', async () => {
    stream.writeBufferLength = 2 * MiB
    const waiting = gate.reserve(MiB)
    waiting.catch(() => {})
    // progress every 15 s keeps it alive past 20 s
    await vi.advanceTimersByTimeAsync(15_000)
    stream.drained(64 * 1024)
    await vi.advanceTimersByTimeAsync(15_000)
    expect(await state(waiting)).toBe('pending')
    expect(stalls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(20_000)
    const err = await state(waiting)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error & { code?: string }).code).toBe(ErrorCode.PROTOCOL_ERROR)
    expect((err as Error).message).toMatch(/read nothing for 20 s/)
    expect(stalls).toHaveLength(1)
  })

  it('reports a stall even when no block is waiting for room (a peer that asked for one block and stopped reading)', async () => {
    await gate.reserve(MiB)
    gate.release(MiB)
    stream.writeBufferLength = MiB - 256 * 1024 // the window took the rest
    await vi.advanceTimersByTimeAsync(21_000)
    expect(stalls.map(e => e.message)).toEqual(['peer read nothing for 20 s'])
  })

  it('is not a stall when the write buffer is empty and blocks wait only for each other (a slow disk)', async () => {
    await gate.reserve(MiB) // being read, for longer than the timeout
    await gate.reserve(MiB)
    const third = gate.reserve(MiB)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(await state(third)).toBe('pending')
    expect(stalls).toHaveLength(0)
    gate.release(MiB)
    expect(await state(third)).toBe('done')
  })

  it('fails at once when the stream closes while waiting', async () => {
    stream.writeBufferLength = 2 * MiB
    const waiting = gate.reserve(MiB)
    waiting.catch(() => {})
    stream.status = 'closed'
    stream.dispatchEvent(new Event('close'))
    const err = await state(waiting)
    expect((err as Error).message).toMatch(/stream closed/)
  })
})
