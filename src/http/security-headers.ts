import type { Context, Next } from 'koa';
import { STYLE_HASH } from '../views/layout.js';

/**
 * Headers for every page Postern renders itself. `form-action` must list the protected domain:
 * Chromium applies it to the redirect that follows a form post, and sign-in ends with one.
 */
export function pageSecurityHeaders(protectedDomain: string, allowHttp: boolean) {
  const targets = [`https://${protectedDomain}`, `https://*.${protectedDomain}`];
  if (allowHttp) targets.push(`http://${protectedDomain}`, `http://*.${protectedDomain}`);
  const csp = [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action 'self' ${targets.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return async function securityHeaders(ctx: Context, next: Next): Promise<void> {
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
