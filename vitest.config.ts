// `npm run test:unit`: the console's and the widget's unit tests, each with its own config.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: ['app/console/vite.config.ts', 'widgets/vite.config.ts'],
  },
})
