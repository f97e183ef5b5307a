// The chat widget: `npm run build:widget` writes one IIFE script, named after its content,
// and .vite/manifest.json, from which the app finds it for /widget.js (app/assets.py).
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    lib: {
      entry: 'src/main.ts',
      formats: ['iife'],
      name: 'RelaydeskWidget',
      fileName: () => 'widget-[hash].js',
    },
  },
  test: {
    name: 'widget',
    environment: 'happy-dom',
    include: ['src/**/__tests__/*.test.ts'],
    // `make test` runs these beside the Python suite on a 2-core machine: a render that takes
    // 50 ms alone can take seconds there, and 5 s (the default) failed a sign-in test once.
    testTimeout: 30_000,
  },
})
