/**
 * A user's second factors, as the users file holds them (`factors:` under the user; parsed by
 * factors-parse.ts, written by factors-yaml.ts through users-file-writer.ts):
 *
 *   factors:
 *     totp:
 *       secret: "v1:...:..."                  # the base32 secret, sealed (secret-box.ts)
 *       created: "2026-12-02T06:00:00.000Z"
 *     recovery:
 *       created: "2026-12-02T06:00:00.000Z"
 *       codes: ["<sha256 hex>", ...]          # the codes not yet used, hashed (recovery.ts)
 *       used: [{ at: "2026-12-03T08:00:00.000Z" }]
 *     passkeys: [...]                          # the passkeys helper's (passkey-parse.ts)
 *
 * Times are epoch ms here and ISO 8601 in the file.
 */
import type { Passkey } from './passkey-parse.js';

export interface TotpFactor {
  /** The base32 secret, sealed by secret-box.ts under the context totpContext(username). */
  readonly secret: string;
  readonly created: number;
}

export interface RecoveryCodes {
  readonly created: number;
  /** SHA-256 hex of each code not yet used. */
  readonly codes: readonly string[];
  /** When each used code was used, oldest first. */
  readonly used: readonly { readonly at: number }[];
}


export interface UserFactors {
  readonly totp?: TotpFactor;
  readonly recovery?: RecoveryCodes;
  readonly passkeys?: readonly Passkey[];
}

/** The users-file key. */
export const FACTORS_KEY = 'factors';

/** The associated data a user's TOTP secret is sealed with. */
export function totpContext(username: string): string {
  return `totp:${username}`;
}

/**
 * Whether the user has a factor that can complete a sign-in. Recovery codes count only beside
 * another factor: they are the way back in when that factor is lost, not a factor of their own.
 */
export function hasSecondFactor(factors: UserFactors | undefined): boolean {
  return factors !== undefined && (factors.totp !== undefined || (factors.passkeys?.length ?? 0) > 0);
}

/** The factors as words, for `postern user list` and logs: `totp`, `passkeys:2`, `recovery:7/10`. */
export function describeFactors(factors: UserFactors | undefined): string[] {
  if (factors === undefined) return [];
  const out: string[] = [];
  if (factors.totp) out.push('totp');
  if ((factors.passkeys?.length ?? 0) > 0) out.push(`passkeys:${factors.passkeys!.length}`);
  if (factors.recovery) out.push(`recovery:${factors.recovery.codes.length}/${factors.recovery.codes.length + factors.recovery.used.length}`);
  return out;
}
