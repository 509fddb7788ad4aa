import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { BindingsCorruptError, type BindingStore } from './bindings.js';
import { BINDINGS_FILE, FileBindingStore } from './file-bindings.js';
import { RedisBindingStore } from './redis-bindings.js';

/**
 * The binding store for this configuration: the Redis hash when Redis is configured, else
 * `<data_dir>/oidc-bindings.jsonl`. Either is read through once: a binding that cannot be read
 * throws BindingsCorruptError (Postern does not start). A Redis that is down at start-up is not
 * that: sign-ins through a provider are refused until it is back, like verify.
 */
export async function openBindingStore(dataDir: string, redis: Redis | undefined, logger: Logger): Promise<BindingStore> {
  if (!redis) return FileBindingStore.open(join(dataDir, BINDINGS_FILE));
  const store = new RedisBindingStore(redis);
  try {
    await store.check();
  } catch (err) {
    if (err instanceof BindingsCorruptError) throw err;
    logger.warn({ reason: (err as Error).message }, 'could not read the OIDC username bindings from redis at start-up; sign-ins through a provider wait for it');
  }
  return store;
}
