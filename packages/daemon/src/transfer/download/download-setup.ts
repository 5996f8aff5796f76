import fs from 'node:fs/promises'
import path from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  Bitfield, ChunkLayout, ErrorCode, ShoalError, decodeManifest, decodeTicket, isTicket, manifestMatches, parseContentId
} from '@shoal/protocol'
import type { CID, FetchEvent } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { RESOLVE_TIMEOUT_MS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { PartFiles, exists } from '../../storage/part-files.js'
import type { DownloadRecord, ProviderHint, Records } from '../../storage/records.js'
import type { FetchedManifest } from './manifest-client.js'
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
}

export interface SetupComponents {
  node: ShoalLibp2p
  records: Records
  search: ProviderSearch
}

/** A download ready to run: its record is stored, its part files exist. */
export interface PreparedDownload {
  record: DownloadRecord
  fetched: FetchedManifest
  layout: ChunkLayout
  part: PartFiles
  /** The first peers to open sessions with. */
  providers: PeerId[]
  /** Chunks the stored bitfield claims, when resuming (not yet re-verified). */
  have?: Bitfield
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
  const known = previous !== undefined ? await storedManifest(c.records, cid, previous.name) : undefined
  let fetched: FetchedManifest
  let providers: PeerId[]
  let out: string | undefined
  // an interrupted or paused download of this id: resume it, where it is unless told to save elsewhere
  if (known !== undefined && previous !== undefined) {
    fetched = known
    providers = [...hinted, ...previous.providers.flatMap(h => { try { return [peerIdFromString(h.peerId)] } catch { return [] } })]
    options.emit({ type: 'resolving', cid: cidText, providers: new Set(providers.map(p => p.toString())).size })
    out = options.out === undefined ? previous.out : resolveOut(options.out, previous.name, options.cwd)
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
  const layout = new ChunkLayout(fetched.manifest)

  const partPath = `${out}.part`
  if (options.force !== true) {
    if (await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} already exists; choose another path with -o or replace it with --force`)
    if (previous?.partPath !== partPath && await exists(partPath)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${partPath} already exists and is not a download this daemon knows; remove it or use --force`)
  }
  // told to save it elsewhere: take the bytes held so far along
  const resume = previous !== undefined && (previous.partPath === partPath || await movePart(previous.partPath, partPath, options.force === true)) && await exists(partPath)
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
    providers: mergeHints(previous?.providers ?? [], hints)
  }
  await c.records.putManifest(cidText, fetched.bytes)
  await c.records.putDownload(record)

  const part = new PartFiles(partPath, layout, c.node.logger.forComponent('shoal:part-files'))
  await part.prepare(resume)
  let have: Bitfield | undefined
  if (resume) {
    const bits = await c.records.getBitfield(cidText)
    if (bits !== undefined && bits.byteLength === Math.ceil(layout.chunkCount / 8)) have = new Bitfield(layout.chunkCount, bits)
  }
  return { record, fetched, layout, part, providers, ...(have !== undefined ? { have } : {}) }
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
async function hintedPeers (node: ShoalLibp2p, hints: ProviderHint[]): Promise<PeerId[]> {
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

/** The output path: `out` as given, `out/<name>` for a trailing slash, `<cwd>/<name>` when not given. */
export function resolveOut (out: string | undefined, name: string, cwd = process.cwd()): string {
  if (out === undefined || out === '') return path.resolve(cwd, name)
  if (!path.isAbsolute(out)) throw new ShoalError(ErrorCode.INVALID_PATH, `output path must be absolute: ${out}`)
  // a trailing slash means "save into this directory"; anything else is the exact path
  if (out.endsWith('/') || out.endsWith(path.sep)) return path.join(out, name)
  return path.resolve(out)
}
