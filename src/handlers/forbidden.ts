import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { decideFor, matchTarget } from '../access/decide.js';
import type { CompiledAccess } from '../access/rules.js';
import { canonicaliseTarget } from '../access/target.js';
import { constantEquals } from '../auth/constant-equals.js';
import type { Identity } from '../auth/identity.js';
import { validateRedirect, type RedirectPolicy } from '../auth/redirect.js';
import { identityFromSessionId, type SessionIdDeps } from '../auth/session-subject.js';
import { createCookieReader } from '../http/cookie-header.js';
import { HttpError } from '../http/errors.js';
import { readOriginalRequest, type OriginalRequest } from '../http/original-request.js';
import { pageSecurityHeaderList } from '../http/security-headers.js';
import { forbiddenPage } from '../views/forbidden-page.js';
import { messagePage } from '../views/message-page.js';
import { isApiClient } from './verify.js';

/**
 * The page a signed-in visitor sees instead of a bare "403 Forbidden": who they are, why (the
 * decision's reason in words), a "sign in as someone else" button and a link home.
 *
 * Two ways in, one page:
 * - verify itself, for Traefik and Caddy, which show the auth server's 403 body to the browser
 *   (`render`, called only on verify's 403-for-a-browser branch);
 * - `GET /forbidden`, for nginx, whose `error_page 403 = @postern_forbidden` asks for it because
 *   nginx drops the body of an auth subrequest. The reason is decided again here from the session
 *   and the URL (the trusted proxy's X-Original-URL, else `?rd=`); no text from the client is shown
 *   as a reason.
 *
 * The button posts to `POST /forbidden` with a token bound to the session id (HMAC under the
 * session secret). The page is served on the protected app's host, where the CSRF nonce cookie of
 * the sign-in host is not sent, but the session cookie (Domain = session.domain) is; a cross-site
 * page can read neither. A valid post ends the session as `/logout` does and goes back to `rd`.
 */
export interface ForbiddenDeps extends SessionIdDeps {
  readonly secret: string;
  readonly access: CompiledAccess;
  readonly cookieName: string;
  readonly redirectPolicy: RedirectPolicy;
  readonly urls: { readonly login: string; readonly home: string; readonly forbidden: string; readonly secondFactor: string };
  /** Extra origins a form may be redirected to (OIDC end-session endpoints), as for the home page. */
  readonly moreFormTargets: () => readonly string[];
  /** Ends the session exactly as `/logout` does, then redirects to `rd` (validated there). */
  readonly endSession: (ctx: Context, rd: string | undefined) => Promise<void>;
}

/** What verify knows when it refuses a browser. */
export interface RefusalView {
  readonly identity: Identity | undefined;
  readonly sessionId: string | undefined;
  readonly host: string;
  readonly method: string;
  readonly url: string;
  readonly reason: string;
}

export function createForbiddenHandlers(deps: ForbiddenDeps) {
  const readSessionId = createCookieReader(deps.cookieName);
  const tokenFor = (sessionId: string) => createHmac('sha256', deps.secret).update(`switch-user:${sessionId}`).digest('base64url');
  const headersFor = () => pageSecurityHeaderList(deps.redirectPolicy.domain, deps.redirectPolicy.allowHttp, [new URL(deps.urls.home).origin, ...deps.moreFormTargets()]);

  function page(v: RefusalView): string {
    const rd = validateRedirect(v.url, deps.redirectPolicy);
    return forbiddenPage({
      user: v.identity,
      host: v.host,
      method: v.method,
      reason: v.reason,
      homeUrl: deps.urls.home,
      ...(v.identity && v.sessionId ? { switchUser: { action: deps.urls.forbidden, csrf: tokenFor(v.sessionId), rd } } : {}),
    });
  }

  /** The URL asked about: the trusted proxy's X-Original-URL (nginx's error_page), else `?rd=` (a GET). */
  function askedAbout(ctx: Context): OriginalRequest | undefined {
    if (ctx.state.facts.trustedPeer && ctx.get('x-original-url') !== '') return readOriginalRequest('nginx', ctx.req.headers);
    const rd = ctx.query.rd;
    // The same parser as verify's, fed the one value the visitor gave.
    return typeof rd === 'string' && rd !== '' ? readOriginalRequest('nginx', { 'x-original-url': rd, 'x-original-method': 'GET' }) : undefined;
  }

  return {
    /** verify's 403 body for a browser: flat headers and the page, written by verify itself. */
    render(v: RefusalView): { headers: string[]; body: Buffer } {
      const body = Buffer.from(page(v), 'utf8');
      return { headers: [...headersFor(), 'Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(body.length)], body };
    },

    /** `GET /forbidden`: the same page, decided again from the session and the URL. */
    async show(ctx: Context): Promise<void> {
      // As verify: an API or XHR client gets an empty 403, not a page it cannot show.
      if (isApiClient(ctx.req.headers)) {
        ctx.status = 403;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = '';
        return;
      }
      const list = headersFor();
      for (let i = 0; i < list.length; i += 2) ctx.set(list[i]!, list[i + 1]!);
      ctx.type = 'html';
      const original = askedAbout(ctx);
      if (!original) {
        // Asked by a proxy we do not trust (or with an unusable URL): still a refusal, as verify's was.
        ctx.status = ctx.get('x-original-url') === '' ? 400 : 403;
        ctx.body = messagePage('Nothing to explain', 'This page explains why a site refused you, and no site address came with the request. Go back and open the site again.', { href: deps.urls.home, text: 'Go to the sign-in home page' });
        return;
      }
      const target = canonicaliseTarget({ host: original.host, rawPath: original.uri, method: original.method });
      const sessionId = readSessionId(ctx.req.headers.cookie);
      const identity = await identityFromSessionId(sessionId, deps);
      const decision = decideFor(matchTarget(target, ctx.state.facts.clientIp, deps.access), identity);
      const rd = validateRedirect(original.url, deps.redirectPolicy);
      if (decision.kind === 'login' || decision.kind === 'step-up') {
        const to = decision.kind === 'login' ? deps.urls.login : deps.urls.secondFactor;
        ctx.redirect(rd ? `${to}?rd=${encodeURIComponent(rd)}` : to);
        return;
      }
      if (decision.kind === 'allow') {
        ctx.body = messagePage('Allowed', `You may open ${original.host} now.`, { href: rd ?? deps.urls.home, text: rd ? 'Open it' : 'Go to the sign-in home page' });
        return;
      }
      ctx.status = 403;
      ctx.body = page({ identity, sessionId, host: original.host, method: original.method, url: original.url, reason: decision.reason });
    },

    /** `POST /forbidden`: "sign in as someone else" — ends the session and goes back to `rd`. */
    async switchUser(ctx: Context): Promise<void> {
      const body = ctx.request.body as Record<string, unknown> | undefined;
      const sessionId = readSessionId(ctx.req.headers.cookie);
      const submitted = body?.csrf;
      if (!sessionId || typeof submitted !== 'string' || submitted.length > 128 || !constantEquals(tokenFor(sessionId), submitted)) {
        throw new HttpError(403, 'This form has expired or belongs to another session. Open the site again and use the new page.');
      }
      await deps.endSession(ctx, typeof body?.rd === 'string' ? body.rd : undefined);
    },
  };
}
