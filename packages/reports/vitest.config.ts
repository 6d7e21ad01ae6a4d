import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.{test,itest}.ts'],
    // Headless Chromium starts in a few seconds alone, much slower while other packages test in parallel.
    testTimeout: 120_000,
  },
});
