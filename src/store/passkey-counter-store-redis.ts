import type { Redis } from 'ioredis';
import type { CounterAdvance, PasskeyCounterStore } from './passkey-counter-store.js';

export const DEFAULT_PASSKEY_COUNTER_PREFIX = 'postern:passkey-counter:';
/** A count unused this long is forgotten (the key would otherwise outlive a passkey removed by hand). */
const KEEP_SECONDS = 2 * 366 * 24 * 3600;

/**
 * The rule of counterAccepted (passkey-counter-store.ts), in one round trip: compare and set cannot
 * be split between replicas. Returns -1 when stored, else the stored count.
 */
const ADVANCE = `
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local counter = tonumber(ARGV[1])
if counter > stored or (counter == 0 and stored == 0) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return -1
end
return stored
`;

/** `<prefix><credential id>` holds the last accepted count, shared by every replica. */
export class RedisPasskeyCounterStore implements PasskeyCounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string = DEFAULT_PASSKEY_COUNTER_PREFIX,
  ) {}

  async advance(credentialId: string, counter: number): Promise<CounterAdvance> {
    const reply = Number(await this.redis.eval(ADVANCE, 1, `${this.prefix}${credentialId}`, String(counter), String(KEEP_SECONDS)));
    return reply < 0 ? { ok: true } : { ok: false, stored: reply };
  }

  async remove(credentialId: string): Promise<void> {
    await this.redis.del(`${this.prefix}${credentialId}`);
  }
}
