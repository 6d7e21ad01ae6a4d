import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.{test,itest}.ts'],
    // Simulations are CPU-bound; the whole package must stay under 60 s on 2 shared cores.
    testTimeout: 30_000,
  },
});
