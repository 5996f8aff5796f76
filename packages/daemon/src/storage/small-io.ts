import fs from 'node:fs'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { SMALL_IO_SLICE_MS } from '../constants.js'

/**
 * Synchronous file calls for small chunks (at most SMALL_IO_BYTES) of files
 * that exist: open, read, close, a few microseconds each on the main thread.
 * Through the thread pool every call is a round trip (a work item, a
 * wake-up, a promise) that costs several times the I/O itself. The cost:
 * the event loop waits while a call runs, so callers keep each batch small
 * (a pack of at most PACK_BYTES, or a time slice). Creating files is slower
 * and is done off the main thread (small-file-writer.ts).
 */

/**
 * Read `length` bytes at `position` of `filePath` into `target` (from its
 * start). `check`, when given, sees the open file's stats first and may
 * throw (a file that changed since it was shared). IO_ERROR when the file is
 * shorter; other failures are Node's errors, for the caller to map.
 */
export function readSmallSync (filePath: string, target: Uint8Array, length: number, position: number, check?: (st: fs.Stats) => void): void {
  const fd = fs.openSync(filePath, 'r')
  try {
    if (check !== undefined) check(fs.fstatSync(fd))
    let done = 0
    while (done < length) {
      const n = fs.readSync(fd, target, done, length - done, position + done)
      if (n === 0) throw new ShoalError(ErrorCode.IO_ERROR, `${filePath} is shorter than when it was shared (changed on disk?)`)
      done += n
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** What is left of `pieces` after the first `written` bytes went out. */
export function dropWritten (pieces: Uint8Array[], written: number): Uint8Array[] {
  let left = written
  let i = 0
  while (i < pieces.length && left >= (pieces[i] as Uint8Array).byteLength) {
    left -= (pieces[i] as Uint8Array).byteLength
    i++
  }
  const rest = pieces.slice(i)
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Uint8Array).subarray(left)
  return rest
}

/**
 * Run `fn` on every item synchronously, letting the event loop run (one
 * macrotask turn) after each SMALL_IO_SLICE_MS of work, and checking `signal`
 * there: many small synchronous calls without holding everything else up.
 */
export async function forEachSliced<T> (items: Iterable<T>, fn: (item: T) => void, signal?: AbortSignal): Promise<void> {
  let sliceStart = performance.now()
  for (const item of items) {
    fn(item)
    if (performance.now() - sliceStart >= SMALL_IO_SLICE_MS) {
      await yieldToEventLoop()
      signal?.throwIfAborted()
      sliceStart = performance.now()
    }
  }
}

/** One turn of the event loop (timers, I/O callbacks) before going on. */
export async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
