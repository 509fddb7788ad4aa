/**
 * Reads one cookie from a request's `Cookie` header, exactly as koa's `ctx.cookies.get(name)` (the
 * `cookies` package) does: the first `name=` at the start or after a `;`, up to the next `;`, with
 * one pair of surrounding quotes removed. The verify path uses it to avoid building a cookie jar
 * per request; it never sets cookies.
 */
export function createCookieReader(name: string): (header: string | undefined) => string | undefined {
  const pattern = new RegExp(`(?:^|;) *${name.replace(/[-[\]{}()*+?.,\\^$|#\s]/g, '\\$&')}=([^;]*)`);
  return (header) => {
    if (header === undefined) return undefined;
    const value = pattern.exec(header)?.[1];
    return value !== undefined && value.startsWith('"') ? value.slice(1, -1) : value;
  };
}
