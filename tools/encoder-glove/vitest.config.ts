import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.{test,itest}.ts'],
    testTimeout: 60_000,
    // tfjs/onnxruntime are heavy to load; one fork keeps total time and memory low on 2 cores.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
  },
});
