// Bundles the web UI (ui/src, Preact) with esbuild into dist/ui/: index.html
// (the app), locked.html (shown without the token) and assets/ with
// content-hashed names. Run by the root `npm run build`; nothing is fetched.
import { build } from 'esbuild'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.join(here, '..', 'dist', 'ui')
const assets = path.join(out, 'assets')
await fs.rm(out, { recursive: true, force: true })
await fs.mkdir(assets, { recursive: true })

const result = await build({
  entryPoints: { app: path.join(here, 'src', 'main.tsx'), style: path.join(here, 'src', 'app.css') },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: path.join(here, 'tsconfig.json'),
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning'
})
const outputs = Object.keys(result.metafile.outputs).map(p => path.basename(p))
const js = outputs.find(n => n.startsWith('app-') && n.endsWith('.js'))
const css = outputs.find(n => n.startsWith('style-') && n.endsWith('.css'))
if (js === undefined || css === undefined) throw new Error(`esbuild made ${outputs.join(', ')}`)
// esbuild writes an empty style-*.js for the CSS entry: not needed
for (const n of outputs) if (n.startsWith('style-') && n.endsWith('.js')) await fs.rm(path.join(assets, n))

const iconBody = await fs.readFile(path.join(here, 'icon.svg'))
const icon = `icon-${crypto.createHash('sha256').update(iconBody).digest('hex').slice(0, 8)}.svg`
await fs.writeFile(path.join(assets, icon), iconBody)

for (const page of ['index.html', 'locked.html']) {
  const text = await fs.readFile(path.join(here, page), 'utf8')
  await fs.writeFile(path.join(out, page), text.replaceAll('%JS%', js).replaceAll('%CSS%', css).replaceAll('%ICON%', icon))
}
const sizes = await Promise.all([js, css].map(async n => `${n} ${(await fs.stat(path.join(assets, n))).size} B`))
console.log(`web UI: ${sizes.join(', ')}`)
