/**
 * When each app password was last used, for `postern token list`. Kept beside the sessions (Redis
 * when configured, else this process's memory), never in the users file: verify must not write files.
 * A verify records a use at most once a minute per token (createUseRecorder), so a busy client costs
 * one store write a minute, not one per request.
 */
import type { Redis } from 'ioredis';

export interface TokenUseStore {
  /** Records that `id` was used at `at` (epoch ms). */
  record(id: string, at: number): Promise<void>;
  /** The last recorded use of each id that has one. */
  lastUse(ids: readonly string[]): Promise<Map<string, number>>;
}

export class MemoryTokenUseStore implements TokenUseStore {
  readonly #uses = new Map<string, number>();

  async record(id: string, at: number): Promise<void> {
    this.#uses.set(id, Math.max(at, this.#uses.get(id) ?? 0));
  }

  async lastUse(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of ids) {
      const at = this.#uses.get(id);
      if (at !== undefined) out.set(id, at);
    }
    return out;
  }
}

export const TOKEN_USE_PREFIX = 'postern:token-used:';
/** A use older than this is forgotten (a token unused for a year shows no last use). */
const KEEP_SECONDS = 366 * 24 * 3600;

/** `SET postern:token-used:<id> <epoch ms> EX <1 year>`: the last writer wins, which is within a minute of the truth. */
export class RedisTokenUseStore implements TokenUseStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = TOKEN_USE_PREFIX,
  ) {}

  async record(id: string, at: number): Promise<void> {
    await this.redis.set(`${this.prefix}${id}`, String(at), 'EX', KEEP_SECONDS);
  }

  async lastUse(ids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (ids.length === 0) return out;
    const values = await this.redis.mget(ids.map((id) => `${this.prefix}${id}`));
    values.forEach((v, i) => {
      const at = v === null ? Number.NaN : Number(v);
      if (Number.isFinite(at)) out.set(ids[i]!, at);
    });
    return out;
  }
}

/** How often one token's use is written. */
export const USE_WRITE_INTERVAL_MS = 60_000;

/** A fire-and-forget `used(id)` that writes to `store` at most once per USE_WRITE_INTERVAL_MS per token (per process). */
export function createUseRecorder(store: TokenUseStore, now: () => number, onError: (err: unknown) => void): (id: string) => void {
  const written = new Map<string, number>();
  return (id) => {
    const t = now();
    const last = written.get(id);
    if (last !== undefined && t - last < USE_WRITE_INTERVAL_MS) return;
    if (written.size > 100_000) written.clear();
    written.set(id, t);
    store.record(id, t).catch(onError);
  };
}
