import { createHash } from 'node:crypto';

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
  /** 1 when "keep me signed in" was ticked: the cookie lasts until `expires`, also when it is written again. */
  readonly rem?: 1;
  /**
   * How the person proved who they are, RFC 8176 style (factors/session-methods.ts): `pwd`, `otp`,
   * `hwk`, `recovery`, `oidc`, and `mfa` when a provider or a verified passkey vouched for two
   * factors at once. Absent in sessions opened before second factors existed: one factor.
   */
  readonly amr?: readonly string[];
  /** Client address and shortened user agent at sign-in (http/session-origin.ts), for `postern sessions list`. */
  readonly ip?: string;
  readonly ua?: string;
  /** Any other small JSON values (OIDC id_token for logout, etc). */
  readonly [extra: string]: unknown;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The one reader of stored session data (the Redis store, the session cookie middleware and
 * http/session-data.ts all go through it): a SessionData, or undefined for anything Postern did
 * not write, which is a signed-out visitor, never an error. Refused: a non-object, a missing or
 * mistyped field. Other fields pass through untouched (koa-session's `_session`, `_expire` and
 * `_maxAge` among them); http/session.ts adds the rule for keys koa-session's Session cannot hold.
 */
export function parseSessionData(value: unknown): SessionData | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.user !== 'string' || typeof v.via !== 'string' || !isFiniteNumber(v.created) || !isFiniteNumber(v.expires) || !isFiniteNumber(v.seen)) return undefined;
  if (v.pwv !== undefined && typeof v.pwv !== 'string') return undefined;
  if (v.amr !== undefined && !(Array.isArray(v.amr) && v.amr.every((m) => typeof m === 'string'))) return undefined;
  return v as SessionData;
}

/** What SessionStore.readNow answers when only get() can tell. */
export const ASK_STORE: unique symbol = Symbol('ask the store');

/** One interface over Redis and memory; both pass test/integration/session-store.contract.test.ts. */
export interface SessionStore {
  /** Undefined when absent or expired. Rejects with StoreUnavailableError when the backend is down. */
  get(id: string): Promise<SessionData | undefined>;
  /**
   * What get() would answer, when that answer is at hand without waiting (a fresh read in the
   * cache, the memory store); ASK_STORE when only get() can tell. Verify answers a cached session
   * within the request's own turn of the event loop through it. Optional: a store without it is
   * always asked.
   */
  readNow?(id: string): SessionData | undefined | typeof ASK_STORE;
  /** Writes the session; the store forgets it after ttlMs. */
  set(id: string, data: SessionData, ttlMs: number): Promise<void>;
  /**
   * Writes the session only if it is still stored, atomically (Redis `SET ... XX`): every write
   * that follows a read (the inactivity refresh of `seen`, a koa-session update) goes through here,
   * so a logout or revocation in between is never undone. False when nothing was written.
   * It keeps the session under the user it was set() for: a session never changes user under one
   * id (sign-in always takes a fresh id), so the per-user index is left as set() made it.
   */
  setIfExists(id: string, data: SessionData, ttlMs: number): Promise<boolean>;
  destroy(id: string): Promise<void>;
  /**
   * The live sessions of one user, oldest first, from a per-user index (never a scan of all sessions).
   * Anonymous holders (user '') are not indexed and never listed.
   */
  listByUser(user: string): Promise<StoredSession[]>;
  /** The live sessions of every user, grouped by user, each group oldest first (for the CLI, not a hot path). */
  listAll(): Promise<StoredSession[]>;
  /** True when the backend answers right now (readiness probe). Never rejects. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A session with its id, as the listing operations return it. The id is the bearer secret: never print it. */
export interface StoredSession {
  readonly id: string;
  readonly data: SessionData;
}

/**
 * The opaque handle people see and name a session by (`postern sessions list|revoke --id`): a
 * SHA-256 of the id, hex. The id is 256 random bits, so the handle neither reveals it nor can be
 * turned back into a cookie.
 */
export function sessionHandle(id: string): string {
  return createHash('sha256').update('postern session handle\0').update(id).digest('hex');
}

/** Second steps a session may record (SessionData.amr), in the order they are named. */
const SECOND_STEPS = ['otp', 'hwk', 'recovery', 'mfa'];

/**
 * How a session was opened, in the CLI's words: `password`, or `oidc:<provider>` (also for a local
 * user linked by email), then each second step it recorded: `password+otp`, `oidc:corp+mfa`.
 */
export function sessionMethod(data: SessionData): string {
  const first = typeof data.idp === 'string' ? `oidc:${data.idp}` : data.via === 'local' ? 'password' : data.via;
  const more = SECOND_STEPS.filter((m) => data.amr?.includes(m));
  return [first, ...more].join('+');
}

/** The backend could not answer: verify must fail closed with 503, never allow. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
