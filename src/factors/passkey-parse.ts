/**
 * The `passkeys:` list under a user's `factors:` in the users file (the factors parser hands it here):
 *
 *   factors:
 *     passkeys:
 *       - id: 3q2-7w...                        # the credential id, base64url, unique across the file
 *         name: Laptop                         # the user's name for it
 *         public_key: pQECAyYgASFYIB...        # its COSE public key, base64url (public: not a secret)
 *         transports: [internal, hybrid]       # optional: what the browser reported at registration
 *         created: "2026-12-02T06:00:00.000Z"
 *         user_verified: true                  # the authenticator verified the user (PIN, biometrics) at registration
 *
 * Signature counters are not here: they change at every sign-in and live in the session store
 * (store/passkey-counter-store.ts). Every problem names its key path.
 */
import { hasControlChars } from '../auth/username.js';
import { parseIsoTime } from '../util/iso-time.js';

/** A passkey as the users file holds it. */
export interface Passkey {
  /** The credential id, base64url (the browser's `rawId`). */
  readonly id: string;
  readonly name: string;
  /** The COSE-encoded public key, base64url. */
  readonly publicKey: string;
  /** Transports the browser reported (`internal`, `hybrid`, `usb`, ...); possibly none. */
  readonly transports: readonly string[];
  /** Milliseconds since the epoch. */
  readonly created: number;
  /** Whether the authenticator verified the user (not only their presence) at registration. */
  readonly userVerified: boolean;
}

export const PASSKEYS_KEY = 'passkeys';
export const PASSKEY_KEYS = ['id', 'name', 'public_key', 'transports', 'created', 'user_verified'] as const;
/** What WebAuthn defines (AuthenticatorTransport); anything else is dropped when registering, refused in the file. */
export const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;
export const MAX_PASSKEY_NAME_LENGTH = 64;
/** A credential id is at most 1023 bytes (WebAuthn §5.1): 1364 base64url characters. */
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{16,1364}$/;
/** An RSA-4096 COSE key is about 540 bytes; room to spare, but no megabyte blobs. */
const PUBLIC_KEY = /^[A-Za-z0-9_-]{16,2048}$/;

export function isCredentialId(value: string): boolean {
  return CREDENTIAL_ID.test(value);
}

/** Why `name` cannot name a passkey, or undefined when it can. */
export function passkeyNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'must not be empty';
  if ([...name].length > MAX_PASSKEY_NAME_LENGTH) return `must be at most ${MAX_PASSKEY_NAME_LENGTH} characters`;
  if (hasControlChars(name)) return 'must not contain control characters';
  return undefined;
}

/** Parses the list at `at` (`users.alice.factors.passkeys`); problems go to `problems`. */
export function parsePasskeys(raw: unknown, at: string, problems: string[]): Passkey[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${at} must be a list of passkeys (added on the account page)`);
    return [];
  }
  const out: Passkey[] = [];
  const seen = new Set<string>();
  raw.forEach((entry: unknown, i) => {
    const parsed = parseEntry(entry, `${at}[${i}]`, problems);
    if (parsed === undefined) return;
    if (seen.has(parsed.id)) problems.push(`${at}[${i}].id is listed twice; each passkey once`);
    seen.add(parsed.id);
    out.push(parsed);
  });
  return out;
}

function parseEntry(value: unknown, at: string, problems: string[]): Passkey | undefined {
  if (!(value instanceof Map)) {
    problems.push(`${at} must be a mapping with id, name, public_key and created`);
    return undefined;
  }
  const entry = value as Map<unknown, unknown>;
  const before = problems.length;
  for (const key of entry.keys()) {
    if (typeof key !== 'string' || !(PASSKEY_KEYS as readonly string[]).includes(key)) {
      problems.push(`${at}.${JSON.stringify(String(key))} is not a known key (${PASSKEY_KEYS.join(', ')})`);
    }
  }
  const id = entry.get('id');
  if (typeof id !== 'string' || !isCredentialId(id)) problems.push(`${at}.id must be the credential id in base64url`);
  const name = entry.get('name');
  const nameProblem = typeof name === 'string' ? passkeyNameProblem(name) : 'must be a string';
  if (nameProblem !== undefined) problems.push(`${at}.name ${nameProblem}`);
  const publicKey = entry.get('public_key');
  if (typeof publicKey !== 'string' || !PUBLIC_KEY.test(publicKey)) problems.push(`${at}.public_key must be the COSE public key in base64url`);
  const transports = entry.get('transports') ?? [];
  if (!Array.isArray(transports) || !transports.every((t) => (TRANSPORTS as readonly unknown[]).includes(t))) {
    problems.push(`${at}.transports must be a list of ${TRANSPORTS.join(', ')}`);
  }
  const created = parseIsoTime(entry.get('created'), `${at}.created`, problems, true);
  const userVerified = entry.get('user_verified') ?? false;
  if (typeof userVerified !== 'boolean') problems.push(`${at}.user_verified must be true or false`);

  if (problems.length > before) return undefined;
  return Object.freeze({
    id: id as string,
    name: name as string,
    publicKey: publicKey as string,
    transports: Object.freeze([...(transports as string[])]),
    created: created!,
    userVerified: userVerified as boolean,
  });
}

/** One passkey as the users file writes it: the keys in the order above, plain values for the YAML document. */
export function serialisePasskey(p: Passkey): Record<string, string | boolean | string[]> {
  return {
    id: p.id,
    name: p.name,
    public_key: p.publicKey,
    ...(p.transports.length > 0 ? { transports: [...p.transports] } : {}),
    created: new Date(p.created).toISOString(),
    user_verified: p.userVerified,
  };
}
