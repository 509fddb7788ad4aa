import type { Context } from 'koa';
import { PASSKEY_SCRIPT } from '../views/passkey-script.js';

/**
 * GET /static/passkey.js: the one script (views/passkey-script.ts). Pages name it with its content
 * hash in the query (PASSKEY_SCRIPT_URL), so a browser may keep it for a year: a new version has a new URL.
 */
export async function passkeyScript(ctx: Context): Promise<void> {
  ctx.type = 'text/javascript; charset=utf-8';
  ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
  ctx.set('X-Content-Type-Options', 'nosniff');
  // Only Postern's own pages load it.
  ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
  ctx.body = PASSKEY_SCRIPT;
}
