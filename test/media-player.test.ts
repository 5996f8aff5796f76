/**
 * A real media player reading from the gateway as a person would: ffprobe
 * (Debian's ffmpeg) opens a video through its gateway URL while the node is
 * still fetching it from a seeder capped at 1 MiB/s. The video has its index
 * (moov) at the end, so ffprobe reads the start, then seeks to the end with
 * its own range requests: the gateway fetches those chunks first.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shareFile, startDaemon, stopAll, tempDir } from './harness.js'
import type { Daemon } from './harness.js'

const run = promisify(execFile)

async function has (tool: string): Promise<boolean> {
  try {
    await run(tool, ['-version'])
    return true
  } catch {
    return false
  }
}

const tools = await has('ffprobe') && await has('ffmpeg')
if (!tools) console.warn('test/media-player.test.ts: skipped, no ffmpeg/ffprobe on this machine (apt-get install ffmpeg; .ci/run does)')

describe.runIf(tools)('ffprobe reads a video through the gateway while it is being fetched', () => {
  let dir: string
  let seeder: Daemon
  let viewer: Daemon
  let gateway: string

  beforeAll(async () => {
    dir = await tempDir()
    seeder = await startDaemon(path.join(dir, 'seeder'), ['--max-upload', '1MiB/s'])
    viewer = await startDaemon(path.join(dir, 'viewer'), ['--gateway', '127.0.0.1:0', '--bootstrap', seeder.addrs[0] ?? ''])
    gateway = String((await viewer.waitForEvent(e => e.event === 'ready')).gateway)
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('prints the format and stream of a 10 s H.264 video the node did not hold', async () => {
    const video = path.join(dir, 'clip.mp4')
    // noise makes it big (about 5 MB): at 1 MiB/s the fetch is still going when ffprobe is done
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=duration=10:size=640x360:rate=25', '-vf', 'noise=alls=30:allf=t', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '4M', '-pix_fmt', 'yuv420p', '-y', video])
    const { cid } = await shareFile(seeder, video)
    const url = `${gateway}/shoal/${cid}/clip.mp4`
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name,duration,size:stream=codec_name,width,height', '-of', 'json', url], { timeout: 90_000 })
    const probed = JSON.parse(stdout) as { streams: Array<{ codec_name: string, width: number, height: number }>, format: { format_name: string, duration: string, size: string } }
    expect(probed.streams[0]).toMatchObject({ codec_name: 'h264', width: 640, height: 360 })
    expect(Number(probed.format.duration)).toBeCloseTo(10, 0)
    expect(Number(probed.format.size)).toBe((await fs.stat(video)).size)
    expect(probed.format.format_name).toMatch(/mp4/)
  })
})
