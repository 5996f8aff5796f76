/**
 * The events the control API streams as NDJSON (and the embedding API hands
 * to `onProgress`): a fetch's progress and a share's hashing.
 */
import type { ShoalErrorJSON } from './errors.js'
import type { ShareResult } from './control.js'

/**
 * Progress of a fetch, in this order: `resolving`, `manifest`, `progress`
 * (every 250 ms while it runs, and once at the end), then `done`.
 * `POST /v1/fetch` streams them as NDJSON, one per line, and ends a failed
 * fetch with `error`; `Shoal.fetch()` hands them to its `onProgress` and
 * rejects instead of sending `error`.
 *
 * @example
 * ```ts
 * const onProgress = (event: FetchEvent): void => {
 *   if (event.type === 'manifest') console.log(`${event.name}: ${event.size} bytes in ${event.chunks} chunks`)
 *   else if (event.type === 'progress') console.log(`${event.received}/${event.size} bytes from ${event.peers} peers`)
 *   else if (event.type === 'done') console.log(`saved ${event.path} in ${event.seconds} s`)
 * }
 * ```
 */
export type FetchEvent =
  /** Looking for peers that have it and asking them for the manifest. */
  | {
    /** Which event. */
    type: 'resolving'
    /** The content id. */
    cid: string
    /** Peers asked first: the ticket's sharer and the peers connected now. */
    providers: number
  }
  /** The manifest arrived and matched the content id: what is coming, and where it goes. */
  | {
    /** Which event. */
    type: 'manifest'
    /** The content id. */
    cid: string
    /** The name it is saved under. */
    name: string
    /** A single file or a directory tree. */
    kind: 'file' | 'dir'
    /** Total bytes (of the selected files, for a fetch with `only`). */
    size: number
    /** How many files (selected, with `only`). */
    files: number
    /** How many chunks (of the selected files, with `only`). */
    chunks: number
    /** Absolute output path. */
    path: string
  }
  /** Chunks are arriving. */
  | {
    /** Which event. */
    type: 'progress'
    /** The content id. */
    cid: string
    /** Bytes received and verified so far. */
    received: number
    /** Total bytes. */
    size: number
    /** Chunks received and verified. */
    chunksDone: number
    /** Chunks in all. */
    chunks: number
    /** Peers it is fetching from now. */
    peers: number
    /** Bytes per second over the last 5 s. */
    rate: number
  }
  /** Every chunk verified and the result in place. */
  | {
    /** Which event. */
    type: 'done'
    /** Always true: lets a reader of the last NDJSON line check for success without a switch. */
    done: true
    /** The content id. */
    cid: string
    /** Absolute path of the saved file or directory. */
    path: string
    /** Total bytes. */
    size: number
    /** How long the fetch took, in seconds. */
    seconds: number
  }
  /** The fetch failed (NDJSON stream only): the last line. */
  | {
    /** Which event. */
    type: 'error'
    /** What failed. */
    error: ShoalErrorJSON
  }

/**
 * NDJSON events of POST /v1/shares when the request has
 * `accept: application/x-ndjson`: hashing progress, then `done` with the
 * ShareResult, or `error`. Without that header the reply is one ShareResult.
 */
export type ShareEvent =
  /** Hashing progress, as bytes are read. */
  | {
    /** Which event. */
    type: 'hashing'
    /** Bytes hashed so far. */
    hashedBytes: number
    /** Bytes to hash in all. */
    totalBytes: number
    /** How many files. */
    files: number
  }
  /** Shared: the {@link ShareResult}. */
  | ({
    /** Which event. */
    type: 'done'
  } & ShareResult)
  /** Sharing failed: the last line. */
  | {
    /** Which event. */
    type: 'error'
    /** What failed. */
    error: ShoalErrorJSON
  }
