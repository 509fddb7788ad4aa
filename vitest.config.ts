import { defineConfig } from 'vitest/config';

// `npm test` runs test/http/refusal-timing.test.ts on its own after the rest: it compares refusal times
// across hash schemes, and another test file's load on the second core shifts them (seen in full runs).
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
