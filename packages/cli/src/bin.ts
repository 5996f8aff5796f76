#!/usr/bin/env node
import { main } from './main.js'

// `shoal ls | head -1`, `shoal cat … | head -c 10`: a reader that leaves early
// is not an error; stop quietly instead of dying on EPIPE with a stack trace
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`shoal: error: cannot write to stdout: ${err.message} [IO_ERROR]\n`)
  process.exit(err.code === 'EPIPE' ? (process.exitCode ?? 0) : 1)
})

await main()
