// The agent console: `npm run build:console` writes dist/ (served by app/console/controller.py).
import { fileURLToPath } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // The app serves the shell at /console and the hashed files at /console/assets/.
  base: '/console/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Everything goes through assets/ (hashed, immutable); nothing is inlined into the
    // shell, whose policy allows no inline code.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev:console` with `relaydesk dev` running: same origin for the browser, so
    // the session cookie (SameSite=Strict) works.
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
  test: {
    name: 'console',
    // Plain logic runs in Node; a test that renders says `@vitest-environment happy-dom`.
    environment: 'node',
    include: ['src/**/__tests__/*.test.ts'],
    // `make test` runs these beside the Python suite on a 2-core machine: a render that takes
    // 50 ms alone can take seconds there, and 5 s (the default) failed a sign-in test once.
    testTimeout: 30_000,
  },
})
