import type { SingleUseGuard } from './single-use-guard.js';

/** Claims in this process (no Redis configured): one replica only, forgotten on restart. */
export class MemorySingleUseGuard implements SingleUseGuard {
  private readonly claims = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    this.sweep(now);
    const until = this.claims.get(key);
    if (until !== undefined && until > now) return false;
    this.claims.set(key, now + ttlMs);
    return true;
  }

  /** Drops expired claims now and then, so that the map does not grow without bound. */
  private sweep(now: number): void {
    if (this.claims.size < 10_000) return;
    for (const [key, until] of this.claims) if (until <= now) this.claims.delete(key);
  }
}
