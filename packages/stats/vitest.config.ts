import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.{test,itest}.ts'],
    // Simulations are CPU-bound; the whole package take ~20 s alone but several times that while other packages test in parallel.
    testTimeout: 180_000,
  },
});
