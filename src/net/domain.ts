/**
 * Is `host` the domain itself or a name under it? `example.com` holds `example.com` and
 * `a.b.example.com`, never `evilexample.com` or `example.com.evil`.
 *
 * Both sides are canonical host names: lower-case ASCII, IDN as punycode, no trailing dot, as
 * access/target.ts (canonicaliseHostName) and the WHATWG URL parser (`url.hostname`) write them.
 * Anything else fails closed: `APP.example.com`, `app.example.com.` and `bücher.example.com` are not
 * within `example.com` until canonicalised, and nothing is within an empty domain.
 *
 * The one containment check: the access decision (is a host protected), the sign-in redirect (may
 * the browser be sent there) and the config check (does session.domain cover server.public_url).
 */
export function isWithinDomain(host: string, domain: string): boolean {
  if (domain === '') return false;
  if (host === domain) return true;
  const dot = host.length - domain.length - 1;
  return dot > 0 && host.charCodeAt(dot) === 0x2e && host.endsWith(domain);
}
