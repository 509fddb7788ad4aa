/**
 * The `factors:` mapping as users-file-writer.ts writes it: plain values in the documented order
 * (factors.ts), times as ISO 8601. undefined when the user has no factor left (the key goes).
 */
import type { StoredPasskey, UserFactors } from './factors.js';

export function factorsDocument(factors: UserFactors | undefined): Record<string, unknown> | undefined {
  if (factors === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (factors.totp) out.totp = { secret: factors.totp.secret, created: iso(factors.totp.created) };
  if (factors.recovery) {
    const r = factors.recovery;
    out.recovery = { created: iso(r.created), codes: [...r.codes], used: r.used.map((u) => ({ at: iso(u.at) })) };
  }
  if (factors.passkeys && factors.passkeys.length > 0) out.passkeys = factors.passkeys.map(passkeyDocument);
  return Object.keys(out).length === 0 ? undefined : out;
}

/** PASSKEYS HOOK: the passkeys helper writes one stored passkey here (the inverse of its parser). */
function passkeyDocument(passkey: StoredPasskey): unknown {
  return passkey;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
