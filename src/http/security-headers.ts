import type { Context, Next } from 'koa';
import { STYLE_HASH } from '../views/layout.js';

/**
 * Headers for every page Postern renders itself. `form-action` must list the protected domain:
 * Chromium applies it to the redirect that follows a form post, and sign-in ends with one.
 * `moreFormTargets` adds origins a page's forms may be redirected to, asked on every request (the
 * home page's sign-out form may end at an OIDC provider's end-session endpoint, known once discovered).
 */
export function pageSecurityHeaders(protectedDomain: string, allowHttp: boolean, moreFormTargets?: () => readonly string[]) {
  const targets = [`https://${protectedDomain}`, `https://*.${protectedDomain}`];
  if (allowHttp) targets.push(`http://${protectedDomain}`, `http://*.${protectedDomain}`);
  const policy = (more: readonly string[]) =>
    [
      "default-src 'none'",
      `style-src ${STYLE_HASH}`,
      `form-action ${[...more, "'self'", ...targets].join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; ');
  const csp = policy([]);
  return async function securityHeaders(ctx: Context, next: Next): Promise<void> {
    const more = moreFormTargets?.() ?? [];
    ctx.set('Content-Security-Policy', more.length > 0 ? policy(more) : csp);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
