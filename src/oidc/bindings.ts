/**
 * One identity per person across providers: the first sign-in of a provider subject (issuer and
 * `sub`) binds the username it claims; any other subject that later claims that username is
 * refused. Without this, a second provider (or a second account at the same provider) that emits
 * `preferred_username: alice` would become the same Remote-User as the first alice.
 *
 * Bindings never expire: in Redis (one hash, no TTL) when Redis is configured, else a file in
 * `data_dir` (oidc/file-bindings.ts). Both stores pass test/integration/oidc-bindings.contract.test.ts.
 * `postern oidc bindings list|remove` manages them.
 */
import { SignInRefused } from './errors.js';

/** A subject at a provider: what a username is bound to. Only `iss` and `sub` decide; `provider` is for people. */
export interface Subject {
  readonly iss: string;
  readonly sub: string;
  /** The provider id that first bound it (several provider entries may share one issuer). */
  readonly provider: string;
}

export interface Binding extends Subject {
  /** The normalised username. */
  readonly user: string;
  /** Epoch ms of the first sign-in. */
  readonly created: number;
}

export interface BindingStore {
  /**
   * The binding of `user`: the one in force, or a new one to `subject` when there was none. Atomic
   * across processes: of two subjects claiming a free username at once, one wins and both see it.
   */
  bind(user: string, subject: Subject, now: number): Promise<Binding>;
  /** Every binding, ordered by username. */
  list(): Promise<Binding[]>;
  /** Removes the binding of `user`; returns it, or undefined when there was none. */
  remove(user: string): Promise<Binding | undefined>;
  close(): Promise<void>;
}

/** A stored binding that cannot be read: Postern refuses to start rather than forget who is bound. */
export class BindingsCorruptError extends Error {
  override readonly name = 'BindingsCorruptError';
}

/** True when `binding` belongs to `subject`: same issuer, same `sub`. */
export function sameSubject(binding: Subject, subject: Subject): boolean {
  return binding.iss === subject.iss && binding.sub === subject.sub;
}

/** Refuses a sign-in whose username is bound to another subject. */
export function checkBinding(binding: Binding, user: string, subject: Subject): void {
  if (sameSubject(binding, subject)) return;
  const issuer = binding.iss === subject.iss ? 'the same provider' : `provider ${binding.provider}`;
  throw new SignInRefused(
    403,
    `The username ${user} already belongs to another account here, so this sign-in cannot be used for it. Ask the administrator.`,
    `username '${user}' is bound to another subject (${issuer}); 'postern oidc bindings remove ${user}' releases it`,
    'warn',
  );
}

/** One binding as stored: a JSON object (a line of the file, a value of the Redis hash). */
export function encodeBinding(binding: Binding): string {
  const { user, iss, sub, provider, created } = binding;
  return JSON.stringify({ user, iss, sub, provider, created });
}

/** Parses a stored binding; throws a plain Error saying what is wrong (the caller adds where). */
export function decodeBinding(text: string): Binding {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('is not a JSON object');
  const v = value as Record<string, unknown>;
  for (const key of ['user', 'iss', 'sub', 'provider'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '') throw new Error(`has no '${key}' text`);
  }
  if (!Number.isFinite(v.created)) throw new Error("has no 'created' number");
  return { user: v.user as string, iss: v.iss as string, sub: v.sub as string, provider: v.provider as string, created: v.created as number };
}

export function byUser(a: Binding, b: Binding): number {
  return a.user < b.user ? -1 : a.user > b.user ? 1 : 0;
}
