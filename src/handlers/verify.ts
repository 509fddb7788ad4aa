import type { Context } from 'koa';
import { decide } from '../access/decide.js';
import type { CompiledAccess } from '../access/rules.js';
import { canonicaliseTarget } from '../access/target.js';
import { identityHeaders, type IdentityHeaderNames } from '../auth/identity-headers.js';
import { identityFromCookie, type CookieSessionDeps } from '../auth/session-subject.js';
import type { Logger } from '../log/logger.js';
import { readOriginalRequest, type ProxyFlavour } from '../http/original-request.js';

export interface VerifyDeps extends CookieSessionDeps {
  readonly access: CompiledAccess;
  readonly headerNames: IdentityHeaderNames;
  /** `<public_url>/login`, absolute. */
  readonly loginUrl: string;
  readonly logger: Logger;
}

/** API and XHR clients get a 401 they can act on; browsers get a redirect. Never decided on User-Agent. */
function isApiClient(ctx: Context): boolean {
  if (ctx.get('x-requested-with').toLowerCase() === 'xmlhttprequest') return true;
  return !ctx.get('accept').toLowerCase().includes('text/html');
}

/** Warn about a misconfigured proxy at most once a minute per address, so the log stays readable. */
function createWarnOnce(logger: Logger, now: () => number) {
  const last = new Map<string, number>();
  return (key: string, fields: Record<string, unknown>, message: string) => {
    const t = now();
    const prev = last.get(key);
    if (prev !== undefined && t - prev < 60_000) return;
    if (last.size > 10_000) last.clear();
    last.set(key, t);
    logger.warn(fields, message);
  };
}

function empty(ctx: Context, status: number): void {
  ctx.status = status;
  // `Content-Length: 0` and no body: nginx keeps the upstream connection alive only then. Ending the
  // response here skips Koa's body handling (a Content-Type lookup for an empty string) on the hot path.
  ctx.respond = false;
  ctx.res.setHeader('Content-Length', '0');
  ctx.res.end();
}

/**
 * One handler per proxy flavour. The decision is the same; how "please sign in" is said differs:
 * nginx turns any 3xx into a 500, so it gets 401 + Location; Traefik and Caddy pass the reply to the browser.
 */
export function createVerifyHandler(flavour: ProxyFlavour, deps: VerifyDeps) {
  const warnOnce = createWarnOnce(deps.logger, deps.now);
  return async function verify(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const { trustedPeer, clientIp } = ctx.state.facts;
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!trustedPeer) {
      warnOnce(`untrusted:${peer}`, { peer }, `verify request from ${peer}, which is not in server.trusted_proxies; denied. If this is your proxy, add ${peer} to server.trusted_proxies.`);
      return empty(ctx, 403);
    }
    const original = readOriginalRequest(flavour, ctx.req.headers);
    if (!original) {
      warnOnce(`unusable:${peer}`, { peer, flavour }, `verify request from ${peer} does not say which URL it is about (X-Original-URL or X-Forwarded-Proto/-Host/-Uri); denied. Check the proxy configuration against the README.`);
      return empty(ctx, 403);
    }
    const target = canonicaliseTarget({ host: original.host, rawPath: original.uri, method: original.method });
    // A bypass rule answers the same for everyone: no session lookup for public share links.
    const anonymous = decide(target, undefined, clientIp, deps.access);
    const identity = anonymous.kind === 'allow' ? undefined : await identityFromCookie(ctx, deps);
    const decision = identity ? decide(target, identity, clientIp, deps.access) : anonymous;

    if (decision.kind === 'allow') {
      for (const [name, value] of identityHeaders(decision.anonymous ? undefined : identity, deps.headerNames)) ctx.set(name, value);
      return empty(ctx, 200);
    }
    if (decision.kind === 'forbid') {
      deps.logger.info({ event: 'verify.forbid', user: identity?.user, client: clientIp, host: original.host, method: original.method, reason: decision.reason }, 'access denied');
      return empty(ctx, 403);
    }

    const location = `${deps.loginUrl}?rd=${encodeURIComponent(original.url)}`;
    if (isApiClient(ctx)) {
      ctx.set('WWW-Authenticate', 'Postern realm="postern"');
      if (flavour === 'nginx') return empty(ctx, 401);
      ctx.status = 401;
      ctx.body = { error: 'unauthenticated', message: 'Sign in first.', login_url: location };
      return;
    }
    ctx.set('Location', location);
    if (flavour === 'nginx') return empty(ctx, 401);
    return empty(ctx, original.method === 'GET' || original.method === 'HEAD' ? 302 : 303);
  };
}
