import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers (redis-server, nginx, caddy) are started per file; two cores are shared.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
