import fs from 'node:fs/promises'
import path from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  ChunkLayout, ErrorCode, ShoalError, decodeManifest, decodeTicket, isTicket, manifestMatches, parseContentId, selectFiles
} from '@shoal/protocol'
import type { CID, FetchEvent } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { RESOLVE_TIMEOUT_MS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { exists } from '../../storage/part-files.js'
import { resolveOut } from '../../storage/share-paths.js'
import type { DownloadRecord, ProviderHint, Records } from '../../storage/records.js'
import type { FetchedManifest } from './manifest-client.js'
import type { Holding } from './holding.js'
import { selectionOf } from './holding.js'
import type { ProviderSearch } from './provider-search.js'

/** What a fetch asks for: a content id, and from a ticket its sharer and name. */
export interface FetchTarget {
  cid: CID
  hints: ProviderHint[]
  /** The name a ticket suggests. */
  name?: string
}

/** Options of one fetch that decide where and how it is set up. */
export interface SetupOptions {
  /** Absolute output path; a trailing `/` means "into this directory". */
  out?: string
  /** Where `<name>` goes when `out` is not given and nothing is being resumed. @default process.cwd() */
  cwd?: string
  force?: boolean
  /** How long to look for a provider before NO_PROVIDERS. */
  resolveTimeoutMs?: number
  signal?: AbortSignal
  emit: (event: FetchEvent) => void
  /** Fetch only the files these patterns select (added to an earlier selection of the id). */
  only?: string[]
  /** A run that serves readers only: the record stays as it is (it must exist). */
  readers?: boolean
}

export interface SetupComponents {
  node: ShoalLibp2p
  records: Records
  search: ProviderSearch
  /** The holdings loaded now, and how one is loaded. */
  holdings: {
    get(cid: string): Holding | undefined
    load(record: DownloadRecord, manifestBytes: Uint8Array, fresh: boolean, layout?: ChunkLayout): Promise<Holding>
  }
}

/** A download ready to run: its record is stored, its part files exist. */
export interface PreparedDownload {
  record: DownloadRecord
  fetched: FetchedManifest
  layout: ChunkLayout
  /** Its bitfield, part files and the source serving them. */
  holding: Holding
  /** The first peers to open sessions with. */
  providers: PeerId[]
}

/**
 * Set a fetch up: the ticket's sharer into the peer store, the manifest
 * (stored, when an interrupted download of the id is resumed in place; else
 * asked of providers), the output path checked, the record stored and the
 * part files made. Nothing is downloaded yet.
 */
export async function setUpDownload (c: SetupComponents, target: FetchTarget, options: SetupOptions): Promise<PreparedDownload> {
  const { cid, hints } = target
  const cidText = cid.toString()
  const hinted = await hintedPeers(c.node, hints)
  const previous = await c.records.getDownload(cidText)
  const loaded = c.holdings.get(cidText)
  const known = loaded !== undefined
    ? { manifest: loaded.layout.manifest, bytes: loaded.manifestBytes, name: loaded.record.name }
    : previous !== undefined ? await storedManifest(c.records, cid, previous.name) : undefined
  const previousProviders = (previous?.providers ?? []).flatMap(h => { try { return [peerIdFromString(h.peerId)] } catch { return [] } })
  if (options.readers === true) {
    // readers of what this node holds part of: the record stays as it is
    if (previous === undefined || known === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `${cidText} has no record here to read into`)
    options.emit({ type: 'resolving', cid: cidText, providers: hinted.length })
    const holding = loaded ?? await c.holdings.load(previous, known.bytes, false, new ChunkLayout(known.manifest))
    return { record: holding.record, fetched: known, layout: holding.layout, holding, providers: [...hinted, ...previousProviders] }
  }
  let fetched: FetchedManifest
  let providers: PeerId[]
  let out: string | undefined
  // an interrupted, paused or partial download of this id: resume it, where it is unless told to save elsewhere
  if (known !== undefined && previous !== undefined) {
    fetched = known
    providers = [...hinted, ...previousProviders]
    options.emit({ type: 'resolving', cid: cidText, providers: new Set(providers.map(p => p.toString())).size })
    out = options.out === undefined ? (previous.out ?? resolveOut(undefined, previous.name, options.cwd)) : resolveOut(options.out, previous.name, options.cwd)
  } else {
    ({ fetched, providers } = await c.search.resolve(cid, {
      hinted,
      timeoutMs: options.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS,
      onResolving: n => { options.emit({ type: 'resolving', cid: cidText, providers: n }) },
      ...(options.signal !== undefined ? { signal: options.signal } : {})
    }))
  }
  const name = safeName(target.name ?? fetched.name, cidText)
  out ??= resolveOut(options.out, name, options.cwd)
  // (one decoded manifest per root: the holding's when it is loaded)
  const layout = loaded?.layout ?? new ChunkLayout(fetched.manifest)
  const only = mergeOnly(previous, options.only, layout, cidText)

  const partPath = `${out}.part`
  if (options.force !== true) {
    if (previous?.out !== out && await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} already exists; choose another path with -o or replace it with --force`)
    if (previous?.partPath !== partPath && await exists(partPath)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${partPath} already exists and is not a download this daemon knows; remove it or use --force`)
  }
  // told to save it elsewhere (or a cache gets an output): take the bytes held so far along
  let resume = false
  if (loaded !== undefined) {
    if (options.force === true && loaded.part.partPath !== partPath) await fs.rm(partPath, { recursive: true, force: true })
    await loaded.part.moveTo(partPath)
    resume = true
  } else if (previous !== undefined) {
    resume = (previous.partPath === partPath || await movePart(previous.partPath, partPath, options.force === true)) && await exists(partPath)
  }
  options.signal?.throwIfAborted()

  const record: DownloadRecord = {
    cid: cidText,
    name,
    kind: fetched.manifest.kind,
    out,
    partPath,
    force: options.force === true,
    state: 'active',
    startedAt: new Date().toISOString(),
    providers: mergeHints(previous?.providers ?? [], [...hints, ...providers.map(p => ({ peerId: p.toString(), addrs: [] }))]),
    ...(only !== undefined ? { only } : {})
  }
  await c.records.putManifest(cidText, fetched.bytes)
  await c.records.putDownload(record)

  const holding = loaded ?? await c.holdings.load(record, fetched.bytes, !resume, layout)
  holding.record = record
  await holding.part.prepare(resume, selectionOf(layout, only))
  return { record, fetched, layout, holding, providers }
}

/**
 * The `--only` patterns of a fetch, added to those of an earlier selective
 * fetch (a cache of reader chunks has none; a whole-share download stays
 * whole). NO_MATCH names a pattern that selects nothing.
 */
function mergeOnly (previous: DownloadRecord | undefined, only: string[] | undefined, layout: ChunkLayout, cid: string): string[] | undefined {
  if (only === undefined || only.length === 0) return undefined
  if (layout.manifest.kind === 'file') throw new ShoalError(ErrorCode.BAD_REQUEST, `--only picks files inside a directory share; ${cid} is a single file (fetch it whole)`)
  const { unmatched } = selectFiles(layout.manifest.files, layout.manifest.dirs, only)
  if (unmatched.length > 0) throw new ShoalError(ErrorCode.NO_MATCH, `--only ${unmatched.map(p => JSON.stringify(p)).join(', ')} matches no file of ${cid} (shoal files ${cid} lists them)`)
  if (previous === undefined || previous.out === undefined) return [...new Set(only)]
  if (previous.only === undefined) return undefined // the whole share was asked for before
  return [...new Set([...previous.only, ...only])]
}

/**
 * Move a download's part file or tree to `to` (a fetch of the same id to
 * another path); false when it cannot be moved (another filesystem), in
 * which case the old one is removed and the download starts over.
 */
async function movePart (from: string, to: string, force: boolean): Promise<boolean> {
  if (!(await exists(from))) return false
  try {
    if (force) await fs.rm(to, { recursive: true, force: true })
    await fs.mkdir(path.dirname(to), { recursive: true })
    await fs.rename(from, to)
    return true
  } catch {
    await fs.rm(from, { recursive: true, force: true })
    return false
  }
}

/** A content id or a ticket, checked. */
export function parseTarget (id: unknown): FetchTarget {
  if (typeof id !== 'string' || id.trim() === '') throw new ShoalError(ErrorCode.INVALID_ID, 'missing content id or ticket')
  if (isTicket(id)) {
    const t = decodeTicket(id)
    return { cid: t.cid, hints: [{ peerId: t.peerId, addrs: t.addrs }], ...(t.name !== undefined ? { name: t.name } : {}) }
  }
  return { cid: parseContentId(id), hints: [] }
}

/** The stored manifest of an interrupted download, checked against its id again. */
export async function storedManifest (records: Records, cid: CID, name: string): Promise<FetchedManifest | undefined> {
  const bytes = await records.getManifest(cid.toString())
  if (bytes === undefined || !(await manifestMatches(cid, bytes))) return undefined
  try {
    return { manifest: decodeManifest(bytes), bytes, name }
  } catch {
    return undefined
  }
}

/** The peers a ticket names, their addresses put in the peer store (ourselves left out). */
export async function hintedPeers (node: ShoalLibp2p, hints: ProviderHint[]): Promise<PeerId[]> {
  const hinted: PeerId[] = []
  for (const hint of hints) {
    const peer = peerIdFromString(hint.peerId)
    if (peer.equals(node.peerId)) continue
    const addrs = hint.addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
    if (addrs.length > 0) await node.peerStore.merge(peer, { multiaddrs: addrs })
    hinted.push(peer)
  }
  return hinted
}

function mergeHints (a: ProviderHint[], b: ProviderHint[]): ProviderHint[] {
  const out = new Map<string, ProviderHint>()
  for (const h of [...a, ...b]) out.set(h.peerId, h)
  return [...out.values()]
}

/** A name from a peer is only a suggestion: one safe path segment, else the cid. */
function safeName (name: string, cid: string): string {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed === '.' || trimmed === '..' || /[/\\\0]/.test(trimmed) || trimmed.length > 255) return cid
  return trimmed
}

