import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from './free-port.js';
import { TestClient, type Reply } from './http-client.js';

/**
 * A real OpenID Connect provider for tests: `oidc-provider` (panva) in-process on a loopback port,
 * issuer `http://127.0.0.1:<port>`, with an in-memory adapter, the accounts and clients given, its
 * built-in development login and consent pages (driven by `signInAtProvider`), PKCE required, and
 * RP-initiated logout.
 */

/** The claims an account releases (`sub` is the account id). */
export type AccountClaims = Record<string, unknown>;

export interface TestClientRegistration {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface TestIdpOptions {
  /** Listen on this port (a provider that "comes up later" on a port Postern already knows). Default: a free one. */
  port?: number;
  accounts: Record<string, AccountClaims>;
  clients: TestClientRegistration[];
  /** RP-initiated logout (`end_session_endpoint`). Default true. */
  rpInitiatedLogout?: boolean;
  /**
   * The `amr` the provider records when each account signs in (as if it had checked those methods),
   * sent in the ID token as given, whatever its shape. Accounts not named here sign in without one.
   */
  amr?: Record<string, unknown>;
}

export interface TestIdp {
  readonly issuer: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The small part of oidc-provider's API used here (the package ships no types). */
interface ProviderInstance {
  callback(): Parameters<typeof createServer>[1];
  interactionFinished(req: unknown, res: unknown, result: InteractionResult, options?: unknown): Promise<void>;
}
/** What an interaction ends with; `login.amr` becomes the session's, and the ID token's, `amr`. */
interface InteractionResult {
  login?: { accountId: string; amr?: unknown };
  [other: string]: unknown;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

// A specifier in a variable: the untyped package comes in as `any`, and is typed by the interface above.
const PACKAGE = 'oidc-provider';
let providerClass: Promise<ProviderConstructor> | undefined;
function loadProvider(): Promise<ProviderConstructor> {
  providerClass ??= import(PACKAGE).then((m: { default: ProviderConstructor }) => m.default);
  return providerClass;
}

// One signing key for every provider in the process: RSA generation is the slow part of starting one.
let signingKey: Record<string, unknown> | undefined;
function jwk(): Record<string, unknown> {
  signingKey ??= { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'test', alg: 'RS256', use: 'sig' };
  return signingKey;
}

export async function startIdp(opts: TestIdpOptions): Promise<TestIdp> {
  const Provider = await loadProvider();
  const port = opts.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: opts.clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? (c.client_secret ? 'client_secret_basic' : 'none'),
      ...c,
    })),
    async findAccount(_ctx: unknown, id: string) {
      const claims = opts.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    claims: {
      // `amr` is sent only when the sign-in recorded one (opts.amr), or in UserInfo when an account's claims hold one.
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'postern_role'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: opts.rpInitiatedLogout ?? true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    jwks: { keys: [jwk()] },
    // The defaults print "you should change this" once per key; these are short and fine for tests.
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError(ctx: { type: string; body: string }, out: Record<string, string>) {
      ctx.type = 'text';
      ctx.body = `provider error: ${JSON.stringify(out)}`;
    },
  });
  const amr = opts.amr;
  if (amr) {
    // The development login page records only the account; the amr is added where its result is handed back.
    const finished = provider.interactionFinished.bind(provider);
    provider.interactionFinished = (req, res, result, options) =>
      finished(req, res, result.login && Object.hasOwn(amr, result.login.accountId) ? { ...result, login: { ...result.login, amr: amr[result.login.accountId] } } : result, options);
  }
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    issuer,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A browser across two sites: requests to `http://127.0.0.1:<port>` go to that provider (one cookie
 * jar per provider), everything else to Postern's port with the URL's host in the Host header.
 */
export class Browser {
  readonly postern: TestClient;
  readonly #idps = new Map<string, TestClient>();

  constructor(posternPort: number) {
    this.postern = new TestClient(posternPort);
  }

  clientFor(url: string): TestClient {
    const { hostname, port } = new URL(url);
    if (hostname !== '127.0.0.1') return this.postern;
    let client = this.#idps.get(port);
    if (!client) {
      client = new TestClient(Number(port));
      this.#idps.set(port, client);
    }
    return client;
  }

  get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.clientFor(url).get(url, headers);
  }

  post(url: string, fields: Record<string, string>): Promise<Reply> {
    return this.clientFor(url).request(url, { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'text/html' } });
  }
}

export interface ProviderSignIn {
  /** The account id typed into the provider's login form. */
  login: string;
  /** Press "abort" instead of signing in: the provider answers error=access_denied. */
  abort?: boolean;
}

function locationOf(reply: Reply, base: string): string | undefined {
  const location = reply.header('location');
  return reply.status >= 300 && reply.status < 400 && location ? new URL(location, base).href : undefined;
}

/**
 * Follows an authorization URL through the provider's login and consent pages, as a person would,
 * until the provider sends the browser back to Postern. Returns that callback URL, not yet visited.
 */
export async function signInAtProvider(browser: Browser, authorizationUrl: string, how: ProviderSignIn): Promise<string> {
  const idpOrigin = new URL(authorizationUrl).origin;
  let url = authorizationUrl;
  for (let step = 0; step < 12; step++) {
    const reply = await browser.get(url);
    let next = locationOf(reply, url);
    if (next === undefined && reply.status === 200) {
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post">\s*<input type="hidden" name="prompt" value="(login|consent)"\/>/.exec(reply.body);
      if (!form) throw new Error(`unexpected provider page at ${url}:\n${reply.body.slice(0, 400)}`);
      const action = new URL(form[1]!.replaceAll('&amp;', '&'), url).href;
      const submitted =
        form[2] === 'login'
          ? how.abort
            ? await browser.get(`${action}/abort`)
            : await browser.post(action, { prompt: 'login', login: how.login, password: 'any' })
          : await browser.post(action, { prompt: 'consent' });
      next = locationOf(submitted, action);
      if (next === undefined) throw new Error(`provider did not redirect after ${form[2]}: ${submitted.status} ${submitted.body.slice(0, 300)}`);
    }
    if (next === undefined) throw new Error(`unexpected provider reply at ${url}: ${reply.status} ${reply.body.slice(0, 300)}`);
    if (new URL(next).origin !== idpOrigin) return next;
    url = next;
  }
  throw new Error('too many steps at the provider');
}

/** Confirms the provider's RP-initiated logout page ("Yes, sign me out") and returns where the provider sends the browser next. */
export async function confirmProviderLogout(browser: Browser, endSessionUrl: string): Promise<string> {
  const page = await browser.get(endSessionUrl);
  const form = /<form id="op.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"\/>/.exec(page.body);
  if (!form) throw new Error(`no logout form at the provider: ${page.status} ${page.body.slice(0, 300)}`);
  const action = form[1]!;
  const reply = await browser.post(action, { xsrf: form[2]!, logout: 'yes' });
  const next = locationOf(reply, action);
  if (next === undefined) throw new Error(`provider did not redirect after logout: ${reply.status} ${reply.body.slice(0, 300)}`);
  return next;
}
