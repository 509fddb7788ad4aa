/**
 * Things that may be used once: a TOTP code per user and time step (factors/totp.ts), a WebAuthn
 * challenge. claim() answers true for the first caller, on any replica sharing the store, and
 * false for every later one until the claim expires.
 * One interface over Redis and memory; both pass test/integration/single-use-guard.contract.test.ts.
 */
export interface SingleUseGuard {
  /**
   * Claims `key` for `ttlMs`: true when nobody had, false when it was already claimed and not yet
   * expired. Rejects when the backend is down: the caller refuses (fails closed), never accepts.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
}
