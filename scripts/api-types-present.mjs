// Runs before `npm run typecheck`: the console is checked against api.d.ts, which is generated
// from the Python app's OpenAPI document and not committed. Missing or older than the Python
// code (the Makefile's own rule), vue-tsc would report unrelated-looking errors about fields
// the API has gained or lost; say what to run instead.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const API_TYPES = 'app/console/src/api/api.d.ts'
const PYTHON_ROOTS = ['app', 'channels', 'routing', 'knowledge_base', 'widgets']
const SKIPPED = new Set(['node_modules', 'dist', '__pycache__'])

function newestPython(dir) {
  let newest = null
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue
    const path = join(dir, entry.name)
    const found = entry.isDirectory()
      ? newestPython(path)
      : entry.name.endsWith('.py')
        ? { path, mtime: statSync(path).mtimeMs }
        : null
    if (found && (newest === null || found.mtime > newest.mtime)) newest = found
  }
  return newest
}

if (!existsSync(API_TYPES)) {
  console.error(`${API_TYPES} is missing: run \`make types\` (or \`make frontend-check\`) first.`)
  process.exit(1)
}
const generated = statSync(API_TYPES).mtimeMs
const newer = PYTHON_ROOTS.filter(existsSync)
  .map(newestPython)
  .find((found) => found !== null && found.mtime > generated)
if (newer) {
  console.error(`${API_TYPES} is older than ${newer.path}: run \`make types\` first.`)
  process.exit(1)
}
