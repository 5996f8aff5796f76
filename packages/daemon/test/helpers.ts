import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core'
import { createShoal } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import { createShoalLibp2p } from '../src/net/libp2p-node.js'
import type { ShoalLibp2p } from '../src/net/libp2p-node.js'

export async function tempDir (): Promise<string> {
  return await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-unit-'))
}

/** A Shoal node on loopback in its own repo, started (short stall and resolve timeouts unless `options` say otherwise). */
export async function startNode (dir: string, name: string, options: { stallTimeoutMs?: number } = {}): Promise<Shoal> {
  const shoal = await createShoal({ repo: path.join(dir, name), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, stallTimeoutMs: options.stallTimeoutMs ?? 5_000, resolveTimeoutMs: 3_000 })
  await shoal.start()
  return shoal
}

/** A bare libp2p host with the same transport stack: plays hostile or fake peers. */
export async function startBareHost (): Promise<ShoalLibp2p> {
  const node = await createShoalLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], datastore: new MemoryDatastore(), mdns: false })
  await node.start()
  return node
}
