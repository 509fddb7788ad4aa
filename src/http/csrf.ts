import { createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { constantEquals } from '../auth/constant-equals.js';

/**
 * CSRF protection for every form: a random nonce in an HttpOnly cookie, and in the form its HMAC under
 * the session secret. A cross-site page can neither read the cookie nor compute the token. It works
 * before anyone is signed in, so the login form is protected without creating a session per visitor.
 */
export interface Csrf {
  /** The token to put in a form's hidden `csrf` field; sets the nonce cookie when missing. */
  token(ctx: Context, secure: boolean): string;
  /** True when the submitted token matches this browser's nonce. */
  verify(ctx: Context, submitted: unknown): boolean;
}

export function createCsrf(secret: string, cookieName: string): Csrf {
  const sign = (nonce: string) => createHmac('sha256', secret).update(`csrf:${nonce}`).digest('base64url');
  const NONCE = /^[A-Za-z0-9_-]{22,64}$/;
  return {
    token(ctx, secure) {
      let nonce = ctx.cookies.get(cookieName);
      if (!nonce || !NONCE.test(nonce)) {
        nonce = randomBytes(18).toString('base64url');
        ctx.cookies.set(cookieName, nonce, { httpOnly: true, sameSite: 'lax', secure, path: '/', overwrite: true });
      }
      return sign(nonce);
    },
    verify(ctx, submitted) {
      const nonce = ctx.cookies.get(cookieName);
      if (!nonce || !NONCE.test(nonce) || typeof submitted !== 'string' || submitted.length > 128) return false;
      return constantEquals(sign(nonce), submitted);
    },
  };
}
