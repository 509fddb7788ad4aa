// P4: Redis bytes per session.
import { randomBytes } from 'node:crypto';
import { fmtInt } from './report.mjs';

/**
 * P4. The real sessions (made by signing in) are joined by copies: the value of one real session,
 * written under fresh random ids of the same shape (32 random bytes, base64url) with the same TTL,
 * pipelined. MEMORY USAGE is averaged over a sample of real and copied keys; the growth of
 * used_memory per added key is reported beside it (it also counts Redis's expiry bookkeeping).
 */
export async function measureRedisBytes(redis, count, log) {
  const prefix = 'postern:session:';
  const real = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    // Sessions only: not the per-user indexes (`postern:session:by-user:<user>`, sorted sets).
    real.push(...keys.filter((key) => !key.startsWith(`${prefix}by-user:`)));
  } while (cursor !== '0');
  if (real.length === 0) throw new Error('P4: no session in Redis');
  const template = await redis.get(real[0]);
  const pttl = await redis.pttl(real[0]);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
  const before = await usedMemory();
  const copies = [];
  log(`P4: ${real.length} real sessions; adding ${fmtInt(count)} copies of one (value ${template.length} bytes, key ${real[0].length} bytes) by pipelining`);
  for (let done = 0; done < count; ) {
    const pipe = redis.pipeline();
    const n = Math.min(5000, count - done);
    for (let i = 0; i < n; i++) {
      const key = prefix + randomBytes(32).toString('base64url');
      copies.push(key);
      pipe.set(key, template, 'PX', pttl);
    }
    const res = await pipe.exec();
    if (res.some(([err]) => err)) throw new Error('P4: a pipelined SET failed');
    done += n;
  }
  const after = await usedMemory();
  const sample = [...real.slice(0, 1000)];
  for (let i = 0; i < 2000; i++) sample.push(copies[Math.floor(Math.random() * copies.length)]);
  const pipe = redis.pipeline();
  for (const key of sample) pipe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  const usage = (await pipe.exec()).map(([, v]) => Number(v));
  const realUsage = usage.slice(0, Math.min(real.length, 1000));
  const copyUsage = usage.slice(Math.min(real.length, 1000));
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    median: avg(usage),
    min: Math.min(...usage),
    max: Math.max(...usage),
    sessions: real.length + count,
    realSessions: real.length,
    copies: count,
    sampled: usage.length,
    realAverage: avg(realUsage),
    copyAverage: avg(copyUsage),
    valueBytes: template.length,
    keyBytes: real[0].length,
    usedMemoryPerSession: (after - before) / count,
    dbsize: await redis.dbsize(),
    method: 'real sessions from sign-ins plus copies of one real session value under new random ids (SET … PX, pipelined); MEMORY USAGE … SAMPLES 0 averaged over a sample',
  };
}