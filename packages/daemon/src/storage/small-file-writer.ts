import { Worker } from 'node:worker_threads'
import type { Uint8ArrayList } from 'uint8arraylist'
import { SMALL_WRITE_BATCH, SMALL_WRITE_BATCH_BYTES, SMALL_WRITE_WORKERS } from '../constants.js'
import { fsError } from '../errors.js'

/**
 * The worker's code (CommonJS, evaluated: no file to find next to the
 * compiled module). Each message is a batch of writes, their bytes one after
 * another in one transferred buffer; each write opens (creating) the file,
 * writes at its position and closes it, with synchronous calls. The answer
 * names the writes that failed and hands the buffer back, to be collected
 * here (a worker collects garbage rarely: buffers left to it piled up, 90 MB
 * per 500 MiB written).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const fs = require('node:fs')
const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT
parentPort.on('message', ({ id, paths, positions, lengths, buffer }) => {
  const data = new Uint8Array(buffer)
  const failed = []
  let at = 0
  for (let i = 0; i < paths.length; i++) {
    const length = lengths[i]
    try {
      const fd = fs.openSync(paths[i], flags, 0o644)
      try {
        for (let done = 0; done < length;) done += fs.writeSync(fd, data, at + done, length - done, positions[i] + done)
      } finally {
        fs.closeSync(fd)
      }
    } catch (err) {
      failed.push({ i, code: err.code, message: err.message })
    }
    at += length
  }
  parentPort.postMessage({ id, failed, buffer }, [buffer])
})
`

/** A write waiting for its batch to be sent. */
/** One small write: `data` at `position` of `path` (created when missing). */
export interface SmallWrite {
  path: string
  position: number
  data: Uint8Array | Uint8ArrayList
}

/** The writes of one `writeAll` call: settled when the last is done. */
interface Group {
  remaining: number
  error?: unknown
  resolve: () => void
  reject: (err: unknown) => void
}

/** A write waiting for its batch to be sent. */
interface Pending extends SmallWrite {
  group: Group
}

/** A write sent to a worker: its bytes are copied into the batch, the received ones no longer held. */
interface Sent {
  path: string
  group: Group
}

interface Lane {
  worker: Worker
  /** Batches sent and not answered, by id. */
  batches: Map<number, Sent[]>
}

/**
 * Creates and writes small files (a chunk of at most SMALL_IO_BYTES each:
 * a small file, or a file's short last chunk) on SMALL_WRITE_WORKERS worker
 * threads, in batches of up to SMALL_WRITE_BATCH files per message. Creating
 * a file is mostly kernel work (about 35 µs on an ext4 volume here, and up
 * to a millisecond of waiting when the volume has just deleted many files):
 * on the main thread it would stall the event loop, and through the libuv
 * thread pool each file costs three round trips (open, write, close), which
 * cost three times the kernel time in wake-ups (bench/RESULTS.md). A batch
 * costs one message each way, and a caller's writes share one promise.
 * Workers start on first use and hold the process open only while writes are
 * outstanding.
 */
export class SmallFileWriter {
  private readonly lanes: Lane[] = []
  private queue: Pending[] = []
  private queuedBytes = 0
  private scheduled = false
  private nextId = 0

  /** Write `data` at `position` of `filePath`, creating the file when missing. Rejects with a ShoalError (fsError). */
  async write (filePath: string, position: number, data: Uint8Array | Uint8ArrayList): Promise<void> {
    await this.writeAll([{ path: filePath, position, data }])
  }

  /** Every write of `writes`; rejects with the first failure (a ShoalError) once all are done. */
  async writeAll (writes: SmallWrite[]): Promise<void> {
    if (writes.length === 0) return
    // (one promise for them all: thousands of writes may be pending)
    return await new Promise<void>((resolve, reject) => {
      const group: Group = { remaining: writes.length, resolve, reject }
      for (const w of writes) {
        if (this.queuedBytes + w.data.byteLength > SMALL_WRITE_BATCH_BYTES) this.flush()
        this.queue.push({ path: w.path, position: w.position, data: w.data, group })
        this.queuedBytes += w.data.byteLength
        if (this.queue.length >= SMALL_WRITE_BATCH) this.flush()
      }
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true
        queueMicrotask(() => { this.flush() })
      }
    })
  }

  /**
   * Start workers now for about `writes` writes to come (up to
   * SMALL_WRITE_WORKERS, one per SMALL_WRITE_BATCH): a worker takes 50 to
   * 300 ms to start on a busy machine, which a download otherwise waits
   * through at its first small chunk. Idle workers hold nothing open.
   */
  warm (writes: number): void {
    const wanted = Math.min(SMALL_WRITE_WORKERS, Math.ceil(writes / SMALL_WRITE_BATCH))
    while (this.lanes.length < wanted) this.lanes.push(this.startLane())
  }

  /** Worker threads started (and not stopped). */
  get workers (): number {
    return this.lanes.length
  }

  /** Stop the workers (outstanding writes fail). */
  async close (): Promise<void> {
    const lanes = this.lanes.splice(0)
    await Promise.all(lanes.map(async lane => await lane.worker.terminate()))
    for (const lane of lanes) this.failLane(lane, new Error('writer closed'))
  }

  /** Send what is queued as one batch, to the lane with the fewest outstanding. */
  private flush (): void {
    this.scheduled = false
    if (this.queue.length === 0) return
    const batch = this.queue
    // exactly the batch's bytes: a batch of tiny files is tiny
    const buffer = new Uint8Array(this.queuedBytes)
    this.queue = []
    this.queuedBytes = 0
    let at = 0
    for (const p of batch) {
      for (const piece of p.data instanceof Uint8Array ? [p.data] : p.data) {
        buffer.set(piece, at)
        at += piece.byteLength
      }
    }
    const lane = this.lane()
    const id = this.nextId++
    lane.batches.set(id, batch.map(({ path, group }) => ({ path, group })))
    lane.worker.ref()
    lane.worker.postMessage({
      id,
      paths: batch.map(p => p.path),
      positions: batch.map(p => p.position),
      lengths: batch.map(p => p.data.byteLength),
      buffer: buffer.buffer
    }, [buffer.buffer])
  }

  private lane (): Lane {
    if (this.lanes.length < SMALL_WRITE_WORKERS && this.lanes.every(l => l.batches.size > 0)) this.lanes.push(this.startLane())
    return this.lanes.reduce((a, b) => b.batches.size < a.batches.size ? b : a)
  }

  private startLane (): Lane {
    const worker = new Worker(WORKER_SOURCE, { eval: true })
    const lane: Lane = { worker, batches: new Map() }
    worker.unref()
    worker.on('message', ({ id, failed }: { id: number, failed: Array<{ i: number, code?: string, message: string }> }) => {
      const batch = lane.batches.get(id)
      lane.batches.delete(id)
      if (lane.batches.size === 0) worker.unref()
      if (batch === undefined) return
      const errors = new Map(failed.map(f => [f.i, f]))
      batch.forEach((sent, i) => {
        const f = errors.get(i)
        settle(sent.group, f === undefined ? undefined : fsError(Object.assign(new Error(f.message), { code: f.code }), 'cannot write', sent.path))
      })
    })
    worker.on('error', err => { this.failLane(lane, err) })
    worker.on('exit', code => { this.failLane(lane, new Error(`small-file writer exited with code ${code}`)) })
    return lane
  }

  /** A worker died: its outstanding writes fail, and it is replaced on next use. */
  private failLane (lane: Lane, err: unknown): void {
    const at = this.lanes.indexOf(lane)
    if (at >= 0) this.lanes.splice(at, 1)
    for (const batch of lane.batches.values()) for (const sent of batch) settle(sent.group, fsError(err, 'cannot write', sent.path))
    lane.batches.clear()
  }
}

/** One write of `group` is done (failed with `err`); the last one settles it. */
function settle (group: Group, err?: unknown): void {
  if (err !== undefined) group.error ??= err
  if (--group.remaining > 0) return
  if (group.error !== undefined) group.reject(group.error)
  else group.resolve()
}

/** The small-file writer every download in this process shares. */
export const smallFileWriter = new SmallFileWriter()
