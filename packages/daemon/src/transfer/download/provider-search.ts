import { ErrorCode, ShoalError, isShoalError } from '@shoal/protocol'
import type { CID } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import { PROVIDER_SEARCH_MAX_MS, PROVIDER_SEARCH_MIN_MS } from '../../constants.js'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { requestManifest } from './manifest-client.js'
import type { FetchedManifest } from './manifest-client.js'

export interface ProviderSearchComponents {
  node: ShoalLibp2p
  discovery: Discovery
  /** Peers that sent a bad manifest or chunk: never asked again. */
  banned: Set<string>
}

export interface ResolveOptions {
  /** Peers asked first: a ticket's sharer. */
  hinted: PeerId[]
  /** Give up with NO_PROVIDERS after this long. */
  timeoutMs: number
  /** Told how many peers are asked first. */
  onResolving?: (candidates: number) => void
  signal?: AbortSignal
}

/** A manifest that hashed to its id, and the peers that sent it. */
export interface Resolved {
  fetched: FetchedManifest
  providers: PeerId[]
}

/**
 * Finding who has a root: first the ticket's sharer and the peers connected
 * now, then the DHT, in rounds that start quickly and slow down to one every
 * PROVIDER_SEARCH_MAX_MS. `resolve` ends at the first manifest that hashes to
 * the id; `keepLooking` keeps going for a running download, so new sources join
 * and lost ones are dialed again.
 */
export class ProviderSearch {
  private readonly log: Logger
  private readonly c: ProviderSearchComponents

  constructor (components: ProviderSearchComponents) {
    this.log = components.node.logger.forComponent('shoal:fetch:providers')
    this.c = components
  }

  /** Ask candidates for the manifest of `cid` until one sends one that hashes to it. */
  async resolve (cid: CID, options: ResolveOptions): Promise<Resolved> {
    const { hinted, timeoutMs, signal } = options
    const deadline = Date.now() + timeoutMs
    const asked = new Set<string>()
    const errors: string[] = []
    const usable = (peers: PeerId[]): PeerId[] => peers.filter(p => !this.excluded(p) && !asked.has(p.toString()))
    let round = usable(unique([...hinted, ...this.c.node.getPeers()]))
    options.onResolving?.(round.length)
    let delay = PROVIDER_SEARCH_MIN_MS
    while (true) {
      signal?.throwIfAborted()
      for (const p of round) asked.add(p.toString())
      const got = await this.askForManifest(cid, round, errors, signal)
      if (got !== undefined) return got
      if (Date.now() >= deadline) {
        const why = errors.length > 0 ? `; last error: ${errors[errors.length - 1]}` : ''
        throw new ShoalError(ErrorCode.NO_PROVIDERS, `no providers found for ${cid.toString()} after ${Math.round(timeoutMs / 1000)} s (asked ${asked.size} peer(s))${why}`)
      }
      await waitFor(Math.min(delay, Math.max(0, deadline - Date.now())), signal)
      delay = Math.min(PROVIDER_SEARCH_MAX_MS, delay * 2)
      // ticket hints again too: a first dial can fail for passing reasons (a relay reconnecting)
      const found = [...hinted, ...this.c.node.getPeers()]
      for await (const peer of this.c.discovery.findProviders(cid, signal)) found.push(peer)
      const candidates = unique(found)
      // peers that had nothing may have it by now
      if (candidates.length > 0 && usable(candidates).length === 0) asked.clear()
      round = usable(candidates)
    }
  }

  /**
   * For a running download: every round, `first` and the connected peers at
   * once (cheap), then each DHT provider as it is found, handed to `use`;
   * quickly at first, then every PROVIDER_SEARCH_MAX_MS, until `signal` aborts.
   */
  async keepLooking (cid: CID, first: PeerId[], use: (peers: PeerId[]) => Promise<void>, signal: AbortSignal): Promise<void> {
    let delay = PROVIDER_SEARCH_MIN_MS
    while (!signal.aborted) {
      await waitFor(delay, signal)
      if (signal.aborted) return
      const opening = [use([...first, ...this.c.node.getPeers()])]
      for await (const peer of this.c.discovery.findProviders(cid, signal)) opening.push(use([peer]))
      await Promise.all(opening)
      delay = Math.min(PROVIDER_SEARCH_MAX_MS, delay * 2)
    }
  }

  /** Ourselves, and peers banned for lying. */
  excluded (peer: PeerId): boolean {
    return this.c.banned.has(peer.toString()) || peer.equals(this.c.node.peerId)
  }

  private async askForManifest (cid: CID, candidates: PeerId[], errors: string[], signal?: AbortSignal): Promise<Resolved | undefined> {
    const answers = await Promise.allSettled(candidates.map(async peer => await requestManifest(this.c.node, peer, cid, signal)))
    let fetched: FetchedManifest | undefined
    const providers: PeerId[] = []
    answers.forEach((a, i) => {
      const peer = candidates[i] as PeerId
      if (a.status === 'rejected') {
        errors.push((a.reason as Error)?.message ?? String(a.reason))
        if (isShoalError(a.reason, ErrorCode.HASH_MISMATCH) || isShoalError(a.reason, ErrorCode.INVALID_MANIFEST)) {
          this.log.error('peer %p sent a bad manifest for %c, banning it: %e', peer, cid, a.reason)
          this.c.banned.add(peer.toString())
        }
        return
      }
      if (a.value === undefined) return
      fetched ??= a.value
      providers.push(peer)
    })
    return fetched === undefined ? undefined : { fetched, providers }
  }
}

/** Each peer once, first occurrence first. */
export function unique (peers: PeerId[]): PeerId[] {
  return peers.filter((p, i) => peers.findIndex(q => q.equals(p)) === i)
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export async function waitFor (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}
