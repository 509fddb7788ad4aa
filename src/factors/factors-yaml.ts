/**
 * The `factors:` mapping as users-file-document.ts writes it: plain values in the documented order
 * (factors.ts), times as ISO 8601. undefined when the user has no factor left (the key goes).
 */
import type { UserFactors } from './factors.js';
import { serialisePasskey } from './passkey-parse.js';

export function factorsDocument(factors: UserFactors | undefined): Record<string, unknown> | undefined {
  if (factors === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (factors.totp) out.totp = { secret: factors.totp.secret, created: iso(factors.totp.created) };
  if (factors.recovery) {
    const r = factors.recovery;
    out.recovery = { created: iso(r.created), codes: [...r.codes], used: r.used.map((u) => ({ at: iso(u.at) })) };
  }
  if (factors.passkeys && factors.passkeys.length > 0) out.passkeys = factors.passkeys.map(serialisePasskey);
  return Object.keys(out).length === 0 ? undefined : out;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
