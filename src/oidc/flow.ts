/**
 * The authorization code flow with PKCE, through openid-client: the request that leaves for the
 * provider, and the callback that comes back. openid-client checks state, the `iss` response
 * parameter (RFC 9207, the mix-up defence), the code exchange with the PKCE verifier, and the ID
 * token's signature, issuer, audience, expiry and nonce. Everything it refuses becomes a
 * SignInRefused here.
 */
import * as client from 'openid-client';
import { SignInRefused } from './errors.js';
import type { PendingLogin } from './pending.js';
import { describeError, type OidcProvider } from './providers.js';

/** Where to send the browser, and what to remember about it until the callback. */
export async function authorizationRequest(
  provider: OidcProvider,
  configuration: client.Configuration,
  rd: string | undefined,
  now: number,
): Promise<{ url: URL; pending: PendingLogin }> {
  const verifier = client.randomPKCECodeVerifier();
  const pending: PendingLogin = {
    provider: provider.id,
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier,
    ...(rd === undefined ? {} : { rd }),
    created: now,
  };
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: provider.redirectUri,
    scope: provider.settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  });
  return { url, pending };
}

export interface CallbackResult {
  /** ID token claims over UserInfo claims: the signed values win. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Kept server-side for `id_token_hint` at logout. */
  readonly idToken: string;
  /**
   * The ID token's `amr` (untrusted shape), never UserInfo's: how this sign-in was checked is said
   * by the signed token; a UserInfo `amr` may be a profile attribute.
   */
  readonly amr: unknown;
}

/**
 * Redeems the callback. `query` is the callback's raw query string; the URL handed to
 * openid-client is built on our configured redirect URI, never on the request's Host header.
 */
export async function redeemCallback(provider: OidcProvider, configuration: client.Configuration, pending: PendingLogin, query: string): Promise<CallbackResult> {
  const currentUrl = new URL(provider.redirectUri);
  currentUrl.search = query;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      pkceCodeVerifier: pending.verifier,
      idTokenExpected: true,
    });
  } catch (err) {
    throw refusalFor(provider, err);
  }
  const idClaims = tokens.claims();
  if (!idClaims || tokens.id_token === undefined) {
    throw new SignInRefused(400, failedMessage(provider), 'token response carries no ID token', 'warn');
  }
  let userInfo: Readonly<Record<string, unknown>> = {};
  // Many providers (oidc-provider, Authelia) put profile claims only in UserInfo when a code flow issues an access token.
  if (configuration.serverMetadata().userinfo_endpoint && tokens.access_token) {
    try {
      userInfo = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
    } catch (err) {
      throw refusalFor(provider, err, 'userinfo');
    }
  }
  return { claims: { ...userInfo, ...idClaims }, idToken: tokens.id_token, amr: idClaims.amr };
}

function failedMessage(provider: OidcProvider): string {
  return `Signing in through ${provider.displayName} did not work. Please try again.`;
}

export function unreachableMessage(provider: OidcProvider): string {
  return `${provider.displayName} is not reachable right now; try again in a minute.`;
}

/** Sorts what openid-client threw into what the person is told, and what the log says. */
function refusalFor(provider: OidcProvider, err: unknown, step = 'callback'): SignInRefused {
  const reason = `${step}: ${describeError(err)}`;
  if (err instanceof client.AuthorizationResponseError) {
    // The provider sent the browser back with error=...: the person cancelled, or the provider refused.
    if (err.error === 'access_denied') {
      return new SignInRefused(403, `The sign-in was cancelled or refused at ${provider.displayName}.`, reason);
    }
    return new SignInRefused(400, failedMessage(provider), reason, 'warn');
  }
  if (err instanceof client.ResponseBodyError) {
    // invalid_grant: the code was already used or has expired; anything else is a client misconfiguration.
    return new SignInRefused(400, failedMessage(provider), reason, 'warn');
  }
  if (isUnreachable(err)) return new SignInRefused(502, unreachableMessage(provider), reason, 'warn');
  // State, iss (mix-up), nonce, signature, audience, expiry: the answer could not be verified.
  return new SignInRefused(400, failedMessage(provider), reason, 'warn');
}

/** A connection that failed or timed out: openid-client rethrows fetch's TypeError as is, and codes its timeouts. */
function isUnreachable(err: unknown): boolean {
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT';
}
