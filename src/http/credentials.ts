/**
 * The one reader of credentials a client presents instead of a session cookie (untrusted input):
 *
 * - `Authorization: Bearer pst_…`                 an app password;
 * - `Authorization: Basic base64(user:pst_…)`     an app password (user must be its owner);
 * - `<tokens.header>: pst_…` (X-Postern-Token)    an app password;
 * - `Authorization: Basic base64(user:password)`  the account password, only with
 *                                                 tokens.basic_account_password (then every Basic pair is ours).
 *
 * Any other Authorization value (an app's own bearer token, a Basic pair that is not ours) is not a
 * credential here: it is left for the app and forwarded to it. A value that claims to be ours but is
 * not well formed, two credentials at once, or several Authorization headers of which any is ours, is
 * `malformed`: refused like an unknown token, never guessed at.
 */
import { looksLikeToken, parseToken } from '../tokens/app-password.js';

export type Presented = 'bearer' | 'basic' | 'header';

/**
 * `source` is the text a token or account credential was read from: the token itself (Bearer, the
 * token header), or the decoded Basic `user:password` pair. The same text always reads as the same
 * credential, and it is bounded (no padding a client could vary): the key under which a verified one
 * is remembered (tokens/verified-cache.ts). Secret-bearing: never logged.
 */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly id: string; readonly secret: string; readonly presented: Presented; readonly basicUser?: string; readonly source: string }
  | { readonly kind: 'account'; readonly username: string; readonly password: string; readonly source: string }
  | { readonly kind: 'malformed' };

export interface PresentedCredentials {
  readonly credential: Credential;
  /** The Authorization value the app should see: the client's own, or undefined when there is none or Postern consumed it. */
  readonly forwardAuthorization: string | undefined;
}

export interface CredentialReaderOptions {
  /** tokens.header, any case. */
  readonly tokenHeader: string;
  /** tokens.basic_account_password. */
  readonly accountPasswords: boolean;
}

const NONE: Credential = { kind: 'none' };
const MALFORMED: Credential = { kind: 'malformed' };
/** Longer than any Basic pair we accept (username 64, password 1024 bytes, base64): not decoded. */
const MAX_BASIC = 2048;

type Classified = { ours: false } | { ours: true; credential: Credential };
const FOREIGN: Classified = { ours: false };

export function createCredentialReader(opts: CredentialReaderOptions) {
  const tokenHeader = opts.tokenHeader.toLowerCase();

  function classifyAuthorization(value: string): Classified {
    const space = value.indexOf(' ');
    const scheme = (space < 0 ? value : value.slice(0, space)).toLowerCase();
    const param = space < 0 ? '' : value.slice(space + 1).trim();
    if (scheme === 'bearer') {
      if (!looksLikeToken(param)) return FOREIGN;
      return { ours: true, credential: tokenCredential(param, param, 'bearer') };
    }
    if (scheme !== 'basic') return FOREIGN;
    if (param.length > MAX_BASIC) return opts.accountPasswords ? { ours: true, credential: MALFORMED } : FOREIGN;
    const decoded = Buffer.from(param, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return opts.accountPasswords ? { ours: true, credential: MALFORMED } : FOREIGN;
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (looksLikeToken(password)) return { ours: true, credential: tokenCredential(password, decoded, 'basic', username) };
    if (!opts.accountPasswords) return FOREIGN;
    if (username === '' || password === '') return { ours: true, credential: MALFORMED };
    return { ours: true, credential: { kind: 'account', username, password, source: decoded } };
  }

  /**
   * `headers` is Node's parsed header object; `rawHeaders` the raw list, read only when an
   * Authorization header is present, to see every copy (Node keeps only the first).
   */
  return function readCredentials(headers: NodeJS.Dict<string | string[]>, rawHeaders: readonly string[]): PresentedCredentials {
    const custom = headers[tokenHeader];
    let credential: Credential = NONE;
    if (custom !== undefined) credential = typeof custom === 'string' ? tokenCredential(custom.trim(), custom.trim(), 'header') : MALFORMED;
    if (headers.authorization === undefined) return { credential, forwardAuthorization: undefined };

    let first: string | undefined;
    let count = 0;
    let oursSeen = false;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.length !== 13 || rawHeaders[i]!.toLowerCase() !== 'authorization') continue;
      const value = rawHeaders[i + 1]!;
      count++;
      first ??= value;
      const c = classifyAuthorization(value);
      if (!c.ours) continue;
      // Two credentials at once (two Authorization headers, or one plus the token header): refused, never picked from.
      credential = oursSeen || credential.kind !== 'none' ? MALFORMED : c.credential;
      oursSeen = true;
    }
    if (oursSeen && count > 1) credential = MALFORMED;
    return { credential, forwardAuthorization: oursSeen ? undefined : first };
  };
}

function tokenCredential(value: string, source: string, presented: Presented, basicUser?: string): Credential {
  const parsed = parseToken(value);
  if (!parsed) return MALFORMED;
  return basicUser === undefined ? { kind: 'token', ...parsed, presented, source } : { kind: 'token', ...parsed, presented, basicUser, source };
}
