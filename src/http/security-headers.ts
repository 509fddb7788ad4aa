import type { Context, Next } from 'koa';
import { STYLE_HASH } from '../views/layout.js';

/**
 * Headers for every page Postern renders itself. `form-action` must list the protected domain:
 * Chromium applies it to the redirect that follows a form post, and sign-in ends with one.
 * `moreFormTargets` adds origins a page's forms may be redirected to, asked on every request (the
 * home page's sign-out form may end at an OIDC provider's end-session endpoint, known once discovered).
 */
export function pageSecurityHeaders(protectedDomain: string, allowHttp: boolean, moreFormTargets?: () => readonly string[]) {
  const policy = contentSecurityPolicy(protectedDomain, allowHttp, true);
  const csp = policy([]);
  return async function securityHeaders(ctx: Context, next: Next): Promise<void> {
    const more = moreFormTargets?.() ?? [];
    const list = headerList(more.length > 0 ? policy(more) : csp);
    for (let i = 0; i < list.length; i += 2) ctx.set(list[i]!, list[i + 1]!);
    await next();
  };
}

/**
 * The same headers as a flat list, for a page written outside Koa's response handling (verify's 403
 * page). That page is served on the protected host's origin, where `'self'` is the app: no scripts.
 */
export function pageSecurityHeaderList(protectedDomain: string, allowHttp: boolean, moreFormTargets: readonly string[] = []): string[] {
  return headerList(contentSecurityPolicy(protectedDomain, allowHttp, false)(moreFormTargets));
}

/** `scripts`: the portal's pages may load Postern's own script file (views/passkey-script.ts, the passkey ceremony) and let it fetch its options; nothing inline. */
function contentSecurityPolicy(protectedDomain: string, allowHttp: boolean, scripts: boolean): (more: readonly string[]) => string {
  const targets = [`https://${protectedDomain}`, `https://*.${protectedDomain}`];
  if (allowHttp) targets.push(`http://${protectedDomain}`, `http://*.${protectedDomain}`);
  return (more) =>
    [
      "default-src 'none'",
      `style-src ${STYLE_HASH}`,
      ...(scripts ? ["script-src 'self'", "connect-src 'self'"] : []),
      `form-action ${[...more, "'self'", ...targets].join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; ');
}

function headerList(csp: string): string[] {
  return ['Content-Security-Policy', csp, 'X-Frame-Options', 'DENY', 'X-Content-Type-Options', 'nosniff', 'Referrer-Policy', 'no-referrer', 'Cache-Control', 'no-store'];
}
