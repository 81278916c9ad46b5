import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Unit and integration tests live beside the code (`*.test.ts`); cross-service e2e in tests/.
// The browser test (headless Chromium) runs in the same `npm test`.
export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for both our code and Apollo's; make Vite do the same so
    // there is one graphql realm in tests (otherwise `instanceof GraphQLSchema` fails across copies).
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '.data/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
  },
});
