import { isWithinDomain } from '../net/domain.js';

/**
 * Where may we send a browser after sign-in or sign-out? Only to an absolute http(s) URL on the
 * protected domain. Everything else falls back to the caller's default: an open redirect on a login
 * page is a phishing tool.
 */
export interface RedirectPolicy {
  /** The protected domain (session.domain), lower-case. */
  readonly domain: string;
  /** `http:` targets are allowed only when public_url is itself `http:`. */
  readonly allowHttp: boolean;
}

const MAX_REDIRECT_LENGTH = 4096;
// C0 controls, space, DEL, C1 controls, and the backslash some parsers read as a slash.
const FORBIDDEN_CHARS = /[\u0000-\u0020\u007f-\u009f\\]/;
const ABSOLUTE_HTTP = /^https?:\/\//i;

/** Returns the re-serialised URL when `rd` is a safe destination, otherwise undefined. */
export function validateRedirect(rd: string | undefined, policy: RedirectPolicy): string | undefined {
  if (!rd || rd.length > MAX_REDIRECT_LENGTH) return undefined;
  if (FORBIDDEN_CHARS.test(rd) || !ABSOLUTE_HTTP.test(rd)) return undefined;
  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (!isWithinDomain(url.hostname, policy.domain)) return undefined;
  return url.href;
}
