import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...configDefaults.exclude, '**/*.int.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: configDefaults.exclude,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts its own redis-server and S3 emulator, so more than two files at
          // once mostly compete for the two cores of the CI machine.
          maxWorkers: 2,
          // Vitest runs projects with different maxWorkers in separate groups, unit first.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
