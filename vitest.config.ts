import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Unit tests run against sources; tests in test/ use the built packages and start real processes.
const alias = [
  {
    find: /^@hiveforge\/coordinator\/client$/,
    replacement: fileURLToPath(new URL('./packages/coordinator/src/client.ts', import.meta.url)),
  },
  {
    find: /^@hiveforge\/coordinator\/mongodb$/,
    replacement: fileURLToPath(new URL('./packages/coordinator/src/store/mongodb/index.ts', import.meta.url)),
  },
  ...['sdk', 'archive', 'actions', 'coordinator', 'agent'].map((pkg) => ({
    find: new RegExp(`^@hiveforge/${pkg}$`),
    replacement: src(pkg),
  })),
];

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        // Integration tests use the built packages, as users and agents do.
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
