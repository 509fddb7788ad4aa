/**
 * What the account page shows of a person's sessions and app passwords, in words: pure functions
 * from stored records to rows of text. Session ids never leave this module: a row names its
 * session by handle (store/session-store.ts sessionHandle), which is what the "End" button posts.
 */
import { sessionHandle, sessionMethod, type SessionData, type StoredSession } from '../store/session-store.js';
import type { AppPasswordRow } from '../tokens/manage.js';

/** A moment as the page writes it: `2026-12-02 05:51 UTC` (the server cannot know the reader's time zone). */
export function when(ms: number): string {
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : 'unknown';
}

const STEP_WORDS: Readonly<Record<string, string>> = { otp: 'authenticator app', hwk: 'passkey', recovery: 'recovery code', mfa: 'two factors' };

/** How a session was opened, for a person: `password`, `single sign-on (google)`, `password + authenticator app`. */
export function methodInWords(data: SessionData): string {
  const [method = '', ...steps] = sessionMethod(data).split('+');
  const first = method.startsWith('oidc:') ? `single sign-on (${method.slice('oidc:'.length)})` : method;
  return [first, ...steps.map((s) => STEP_WORDS[s] ?? s)].join(' + ');
}

export interface SessionView {
  /** sessionHandle of the id: what the form posts to end this session. */
  readonly handle: string;
  readonly device: string;
  readonly address: string;
  readonly method: string;
  readonly started: string;
  readonly lastSeen: string;
  readonly current: boolean;
}

/** The user's sessions, this device first, then the most recently seen. */
export function sessionViews(sessions: readonly StoredSession[], currentId: string | undefined): SessionView[] {
  const ordered = [...sessions].sort((a, b) => Number(b.id === currentId) - Number(a.id === currentId) || b.data.seen - a.data.seen);
  return ordered.map(({ id, data }) => ({
    handle: sessionHandle(id),
    device: typeof data.ua === 'string' && data.ua !== '' ? data.ua : 'Unknown device',
    address: typeof data.ip === 'string' && data.ip !== '' ? data.ip : 'unknown address',
    method: methodInWords(data),
    started: when(data.created),
    lastSeen: when(data.seen),
    current: id === currentId,
  }));
}

export interface AppPasswordView {
  readonly id: string;
  readonly name: string;
  readonly created: string;
  readonly expires: string;
  readonly expired: boolean;
  readonly lastUse: string;
  readonly hosts: string;
  readonly readOnly: boolean;
}

export function appPasswordViews(rows: readonly AppPasswordRow[], now: number): AppPasswordView[] {
  return rows.map(({ token, lastUse }) => ({
    id: token.id,
    name: token.name,
    created: when(token.created),
    expires: token.expires === undefined ? 'never' : when(token.expires),
    expired: token.expires !== undefined && token.expires <= now,
    lastUse: lastUse === undefined ? 'not used yet' : when(lastUse),
    hosts: token.hosts?.join(', ') ?? 'every host you may reach',
    readOnly: token.readOnly,
  }));
}

/** The expiry choices of the create form: values parseTokenExpiry reads; '' is "never". */
export const EXPIRY_CHOICES: ReadonlyArray<readonly [value: string, label: string]> = [
  ['90d', '90 days'],
  ['30d', '30 days'],
  ['365d', '1 year'],
  ['', 'Never'],
];
