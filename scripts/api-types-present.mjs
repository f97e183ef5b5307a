// Runs before `npm run typecheck`: the console is checked against api.d.ts, which is generated
// from the Python app's OpenAPI document and not committed. Without it vue-tsc reports dozens
// of unrelated-looking errors; say what is missing instead.
import { existsSync } from 'node:fs'

const API_TYPES = 'app/console/src/api/api.d.ts'

if (!existsSync(API_TYPES)) {
  console.error(`${API_TYPES} is missing: run \`make types\` (or \`make frontend-check\`) first.`)
  process.exit(1)
}
