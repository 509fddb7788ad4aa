/**
 * Passkey signature counters, kept beside the sessions (Redis when configured, else this process's
 * memory), never in the users file: a sign-in must not write files.
 *
 * An authenticator that counts its signatures reports a larger number each time; one that does not
 * always reports 0. A counter that does not move forward from a counting authenticator means a copy
 * of its key signed in between (a cloned authenticator) or a replayed response: refused.
 *
 * One interface over Redis and memory; both pass test/integration/passkey-counter-store.contract.test.ts.
 */

/** `ok`: the counter moved forward (or the authenticator does not count) and is now stored. */
export type CounterAdvance = { readonly ok: true } | { readonly ok: false; readonly stored: number };

export interface PasskeyCounterStore {
  /**
   * Stores `counter` for the credential when it is accepted, atomically (two replicas judging two
   * responses at once cannot both pass with one count). Accepted: larger than the stored count, or
   * 0 when the stored count is 0 too (an authenticator without a counter). No stored count is 0.
   * Rejects when the backend is down.
   */
  advance(credentialId: string, counter: number): Promise<CounterAdvance>;
  /** Forgets the credential's count (the passkey was removed). */
  remove(credentialId: string): Promise<void>;
}

/** The rule both stores apply; written once here (the Redis store runs the same in Lua). */
export function counterAccepted(stored: number, counter: number): boolean {
  return counter > stored || (counter === 0 && stored === 0);
}

/** Counters in this process (no Redis configured): lost on restart, after which the next count is believed. */
export class MemoryPasskeyCounterStore implements PasskeyCounterStore {
  readonly #counts = new Map<string, number>();

  async advance(credentialId: string, counter: number): Promise<CounterAdvance> {
    const stored = this.#counts.get(credentialId) ?? 0;
    if (!counterAccepted(stored, counter)) return { ok: false, stored };
    this.#counts.set(credentialId, counter);
    return { ok: true };
  }

  async remove(credentialId: string): Promise<void> {
    this.#counts.delete(credentialId);
  }
}
