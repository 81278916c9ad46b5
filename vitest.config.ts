import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Unit and integration tests live beside the code (`*.test.ts`) and run two at a time.
// Cross-service tests in tests/ start the whole platform as real processes (eight of them), so they
// run one file at a time, after the rest: two platforms at once would starve a 2-core machine.
export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build for both our code and Apollo's; make Vite do the same so
    // there is one graphql realm in tests (otherwise `instanceof GraphQLSchema` fails across copies).
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    exclude: ['**/node_modules/**', '.data/**'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
    env: { NODE_ENV: 'test' },
    projects: [
      {
        extends: true,
        test: {
          name: 'packages',
          include: ['**/*.test.ts'],
          exclude: ['tests/**', '**/node_modules/**', '.data/**'],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['tests/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
