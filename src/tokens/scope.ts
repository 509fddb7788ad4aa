/**
 * An app password's own limits, applied after the owner's access decision allowed the request
 * (the token can only narrow what its owner may do, never widen it). Pure: no I/O, no clock.
 *
 * Order: expired → `expired` (the caller answers 401, as for an unknown token: an expired token is
 * no credential at all); `hosts` given and the host not among them → `out-of-scope`; `read_only` and
 * a method other than GET/HEAD/OPTIONS → `out-of-scope` (the caller answers 403).
 * `hosts` entries are exact host names; `*.example.com` matches names under example.com, not itself.
 */
import { SAFE_METHODS } from '../access/rules.js';
import type { AppPassword } from './app-password.js';

export type TokenScope = { kind: 'in-scope' } | { kind: 'expired' } | { kind: 'out-of-scope'; reason: string };

const IN_SCOPE: TokenScope = { kind: 'in-scope' };
const EXPIRED: TokenScope = { kind: 'expired' };

export function decideTokenScope(token: Pick<AppPassword, 'expires' | 'hosts' | 'readOnly'>, target: { host: string; method: string }, now: number): TokenScope {
  if (token.expires !== undefined && token.expires <= now) return EXPIRED;
  if (token.hosts !== undefined && !token.hosts.some((h) => hostInScope(h, target.host))) {
    return { kind: 'out-of-scope', reason: `app password not valid for host ${target.host}` };
  }
  if (token.readOnly && !SAFE_METHODS.has(target.method)) {
    return { kind: 'out-of-scope', reason: `app password is read-only (method ${target.method})` };
  }
  return IN_SCOPE;
}

function hostInScope(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.length > pattern.length - 1 && host.endsWith(pattern.slice(1));
  return pattern === host;
}
