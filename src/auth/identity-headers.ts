import type { Identity } from './identity.js';

export interface IdentityHeaderNames {
  readonly user: string;
  readonly role: string;
  readonly groups: string;
  readonly email: string;
  readonly name: string;
  /** How the request was authenticated (Remote-Auth): `session`, `token` or `basic`. */
  readonly auth: string;
}

/** The values of the auth header (headers.auth): a session cookie, an app password however presented, an account password over Basic. */
export type AuthKind = 'session' | 'token' | 'basic';

/**
 * Longest identity header value sent, encoded. nginx reads an auth_request reply's whole header
 * block into one `proxy_buffer_size` buffer (4 KiB by default) and fails the request beyond it:
 * four values of this size and one groups line stay inside it, with the fixed headers.
 */
export const MAX_HEADER_VALUE = 400;
export const MAX_GROUPS_LINE = 1024;

/** U+FFFD (replacement character), encoded: stands for a lone surrogate, which has no UTF-8 form. */
const REPLACEMENT = '%EF%BF%BD';

/**
 * Makes a value safe for one header line that every proxy copies intact: printable ASCII only.
 * Non-ASCII characters are percent-encoded as UTF-8 (a header cannot carry them portably), a lone
 * surrogate becomes U+FFFD, and control characters are dropped (the users file refuses them
 * already; this is the last guard). A value longer than MAX_HEADER_VALUE once encoded is sent
 * empty, never cut: a cut email or name could be someone else's.
 */
export function headerValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code < 0x7f) out += ch === '%' ? '%25' : ch;
    else if (code >= 0xd800 && code <= 0xdfff) out += REPLACEMENT;
    else if (code > 0x9f && code !== 0x2028 && code !== 0x2029) out += encodeURIComponent(ch);
    if (out.length > MAX_HEADER_VALUE) return '';
  }
  return out.trim();
}

/** The groups on one comma-joined line: whole groups only, in order, while the line stays within MAX_GROUPS_LINE. */
function groupsLine(groups: readonly string[]): string {
  let line = '';
  for (const group of groups) {
    const value = headerValue(group).replaceAll(',', '');
    if (value === '') continue;
    const next = line === '' ? value : `${line},${value}`;
    if (next.length > MAX_GROUPS_LINE) break;
    line = next;
  }
  return line;
}

/**
 * The six identity headers, always all present (empty when anonymous) so a proxy that copies them
 * overwrites any client-sent copy. Groups go on one comma-joined line: nginx 1.22 keeps only the first line.
 */
export function identityHeaders(identity: Identity | undefined, names: IdentityHeaderNames, auth: AuthKind = 'session'): Array<[string, string]> {
  if (!identity) return [[names.user, ''], [names.role, ''], [names.groups, ''], [names.email, ''], [names.name, ''], [names.auth, '']];
  return [
    [names.user, headerValue(identity.user)],
    [names.role, headerValue(identity.role)],
    [names.groups, groupsLine(identity.groups)],
    [names.email, headerValue(identity.email)],
    [names.name, headerValue(identity.name)],
    [names.auth, auth],
  ];
}

/**
 * The identity headers as one flat `[name, value, …]` list after `prefix` (headers every reply
 * carries), the form `res.writeHead` takes without copying. Built once per Identity object and
 * reused: an identity is immutable, and the session layer hands out the same object for as long as
 * the user and session stay unchanged.
 */
export function createIdentityHeaderBlock(
  names: IdentityHeaderNames,
  prefix: readonly string[] = [],
): (identity: Identity | undefined, auth?: AuthKind) => readonly string[] {
  const anonymous = [...prefix, ...identityHeaders(undefined, names).flat()];
  const built = { session: new WeakMap<Identity, readonly string[]>(), token: new WeakMap<Identity, readonly string[]>(), basic: new WeakMap<Identity, readonly string[]>() };
  return (identity, auth = 'session') => {
    if (!identity) return anonymous;
    let block = built[auth].get(identity);
    if (block === undefined) {
      block = [...prefix, ...identityHeaders(identity, names, auth).flat()];
      built[auth].set(identity, block);
    }
    return block;
  };
}
