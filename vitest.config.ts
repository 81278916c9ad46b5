import { defineConfig } from 'vitest/config';

// Unit and integration tests live beside the code (`*.test.ts`); cross-service e2e in tests/.
// The browser test (headless Chromium) runs in the same `npm test` when Chromium is installed.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '.data/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
