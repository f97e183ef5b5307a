// The gzipped size of what a browser loads first: the console's initial JavaScript (the
// entry script and the chunks index.html preloads) and the widget bundle, against budgets.
// Exits 1 when a budget is exceeded, so `make test` catches a bundle that grew too much.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const KB = 1024
const BUDGETS = { console: 250 * KB, widget: 40 * KB }

const gzipped = (path) => gzipSync(readFileSync(path), { level: 9 }).length
const kb = (bytes) => `${(bytes / KB).toFixed(1)} KB`

const consoleDist = 'app/console/dist'
const html = readFileSync(join(consoleDist, 'index.html'), 'utf8')
const initial = [
  ...html.matchAll(/<script[^>]+src="\/console\/([^"]+\.js)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/console\/([^"]+\.js)"/g),
].map((match) => join(consoleDist, match[1]))
const widgetDist = 'widgets/dist'
const widget = readdirSync(widgetDist).filter((name) => /^widget-.*\.js$/.test(name))

const sizes = {
  console: initial.reduce((sum, path) => sum + gzipped(path), 0),
  widget: widget.reduce((sum, name) => sum + gzipped(join(widgetDist, name)), 0),
}
let over = false
for (const [name, size] of Object.entries(sizes)) {
  const fits = size <= BUDGETS[name]
  over ||= !fits
  console.log(`${name.padEnd(8)} ${kb(size).padStart(9)} gzipped (budget ${kb(BUDGETS[name])})${fits ? '' : '  OVER BUDGET'}`)
}
if (initial.length === 0 || widget.length !== 1) {
  console.error('the builds are missing or odd: run `npm run build` first')
  process.exit(1)
}
process.exit(over ? 1 : 0)
