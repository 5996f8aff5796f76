import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { DownloadRecord, Records } from '../../storage/records.js'

/** Why a download is being stopped before it finished; decides its recorded state ('handover': a run for readers makes way for a fetch). */
export type Halt = 'pause' | 'cancel' | 'handover'

/** How one fetch is stopped early: its abort controller, and why it was aborted. */
export interface Control {
  controller: AbortController
  halt?: Halt
}

/** A fetch being set up (manifest, part files, re-hashing on resume), not yet running. */
export interface Starting extends Control {
  settled: Promise<void>
}

/** The ABORTED error a halted download ends with. */
export function haltError (cid: string, why: Halt): ShoalError {
  if (why === 'handover') return new ShoalError(ErrorCode.ABORTED, `a fetch of ${cid} takes over from the readers' download`)
  return why === 'pause'
    ? new ShoalError(ErrorCode.ABORTED, `download paused; \`shoal fetch ${cid}\` resumes it`)
    : new ShoalError(ErrorCode.ABORTED, 'download cancelled')
}

/** True when a run selecting `running` (undefined: everything) also fetches what `wanted` selects. */
export function covers (running: string[] | undefined, wanted: string[] | undefined): boolean {
  if (running === undefined) return true
  if (wanted === undefined) return false
  return wanted.every(p => running.includes(p))
}

/** Wait for `promise`; an abort of `signal` first fails with ABORTED. */
export async function untilAborted (promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) { await promise; return }
  const aborted = (): ShoalError => new ShoalError(ErrorCode.ABORTED, 'fetch cancelled; progress is kept')
  if (signal.aborted) throw aborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { reject(aborted()) }
    signal.addEventListener('abort', onAbort, { once: true })
    void promise.then(() => { signal.removeEventListener('abort', onAbort); resolve() })
  })
}

/** How a download ended short of done. */
export interface Ending {
  cid: string
  halt: Halt | undefined
  error: ShoalError
  /** Its setup got as far as storing the record. */
  setUp: boolean
  /** The daemon is stopping. */
  stopping: boolean
}

/** Record how a download ended short of done: paused, left to resume (daemon stopping), or failed. */
export async function recordEnd (records: Records, log: Logger, e: Ending): Promise<void> {
  if (e.halt === 'cancel' || e.halt === 'handover') return // cancel() removes the record itself; a handover keeps it
  const record = await records.getDownload(e.cid).catch(() => undefined)
  if (record === undefined) return // failed before it was set up: nothing to resume
  if (!e.setUp && record.state === 'partial') return // a partial share stays one when a fetch of more of it is refused
  const { error: _old, ...rest } = record
  let next: DownloadRecord | undefined
  if (e.halt === 'pause') next = { ...rest, state: 'paused' }
  else if (!e.stopping) next = { ...rest, state: 'failed', error: e.error.toJSON() }
  // stopped with the daemon: stays 'active' and resumes at the next start
  if (next !== undefined) await records.putDownload(next).catch(err => { log.error('cannot record that %s ended: %e', e.cid, err) })
}
