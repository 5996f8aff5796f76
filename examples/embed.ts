/**
 * Embedding Shoal as a library: two nodes in one process, one shares a file,
 * the other fetches it by ticket with progress and a time limit, then both
 * stop. (test/embed-example.test.ts runs it and checks what it prints.)
 *
 *   npx tsx examples/embed.ts
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createShoal } from '@shoal/daemon'

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-embed-'))
const alice = await createShoal({ repo: path.join(dir, 'alice'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false })
const bob = await createShoal({ repo: path.join(dir, 'bob'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false })
await Promise.all([alice.start(), bob.start()])

try {
  const file = path.join(dir, 'hello.bin')
  await fs.writeFile(file, randomBytes(8 * 1024 * 1024))
  const shared = await alice.share(file)
  console.log(`alice shares ${shared.name}: ${shared.cid} (${shared.chunks} chunks)`)

  const result = await bob.fetch(shared.ticket, {
    out: path.join(dir, 'bob-copy.bin'),
    // the same typed events `shoal fetch --json` prints
    onProgress: (event) => {
      if (event.type === 'progress') console.log(`  bob: ${event.chunksDone}/${event.chunks} chunks, ${event.received}/${event.size} bytes`)
      else console.log(`  bob: ${event.type}`)
    },
    // give up after a minute: fetch then rejects with ShoalError ABORTED, and a later fetch resumes
    signal: AbortSignal.timeout(60_000)
  })
  const same = Buffer.compare(await fs.readFile(file), await fs.readFile(result.path)) === 0
  console.log(`bob saved ${result.path} in ${result.seconds.toFixed(2)} s; identical: ${same}`)
  if (!same) process.exitCode = 1
} finally {
  await Promise.all([alice.stop(), bob.stop()])
  await fs.rm(dir, { recursive: true, force: true })
}
