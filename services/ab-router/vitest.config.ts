import { defineConfig } from 'vitest/config';
export default defineConfig({ test: { include: ['src/**/*.{test,itest}.ts'], testTimeout: 150_000, hookTimeout: 60_000 } });
