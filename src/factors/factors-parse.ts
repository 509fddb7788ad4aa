/**
 * The `factors:` mapping of a user in the users file (users-file-parse.ts calls this; the shape is
 * documented in factors.ts). Every problem names its key path; a secret or a hash is never quoted back.
 * Whether a TOTP secret opens under the configured key is not judged here (the parser has no key):
 * a value of the right shape is accepted, and the sign-in refuses it, with a log line, if it does not open.
 */
import { parseIsoTime } from '../util/iso-time.js';
import type { RecoveryCodes, TotpFactor, UserFactors } from './factors.js';
import { parsePasskeys } from './passkey-parse.js';
import { isRecoveryHash } from './recovery.js';
import { isSealed } from './secret-box.js';

const FACTOR_KEYS = ['totp', 'recovery', 'passkeys'] as const;
const TOTP_KEYS = ['secret', 'created'] as const;
const RECOVERY_KEYS = ['created', 'codes', 'used'] as const;

/** Parses the mapping at `at` (`users.alice.factors`); undefined when absent, empty or wrong (problems then say why). */
export function parseFactors(raw: unknown, at: string, problems: string[]): UserFactors | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!(raw instanceof Map)) {
    problems.push(`${at} must be a mapping of totp, recovery and passkeys (written by Postern)`);
    return undefined;
  }
  const entry = raw as Map<unknown, unknown>;
  unknownKeys(entry, FACTOR_KEYS, at, problems);
  const totp = parseTotp(entry.get('totp'), `${at}.totp`, problems);
  const recovery = parseRecovery(entry.get('recovery'), `${at}.recovery`, problems);
  const passkeys = parsePasskeys(entry.get('passkeys'), `${at}.passkeys`, problems);
  const factors: UserFactors = {
    ...(totp ? { totp } : {}),
    ...(recovery ? { recovery } : {}),
    ...(passkeys && passkeys.length > 0 ? { passkeys: Object.freeze(passkeys) } : {}),
  };
  return Object.keys(factors).length === 0 ? undefined : Object.freeze(factors);
}

function parseTotp(raw: unknown, at: string, problems: string[]): TotpFactor | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!(raw instanceof Map)) {
    problems.push(`${at} must be a mapping with secret and created`);
    return undefined;
  }
  const entry = raw as Map<unknown, unknown>;
  const before = problems.length;
  unknownKeys(entry, TOTP_KEYS, at, problems);
  const secret = entry.get('secret');
  if (typeof secret !== 'string' || !isSealed(secret)) problems.push(`${at}.secret must be the encrypted value Postern wrote (v1:...); to start again, remove ${at} or run 'postern user reset-2fa'`);
  const created = parseIsoTime(entry.get('created'), `${at}.created`, problems, true);
  if (problems.length > before) return undefined;
  return Object.freeze({ secret: secret as string, created: created! });
}

function parseRecovery(raw: unknown, at: string, problems: string[]): RecoveryCodes | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!(raw instanceof Map)) {
    problems.push(`${at} must be a mapping with created, codes and used`);
    return undefined;
  }
  const entry = raw as Map<unknown, unknown>;
  const before = problems.length;
  unknownKeys(entry, RECOVERY_KEYS, at, problems);
  const created = parseIsoTime(entry.get('created'), `${at}.created`, problems, true);
  const codes: string[] = [];
  const rawCodes = entry.get('codes');
  if (!Array.isArray(rawCodes)) problems.push(`${at}.codes must be a list of code hashes (possibly empty: [])`);
  else {
    rawCodes.forEach((c: unknown, i) => {
      if (typeof c !== 'string' || !isRecoveryHash(c)) problems.push(`${at}.codes[${i}] must be the 64 hex digits Postern wrote`);
      else codes.push(c);
    });
  }
  const used: { at: number }[] = [];
  const rawUsed = entry.get('used') ?? [];
  if (!Array.isArray(rawUsed)) problems.push(`${at}.used must be a list such as [{ at: "2026-12-02T03:00:00Z" }]`);
  else {
    rawUsed.forEach((u: unknown, i) => {
      const uat = `${at}.used[${i}]`;
      if (!(u instanceof Map)) return void problems.push(`${uat} must be a mapping with at`);
      unknownKeys(u as Map<unknown, unknown>, ['at'], uat, problems);
      const when = parseIsoTime((u as Map<unknown, unknown>).get('at'), `${uat}.at`, problems, true);
      if (when !== undefined) used.push(Object.freeze({ at: when }));
    });
  }
  if (problems.length > before) return undefined;
  return Object.freeze({ created: created!, codes: Object.freeze(codes), used: Object.freeze(used) });
}

function unknownKeys(entry: Map<unknown, unknown>, known: readonly string[], at: string, problems: string[]): void {
  for (const key of entry.keys()) {
    if (typeof key !== 'string' || !known.includes(key)) problems.push(`${at}.${JSON.stringify(String(key))} is not a known key (${known.join(', ')})`);
  }
}
