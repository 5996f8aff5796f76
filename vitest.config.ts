import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          setupFiles: ['./test/setup-polyfill.ts'],
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          setupFiles: ['./test/setup-polyfill.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // e2e suites each start their own daemons; run files one at a time on 2 cores
          fileParallelism: false
        }
      }
    ]
  }
})
