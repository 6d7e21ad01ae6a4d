import { defineConfig } from 'vitest/config';

// Each file starts its own stack (six processes) in beforeAll; files run one after another so two
// stacks never compete for the 2 CI cores.
export default defineConfig({
  test: {
    include: ['src/**/*.itest.ts', 'src/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
    sequence: { concurrent: false },
  },
});
