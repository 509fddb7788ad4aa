// A private redis-server on a free loopback port, in its own temp dir, without persistence.
// Never the machine's own Redis on 6379.
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, makeTempDir, spawnTracked, stopChild, waitForPort, which } from './proc.mjs';

export async function startRedis() {
  const bin = which('redis-server');
  if (!bin) throw new Error('redis-server is not on PATH (Debian: apt-get install redis-server)');
  const dir = makeTempDir('postern-bench-redis-');
  const port = await freePort();
  const logFile = path.join(dir, 'redis.log');
  const child = spawnTracked(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', logFile],
    { cwd: dir, logFile: path.join(dir, 'stdout.log') },
  );
  await waitForPort(port, 'redis-server', child, 10_000, logFile);
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  if ((await client.ping()) !== 'PONG') throw new Error(`redis-server on ${port} does not answer PING`);
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    pid: child.pid,
    client,
    async stop() {
      client.disconnect();
      await stopChild(child);
    },
  };
}
