#!/usr/bin/env node
// The `shoal` command as npm links it. This file is committed, not built:
// npm (11) links a workspace package's bin only if its target exists when
// `npm install` runs, and dist/ is built later, by the root `prepare` script.
// So the link points here, and this loads the built CLI.
import { existsSync } from 'node:fs'

const built = new URL('../dist/bin.js', import.meta.url)
if (!existsSync(built)) {
  process.stderr.write('shoal: the CLI is not built yet: run `npm run build` in the Shoal checkout\n')
  process.exit(1)
}
await import(built.href)
