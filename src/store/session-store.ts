/**
 * What a signed-in browser is, as kept server-side. The cookie carries only the opaque id.
 * Keep it small: it is read on every verify request and stored once per session in Redis.
 */
export interface SessionData {
  /** Normalised username (local users) or mapped username (OIDC). */
  readonly user: string;
  /** How the session was established: `local` or `oidc:<provider id>`. */
  readonly via: string;
  /** Epoch ms when the session was created (absolute lifetime starts here). */
  readonly created: number;
  /** Epoch ms after which the session is invalid, whatever the store's TTL says. */
  readonly expires: number;
  /** Epoch ms of the last seen activity, for the inactivity timeout. */
  readonly seen: number;
  /** Fingerprint of the password hash at sign-in: a password change revokes older sessions. */
  readonly pwv?: string;
  /** Sessions opened through an OIDC provider: its id, and the fingerprint of its admission rules at sign-in. */
  readonly idp?: string;
  readonly adm?: string;
  /** Any other small JSON values (OIDC id_token for logout, etc). */
  readonly [extra: string]: unknown;
}

/** One interface over Redis and memory; both pass test/integration/session-store.contract.test.ts. */
export interface SessionStore {
  /** Undefined when absent or expired. Rejects with StoreUnavailableError when the backend is down. */
  get(id: string): Promise<SessionData | undefined>;
  /** Writes the session; the store forgets it after ttlMs. */
  set(id: string, data: SessionData, ttlMs: number): Promise<void>;
  destroy(id: string): Promise<void>;
  /** True when the backend answers right now (readiness probe). Never rejects. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The backend could not answer: verify must fail closed with 503, never allow. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
