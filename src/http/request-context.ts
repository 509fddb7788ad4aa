import type { Context, Next } from 'koa';
import type { ClientIpResolver } from './client-ip.js';

/** Facts about the request derived once from the trusted-proxy rules; nothing else reads forwarded headers for them. */
export interface RequestFacts {
  /** The TCP peer is a trusted proxy. */
  readonly trustedPeer: boolean;
  /** The real client address (trusted-proxy walk). */
  readonly clientIp: string;
  /** The browser reached us over HTTPS: the trusted proxy says so, or public_url is https. */
  readonly https: boolean;
}

declare module 'koa' {
  interface DefaultState {
    facts: RequestFacts;
  }
}

export function requestFacts(opts: { resolveClientIp: ClientIpResolver; publicUrlIsHttps: boolean }) {
  return async function facts(ctx: Context, next: Next): Promise<void> {
    const peer = ctx.req.socket.remoteAddress ?? '';
    const { ip, trustedPeer } = opts.resolveClientIp(peer, ctx.req.headers);
    const proto = trustedPeer ? ctx.get('x-forwarded-proto').split(',')[0]?.trim().toLowerCase() : '';
    const https = opts.publicUrlIsHttps || proto === 'https';
    ctx.state.facts = { trustedPeer, clientIp: ip, https };
    // Koa refuses to set a Secure cookie on a plain-HTTP socket; behind a TLS-terminating proxy that is our normal case.
    ctx.cookies.secure = https;
    await next();
  };
}
