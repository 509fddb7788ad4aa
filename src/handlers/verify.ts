import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { constantEquals } from '../auth/constant-equals.js';
import { type Decision, decideFor, type Match, matchTarget } from '../access/decide.js';
import type { CompiledAccess } from '../access/rules.js';
import { type CanonicalTarget, canonicaliseTarget } from '../access/target.js';
import { type AuthKind, createIdentityHeaderBlock, type IdentityHeaderNames } from '../auth/identity-headers.js';
import type { Identity } from '../auth/identity.js';
import { identityFromSessionId, identityFromSessionIdNow, type SessionIdDeps } from '../auth/session-subject.js';
import { signInLocation } from '../auth/sign-in-location.js';
import type { ClientIpResolver } from '../http/client-ip.js';
import { errorReplyForVerify } from '../http/error-handler.js';
import { createCookieReader } from '../http/cookie-header.js';
import type { Logger } from '../log/logger.js';
import type { VerifyMethod, VerifyOutcome } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import { type OriginalRequest, readOriginalRequest, type ProxyFlavour } from '../http/original-request.js';
import type { RefusalView } from './forbidden.js';
import type { Credential, PresentedCredentials } from '../http/credentials.js';
import type { CredentialOutcome } from '../tokens/authenticate.js';
import { decideTokenScope } from '../tokens/scope.js';
import { ASK_STORE } from '../store/session-store.js';

export interface VerifyDeps extends SessionIdDeps {
  readonly access: CompiledAccess;
  readonly headerNames: IdentityHeaderNames;
  readonly cookieName: string;
  readonly resolveClientIp: ClientIpResolver;
  /** `<public_url>/login`, absolute. */
  readonly loginUrl: string;
  /** `<public_url>/login/2fa`, absolute: where a one-factor session meeting a `two_factor` rule is sent. */
  readonly secondFactorUrl: string;
  readonly logger: Logger;
  /** The forbidden page for a browser (Traefik and Caddy show verify's 403 body); rendered only on that branch. */
  readonly forbiddenPage?: (view: RefusalView) => { headers: string[]; body: Buffer };
  /** Each answer is recorded once, in `verify` below; `noMetrics` when metrics are off. */
  readonly metrics: Metrics;
  /** `server.proxy_secret`: when set, every verify request must carry it in `X-Postern-Proxy-Secret`. */
  readonly proxySecret?: string;
  /** App passwords and Basic (http/credentials.ts, tokens/authenticate.ts); absent: session cookies only. */
  readonly credentials?: {
    readonly read: (headers: NodeJS.Dict<string | string[]>, rawHeaders: readonly string[]) => PresentedCredentials;
    readonly authenticate: (credential: Exclude<Credential, { kind: 'none' }>, ip: string) => Promise<CredentialOutcome>;
    /** The same outcome when it is at hand without waiting (a credential verified in this window); undefined: ask authenticate. */
    readonly authenticateNow?: (credential: Exclude<Credential, { kind: 'none' }>, ip: string) => CredentialOutcome | undefined;
  };
}

const NO_CREDENTIALS: PresentedCredentials = { credential: { kind: 'none' }, forwardAuthorization: undefined };

/** API and XHR clients get a 401 they can act on; browsers get a redirect. Never decided on User-Agent. */
export function isApiClient(headers: IncomingHttpHeaders): boolean {
  const requestedWith = headers['x-requested-with'];
  if (typeof requestedWith === 'string' && requestedWith.toLowerCase() === 'xmlhttprequest') return true;
  return !(headers.accept ?? '').toLowerCase().includes('text/html');
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

/** Every verify reply is empty and never cached. */
const EMPTY = ['Cache-Control', 'no-store', 'Content-Length', '0'];
const CHALLENGE = ['WWW-Authenticate', 'Postern realm="postern"'];

const JSON_401 = ['Cache-Control', 'no-store', ...CHALLENGE, 'Content-Type', 'application/json; charset=utf-8'];

/**
 * Ends the reply with a flat header list, the form `writeHead` takes without copying: no body
 * (`Content-Length: 0`, so nginx keeps the upstream connection alive) but for the few answers that
 * carry one (a JSON 401, the forbidden page), each with its length.
 */
function reply(res: ServerResponse, answered: Answered, status: number, headers: readonly string[], body?: Buffer): Answered {
  res.writeHead(status, headers as string[]);
  res.end(body);
  return answered;
}

/** How an answer ended, for the metrics: one frozen pair per combination, so recording allocates nothing. */
interface Answered {
  readonly outcome: VerifyOutcome;
  readonly method: VerifyMethod;
}
const pair = (outcome: VerifyOutcome, method: VerifyMethod): Answered => Object.freeze({ outcome, method });
const ANSWERED = {
  session: { allow: pair('allow', 'session'), redirect: pair('redirect', 'session'), unauthorized: pair('unauthorized', 'session'), forbid: pair('forbid', 'session') },
  none: { allow: pair('allow', 'none'), redirect: pair('redirect', 'none'), unauthorized: pair('unauthorized', 'none'), forbid: pair('forbid', 'none') },
  token: { allow: pair('allow', 'token'), redirect: pair('redirect', 'token'), unauthorized: pair('unauthorized', 'token'), forbid: pair('forbid', 'token') },
  basic: { allow: pair('allow', 'basic'), redirect: pair('redirect', 'basic'), unauthorized: pair('unauthorized', 'basic'), forbid: pair('forbid', 'basic') },
} as const;
/** No decision: a proxy request that is untrusted, lacks the proxy secret or is unusable, or a store that did not answer (thrown, answered by the error handler). */
const NO_DECISION = pair('error', 'none');

/** What one verify request asks about, read before any lookup. */
interface Asked {
  readonly res: ServerResponse;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly original: OriginalRequest;
  readonly target: CanonicalTarget;
  readonly match: Match;
  /** What the rules say to nobody: the decision when no one is signed in, taken once. */
  readonly anonymous: Decision;
  /** The Authorization the app should see (the client's own, never one of ours). */
  readonly forwardAuthorization: string | undefined;
}

/** Who is asking: through a session (its id, for the forbidden page) or a credential. */
interface Who {
  readonly identity: Identity;
  readonly sessionId?: string;
  readonly viaCredential?: Extract<CredentialOutcome, { kind: 'authenticated' }>;
}

/**
 * One handler per proxy flavour. The decision is the same; how "please sign in" is said differs:
 * nginx turns any 3xx into a 500, so it gets 401 + Location; Traefik and Caddy pass the reply to the browser.
 */
export function createVerifyHandler(flavour: ProxyFlavour, deps: VerifyDeps) {
  const warnOnce = createWarnOnce(deps.logger, deps.now);
  const readSessionId = createCookieReader(deps.cookieName);
  // An allowed reply's whole header list, built once per identity.
  const allowHeaders = createIdentityHeaderBlock(deps.headerNames, EMPTY);
  /**
   * The Authorization the app should see, in the 200 (the proxies copy it onto the upstream request):
   * the client's own value, absent when there is none or Postern consumed it. Caddy 2.6–2.8 would
   * write a literal placeholder for a missing header, so Caddy always gets the header, empty for none.
   */
  const withAuthorization = (block: readonly string[], value: string | undefined): readonly string[] => {
    if (value !== undefined) return [...block, 'Authorization', value];
    return flavour === 'caddy' ? [...block, 'Authorization', ''] : block;
  };

  const metrics = deps.metrics;
  const timed = metrics.enabled;
  const record = (answered: Answered, start: number) =>
    metrics.verify(flavour, answered.outcome, answered.method, timed ? (performance.now() - start) / 1000 : 0);
  /**
   * Answers on the raw request and response (http/exact-routes.ts calls it before Koa makes a
   * context), and never rejects: an error is answered here, as the app's error handler would.
   * A session whose read the store has at hand (a fresh read in the cache) is answered within
   * this call; anything that must wait (a store read, an app password) returns a promise.
   */
  return function verify(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const start = timed ? performance.now() : 0;
    let answered: Answered | Promise<Answered>;
    try {
      answered = answer(req, res);
    } catch (err) {
      errorReplyForVerify(deps.logger, req, res, err);
      return record(NO_DECISION, start);
    }
    if (!(answered instanceof Promise)) return record(answered, start);
    return answered.then(
      (done) => record(done, start),
      (err: unknown) => {
        errorReplyForVerify(deps.logger, req, res, err);
        record(NO_DECISION, start);
      },
    );
  };

  function answer(req: IncomingMessage, res: ServerResponse): Answered | Promise<Answered> {
    const headers = req.headers;
    const peer = req.socket.remoteAddress ?? '';
    const { ip: clientIp, trustedPeer } = deps.resolveClientIp(peer, headers);
    if (!trustedPeer) {
      warnOnce(`untrusted:${peer}`, { peer }, `verify request from ${peer}, which is not in server.trusted_proxies; denied. If this is your proxy, add ${peer} to server.trusted_proxies.`);
      return reply(res, NO_DECISION, 403, EMPTY);
    }
    const secret = deps.proxySecret === undefined ? undefined : headers['x-postern-proxy-secret'];
    if (deps.proxySecret !== undefined && (typeof secret !== 'string' || !constantEquals(secret, deps.proxySecret))) {
      warnOnce(`proxy-secret:${peer}`, { peer, proxy_secret: secret === undefined ? 'missing' : 'wrong' }, `verify request from ${peer} without the right X-Postern-Proxy-Secret (server.proxy_secret); denied. If this is your proxy, make it send the secret (README: "Proxy secret").`);
      return reply(res, NO_DECISION, 403, EMPTY);
    }
    const original = readOriginalRequest(flavour, headers);
    if (!original) {
      warnOnce(`unusable:${peer}`, { peer, flavour }, `verify request from ${peer} does not say which URL it is about (X-Original-URL or X-Forwarded-Proto/-Host/-Uri); denied. Check the proxy configuration against the README.`);
      return reply(res, NO_DECISION, 403, EMPTY);
    }
    const target = canonicaliseTarget({ host: original.host, rawPath: original.uri, method: original.method });
    const match = matchTarget(target, clientIp, deps.access);
    // What the client presented besides a cookie; the Authorization the app should see (never one of ours).
    const presented = deps.credentials ? deps.credentials.read(headers, req.rawHeaders) : NO_CREDENTIALS;
    const asked: Asked = { res, headers, clientIp, original, target, match, anonymous: decideFor(match, undefined), forwardAuthorization: presented.forwardAuthorization };
    // A bypass rule answers the same for everyone: no session lookup for public share links.
    if (asked.anonymous.kind === 'allow') return conclude(asked, undefined);

    // An app password or a Basic pair: answered with a status, never a redirect to the sign-in page.
    if (presented.credential.kind !== 'none' && deps.credentials) {
      const credential = presented.credential;
      const known = deps.credentials.authenticateNow?.(credential, clientIp);
      if (known !== undefined) return afterCredential(asked, credential, known);
      return deps.credentials.authenticate(credential, clientIp).then((outcome) => afterCredential(asked, credential, outcome));
    }
    const sessionId = readSessionId(headers.cookie);
    const known = identityFromSessionIdNow(sessionId, deps);
    if (known !== ASK_STORE) return conclude(asked, known === undefined ? undefined : { identity: known, sessionId });
    return identityFromSessionId(sessionId, deps).then((identity) => conclude(asked, identity === undefined ? undefined : { identity, sessionId }));
  }

  function afterCredential(asked: Asked, credential: Exclude<Credential, { kind: 'none' }>, outcome: CredentialOutcome): Answered {
    const { res, clientIp, original } = asked;
    const tried = credential.kind === 'account' ? ANSWERED.basic : ANSWERED.token;
    if (outcome.kind === 'refused') {
      deps.logger.info({ event: 'verify.credential_throttled', client: clientIp }, 'credential refused: the address is over its sign-in limit');
      // nginx's auth_request turns any status but 401/403 into a 500.
      if (flavour === 'nginx') return reply(res, tried.unauthorized, 401, [...EMPTY, ...CHALLENGE]);
      return reply(res, tried.unauthorized, 429, [...EMPTY, 'Retry-After', String(outcome.retryAfterSec)]);
    }
    if (outcome.kind === 'invalid') {
      deps.logger.info({ event: 'verify.credential_invalid', client: clientIp, host: original.host }, 'unknown, revoked, expired or malformed credential');
      return reply(res, tried.unauthorized, 401, [...EMPTY, ...CHALLENGE]);
    }
    return conclude(asked, { identity: outcome.identity, viaCredential: outcome });
  }

  /** The decision for whoever `who` is (nobody: undefined), and its reply. */
  function conclude(asked: Asked, who: Who | undefined): Answered {
    const { res, headers, clientIp, original, target, match } = asked;
    const identity = who?.identity;
    const viaCredential = who?.viaCredential;
    let decision = identity ? decideFor(match, identity) : asked.anonymous;
    // An app password narrows what its owner may do (its hosts, read_only), never widens it.
    if (decision.kind === 'allow' && viaCredential?.token && target.ok) {
      const scope = decideTokenScope(viaCredential.token, target, deps.now());
      if (scope.kind === 'out-of-scope') decision = { kind: 'forbid', rule: decision.rule, reason: scope.reason };
    }
    const as = viaCredential ? ANSWERED[viaCredential.auth] : identity ? ANSWERED.session : ANSWERED.none;

    if (decision.kind === 'allow') {
      const block = allowHeaders(decision.anonymous ? undefined : identity, viaCredential?.auth);
      return reply(res, as.allow, 200, withAuthorization(block, asked.forwardAuthorization));
    }
    // An app password or a Basic pair is one factor and cannot present a second: refused, not redirected.
    if (decision.kind === 'step-up' && viaCredential) decision = { kind: 'forbid', rule: decision.rule, reason: 'the rule asks for a second factor, which a credential cannot give' };
    if (decision.kind === 'forbid' && viaCredential) {
      deps.logger.info({ event: 'verify.forbid', user: identity?.user, auth: viaCredential.auth, client: clientIp, host: original.host, method: original.method, reason: decision.reason }, 'access denied');
      return reply(res, as.forbid, 403, EMPTY);
    }
    if (decision.kind === 'forbid') {
      deps.logger.info({ event: 'verify.forbid', user: identity?.user, client: clientIp, host: original.host, method: original.method, reason: decision.reason }, 'access denied');
      // nginx drops this body (its error_page asks GET /forbidden instead); API clients get an empty 403.
      if (flavour !== 'nginx' && deps.forbiddenPage && !isApiClient(headers)) {
        const page = deps.forbiddenPage({ identity, sessionId: who?.sessionId, host: original.host, method: original.method, url: original.url, reason: decision.reason });
        return reply(res, as.forbid, 403, page.headers, page.body);
      }
      return reply(res, as.forbid, 403, EMPTY);
    }

    // Not signed in, or (step-up) signed in with one factor where the rule asks for two: said the same way.
    const stepUp = decision.kind === 'step-up';
    if (stepUp) deps.logger.info({ event: 'verify.step_up', user: identity?.user, client: clientIp, host: original.host, method: original.method }, 'second factor required');
    const location = signInLocation(stepUp ? deps.secondFactorUrl : deps.loginUrl, original);
    if (isApiClient(headers)) {
      if (flavour === 'nginx') return reply(res, as.unauthorized, 401, [...EMPTY, ...CHALLENGE]);
      const body = Buffer.from(
        JSON.stringify(
          stepUp
            ? { error: 'second_factor_required', message: 'Confirm with a second factor first.', login_url: location }
            : { error: 'unauthenticated', message: 'Sign in first.', login_url: location },
        ),
      );
      return reply(res, as.unauthorized, 401, [...JSON_401, 'Content-Length', String(body.length)], body);
    }
    const redirect = [...EMPTY, 'Location', location];
    if (flavour === 'nginx') return reply(res, as.redirect, 401, redirect);
    return reply(res, as.redirect, original.method === 'GET' || original.method === 'HEAD' ? 302 : 303, redirect);
  }
}
