/**
 * UnixFS fetches over their life, as the Shoal Fetcher does for Shoal
 * downloads: start or resume (a record of the CID whose output is the same
 * is resumed where it is), attach to one already running, pause, cancel,
 * resume at start what was running when the daemon stopped, and list them
 * for `ls`.
 */
import fs from 'node:fs/promises'
import { exists } from '../../storage/part-files.js'
import { resolveOut } from '../../storage/share-paths.js'
import { ErrorCode, ShoalError, parseIpfsCid, toShoalError } from '@shoal/protocol'
import type { TransferInfo } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { FetchRunComponents, FetchRunResult } from './ipfs-fetch-run.js'
import { FetchRun } from './ipfs-fetch-run.js'
import type { IpfsDownloadRecord } from './fetch-records.js'
import type { FetchCallOptions } from '../../shoal-types.js'

/** What a UnixFS fetch takes of `Shoal.fetch`'s options (`--only` is Shoal's protocol's alone). */
export type IpfsFetchOptions = Pick<FetchCallOptions, 'out' | 'cwd' | 'force' | 'signal' | 'onProgress' | 'resolveTimeoutMs' | 'peers'>

export interface IpfsFetcherInit {
  stallTimeoutMs?: number
  resolveTimeoutMs?: number
}

interface Running {
  run: FetchRun
  out: string
  done: Promise<FetchRunResult>
  controller: AbortController
  halt?: 'pause' | 'cancel'
}

/** See the module comment. */
export class IpfsFetcher {
  private readonly c: FetchRunComponents
  private readonly init: IpfsFetcherInit
  private readonly log: Logger
  private readonly running = new Map<string, Running>()
  private stopping = false

  constructor (components: FetchRunComponents, init: IpfsFetcherInit = {}) {
    this.c = components
    this.init = init
    this.log = components.logger.forComponent('shoal:ipfs:fetcher')
  }

  /** Fetch a UnixFS CID; resolves once every block is verified and the result in place. */
  async fetch (id: string, options: IpfsFetchOptions = {}): Promise<FetchRunResult> {
    return await this.begin(id, options)
  }

  /** Start or resume and resolve as soon as it runs; it goes on in the node. */
  async startDetached (id: string, options: IpfsFetchOptions = {}): Promise<TransferInfo> {
    const cid = parseIpfsCid(id).toString()
    return await new Promise<TransferInfo>((resolve, reject) => {
      let settled = false
      this.begin(id, options, info => { if (!settled) { settled = true; resolve(info) } }).then(r => {
        if (!settled) { settled = true; resolve({ cid, path: r.path, state: 'done', size: r.size, received: r.size, chunks: 0, chunksDone: 0, peers: 0, rate: 0 }) }
      }, err => {
        if (!settled) { settled = true; reject(err) } else this.log('detached fetch of %s ended: %e', cid, err)
      })
    })
  }

  /** Running fetches. */
  transfers (): TransferInfo[] {
    return [...this.running.entries()].map(([cid, r]) => ({ cid, path: r.out, state: 'active' as const, ...r.run.info() }))
  }

  /** Every UnixFS fetch known: running, then paused, interrupted and failed ones. */
  async downloads (): Promise<TransferInfo[]> {
    const out = this.transfers()
    for (const r of await this.c.fetchRecords.list()) {
      if (this.running.has(r.cid)) continue
      out.push({ cid: r.cid, path: r.out, state: r.state === 'active' ? 'paused' : r.state, size: r.size, received: r.received, chunks: 0, chunksDone: 0, peers: 0, rate: 0, ...(r.error !== undefined ? { error: r.error } : {}) })
    }
    return out
  }

  async pause (cid: string): Promise<TransferInfo> {
    const id = parseIpfsCid(cid).toString()
    await this.halt(id, 'pause')
    const record = await this.c.fetchRecords.get(id)
    if (record === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no download of ${id} to pause (it finished, or was never started here)`)
    const { error: _error, ...rest } = record
    await this.c.fetchRecords.put({ ...rest, state: 'paused' })
    return { cid: id, path: record.out, state: 'paused', size: record.size, received: record.received, chunks: 0, chunksDone: 0, peers: 0, rate: 0 }
  }

  async cancel (cid: string): Promise<{ cid: string, cancelled: true }> {
    const id = parseIpfsCid(cid).toString()
    await this.halt(id, 'cancel')
    const record = await this.c.fetchRecords.get(id)
    if (record === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no download of ${id} to cancel (it finished, or was never started here)`)
    await fs.rm(record.partPath, { recursive: true, force: true })
    await this.c.fetchRecords.delete(id)
    return { cid: id, cancelled: true }
  }

  /** Resume every fetch that was running when the daemon stopped. */
  async resumeAll (): Promise<number> {
    const pending = (await this.c.fetchRecords.list()).filter(r => r.state === 'active')
    for (const r of pending) this.begin(r.cid, { out: r.out, force: r.force }).catch(err => { this.log.error('resuming %s failed: %e', r.cid, err) })
    return pending.length
  }

  async stop (): Promise<void> {
    this.stopping = true
    const stopping = new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume')
    for (const r of this.running.values()) r.controller.abort(stopping)
    await Promise.allSettled([...this.running.values()].map(async r => { await r.done }))
  }

  private async halt (id: string, why: 'pause' | 'cancel'): Promise<void> {
    const r = this.running.get(id)
    if (r === undefined) return
    r.halt = why
    r.controller.abort(new ShoalError(ErrorCode.ABORTED, why === 'pause' ? `download paused; \`shoal fetch ${id}\` resumes it` : 'download cancelled'))
    await r.done.catch(() => {})
  }

  private async begin (id: string, options: IpfsFetchOptions, onRunning?: (info: TransferInfo) => void): Promise<FetchRunResult> {
    const cid = parseIpfsCid(id)
    const key = cid.toString()
    const running = this.running.get(key)
    if (running !== undefined) return await this.attach(running, options, onRunning)
    if (this.stopping) throw new ShoalError(ErrorCode.NOT_STARTED, 'the daemon is stopping')
    const previous = await this.c.fetchRecords.get(key)
    const out = options.out === undefined && previous !== undefined ? previous.out : resolveOut(options.out, previous?.name ?? key, options.cwd)
    const partPath = `${out}.part`
    const resume = previous !== undefined && previous.partPath === partPath && await exists(partPath)
    if (options.force !== true) {
      if (await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} already exists; choose another path with -o or replace it with --force`)
      if (!resume && await exists(partPath)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${partPath} already exists and is not a download this daemon knows; remove it or use --force`)
    }
    if (previous !== undefined && !resume) await this.c.fetchRecords.delete(key)
    const record: IpfsDownloadRecord = {
      cid: key,
      name: previous?.name ?? key,
      out,
      partPath,
      force: options.force === true,
      state: 'active',
      startedAt: new Date().toISOString(),
      peers: [...new Set([...(previous?.peers ?? []), ...(options.peers ?? [])])],
      size: previous?.size ?? 0,
      received: 0
    }
    await this.c.fetchRecords.put(record)
    const controller = new AbortController()
    const run = new FetchRun(this.c, {
      cid,
      record,
      resume,
      signal: controller.signal,
      ...(this.init.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.init.stallTimeoutMs } : {}),
      noProviderTimeoutMs: options.resolveTimeoutMs ?? this.init.resolveTimeoutMs ?? 20_000
    })
    if (options.onProgress !== undefined) run.listeners.add(options.onProgress)
    const entry: Running = { run, out, controller, done: run.run() }
    this.running.set(key, entry)
    const onUserAbort = (): void => { entry.halt ??= 'pause'; controller.abort(new ShoalError(ErrorCode.ABORTED, `download paused; \`shoal fetch ${key}\` resumes it`)) }
    options.signal?.addEventListener('abort', onUserAbort, { once: true })
    onRunning?.({ cid: key, path: out, state: 'active', ...run.info() })
    try {
      return await entry.done
    } catch (err) {
      const error = toShoalError(err)
      if (entry.halt !== 'cancel') {
        const state = entry.halt === 'pause' ? 'paused' : this.stopping ? 'active' : 'failed'
        const latest = await this.c.fetchRecords.get(key)
        if (latest !== undefined) await this.c.fetchRecords.put({ ...latest, state, ...(state === 'failed' ? { error: error.toJSON() } : {}) }).catch(() => {})
      }
      throw error
    } finally {
      options.signal?.removeEventListener('abort', onUserAbort)
      this.running.delete(key)
    }
  }

  private async attach (running: Running, options: IpfsFetchOptions, onRunning?: (info: TransferInfo) => void): Promise<FetchRunResult> {
    const key = running.run.tree.root.toString()
    onRunning?.({ cid: key, path: running.out, state: 'active', ...running.run.info() })
    if (options.onProgress !== undefined) running.run.listeners.add(options.onProgress)
    const onAbort = (): void => { void this.pause(key).catch(() => {}) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await running.done
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      if (options.onProgress !== undefined) running.run.listeners.delete(options.onProgress)
    }
  }
}

