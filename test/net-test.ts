/**
 * What every namespace test file sets up: the reason to skip (printed), and
 * hosts plus a temp dir that are cleaned up after each test and the file.
 */
import fs from 'node:fs/promises'
import { afterAll, afterEach } from 'vitest'
import { stopAll, tempDir } from './harness.js'
import { TestNet, netnsUnavailable } from './netns.js'
import type { HostSpec } from './netns.js'

export interface NetTestFile {
  /** Why these tests cannot run here, or undefined. */
  unavailable: string | undefined
  /** The file's temp dir (made on first use). */
  dir(): Promise<string>
  /** Make this test's hosts; they and every daemon are removed after the test. */
  hosts(specs: HostSpec[], options?: Parameters<typeof TestNet.create>[1]): Promise<TestNet>
}

export async function netTestFile (name: string, options: { nat?: boolean } = {}): Promise<NetTestFile> {
  const unavailable = await netnsUnavailable(options)
  if (unavailable !== undefined) console.warn(`[${name}] skipped: ${unavailable}`)
  let dir: string | undefined
  let net: TestNet | undefined
  afterEach(async () => {
    await stopAll()
    await net?.destroy()
    net = undefined
  })
  afterAll(async () => { if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }) })
  return {
    unavailable,
    dir: async () => (dir ??= await tempDir()),
    hosts: async (specs, opts) => (net = await TestNet.create(specs, opts))
  }
}
